#include "roster/api/http_metrics.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <string>

namespace roster::api {

std::vector<double> http_latency_buckets() {
    return {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace {
std::atomic<std::uint64_t> next_http_metrics_id{1};

// The three series of one (route, method, status), as last found by this thread. A request
// would otherwise build three keys and look each up under a lock shared by every I/O thread.
// Direct-mapped and fixed in size: a collision only costs the lookups again.
struct series_entry {
    std::uint64_t owner = 0;  // http_metrics::id_; 0: empty
    std::string route;
    std::string_view method;  // one of `known_methods` or "other" (static storage)
    unsigned status = 0;
    std::atomic<std::uint64_t>* requests = nullptr;
    histogram* latency = nullptr;
    std::atomic<std::uint64_t>* bytes = nullptr;
};
constexpr std::size_t series_cache_slots = 64;
// Route templates are short; a longer one is looked up every time rather than copied here.
constexpr std::size_t max_cached_route_bytes = 128;

constexpr std::string_view known_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

std::size_t slot_of(std::string_view route, std::string_view method, unsigned status) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (char c : route) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    h = (h ^ method.size()) * 1099511628211ULL;
    h = (h ^ status) * 1099511628211ULL;
    return static_cast<std::size_t>(h % series_cache_slots);
}
}  // namespace

http_metrics::http_metrics(metrics_registry& registry)
    : id_(next_http_metrics_id.fetch_add(1, std::memory_order_relaxed)),
      requests_(registry.add_counter("roster_http_requests_total",
                                     "HTTP requests answered, by route template, method and status code.",
                                     {"route", "method", "status"})),
      latency_(registry.add_histogram(
          "roster_http_request_duration_seconds",
          "Time from the first byte of a request to its response written, by route template and method.",
          {"route", "method"}, http_latency_buckets())),
      bytes_(registry.add_counter("roster_http_response_bytes_total", "Response bytes written, by route template.",
                                  {"route"})) {}

void http_metrics::record(const request_context& ctx, unsigned status, std::chrono::microseconds latency,
                          std::size_t bytes) {
    // Label values come only from fixed sets (route templates, known methods, 3-digit statuses),
    // so a client sending random paths or methods cannot grow the series without bound.
    std::string_view route = ctx.route.empty() ? std::string_view("unmatched") : std::string_view(ctx.route);
    std::string_view method = "other";
    for (auto m : known_methods)
        if (ctx.method == m) method = m;
    thread_local std::array<series_entry, series_cache_slots> cache;
    auto& e = cache[slot_of(route, method, status)];
    if (e.owner != id_ || e.status != status || e.method != method || e.route != route) {
        char status_text[8];
        auto r = std::to_chars(status_text, status_text + sizeof status_text, status);
        const std::string_view status_view(status_text, static_cast<std::size_t>(r.ptr - status_text));
        auto* requests = &requests_.value_of({route, method, status_view});
        auto* latency_series = &latency_.value_of({route, method});
        auto* bytes_series = &bytes_.value_of({route});
        if (route.size() > max_cached_route_bytes) {
            requests->fetch_add(1, std::memory_order_relaxed);
            latency_series->observe(std::chrono::duration<double>(latency).count());
            bytes_series->fetch_add(bytes, std::memory_order_relaxed);
            return;
        }
        e = {id_, std::string(route), method, status, requests, latency_series, bytes_series};
    }
    e.requests->fetch_add(1, std::memory_order_relaxed);
    e.latency->observe(std::chrono::duration<double>(latency).count());
    e.bytes->fetch_add(bytes, std::memory_order_relaxed);
}

void add_metrics_route(router& routes, const metrics_registry& registry) {
    routes.add(
        "GET", "/metrics",
        route_doc::of("Prometheus metrics (text format 0.0.4).")
            .describe("Request counts and latencies by route template, store appends, group-commit sizes, "
                      "write+fsync latency, store size, projection lag. No token needed: it holds no ids or names.")
            .in_tag("operations")
            .no_token()
            .returns(200, "PrometheusMetrics", "text/plain"),
        [&registry](request_context&, responder reply) {
            response r;
            r.status = 200;
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.body = registry.render();
            reply(std::move(r));
        });
}

}  // namespace roster::api
