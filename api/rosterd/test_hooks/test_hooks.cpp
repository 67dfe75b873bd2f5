#include "roster/api/test_hooks.hpp"
#include "roster/api/http_commands.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/json/serialize.hpp>

#include "roster/api/json_input.hpp"
#include "roster/api/problem.hpp"

namespace roster::api {

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
                       return void(reply(
                           bad_request("invalid_parameter", "ms must be an integer of at most 60000.").to_response()));
                   log.info("test_slow_started", {{"request_id", ctx.request_id}, {"ms", ms}});
                   std::lock_guard lock(impl_->mutex);
                   impl_->threads.emplace_back([reply, ms] {
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       reply(json_response(200, {{"slept_ms", ms}}));
                   });
               });
    routes.add(
        "GET", "/test/stream",
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
            auto pieces = number("pieces", 1), bytes = number("bytes", 1),
                 fail_after = number("fail_after", UINT64_MAX);
            if (!pieces || !bytes || !fail_after || *bytes > 1024 * 1024)
                return void(reply(bad_request("invalid_parameter",
                                              "pieces, bytes and fail_after must be integers; bytes at most 1048576.")
                                      .to_response()));
            response r;
            r.content_type = "application/octet-stream";
            // Piece i is `bytes` copies of 'a' + i % 26, so a client can check order and completeness.
            r.stream = [n = *pieces, size = *bytes, fail = *fail_after,
                        i = std::uint64_t{0}](std::string& out) mutable {
                if (i == fail) throw std::runtime_error("test stream failure");
                if (i < n) out.append(size, static_cast<char>('a' + i % 26));
                ++i;
                return i < n;
            };
            reply(std::move(r));
        });
    routes.add("GET", "/test/throw", route_doc::of("Test only: the handler throws.").in_tag("test").responds({500}),
               [](request_context&, responder) { throw std::runtime_error("test route failure"); });
    routes.add(
        "POST", "/test/echo",
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

void add_fault_test_routes(router& routes, std::shared_ptr<eventstore::write_faults> faults) {
    routes.add("POST", "/test/fail-next-writes",
               route_doc::of("Test only: make the next n store writes fail")
                   .param(query_param("n", "How many writes fail", false, "integer"))
                   .in_tag("test")
                   .answered_by_replica(),
               [faults](request_context& ctx, responder reply) {
                   int n = 1;
                   if (auto v = ctx.query.get("n")) n = std::atoi(std::string(*v).c_str());
                   faults->fail_next(n);
                   reply(json_response(200, {{"failing_writes", n}}));
               });
    routes.add("POST", "/test/fail-reads",
               route_doc::of("Test only: make every read of the store's log fail, or stop that")
                   .param(query_param("on", "true: reads fail; false: reads work again", true, "boolean"))
                   .in_tag("test")
                   .answered_by_replica()
                   .responds({200, 400}),
               [faults](request_context& ctx, responder reply) {
                   const auto on = ctx.query.get("on").value_or("");
                   if (on != "true" && on != "false")
                       return void(reply(bad_request("invalid_parameter", "on must be true or false.").to_response()));
                   faults->fail_reads(on == "true");
                   reply(json_response(200, {{"failing_reads", on == "true"}}));
               });
}

void add_live_test_routes(router& routes, service& svc) {
    routes.add(
        "POST", "/test/append",
        route_doc::of("Test only: append n events (token issues) through the writer")
            .param(query_param("n", "How many events (at most 10000)", true, "integer"))
            .in_tag("test")
            .responds({200, 400}),
        [&svc](request_context& ctx, responder reply) {
            auto raw = ctx.query.get("n").value_or("");
            std::size_t n = 0;
            auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), n);
            if (ec != std::errc{} || end != raw.data() + raw.size() || n == 0 || n > 10'000)
                return void(
                    reply(bad_request("invalid_parameter", "n must be an integer from 1 to 10000.").to_response()));
            static std::atomic<std::uint64_t> counter{0};
            struct progress {
                std::mutex mutex;
                std::size_t left;
                std::uint64_t first = UINT64_MAX, last = 0;
                unsigned worst = 200;
            };
            auto state = std::make_shared<progress>();
            state->left = n;
            for (std::size_t i = 0; i < n; ++i) {
                const auto id = counter.fetch_add(1) + 1;
                const auto tag = ctx.request_id + "_" + std::to_string(id);
                command_request request;
                request.command = domain::issue_token{domain::token_id{"tok_test_" + tag}, domain::auditor_principal{},
                                                      sha256_hex("test-append-" + tag)};
                request.actor = domain::operator_principal{};
                request.meta.actor.principal = "operator";
                request.meta.request_id = ctx.request_id;
                request.meta.reason = "test append";
                request.done = [state, reply, &svc](command_result r) {
                    std::lock_guard lock(state->mutex);
                    if (!std::holds_alternative<outcome::accepted>(r)) state->worst = 503;
                    if (--state->left > 0) return;
                    const auto head = svc.store.head().position;
                    reply(json_response(state->worst < 300 ? 200 : 503,
                                        {{"appended", state->worst < 300}, {"head", head.value}}));
                };
                svc.writer.submit(std::move(request));
            }
        });
}

namespace {
std::atomic<std::int64_t> clock_offset_s{0};
}  // namespace

domain::timestamp test_clock_now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()) +
           std::chrono::seconds(clock_offset_s.load());
}

void add_clock_test_routes(router& routes) {
    routes.add("POST", "/test/clock",
               route_doc::of("Test only: move the server's clock forward")
                   .param(query_param("advance_s", "Seconds to add (1 to 10^9)", true, "integer"))
                   .in_tag("test")
                   .answered_by_replica()
                   .responds({200, 400}),
               [](request_context& ctx, responder reply) {
                   auto raw = ctx.query.get("advance_s").value_or("");
                   std::int64_t n = 0;
                   auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), n);
                   if (ec != std::errc{} || end != raw.data() + raw.size() || n <= 0 || n > 1'000'000'000 ||
                       clock_offset_s.load() + n > 1'000'000'000)
                       return void(reply(
                           bad_request("invalid_parameter", "advance_s must be 1 to 10^9 in all.").to_response()));
                   const auto offset = clock_offset_s.fetch_add(n) + n;
                   reply(json_response(200, boost::json::object{{"offset_s", offset}}));
               });
}

}  // namespace roster::api
