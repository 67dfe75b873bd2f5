#include "roster/api/problem.hpp"

#include <stdexcept>

#include <boost/json/serialize.hpp>

#include "roster/domain/text.hpp"

namespace roster::api {

std::string_view reason_phrase(unsigned status) {
    // RFC 9110 §15 names (422 is "Unprocessable Content", 413 "Content Too Large"), plus 429 and
    // 431 from RFC 6585. Kept here rather than taken from Beast, whose table has the older names.
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Range Not Satisfiable";
        case 422: return "Unprocessable Content";
        case 426: return "Upgrade Required";
        case 428: return "Precondition Required";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 507: return "Insufficient Storage";  // RFC 4918
        default: return "Error";
    }
}

namespace {

// Boost.JSON serializes string bytes as they are; a detail or field that quotes what a client
// sent (a percent-decoded query name, say) could otherwise make the document invalid JSON.
void replace_invalid_utf8(boost::json::value& v) {
    if (auto* s = v.if_string()) {
        *s = domain::with_invalid_utf8_replaced(*s);
    } else if (auto* a = v.if_array()) {
        for (auto& e : *a) replace_invalid_utf8(e);
    } else if (auto* o = v.if_object()) {
        for (auto& kv : *o) replace_invalid_utf8(kv.value());
    }
}

}  // namespace

std::string problem::type() const { return "urn:roster:problem:" + code; }

boost::json::object problem::to_json() const {
    boost::json::object o;
    o["type"] = type();
    o["title"] = title();
    o["status"] = status;
    o["detail"] = detail;
    o["code"] = code;
    // The fixed members win: an extra named like one of them would confuse clients.
    for (const auto& kv : extra)
        if (!o.contains(kv.key())) o[kv.key()] = kv.value();
    boost::json::value document(std::move(o));
    replace_invalid_utf8(document);
    return std::move(document.as_object());
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

problem make_problem(unsigned status, std::string code, std::string detail) {
    problem p;
    p.status = status;
    p.code = std::move(code);
    p.detail = std::move(detail);
    return p;
}

problem bad_request(std::string code, std::string detail) {
    return make_problem(400, std::move(code), std::move(detail));
}

problem query_problem(std::string code, std::string field, std::string detail) {
    auto p = bad_request(std::move(code), std::move(detail));
    p.extra["field"] = std::move(field);
    return p;
}

problem not_found(std::string detail) { return make_problem(404, "route_not_found", std::move(detail)); }

problem method_not_allowed(std::string_view allow) {
    auto p = make_problem(405, "method_not_allowed", "This resource supports only: " + std::string(allow) + ".");
    p.headers.emplace_back("Allow", std::string(allow));
    return p;
}

problem unsupported_media_type(std::string detail) {
    return make_problem(415, "unsupported_media_type", std::move(detail));
}

problem payload_too_large(std::size_t limit_bytes) {
    auto p = make_problem(413, "payload_too_large",
                          "The request body exceeds the limit of " + std::to_string(limit_bytes) + " bytes.");
    p.extra["limit_bytes"] = limit_bytes;
    return p;
}

problem request_timeout() { return make_problem(408, "request_timeout", "The request was not received in time."); }

problem internal_error(std::string_view request_id) {
    auto p = make_problem(500, "internal_error", "The server failed to handle the request; it has been logged.");
    if (!request_id.empty()) p.extra["request_id"] = request_id;
    return p;
}

problem service_unavailable(std::string detail) { return make_problem(503, "service_unavailable", std::move(detail)); }

response json_response(unsigned status, const boost::json::value& body) {
    response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = boost::json::serialize(body);
    return r;
}

response json_text_response(unsigned status, std::string json_text) {
    response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(json_text);
    return r;
}

}  // namespace roster::api
