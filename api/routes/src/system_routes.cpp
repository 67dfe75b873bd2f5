#include "roster/api/system_routes.hpp"

#include <charconv>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/json/serialize.hpp>

#include "roster/api/json_input.hpp"
#include "roster/api/openapi.hpp"
#include "roster/api/problem.hpp"
#include "roster/api/wire_schemas.hpp"

namespace roster::api {

namespace {
// Path parameters arrive decoded; links built from them must be encoded again.
std::string encode_segment(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xf]);
        }
    }
    return out;
}
}  // namespace

void add_system_routes(router& routes, const readiness& ready) {
    routes.add(
        "GET", "/healthz",
        route_doc::of("Liveness: the process is serving HTTP.").in_tag("operations").no_token().returns(200, "Health"),
        [](request_context&, responder reply) {
            // A fixed answer: no JSON document built and serialized per probe.
            response r;
            r.content_type = "application/json";
            r.body = R"({"status":"ok"})";
            reply(std::move(r));
        });

    routes.add("GET", "/readyz",
               route_doc::of("Readiness: the store is open and the projections have caught up.")
                   .in_tag("operations")
                   .no_token()
                   .responds({200, 503})
                   .returns(200, "Readiness"),
               [&ready](request_context&, responder reply) {
                   auto reason = ready.why_not();
                   if (!reason) return void(reply(json_response(200, {{"status", "ready"}})));
                   reply(service_unavailable(*reason).to_response());
               });

    // Generated per request from the live table: cheap, and never stale.
    routes.add(
        "GET", "/v1/openapi.json",
        route_doc::of("This OpenAPI 3.1 document.").in_tag("operations").no_token().returns(200, "OpenApiDocument"),
        [&routes](request_context&, responder reply) {
            reply(json_response(200, make_openapi_document(routes, wire::schemas())));
        });

    routes.add("POST", "/v1/accounts/{a}/users/{u}/deactivate",
               route_doc::of("Removed: deactivation no longer exists (always 410).")
                   .describe("Use POST /v1/users/{u}/lock to stop a user's access while keeping their memberships, "
                             "or DELETE /v1/accounts/{a}/users/{u}/roles to remove their access roles.")
                   .param(path_param("a", "Account id."))
                   .param(path_param("u", "User id."))
                   .in_tag("users")
                   .responds({410}),
               [](request_context& ctx, responder reply) {
                   problem p;
                   p.status = 410;
                   p.code = "deactivate_removed";
                   auto a = encode_segment(ctx.param("a"));
                   auto u = encode_segment(ctx.param("u"));
                   std::string lock = "POST /v1/users/" + u + "/lock";
                   std::string roles = "DELETE /v1/accounts/" + a + "/users/" + u + "/roles";
                   p.detail = "Deactivation no longer exists. To stop the user's access, lock them with " + lock +
                              "; to take away their access roles in this account, use " + roles + ".";
                   p.extra["alternatives"] = {
                       {{"method", "POST"}, {"path", "/v1/users/{u}/lock"}, {"href", lock.substr(5)}},
                       {{"method", "DELETE"}, {"path", "/v1/accounts/{a}/users/{u}/roles"}, {"href", roles.substr(7)}}};
                   reply(p.to_response());
               });
}

}  // namespace roster::api
