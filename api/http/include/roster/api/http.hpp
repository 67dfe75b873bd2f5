// Wire-level request and response types seen by route handlers. Deliberately free of Beast so
// that handler code and its tests do not pull the whole HTTP stack in.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roster::api {

class websocket_upgrade;  // roster/api/live_upgrade.hpp

// An ordered list of name/value pairs. Names are compared as given (callers lower-case header
// names); values are already percent-decoded where that applies.
// Value type: not synchronized, safe to share read-only.
class name_values {
public:
    void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
    void clear() noexcept { items_.clear(); }  // keeps the capacity
    // The first value for `name`, if any.
    std::optional<std::string_view> get(std::string_view name) const;
    std::vector<std::string_view> get_all(std::string_view name) const;
    std::size_t count(std::string_view name) const;
    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    const std::vector<std::pair<std::string, std::string>>& items() const noexcept { return items_; }

private:
    std::vector<std::pair<std::string, std::string>> items_;
};

// What a handler answers: a value built by the handler (often through `problem` or
// `json_response`), moved to the connection that serializes it.
struct response {
    unsigned status = 200;
    std::string content_type;  // empty: no Content-Type (and usually no body)
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow, ETag
    bool close = false;                                        // close the connection after this response
    // The stable `code` of a problem answer (set by problem::to_response), so middleware can tell
    // refusals apart without parsing the body. Not sent.
    std::string problem_code;
    // A body too large to hold in memory (e.g. an export). When set, `body` is ignored and the
    // server sends the response with chunked transfer encoding: it calls `stream` repeatedly on
    // an I/O thread, each call appending the next piece to `out` (it may append nothing) and
    // returning false once `out` holds the last piece. Each call should do a bounded amount of
    // work (a few thousand rows). If it throws, the connection is closed without the final
    // chunk, so the client sees a truncated transfer rather than a complete-looking body.
    std::function<bool(std::string& out)> stream;
    // Set by a handler that accepts a WebSocket upgrade (status and body are then ignored): the
    // server hands the connection to it. A request that is not a WebSocket upgrade gets 426.
    std::shared_ptr<websocket_upgrade> upgrade;
};

// One parsed request plus what the router found. Owned by the connection; it stays valid until
// the request's responder has been called (the connection reads nothing else meanwhile), so an
// asynchronous handler must not touch it after answering.
struct request_context {
    std::string method;       // "GET", "POST", ...
    std::string target;       // raw request target; never log it (it may carry secrets in the query)
    std::string route;        // the matched route template, e.g. "/v1/accounts/{a}/users/{u}"
    name_values path_params;  // template names → decoded segments
    name_values query;        // decoded query parameters, in order, duplicates kept
    name_values headers;      // lower-case names
    std::string body;
    std::string request_id;
    std::string client_address;
    std::chrono::steady_clock::time_point received_at{};

    std::optional<std::string_view> header(std::string_view lower_case_name) const {
        return headers.get(lower_case_name);
    }
    // The path parameter `name`; it exists whenever the route template names it.
    std::string_view param(std::string_view name) const;
};

namespace detail {
// The connection end of a responder. Implemented by the server (and by make_responder for
// tests); `deliver` runs at most once.
class reply_slot {
public:
    virtual ~reply_slot() = default;
    virtual void deliver(response r) = 0;
};
}  // namespace detail

// Sends the response of one request. Copyable; any copy may be called from any thread, and only
// the first call has an effect (later calls return false). If every copy is destroyed without a
// call, the client gets a 500 problem: a handler cannot leave a connection hanging.
class responder {
public:
    explicit responder(std::shared_ptr<detail::reply_slot> slot);
    bool operator()(response r) const;
    bool responded() const noexcept;

private:
    struct state;
    std::shared_ptr<state> state_;
};

// A responder that hands the response to `sink` (on the caller's thread). For tests and for
// composing handlers.
responder make_responder(std::function<void(response)> sink);

using handler = std::function<void(request_context&, responder)>;

// Lower-case ASCII copy, for header names.
std::string to_lower_ascii(std::string_view s);

}  // namespace roster::api
