// The HTTP face of the metrics: request counters and latencies, and the /metrics route.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "roster/api/http.hpp"
#include "roster/api/metrics.hpp"
#include "roster/api/router.hpp"

namespace roster::api {

// Upper bounds in seconds for HTTP request latency (0.25 ms .. 10 s).
std::vector<double> http_latency_buckets();

// The HTTP request metrics (roster_http_requests_total, roster_http_request_duration_seconds,
// roster_http_response_bytes_total) fed from server_options::on_request_done.
class http_metrics {
public:
    explicit http_metrics(metrics_registry& registry);
    // Suits server_options::on_request_done. Thread-safe.
    void record(const request_context& ctx, unsigned status, std::chrono::microseconds latency, std::size_t bytes);

private:
    const std::uint64_t id_;  // tells this instance's entries in the per-thread series cache from others'
    metrics_registry::counter_family& requests_;
    metrics_registry::histogram_family& latency_;
    metrics_registry::counter_family& bytes_;
};

// GET /metrics: the registry's exposition as text/plain; version=0.0.4. Open like /healthz (no
// token), as Prometheus scrapes it; it reveals counts and timings, never ids or names.
void add_metrics_route(router& routes, const metrics_registry& registry);

}  // namespace roster::api
