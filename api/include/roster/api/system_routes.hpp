// Routes that need no store: health, readiness, the OpenAPI document and the retired
// deactivate endpoint; plus test-only routes behind rosterd's hidden --enable-test-routes.
#pragma once

#include <atomic>
#include <memory>

#include "roster/api/log.hpp"
#include "roster/api/router.hpp"

namespace roster::api {

// Readiness as main sees it (false until the store is open and projections caught up).
// Shared by main and the /readyz handler; thread-safe.
class readiness {
public:
    void set(bool ready) noexcept { ready_.store(ready, std::memory_order_release); }
    bool get() const noexcept { return ready_.load(std::memory_order_acquire); }

private:
    std::atomic<bool> ready_{false};
};

// GET /healthz, GET /readyz, GET /v1/openapi.json, POST /v1/accounts/{a}/users/{u}/deactivate.
// The OpenAPI handler reads `routes` when called, so it also lists routes added afterwards;
// `routes` and `ready` must outlive the server.
void add_system_routes(router& routes, const readiness& ready);

// Test-only routes (never registered in production):
//   GET  /test/slow?ms=N  answers 200 after N ms from another thread (logs "test_slow_started")
//   GET  /test/throw      the handler throws (→ 500, connection closed)
//   GET  /test/stream?pieces=N&bytes=M[&fail_after=K]  a chunked body; the producer throws at piece K
//   POST /test/echo       strict JSON {name: string, count?: integer, tags?: [string]} echoed back
// Owned by main; its destructor joins the delayed-reply threads, so destroy it after the server.
class test_routes {
public:
    test_routes(router& routes, logger& log);
    ~test_routes();
    test_routes(const test_routes&) = delete;
    test_routes& operator=(const test_routes&) = delete;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace roster::api
