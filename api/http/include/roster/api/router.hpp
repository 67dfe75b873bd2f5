// Maps (method, path) to a handler through path templates such as
// "/v1/accounts/{a}/users/{u}", and carries the per-route documentation the OpenAPI document is
// generated from.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "roster/api/http.hpp"
#include "roster/api/problem.hpp"

namespace roster::api {

// Documentation of one parameter of a route.
struct param_doc {
    std::string name;
    std::string in = "path";  // "path", "query" or "header"
    std::string description;
    bool required = true;
    std::string type = "string";  // JSON Schema type
};

// One typed answer of a route: the schema (a name in components.schemas, which the wire
// library declares beside the type that builds the JSON) of a status in one media type.
struct body_doc {
    unsigned status = 200;
    std::string schema;
    std::string media = "application/json";
};

// What the OpenAPI document says about one route. Every route is registered with one, so the
// document cannot drift from what is served.
struct route_doc {
    std::string summary;
    std::string description;
    std::vector<param_doc> params;
    std::string tag;
    bool json_request_body = false;           // the route takes an application/json object
    std::vector<unsigned> responses = {200};  // documented status codes (problems besides)
    std::string request_schema;               // components.schemas name of the JSON body
    bool request_required = true;             // false: an empty body means {}
    std::string request_example;              // JSON text of an example body (optional)
    std::vector<body_doc> bodies;             // the schema of each documented non-problem answer
    // Request headers the route reads, by name (If-Match, Idempotency-Key); the document
    // describes each once under components.parameters.
    std::vector<std::string> request_headers;
    bool etag = false;        // 2xx answers carry ETag (the resource version)
    bool location = false;    // 201 answers carry Location
    bool needs_token = true;  // false: no Authorization (health, the document, secret-authorized routes)
    // Who answers on a read replica (rosterd --follow): by default the replica answers reads (GET,
    // HEAD, OPTIONS) from its own copy of the log and sends everything else to the leader (307).
    enum class replica_answer : std::uint8_t { by_method, replica, leader };
    replica_answer on_replica = replica_answer::by_method;

    // Builders: designated initializers would trip -Wmissing-field-initializers on g++ 12.
    static route_doc of(std::string summary) {
        route_doc d;
        d.summary = std::move(summary);
        return d;
    }
    route_doc& describe(std::string text) { return description = std::move(text), *this; }
    route_doc& param(param_doc p) { return params.push_back(std::move(p)), *this; }
    route_doc& in_tag(std::string t) { return tag = std::move(t), *this; }
    // A request that is not a read but changes nothing in the log: a replica answers it itself.
    route_doc& answered_by_replica() { return on_replica = replica_answer::replica, *this; }
    // A read only the leader can answer (it signs): a replica sends it there.
    route_doc& answered_by_leader() { return on_replica = replica_answer::leader, *this; }
    route_doc& json_body() { return json_request_body = true, *this; }
    route_doc& responds(std::vector<unsigned> codes) { return responses = std::move(codes), *this; }
    // The JSON body is an instance of `schema` (implies json_body); `required` false when the
    // route takes an empty body as {}.
    route_doc& request(std::string schema, bool required = true) {
        json_request_body = true;
        request_required = required;
        return request_schema = std::move(schema), *this;
    }
    route_doc& request_example_json(std::string json) { return request_example = std::move(json), *this; }
    // Answers `status` with a `schema` body; adds the status to `responses` when missing.
    route_doc& returns(unsigned status, std::string schema, std::string media = "application/json") {
        bool listed = false;
        for (auto s : responses) listed = listed || s == status;
        if (!listed) {
            // A route documented only by returns() drops the default 200 it never answers.
            if (bodies.empty() && responses == std::vector<unsigned>{200} && status / 100 == 2) responses.clear();
            responses.push_back(status);
        }
        bodies.push_back({status, std::move(schema), std::move(media)});
        return *this;
    }
    route_doc& header(std::string name) { return request_headers.push_back(std::move(name)), *this; }
    route_doc& with_etag() { return etag = true, *this; }
    route_doc& with_location() { return location = true, *this; }
    route_doc& no_token() { return needs_token = false, *this; }
};

inline param_doc path_param(std::string name, std::string description) {
    param_doc p;
    p.name = std::move(name);
    p.description = std::move(description);
    return p;
}

inline param_doc query_param(std::string name, std::string description, bool required = false,
                             std::string type = "string") {
    param_doc p;
    p.name = std::move(name);
    p.in = "query";
    p.description = std::move(description);
    p.required = required;
    p.type = std::move(type);
    return p;
}

// One registered route.
struct route {
    std::string method;
    std::string path_template;
    std::vector<std::string> segments;  // template split on '/', "{a}" kept as is
    route_doc doc;
    handler handle;

    // Names of the template's parameters, in order ("a", "u").
    std::vector<std::string> param_names() const;
    // Whether a read replica answers this route itself (doc.on_replica, else by method).
    bool answered_by_replica() const;
};

// What matching a request target found. A value owned by the caller; `found` points into the
// router, which outlives it.
struct route_match {
    const route* found = nullptr;  // never null in a successful match
    name_values path_params;       // decoded
    name_values query;             // decoded
};

// The routing table. Built once at start-up by main (single thread), then only read: `match`
// is safe from any number of threads as long as nobody calls `add` concurrently.
class router {
public:
    // Registers a route. A duplicate (method, template) or a malformed template is a programming
    // error and throws std::invalid_argument.
    void add(std::string method, std::string path_template, route_doc doc, handler h);

    // Finds the route for a request. Failures come back as the problem to send: 400 for a target
    // that is not a valid origin-form URI (bad percent-encoding included), 404 for an unknown
    // path, 405 (with Allow) for a known path and another method, 400 unknown_query_parameter
    // (`field` = its name) for a query parameter the route's doc does not declare. HEAD matches the GET route of
    // a path that has no HEAD route (`found->method` is then "GET"), and Allow lists HEAD
    // wherever GET is.
    boost::system::result<route_match, problem> match(std::string_view method, std::string_view target) const;

    const std::vector<route>& routes() const noexcept { return routes_; }

    // Every handler added from now on is wrapped by `w` (e.g. a guard that sees every answer),
    // which sees the route it is added for. Set before the first add; a second call replaces the first.
    void wrap_handlers(std::function<handler(handler, const route&)> w) { wrapper_ = std::move(w); }

private:
    // The templates as a tree of segments, so a match walks the path once instead of comparing
    // it with every route. A node's `shape` lists the routes (indexes into routes_, in the order
    // added) whose template ends there: one per method, parameter names aside.
    struct node {
        std::vector<std::pair<std::string, std::uint32_t>> literals;  // segment text -> child node
        std::uint32_t param = 0;                                      // child for any segment; 0: none
        std::vector<std::uint32_t> shape;
    };
    static constexpr std::size_t max_segments = 16;  // deeper targets cannot match (add() refuses deeper)

    std::vector<route> routes_;
    std::vector<node> nodes_ = std::vector<node>(1);  // nodes_[0]: the root, "/"
    std::function<handler(handler, const route&)> wrapper_;
};

// Parses the query part of a request target (the whole target or just "a=1&b=2" after '?').
// Percent-decodes names and values ('+' means space); bad encodings are a 400 problem.
boost::system::result<name_values, problem> parse_query(std::string_view target);

}  // namespace roster::api
