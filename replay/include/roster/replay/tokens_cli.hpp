// `rosterctl tokens list|issue|revoke|rotate` against a running rosterd (issue 14, item 5): the
// API's token routes with a readable table, and a new secret printed once. The HTTP exchange is
// injected (rosterctl passes roster::api::http_request), so this library needs no client.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <variant>

namespace roster::replay {

struct tokens_request {
    std::string action;            // list, issue, revoke, rotate
    std::string token_file;        // the caller's bearer token
    std::string id;                // revoke, rotate
    std::string principal;         // issue: operator | auditor | service:NAME | user:ID
    std::uint64_t expires_in = 0;  // issue: seconds; 0 = never expires
    std::string status;            // list: comma list of active, expired, revoked (server default: active)
    std::string reason;            // issue, revoke, rotate: recorded with the events
};

struct tokens_answer {
    unsigned status = 0;
    std::string body;
};
// (method, target, bearer, JSON body or empty) → the answer, or why there is none.
using tokens_exchange = std::function<std::variant<tokens_answer, std::string>(
    const std::string& method, const std::string& target, const std::string& bearer, const std::string& body)>;

// Exit 0 done, 1 refused by the server (its problem on stderr), 2 bad arguments, 3 unreachable.
// list pages through every token (500 a page) and prints one row each.
int run_tokens(const tokens_request& req, const tokens_exchange& exchange, std::ostream& out, std::ostream& err);

}  // namespace roster::replay
