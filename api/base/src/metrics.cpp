#include "roster/api/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <mutex>
#include <span>
#include <stdexcept>

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
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote && c == '"')
            out += "\\\"";
        else
            out.push_back(c);
    }
}

// Writes the key into `buf` when it fits (the usual case: a lookup then allocates nothing),
// else into `spill`.
template <class Values>
std::string_view series_key(const Values& values, std::span<char> buf, std::string& spill) {
    std::size_t n = 0;
    for (auto v : values) n += v.size() + 1;
    char* out = buf.data();
    if (n > buf.size()) {
        spill.resize(n);
        out = spill.data();
    }
    std::size_t at = 0;
    for (auto v : values) {
        std::copy(v.begin(), v.end(), out + at);
        at += v.size();
        out[at++] = '\0';
    }
    return {out, n};
}

exposition::labels zip_labels(const std::vector<std::string>& names, const std::vector<std::string>& values) {
    exposition::labels l;
    for (std::size_t i = 0; i < names.size(); ++i) l.emplace_back(names[i], values[i]);
    return l;
}

// Finds the series of `values` under a shared lock; creates it under the exclusive lock the
// first time the combination is seen.
template <class Series, class Values, class Make>
Series& find_series(std::shared_mutex& mu, std::map<std::string, std::unique_ptr<Series>, std::less<>>& series,
                    const Values& values, std::size_t expected, Make make) {
    if (values.size() != expected) throw std::invalid_argument("metric label values do not match the label names");
    std::array<char, 256> buf;
    std::string spill;
    const auto key = series_key(values, buf, spill);
    {
        std::shared_lock lk(mu);
        if (auto it = series.find(key); it != series.end()) return *it->second;
    }
    std::unique_lock lk(mu);
    auto it = series.find(key);
    if (it == series.end()) {
        it = series.emplace(std::string(key), make()).first;
        it->second->label_values.assign(values.begin(), values.end());
    }
    return *it->second;
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
    find_series(mu_, series_, label_values, label_names_.size(), [] {
        return std::make_unique<series>();
    }).value.fetch_add(by, std::memory_order_relaxed);
}

void metrics_registry::histogram_family::observe(const std::vector<std::string_view>& label_values, double v) {
    find_series(mu_, series_, label_values, label_names_.size(), [this] {
        return std::unique_ptr<series>(new series{{}, histogram(bounds_)});
    }).value.observe(v);
}

void metrics_registry::counter_family::inc(std::initializer_list<std::string_view> label_values, std::uint64_t by) {
    value_of(label_values).fetch_add(by, std::memory_order_relaxed);
}

std::atomic<std::uint64_t>& metrics_registry::counter_family::value_of(
    std::initializer_list<std::string_view> label_values) {
    return find_series(mu_, series_, label_values, label_names_.size(), [] { return std::make_unique<series>(); })
        .value;
}

void metrics_registry::histogram_family::observe(std::initializer_list<std::string_view> label_values, double v) {
    value_of(label_values).observe(v);
}

histogram& metrics_registry::histogram_family::value_of(std::initializer_list<std::string_view> label_values) {
    return find_series(mu_, series_, label_values, label_names_.size(),
                       [this] {
                           return std::unique_ptr<series>(new series{{}, histogram(bounds_)});
                       })
        .value;
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

void metrics_registry::add_collector(std::function<void(exposition&)> collect) {
    collectors_.push_back(std::move(collect));
}

std::string metrics_registry::render() const {
    exposition out;
    for (const auto& f : counters_) {
        out.family(f->name_, f->help_, "counter");
        std::shared_lock lk(f->mu_);
        for (const auto& [key, s] : f->series_)
            out.sample(f->name_, zip_labels(f->label_names_, s->label_values),
                       static_cast<double>(s->value.load(std::memory_order_relaxed)));
    }
    for (const auto& f : histograms_) {
        out.family(f->name_, f->help_, "histogram");
        std::shared_lock lk(f->mu_);
        for (const auto& [key, s] : f->series_)
            s->value.write(out, f->name_, zip_labels(f->label_names_, s->label_values));
    }
    for (const auto& c : callbacks_) {
        out.family(c.name, c.help, c.type);
        out.sample(c.name, {}, c.read());
    }
    for (const auto& collect : collectors_) collect(out);
    return out.take();
}

}  // namespace roster::api
