// The (method, template) pairs rosterd registers, for fuzz_request_target: the real routes need a
// whole service (store, read model, writer) to register, which the fuzz build does not link.
// tests/api/router_test.cpp checks this list against the routes a real rosterd serves.
#pragma once

#include <string_view>

namespace roster::fuzz {

struct route_entry {
    std::string_view method;
    std::string_view path_template;
};

inline constexpr route_entry rosterd_routes[] = {
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"GET", "/v1/openapi.json"},
    {"GET", "/v1/access"},
    {"POST", "/v1/accounts"},
    {"GET", "/v1/accounts/{a}"},
    {"POST", "/v1/accounts/{a}/partners"},
    {"GET", "/v1/accounts/{a}/contacts"},
    {"PUT", "/v1/accounts/{a}/contacts"},
    {"POST", "/v1/accounts/{a}/contacts/{role}/handover"},
    {"GET", "/v1/accounts/{a}/history"},
    {"POST", "/v1/accounts/{a}/members"},
    {"GET", "/v1/accounts/{a}/recipients"},
    {"GET", "/v1/accounts/{a}/users"},
    {"POST", "/v1/accounts/{a}/users"},
    {"GET", "/v1/accounts/{a}/users/{u}"},
    {"DELETE", "/v1/accounts/{a}/users/{u}"},
    {"POST", "/v1/accounts/{a}/users/{u}/deactivate"},
    {"POST", "/v1/accounts/{a}/users/{u}/invitation"},
    {"GET", "/v1/accounts/{a}/users/{u}/removal"},
    {"POST", "/v1/accounts/{a}/users/{u}/roles"},
    {"DELETE", "/v1/accounts/{a}/users/{u}/roles"},
    {"GET", "/v1/accounts/{a}/watchlist"},
    {"PUT", "/v1/accounts/{a}/watchlist"},
    {"POST", "/v1/admin/backup"},
    {"GET", "/v1/audit/export"},
    {"GET", "/v1/audit/history"},
    {"GET", "/v1/audit/verify"},
    {"GET", "/v1/events"},
    {"POST", "/v1/invitations/accept"},
    {"GET", "/v1/stream"},
    {"POST", "/v1/tokens"},
    {"DELETE", "/v1/tokens/{id}"},
    {"GET", "/v1/users/lookup"},
    {"GET", "/v1/users/{u}/history"},
    {"POST", "/v1/users/{u}/lock"},
    {"POST", "/v1/users/{u}/unlock"},
    // --enable-test-routes only; kept because they add shapes (/test/...) to match against.
    {"GET", "/test/slow"},
    {"GET", "/test/stream"},
    {"GET", "/test/throw"},
    {"POST", "/test/append"},
    {"POST", "/test/echo"},
    {"POST", "/test/fail-next-writes"},
    {"POST", "/test/fail-reads"},
};

}  // namespace roster::fuzz
