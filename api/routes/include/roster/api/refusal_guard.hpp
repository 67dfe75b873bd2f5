// Every refusal on record (SPEC §1 "denied attempts are recorded", hardening issue): a route
// wrapper that sees each answer and records as an `access_denied` security event
//   - 401 for a token the server knows (revoked, or its user locked or removed),
//   - 403,
//   - 404 that hides a resource that exists (another tenant's account, user or token),
//   - 429 (the caller's rate limit),
// attributed to the caller (principal, token, address), the route, the account and the target.
//
// Refusals of one principal on one route are coalesced over a short window: the first is
// recorded at once, the others of the window become one record with their count when the window
// closes. So a caller who is refused ten thousand times a second adds at most two events per
// route and window to the log, and the record still counts every refusal. Answers never wait for
// the record (a wait only for refusals that hide something would tell the caller what exists).
//
// Owned by rosterd main; thread-safe. stop() must run before the writer (or the sink) stops, so
// the counts of open windows are appended. On a read replica the records go to a sink that
// forwards them to the leader's log (api/nats refusal_relay.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "roster/api/http.hpp"
#include "roster/api/principal_limits.hpp"
#include "roster/api/service.hpp"

namespace roster::api {

struct refusal_guard_options {
    std::chrono::milliseconds window{5'000};
    // Open windows (principal × route) at once; beyond it refusals are still coalesced, per
    // route, under one shared "(many principals)" key.
    std::size_t max_windows = 65'536;
    // Where records go instead of the writer: a read replica has none, and forwards them to the
    // leader (api/nats refusal_forwarder). Must not block. Unset: the writer.
    std::function<void(domain::access_denied, eventstore::event_metadata)> sink;
};

struct refusal_stats {
    std::uint64_t refusals = 0;  // refusals seen (recorded or counted into a record)
    std::uint64_t records = 0;   // access_denied events submitted
};

class refusal_guard {
public:
    // `limits` may be null (no refusal budgets).
    refusal_guard(service& svc, principal_limits* limits, refusal_guard_options options);
    ~refusal_guard();
    refusal_guard(const refusal_guard&) = delete;
    refusal_guard& operator=(const refusal_guard&) = delete;

    // Starts the thread that closes windows.
    void start();
    // Closes every open window (appending its count) and stops that thread. Idempotent.
    void stop();

    // `inner` with every answer it gives passing through the guard (see router::wrap_handlers).
    handler wrap(handler inner);

    refusal_stats stats() const;

private:
    struct window;
    void on_answer(const request_context& ctx, const response& r);
    void submit(domain::access_denied record, eventstore::event_metadata meta);
    void close_windows(bool all);

    service& svc_;
    principal_limits* limits_;
    const refusal_guard_options options_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::unordered_map<std::string, window> windows_;  // guarded by mutex_; key: principal \x1f route
    refusal_stats stats_;                              // guarded by mutex_
    bool stopping_ = false;                            // guarded by mutex_
    std::thread closer_;
};

}  // namespace roster::api
