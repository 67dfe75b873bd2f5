// Webhook delivery (issue 17, item 3): at-least-once, in order per endpoint, signed with the
// Standard Webhooks scheme (webhook-id, webhook-timestamp, webhook-signature: v1,<base64
// HMAC-SHA256 of "<id>.<timestamp>.<body>">).
//
// Owned by rosterd main; thread-safe (routes call status/dead_letters/replay from I/O threads).
// Threads: one supervisor, plus one worker per registered endpoint, at most
// `max_endpoints` (the routes refuse more), so the count is bounded by configuration.
// Each worker has strictly one message in flight, which is what orders an endpoint's deliveries.
//
// Durable state lives in the store's meta space, never in the log (the log is exported to
// reviewers; backups carry meta, exports do not): per endpoint its secret, its cursor (the last
// position handled, advanced after each 2xx, written once per batch: a redelivery after a crash
// carries the same webhook-id) and its dead-letter list.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "roster/domain/types.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::projections {
class read_model;
}

namespace roster::api {

class logger;
class exposition;

struct webhook_options {
    std::string origin = "roster";  // the log's origin: webhook-id = "<origin>:<position>"
    unsigned max_attempts = 8;      // per message, then it becomes a dead letter
    // The wait before retry n is min(backoff * 2^(n-1), max_backoff), drawn with full jitter
    // from [wait/2, wait].
    std::chrono::milliseconds backoff{500};
    std::chrono::milliseconds max_backoff{60'000};
    std::chrono::milliseconds timeout{10'000};     // each step of an attempt (connect, send, answer)
    std::size_t max_endpoints = 32;                // one worker thread each
    std::size_t dead_letter_bytes = 256 * 1024;    // per endpoint; beyond it new ones are counted as dropped
    std::size_t batch_bytes = 1024 * 1024;         // bodies rendered ahead per read of the log (at least one)
    std::optional<std::filesystem::path> ca_file;  // https receivers: trust this bundle instead of the system's
};

// A secret in the Standard Webhooks form: "whsec_" + base64 of 32 random bytes.
std::string new_webhook_secret();
// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" with key = the base64 part of `secret`;
// nullopt when the secret is not of that form.
std::optional<std::string> webhook_signature(std::string_view secret, std::string_view id, std::string_view timestamp,
                                             std::string_view body);

struct webhook_dead_letter {
    std::uint64_t position = 0;
    std::string type;
    unsigned attempts = 0;
    std::string error;
    domain::timestamp at{};
};

struct webhook_dead_letters {
    std::vector<webhook_dead_letter> entries;  // oldest first
    std::uint64_t dropped = 0;                 // refused because the list was full
};

struct webhook_status {
    bool running = false;
    std::uint64_t cursor = 0;  // last position handled (delivered, filtered out or dead-lettered)
    std::uint64_t lag = 0;     // log head - cursor
    domain::timestamp last_attempt_at{};
    unsigned last_status = 0;                          // HTTP status of the last attempt; 0 = none or no answer
    std::string last_error;                            // empty when the last attempt succeeded
    std::uint64_t delivered = 0, failed_attempts = 0;  // since start
    std::size_t dead_letters = 0;
};

class webhook_dispatcher {
public:
    webhook_dispatcher(eventstore::store& store, projections::read_model& reads, logger& log, webhook_options options);
    ~webhook_dispatcher();
    webhook_dispatcher(const webhook_dispatcher&) = delete;
    webhook_dispatcher& operator=(const webhook_dispatcher&) = delete;

    void start();
    // Interrupts backoff waits; an attempt in flight finishes (bounded by the timeout).
    void stop();

    const webhook_options& options() const { return options_; }

    // Kept in meta before the endpoint's event is submitted, so a worker always finds it.
    eventstore::result<void> store_secret(const domain::webhook_id& id, std::string_view secret);

    webhook_status status(const domain::webhook_id& id) const;
    webhook_dead_letters dead_letters(const domain::webhook_id& id) const;
    // Queues the dead letters at `positions` (nullopt: all) for redelivery with their original
    // webhook-id; returns how many of them are dead letters now. Delivered ones leave the list.
    std::size_t replay(const domain::webhook_id& id, const std::optional<std::vector<std::uint64_t>>& positions);

    // Prometheus families, labelled by endpoint id.
    void collect(exposition& out) const;

    struct worker;

private:
    void supervise();
    void reconcile();

    eventstore::store& store_;
    projections::read_model& reads_;
    logger& log_;
    webhook_options options_;

    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::uint64_t generation_ = 0;  // bumped by every commit, so sleepers know there is more
    bool stopping_ = false;
    std::map<domain::webhook_id, std::unique_ptr<worker>> workers_;
    std::thread supervisor_;
    eventstore::subscription commits_;
};

}  // namespace roster::api
