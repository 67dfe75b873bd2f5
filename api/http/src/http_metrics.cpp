#include "roster/api/http_metrics.hpp"

#include <charconv>

namespace roster::api {

std::vector<double> http_latency_buckets() {
    return {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

http_metrics::http_metrics(metrics_registry& registry)
    : requests_(registry.add_counter("roster_http_requests_total",
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
    static constexpr std::string_view known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    std::string_view method = "other";
    for (auto m : known)
        if (ctx.method == m) method = m;
    char status_text[8];
    auto r = std::to_chars(status_text, status_text + sizeof status_text, status);
    requests_.inc({route, method, std::string_view(status_text, static_cast<std::size_t>(r.ptr - status_text))});
    latency_.observe({route, method}, std::chrono::duration<double>(latency).count());
    bytes_.inc({route}, bytes);
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
