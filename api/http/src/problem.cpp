#include "roster/api/problem.hpp"

#include <stdexcept>

#include <boost/json/serialize.hpp>

namespace roster::api {

std::string problem::type() const { return "urn:roster:problem:" + code; }

boost::json::object problem::to_json() const {
    boost::json::object o;
    o["type"] = type();
    o["title"] = title;
    o["status"] = status;
    o["detail"] = detail;
    o["code"] = code;
    // The fixed members win: an extra named like one of them would confuse clients.
    for (const auto& kv : extra)
        if (!o.contains(kv.key())) o[kv.key()] = kv.value();
    return o;
}

response problem::to_response() const {
    response r;
    r.status = status;
    r.content_type = std::string(problem_content_type);
    r.body = boost::json::serialize(to_json());
    r.headers = headers;
    r.problem_code = code;
    return r;
}

void throw_exception_from_error(const problem& p, const boost::source_location&) {
    throw std::logic_error("unchecked problem result: " + p.code + ": " + p.detail);
}

problem make_problem(unsigned status, std::string code, std::string title, std::string detail) {
    problem p;
    p.status = status;
    p.code = std::move(code);
    p.title = std::move(title);
    p.detail = std::move(detail);
    return p;
}

problem bad_request(std::string code, std::string detail) {
    return make_problem(400, std::move(code), "Bad Request", std::move(detail));
}

problem not_found(std::string detail) { return make_problem(404, "route_not_found", "Not Found", std::move(detail)); }

problem method_not_allowed(std::string_view allow) {
    auto p = make_problem(405, "method_not_allowed", "Method Not Allowed",
                          "This resource supports only: " + std::string(allow) + ".");
    p.headers.emplace_back("Allow", std::string(allow));
    return p;
}

problem unsupported_media_type(std::string detail) {
    return make_problem(415, "unsupported_media_type", "Unsupported Media Type", std::move(detail));
}

problem payload_too_large(std::size_t limit_bytes) {
    auto p = make_problem(413, "payload_too_large", "Payload Too Large",
                          "The request body exceeds the limit of " + std::to_string(limit_bytes) + " bytes.");
    p.extra["limit_bytes"] = limit_bytes;
    return p;
}

problem request_timeout() {
    return make_problem(408, "request_timeout", "Request Timeout", "The request was not received in time.");
}

problem internal_error(std::string_view request_id) {
    auto p = make_problem(500, "internal_error", "Internal Server Error",
                          "The server failed to handle the request; it has been logged.");
    if (!request_id.empty()) p.extra["request_id"] = request_id;
    return p;
}

problem service_unavailable(std::string detail) {
    return make_problem(503, "service_unavailable", "Service Unavailable", std::move(detail));
}

response json_response(unsigned status, const boost::json::value& body) {
    response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = boost::json::serialize(body);
    return r;
}

}  // namespace roster::api
