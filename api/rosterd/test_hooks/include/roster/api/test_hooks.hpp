// Routes only a test build of rosterd has (`rosterd_test`, built with the tests): the production
// `rosterd` links none of this, so no test hook ships in it. Registered by rosterd_test's main
// when started with --enable-test-routes.
#pragma once

#include <memory>

#include "roster/api/log.hpp"
#include "roster/api/router.hpp"
#include "roster/api/service.hpp"
#include "roster/eventstore/write_faults.hpp"

namespace roster::api {

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

// Storage faults of the store opened with `faults` (eventstore/write_faults.hpp):
//   POST /test/fail-next-writes?n=N  the next N WAL writes of the store fail (default 1; 0 clears)
//   POST /test/fail-reads?on=true|false  while on, every read of the log fails (so the writer
//                                        cannot rebuild its write model after a failed commit)
void add_fault_test_routes(router& routes, std::shared_ptr<eventstore::write_faults> faults);

// POST /test/append?n=N submits N token-issuing commands through the writer at once and answers
// once all are durable, with the head (the live stream's tests and benchmark drive it).
void add_live_test_routes(router& routes, service& svc);

// The clock of rosterd_test started with --enable-test-routes (writer and routes): the wall
// clock plus an offset, so a test can let a token expire without waiting.
//   POST /test/clock?advance_s=N  moves it N seconds forward (at most 10^9 in all)
domain::timestamp test_clock_now();
void add_clock_test_routes(router& routes);

}  // namespace roster::api
