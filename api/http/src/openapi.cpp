#include "roster/api/openapi.hpp"

#include <algorithm>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

namespace roster::api {

namespace {

std::string_view reason(unsigned status) {
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 307:
            return "Read replica (rosterd --follow): repeat the request, same method and body, at Location (the "
                   "leader)";
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

// The request headers a route may name (route_doc::header), each described once.
boost::json::object header_parameters() {
    auto header = [](std::string name, std::string description, boost::json::object schema) {
        return boost::json::object{{"name", std::move(name)},
                                   {"in", "header"},
                                   {"required", false},
                                   {"description", std::move(description)},
                                   {"schema", std::move(schema)}};
    };
    boost::json::object out;
    out["If-Match"] = header("If-Match",
                             "Apply only if the resource is still at this version: * (it exists), or one or more "
                             "ETags of a GET of it (\"12\", compared strongly: a weak W/ tag is 400 "
                             "invalid_if_match, as are more than 32 tags). 412 version_mismatch otherwise.",
                             {{"type", "string"}, {"examples", boost::json::array{"\"12\""}}});
    out["If-None-Match"] = header("If-None-Match",
                                  "Answer 304 Not Modified, without a body, when the resource is still at one of "
                                  "these ETags (weak comparison; * matches any version).",
                                  {{"type", "string"}, {"examples", boost::json::array{"\"12\""}}});
    out["Idempotency-Key"] = header("Idempotency-Key",
                                    "1 to 255 visible ASCII characters, scoped to the caller. A retry with the same "
                                    "key and body answers the stored outcome (Idempotent-Replayed: true); another "
                                    "body is 422.",
                                    {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}});
    out["traceparent"] =
        header("traceparent",
               "W3C Trace Context. Echoed, and recorded in the request metadata of the events a "
               "command appends; an invalid value is ignored.",
               {{"type", "string"},
                {"examples", boost::json::array{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}});
    return out;
}

boost::json::object response_headers() {
    auto header = [](std::string description, boost::json::object schema) {
        return boost::json::object{{"description", std::move(description)}, {"schema", std::move(schema)}};
    };
    boost::json::object out;
    out["ETag"] = header("The resource's version, quoted; send it back as If-Match.", {{"type", "string"}});
    out["Location"] =
        header("201: the URL path of the created resource. 307: this request's URL at the leader (on a read replica).",
               {{"type", "string"}});
    out["Roster-As-Of"] =
        header("The log position the answer was read at (with as_of).", {{"type", "integer"}, {"minimum", 0}});
    out["Idempotent-Replayed"] = header(
        "true when this is the stored answer of an earlier request with the same "
        "Idempotency-Key.",
        {{"type", "string"}, {"enum", boost::json::array{"true"}}});
    return out;
}

boost::json::value ref(std::string_view section, std::string_view name) {
    std::string r = "#/components/";
    r += section;
    r += '/';
    r += name;
    return boost::json::object{{"$ref", r}};
}

boost::json::array tags_of(const router& routes) {
    static constexpr std::pair<std::string_view, std::string_view> known[] = {
        {"accounts", "Customer and partner accounts and their links."},
        {"users", "Users, memberships, roles, locks, removal and invitations."},
        {"contacts", "Key contacts, the communications watchlist and notification recipients."},
        {"tokens", "API tokens (bearer credentials)."},
        {"access", "Access decisions for the portals."},
        {"audit", "The event log, history, exports, proofs and signing keys."},
        {"stats", "Counts for dashboards."},
        {"stream", "Live events over WebSocket."},
        {"operations", "Health, readiness, metrics, backups and this document."},
        {"console", "The web console's static files (public; its data comes from the API)."},
    };
    std::vector<std::string> seen;
    for (const auto& r : routes.routes())
        if (!r.doc.tag.empty() && std::find(seen.begin(), seen.end(), r.doc.tag) == seen.end())
            seen.push_back(r.doc.tag);
    std::sort(seen.begin(), seen.end());
    boost::json::array out;
    for (const auto& t : seen) {
        std::string description = "Operations on " + t + ".";
        for (const auto& [name, text] : known)
            if (name == t) description = text;
        out.push_back(boost::json::object{{"name", t}, {"description", description}});
    }
    return out;
}

}  // namespace

boost::json::object make_openapi_document(const router& routes, const boost::json::object& schemas) {
    boost::json::object doc;
    doc["openapi"] = "3.1.0";
    doc["info"] = {{"title", "Roster API"},
                   {"version", "1"},
                   {"license", {{"name", "Proprietary"}, {"identifier", "LicenseRef-Proprietary"}}},
                   {"description",
                    "Event-sourced user management. Errors are application/problem+json (RFC 9457) with a stable "
                    "`code`. Log positions are JSON numbers, exact up to 2^53."}};
    doc["servers"] = boost::json::array{
        boost::json::object{{"url", "http://127.0.0.1:8080"}, {"description", "rosterd's default listen address"}}};
    doc["tags"] = tags_of(routes);
    boost::json::object paths;
    for (const auto& r : routes.routes()) {
        boost::json::object op;
        op["operationId"] = operation_id(r);
        op["summary"] = r.doc.summary;
        if (!r.doc.description.empty()) op["description"] = r.doc.description;
        if (!r.doc.tag.empty()) op["tags"] = boost::json::array{boost::json::string(r.doc.tag)};
        op["security"] = r.doc.needs_token ? boost::json::array{boost::json::object{{"bearer", boost::json::array{}}}}
                                           : boost::json::array{};
        boost::json::array params;
        bool as_of = false;
        for (const auto& p : r.doc.params) {
            boost::json::object po;
            po["name"] = p.name;
            po["in"] = p.in;
            po["required"] = p.in == "path" ? true : p.required;
            if (!p.description.empty()) po["description"] = p.description;
            po["schema"] = {{"type", p.type}};
            params.push_back(std::move(po));
            as_of = as_of || (p.in == "query" && p.name == "as_of");
        }
        bool idempotent = false;
        // A GET that answers an ETag answers 304 to If-None-Match (the server does this for every
        // answer carrying one), so the document says so wherever the route says it has an ETag.
        const bool conditional_get = r.method == "GET" && r.doc.etag;
        if (conditional_get) params.push_back(ref("parameters", "If-None-Match"));
        for (const auto& h : r.doc.request_headers) {
            params.push_back(ref("parameters", h));
            idempotent = idempotent || h == "Idempotency-Key";
        }
        params.push_back(ref("parameters", "traceparent"));
        op["parameters"] = std::move(params);
        if (r.doc.json_request_body) {
            boost::json::object media;
            media["schema"] = r.doc.request_schema.empty() ? boost::json::value{{"type", "object"}}
                                                           : ref("schemas", r.doc.request_schema);
            if (!r.doc.request_example.empty()) media["example"] = boost::json::parse(r.doc.request_example);
            op["requestBody"] = {{"required", r.doc.request_required},
                                 {"content", {{"application/json", std::move(media)}}}};
        }
        boost::json::object responses;
        // Every route can answer 400 (the router refuses an undeclared query parameter or a
        // malformed target) and every route that takes a token 401.
        auto statuses = r.doc.responses;
        auto add_status = [&statuses](unsigned s) {
            if (std::find(statuses.begin(), statuses.end(), s) == statuses.end()) statuses.push_back(s);
        };
        add_status(400);
        if (r.doc.needs_token) add_status(401);
        // A read replica sends what it does not answer itself to the leader.
        if (!r.answered_by_replica()) add_status(307);
        if (conditional_get) add_status(304);
        std::sort(statuses.begin(), statuses.end());
        for (unsigned status : statuses) {
            boost::json::object resp;
            resp["description"] = reason(status);
            boost::json::object content;
            for (const auto& b : r.doc.bodies)
                if (b.status == status) content[b.media] = {{"schema", ref("schemas", b.schema)}};
            if (status >= 400 || status == 307)
                content["application/problem+json"] = {{"schema", ref("schemas", "Problem")}};
            if (!content.empty()) resp["content"] = std::move(content);
            boost::json::object headers;
            if (status == 304) headers["ETag"] = ref("headers", "ETag");
            if (status == 307) headers["Location"] = ref("headers", "Location");
            if (status / 100 == 2) {
                if (r.doc.etag) headers["ETag"] = ref("headers", "ETag");
                if (r.doc.location && status == 201) headers["Location"] = ref("headers", "Location");
                if (as_of) headers["Roster-As-Of"] = ref("headers", "Roster-As-Of");
                if (idempotent) headers["Idempotent-Replayed"] = ref("headers", "Idempotent-Replayed");
            }
            if (!headers.empty()) resp["headers"] = std::move(headers);
            responses[std::to_string(status)] = std::move(resp);
        }
        responses["default"] = {{"description", "Problem"},
                                {"content", {{"application/problem+json", {{"schema", ref("schemas", "Problem")}}}}}};
        op["responses"] = std::move(responses);
        auto& path_item = paths[r.path_template];
        if (!path_item.is_object()) path_item = boost::json::object{};
        path_item.as_object()[method_key(r.method)] = std::move(op);
    }
    doc["paths"] = std::move(paths);
    boost::json::object all_schemas{{"Problem", problem_schema()}};
    for (const auto& [name, schema] : schemas) all_schemas[name] = schema;
    doc["components"] = {{"schemas", std::move(all_schemas)},
                         {"parameters", header_parameters()},
                         {"headers", response_headers()},
                         {"securitySchemes",
                          {{"bearer",
                            {{"type", "http"},
                             {"scheme", "bearer"},
                             {"description",
                              "An API token (rst_...) from POST /v1/tokens, or the operator token rosterd writes "
                              "into its data directory."}}}}}};
    return doc;
}

}  // namespace roster::api
