// What the resource handlers share: the store, the read model, the single writer, the clock.
// Owned by rosterd main (which builds it and passes it to the routes); every member is thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "roster/api/command_processor.hpp"
#include "roster/api/principal_limits.hpp"
#include "roster/api/secrets.hpp"
#include "roster/domain/commands.hpp"
#include "roster/eventstore/store.hpp"
#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"

namespace roster::api {

struct service {
    eventstore::store& store;
    projections::read_model& reads;
    command_processor& writer;
    logger& log;
    std::function<domain::timestamp()> now;
    // As-of reads (`as_of=` on projection GETs); null = as_of is answered 503.
    projections::past_states* past = nullptr;
    // Runs a slow read (a cold as-of fold: up to a snapshot interval of events, ~0.5 s) away from
    // the I/O threads, which would otherwise stall every connection they serve, in the share of
    // the principal `key`; false when that share is full (the caller gets 429). Empty: inline.
    std::function<bool(const std::string& key, std::function<void()>)> run_slow_read{};
    // Per-principal command and refusal budgets; null = unlimited.
    principal_limits* limits = nullptr;
    // A page of GET /v1/events or of a history ends once its events' JSON reaches this many bytes
    // (at least one event): its `limit` alone is no bound, as an event can be ~1 MB.
    std::size_t page_bytes = 4 * 1024 * 1024;
};

// The authenticated caller of one request.
struct caller {
    domain::actor actor;
    std::string token_id;
};

}  // namespace roster::api
