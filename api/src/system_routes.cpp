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
    routes.add("GET", "/healthz", route_doc::of("Liveness: the process is serving HTTP.").in_tag("operations"),
               [](request_context&, responder reply) { reply(json_response(200, {{"status", "ok"}})); });

    routes.add("GET", "/readyz",
               route_doc::of("Readiness: the store is open and the projections have caught up.")
                   .in_tag("operations")
                   .responds({200, 503}),
               [&ready](request_context&, responder reply) {
                   if (ready.get()) return void(reply(json_response(200, {{"status", "ready"}})));
                   reply(service_unavailable("The server is starting or stopping.").to_response());
               });

    // Generated per request from the live table: cheap, and never stale.
    routes.add("GET", "/v1/openapi.json", route_doc::of("This OpenAPI 3.1 document.").in_tag("operations"),
               [&routes](request_context&, responder reply) { reply(json_response(200, make_openapi_document(routes))); });

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
                   p.title = "Gone";
                   auto a = encode_segment(ctx.param("a"));
                   auto u = encode_segment(ctx.param("u"));
                   std::string lock = "POST /v1/users/" + u + "/lock";
                   std::string roles = "DELETE /v1/accounts/" + a + "/users/" + u + "/roles";
                   p.detail = "Deactivation no longer exists. To stop the user's access, lock them with " + lock +
                              "; to take away their access roles in this account, use " + roles + ".";
                   p.extra["alternatives"] = {{{"method", "POST"}, {"path", "/v1/users/{u}/lock"}, {"href", lock.substr(5)}},
                                              {{"method", "DELETE"},
                                               {"path", "/v1/accounts/{a}/users/{u}/roles"},
                                               {"href", roles.substr(7)}}};
                   reply(p.to_response());
               });
}

struct test_routes::impl {
    std::mutex mutex;
    std::vector<std::jthread> threads;
};

test_routes::test_routes(router& routes, logger& log) : impl_(std::make_unique<impl>()) {
    routes.add("GET", "/test/slow",
               route_doc::of("Test only: answers after `ms` milliseconds, from another thread.")
                   .param(query_param("ms", "Delay in milliseconds.", true, "integer"))
                   .in_tag("test")
                   .responds({200, 400}),
               [this, &log](request_context& ctx, responder reply) {
                   auto raw = ctx.query.get("ms").value_or("");
                   unsigned ms = 0;
                   auto [ptr, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), ms);
                   if (ec != std::errc{} || ptr != raw.data() + raw.size() || ms > 60'000)
                       return void(reply(bad_request("invalid_parameter", "ms must be an integer of at most 60000.").to_response()));
                   log.info("test_slow_started", {{"request_id", ctx.request_id}, {"ms", ms}});
                   std::lock_guard lock(impl_->mutex);
                   impl_->threads.emplace_back([reply, ms] {
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       reply(json_response(200, {{"slept_ms", ms}}));
                   });
               });
    routes.add("GET", "/test/stream",
               route_doc::of("Test only: a chunked body of `pieces` pieces of `bytes` bytes each.")
                   .param(query_param("pieces", "How many pieces.", true, "integer"))
                   .param(query_param("bytes", "Bytes per piece (at most 1 MiB).", true, "integer"))
                   .param(query_param("fail_after", "The producer throws after this many pieces.", false, "integer"))
                   .in_tag("test")
                   .responds({200, 400}),
               [](request_context& ctx, responder reply) {
                   auto number = [&](std::string_view name, std::uint64_t fallback) -> std::optional<std::uint64_t> {
                       auto raw = ctx.query.get(name);
                       if (!raw) return fallback;
                       std::uint64_t v = 0;
                       auto [ptr, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
                       if (ec != std::errc{} || ptr != raw->data() + raw->size()) return std::nullopt;
                       return v;
                   };
                   auto pieces = number("pieces", 1), bytes = number("bytes", 1), fail_after = number("fail_after", UINT64_MAX);
                   if (!pieces || !bytes || !fail_after || *bytes > 1024 * 1024)
                       return void(reply(bad_request("invalid_parameter", "pieces, bytes and fail_after must be integers; bytes at most 1048576.").to_response()));
                   response r;
                   r.content_type = "application/octet-stream";
                   // Piece i is `bytes` copies of 'a' + i % 26, so a client can check order and completeness.
                   r.stream = [n = *pieces, size = *bytes, fail = *fail_after, i = std::uint64_t{0}](std::string& out) mutable {
                       if (i == fail) throw std::runtime_error("test stream failure");
                       if (i < n) out.append(size, static_cast<char>('a' + i % 26));
                       ++i;
                       return i < n;
                   };
                   reply(std::move(r));
               });
    routes.add("GET", "/test/throw", route_doc::of("Test only: the handler throws.").in_tag("test").responds({500}),
               [](request_context&, responder) { throw std::runtime_error("test route failure"); });
    routes.add("POST", "/test/echo",
               route_doc::of("Test only: strict JSON input, echoed.").in_tag("test").json_body().responds({200, 400, 415}),
               [](request_context& ctx, responder reply) {
                   auto body = parse_json_object_body(ctx);
                   if (!body) return void(reply(body.error().to_response()));
                   json_reader in(*body);
                   auto name = in.required_string("name");
                   auto count = in.optional_int64("count");
                   auto tags = in.optional_string_array("tags");
                   if (auto bad = in.finish()) return void(reply(bad->to_response()));
                   boost::json::object out{{"name", name}};
                   if (count) out["count"] = *count;
                   if (tags) {
                       boost::json::array a;
                       for (auto& t : *tags) a.emplace_back(t);
                       out["tags"] = std::move(a);
                   }
                   reply(json_response(200, out));
               });
}

test_routes::~test_routes() = default;

}  // namespace roster::api
