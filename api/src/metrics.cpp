#include "roster/api/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>
#include <stdexcept>

#include "roster/eventstore/store.hpp"
#include "roster/projections/read_model.hpp"

namespace roster::api {

std::string format_metric_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    // Whole numbers up to 2^53 are exact as integers; "1e+06" would be valid but harder to read.
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
        return std::string(buf, r.ptr);
    }
    // Fixed notation in the usual range ("0.0005", as other exporters print bucket bounds),
    // shortest round-trip form otherwise.
    char buf[400];
    const double a = std::fabs(v);
    auto r = a >= 1e-6 && a < 1e15 ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                                   : std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

namespace {

void escape_into(std::string& out, std::string_view s, bool quote) {
    for (char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (quote && c == '"') out += "\\\"";
        else out.push_back(c);
    }
}

std::string series_key(const std::vector<std::string_view>& values) {
    std::string key;
    for (auto v : values) {
        key.append(v);
        key.push_back('\0');
    }
    return key;
}

exposition::labels zip_labels(const std::vector<std::string>& names, const std::vector<std::string>& values) {
    exposition::labels l;
    for (std::size_t i = 0; i < names.size(); ++i) l.emplace_back(names[i], values[i]);
    return l;
}

// Finds the series of `values` under a shared lock; creates it under the exclusive lock the
// first time the combination is seen.
template <class Series, class Make>
Series& find_series(std::shared_mutex& mu, std::map<std::string, std::unique_ptr<Series>, std::less<>>& series,
                    const std::vector<std::string_view>& values, std::size_t expected, Make make) {
    if (values.size() != expected) throw std::invalid_argument("metric label values do not match the label names");
    const auto key = series_key(values);
    {
        std::shared_lock lk(mu);
        if (auto it = series.find(key); it != series.end()) return *it->second;
    }
    std::unique_lock lk(mu);
    auto& slot = series[key];
    if (!slot) {
        slot = make();
        slot->label_values.assign(values.begin(), values.end());
    }
    return *slot;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// exposition

void exposition::family(std::string_view name, std::string_view help, std::string_view type) {
    out_ += "# HELP ";
    out_ += name;
    out_.push_back(' ');
    escape_into(out_, help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_.push_back(' ');
    out_ += type;
    out_.push_back('\n');
}

void exposition::write_labels(const labels& l, std::string_view le) {
    if (l.empty() && le.empty()) return;
    out_.push_back('{');
    bool first = true;
    for (auto& [k, v] : l) {
        if (!first) out_.push_back(',');
        first = false;
        out_ += k;
        out_ += "=\"";
        escape_into(out_, v, true);
        out_.push_back('"');
    }
    if (!le.empty()) {
        if (!first) out_.push_back(',');
        out_ += "le=\"";
        out_ += le;
        out_.push_back('"');
    }
    out_.push_back('}');
}

void exposition::sample(std::string_view name, const labels& l, double value) {
    out_ += name;
    write_labels(l);
    out_.push_back(' ');
    out_ += format_metric_value(value);
    out_.push_back('\n');
}

void exposition::histogram(std::string_view name, const labels& l, const std::vector<double>& bounds,
                           const std::vector<std::uint64_t>& counts, double sum) {
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += counts[i];
        out_ += bucket;
        write_labels(l, format_metric_value(bounds[i]));
        out_.push_back(' ');
        out_ += std::to_string(cumulative);
        out_.push_back('\n');
    }
    cumulative += counts.back();
    out_ += bucket;
    write_labels(l, "+Inf");
    out_ += ' ' + std::to_string(cumulative) + '\n';
    sample(std::string(name) + "_sum", l, sum);
    out_ += std::string(name) + "_count";
    write_labels(l);
    out_ += ' ' + std::to_string(cumulative) + '\n';
}

// ---------------------------------------------------------------------------------------------
// histogram

histogram::histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    if (!std::is_sorted(bounds_.begin(), bounds_.end())) throw std::invalid_argument("histogram bounds must be sorted");
}

void histogram::observe(double v) noexcept {
    // Prometheus buckets are "less or equal": lower_bound finds the first bound >= v.
    const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

void histogram::write(exposition& out, std::string_view name, const exposition::labels& l) const {
    std::vector<std::uint64_t> counts(bounds_.size() + 1);
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
    out.histogram(name, l, bounds_, counts, sum_.load(std::memory_order_relaxed));
}

// ---------------------------------------------------------------------------------------------
// registry

void metrics_registry::counter_family::inc(const std::vector<std::string_view>& label_values, std::uint64_t by) {
    find_series(mu_, series_, label_values, label_names_.size(), [] { return std::make_unique<series>(); })
        .value.fetch_add(by, std::memory_order_relaxed);
}

void metrics_registry::histogram_family::observe(const std::vector<std::string_view>& label_values, double v) {
    find_series(mu_, series_, label_values, label_names_.size(),
                [this] { return std::unique_ptr<series>(new series{{}, histogram(bounds_)}); })
        .value.observe(v);
}

metrics_registry::counter_family& metrics_registry::add_counter(std::string name, std::string help,
                                                                std::vector<std::string> label_names) {
    auto f = std::make_unique<counter_family>();
    f->name_ = std::move(name);
    f->help_ = std::move(help);
    f->label_names_ = std::move(label_names);
    counters_.push_back(std::move(f));
    return *counters_.back();
}

metrics_registry::histogram_family& metrics_registry::add_histogram(std::string name, std::string help,
                                                                    std::vector<std::string> label_names,
                                                                    std::vector<double> upper_bounds) {
    auto f = std::make_unique<histogram_family>();
    f->name_ = std::move(name);
    f->help_ = std::move(help);
    f->label_names_ = std::move(label_names);
    f->bounds_ = std::move(upper_bounds);
    histograms_.push_back(std::move(f));
    return *histograms_.back();
}

void metrics_registry::add_gauge(std::string name, std::string help, std::function<double()> read) {
    callbacks_.push_back({std::move(name), std::move(help), "gauge", std::move(read)});
}

void metrics_registry::add_counter_callback(std::string name, std::string help, std::function<double()> read) {
    callbacks_.push_back({std::move(name), std::move(help), "counter", std::move(read)});
}

void metrics_registry::add_collector(std::function<void(exposition&)> collect) { collectors_.push_back(std::move(collect)); }

std::string metrics_registry::render() const {
    exposition out;
    for (const auto& f : counters_) {
        out.family(f->name_, f->help_, "counter");
        std::shared_lock lk(f->mu_);
        for (const auto& [key, s] : f->series_)
            out.sample(f->name_, zip_labels(f->label_names_, s->label_values), static_cast<double>(s->value.load(std::memory_order_relaxed)));
    }
    for (const auto& f : histograms_) {
        out.family(f->name_, f->help_, "histogram");
        std::shared_lock lk(f->mu_);
        for (const auto& [key, s] : f->series_) s->value.write(out, f->name_, zip_labels(f->label_names_, s->label_values));
    }
    for (const auto& c : callbacks_) {
        out.family(c.name, c.help, c.type);
        out.sample(c.name, {}, c.read());
    }
    for (const auto& collect : collectors_) collect(out);
    return out.take();
}

// ---------------------------------------------------------------------------------------------
// HTTP

std::vector<double> http_latency_buckets() {
    return {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

http_metrics::http_metrics(metrics_registry& registry)
    : requests_(registry.add_counter("roster_http_requests_total",
                                     "HTTP requests answered, by route template, method and status code.",
                                     {"route", "method", "status"})),
      latency_(registry.add_histogram("roster_http_request_duration_seconds",
                                      "Time from the first byte of a request to its response written, by route template and method.",
                                      {"route", "method"}, http_latency_buckets())),
      bytes_(registry.add_counter("roster_http_response_bytes_total", "Response bytes written, by route template.",
                                  {"route"})) {}

void http_metrics::record(const request_context& ctx, unsigned status, std::chrono::microseconds latency, std::size_t bytes) {
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

void add_store_metrics(metrics_registry& registry, const eventstore::store& store, const projections::read_model& reads) {
    registry.add_collector([&store, &reads](exposition& out) {
        // The read model's position is read first: it never passes the head, so the lag below is
        // never negative (at worst it includes a commit that landed during the scrape).
        const auto projected = reads.position();
        const auto s = store.stats();
        out.family("roster_store_commits_total", "Commit groups written and synced (one WriteBatch + fsync each).", "counter");
        out.sample("roster_store_commits_total", {}, static_cast<double>(s.commits));
        out.family("roster_store_appended_batches_total", "Append batches committed (one per accepted command).", "counter");
        out.sample("roster_store_appended_batches_total", {}, static_cast<double>(s.batches));
        out.family("roster_store_appended_events_total", "Events appended to the log.", "counter");
        out.sample("roster_store_appended_events_total", {}, static_cast<double>(s.events));
        out.family("roster_store_write_failures_total",
                   "Commit groups whose write failed (every command of the group was answered 503).", "counter");
        out.sample("roster_store_write_failures_total", {}, static_cast<double>(s.write_failures));
        out.family("roster_store_group_commit_batches", "Append batches per commit group (group-commit batch size).",
                   "histogram");
        out.histogram("roster_store_group_commit_batches", {}, s.group_batches.upper_bounds, s.group_batches.counts,
                      s.group_batches.sum);
        out.family("roster_store_write_duration_seconds",
                   "Duration of one synced commit write (WAL append + fsync), failed ones included.", "histogram");
        out.histogram("roster_store_write_duration_seconds", {}, s.write_seconds.upper_bounds, s.write_seconds.counts,
                      s.write_seconds.sum);
        out.family("roster_store_size_bytes", "Bytes of every file in the event store directory (SSTs, WAL, manifest).",
                   "gauge");
        out.sample("roster_store_size_bytes", {}, static_cast<double>(s.size_bytes));
        out.family("roster_store_head_position", "Position of the last committed event.", "gauge");
        out.sample("roster_store_head_position", {}, static_cast<double>(s.head_position));
        out.family("roster_projection_position", "Last log position folded into the read model.", "gauge");
        out.sample("roster_projection_position", {}, static_cast<double>(projected));
        out.family("roster_projection_lag_events", "Committed events not yet visible to queries (head - projection position).",
                   "gauge");
        out.sample("roster_projection_lag_events", {},
                   static_cast<double>(s.head_position > projected ? s.head_position - projected : 0));
    });
}

void add_metrics_route(router& routes, const metrics_registry& registry) {
    routes.add("GET", "/metrics",
               route_doc::of("Prometheus metrics (text format 0.0.4).")
                   .describe("Request counts and latencies by route template, store appends, group-commit sizes, "
                             "write+fsync latency, store size, projection lag. No token needed: it holds no ids or names.")
                   .in_tag("operations"),
               [&registry](request_context&, responder reply) {
                   response r;
                   r.status = 200;
                   r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                   r.body = registry.render();
                   reply(std::move(r));
               });
}

}  // namespace roster::api
