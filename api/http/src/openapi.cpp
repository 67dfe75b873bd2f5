#include "roster/api/openapi.hpp"

#include <boost/json/array.hpp>

namespace roster::api {

namespace {

std::string_view reason(unsigned status) {
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 400: return "Malformed input";
        case 401: return "Missing, invalid or revoked token";
        case 403: return "Not allowed";
        case 404: return "Unknown id";
        case 409: return "Refused by a domain rule";
        case 410: return "Gone";
        case 412: return "Version mismatch";
        case 413: return "Body too large";
        case 422: return "Idempotency key reused with another body";
        case 503: return "Not ready or storage unavailable";
        default: return "Response";
    }
}

boost::json::object problem_schema() {
    boost::json::object props;
    props["type"] = {{"type", "string"}};
    props["title"] = {{"type", "string"}};
    props["status"] = {{"type", "integer"}};
    props["detail"] = {{"type", "string"}};
    props["code"] = {{"type", "string"}, {"description", "Stable machine-readable code."}};
    boost::json::object s;
    s["type"] = "object";
    s["properties"] = std::move(props);
    s["required"] = boost::json::array{"type", "title", "status", "detail", "code"};
    return s;
}

std::string method_key(std::string_view m) {
    std::string out(m);
    for (char& c : out) c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string operation_id(const route& r) {
    std::string id = method_key(r.method);
    for (const auto& seg : r.segments) {
        id += '_';
        for (char c : seg)
            if (c != '{' && c != '}') id += (c == '.' || c == '-') ? '_' : c;
    }
    return id;
}

}  // namespace

boost::json::object make_openapi_document(const router& routes) {
    boost::json::object doc;
    doc["openapi"] = "3.1.0";
    doc["info"] = {{"title", "Roster API"},
                   {"version", "1"},
                   {"description",
                    "Event-sourced user management. Errors are application/problem+json (RFC 9457) with a stable "
                    "`code`. Log positions are JSON numbers, exact up to 2^53."}};
    boost::json::object paths;
    for (const auto& r : routes.routes()) {
        boost::json::object op;
        op["operationId"] = operation_id(r);
        op["summary"] = r.doc.summary;
        if (!r.doc.description.empty()) op["description"] = r.doc.description;
        if (!r.doc.tag.empty()) op["tags"] = boost::json::array{boost::json::string(r.doc.tag)};
        boost::json::array params;
        for (const auto& p : r.doc.params) {
            boost::json::object po;
            po["name"] = p.name;
            po["in"] = p.in;
            po["required"] = p.in == "path" ? true : p.required;
            if (!p.description.empty()) po["description"] = p.description;
            po["schema"] = {{"type", p.type}};
            params.push_back(std::move(po));
        }
        if (!params.empty()) op["parameters"] = std::move(params);
        if (r.doc.json_request_body)
            op["requestBody"] = {{"required", true},
                                 {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
        boost::json::object responses;
        for (unsigned status : r.doc.responses) {
            boost::json::object resp;
            resp["description"] = reason(status);
            if (status >= 400)
                resp["content"] = {
                    {"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}};
            responses[std::to_string(status)] = std::move(resp);
        }
        responses["default"] = {
            {"description", "Problem"},
            {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
        op["responses"] = std::move(responses);
        auto& path_item = paths[r.path_template];
        if (!path_item.is_object()) path_item = boost::json::object{};
        path_item.as_object()[method_key(r.method)] = std::move(op);
    }
    doc["paths"] = std::move(paths);
    doc["components"] = {{"schemas", {{"Problem", problem_schema()}}}};
    return doc;
}

}  // namespace roster::api
