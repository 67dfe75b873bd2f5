// A small Prometheus registry and text exposition (format 0.0.4) for /metrics.
//
// Written here rather than taken from prometheus-cpp: Roster needs counters, histograms and
// callback gauges rendered as text, and its pull part would bring a second HTTP server along.
// Families are declared while wiring (before serving); recording is lock-free once a series
// exists, and finding a series takes a shared lock (an exclusive one only the first time a label
// combination is seen).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace roster::api {

// Writes families in the text format: HELP/TYPE once per family, then its samples. Label values
// and HELP text are escaped; histograms are written cumulative with +Inf, _sum and _count.
class exposition {
public:
    using labels = std::vector<std::pair<std::string_view, std::string_view>>;

    void family(std::string_view name, std::string_view help, std::string_view type);
    void sample(std::string_view name, const labels& l, double value);
    // `counts[i]` is the number of observations in (bounds[i-1], bounds[i]]; counts.back() is
    // above the last bound (counts.size() == bounds.size() + 1).
    void histogram(std::string_view name, const labels& l, const std::vector<double>& bounds,
                   const std::vector<std::uint64_t>& counts, double sum);
    std::string take() { return std::move(out_); }

private:
    void write_labels(const labels& l, std::string_view le = {});
    std::string out_;
};

// A Prometheus number: integers without exponent, +Inf/-Inf/NaN spelled as the format wants.
std::string format_metric_value(double v);

// Counts observations into fixed buckets; observe() is lock-free.
class histogram {
public:
    explicit histogram(std::vector<double> upper_bounds);
    void observe(double v) noexcept;
    void write(exposition& out, std::string_view name, const exposition::labels& l) const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<double> sum_{0};
};

class metrics_registry {
public:
    // A counter per combination of label values.
    class counter_family {
    public:
        void inc(const std::vector<std::string_view>& label_values, std::uint64_t by = 1);
        // The same without building a vector (the per-request path).
        void inc(std::initializer_list<std::string_view> label_values, std::uint64_t by = 1);
        // The series' value itself, for a caller that keeps it to record without a lookup;
        // valid as long as the registry (a series is never removed).
        std::atomic<std::uint64_t>& value_of(std::initializer_list<std::string_view> label_values);

    private:
        friend class metrics_registry;
        std::string name_, help_;
        std::vector<std::string> label_names_;
        mutable std::shared_mutex mu_;
        struct series {
            std::vector<std::string> label_values;
            std::atomic<std::uint64_t> value{0};
        };
        // Keyed by the label values joined with NUL (values never contain one: they are route
        // templates, methods and status codes).
        std::map<std::string, std::unique_ptr<series>, std::less<>> series_;
    };

    class histogram_family {
    public:
        void observe(const std::vector<std::string_view>& label_values, double v);
        void observe(std::initializer_list<std::string_view> label_values, double v);
        // As counter_family::value_of.
        histogram& value_of(std::initializer_list<std::string_view> label_values);

    private:
        friend class metrics_registry;
        std::string name_, help_;
        std::vector<std::string> label_names_;
        std::vector<double> bounds_;
        mutable std::shared_mutex mu_;
        struct series {
            std::vector<std::string> label_values;
            histogram value;
        };
        std::map<std::string, std::unique_ptr<series>, std::less<>> series_;
    };

    // The returned references stay valid as long as the registry. Names must be unique.
    counter_family& add_counter(std::string name, std::string help, std::vector<std::string> label_names);
    histogram_family& add_histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                    std::vector<double> upper_bounds);
    // A value read at scrape time, e.g. `[&hub] { return hub.subscriber_count(); }`. The
    // callback runs on an I/O thread during the scrape and must be thread-safe and cheap.
    void add_gauge(std::string name, std::string help, std::function<double()> read);
    void add_counter_callback(std::string name, std::string help, std::function<double()> read);
    // Writes families of its own (e.g. from one stats snapshot), after the registered ones.
    void add_collector(std::function<void(exposition&)> collect);

    // The whole exposition. Thread-safe against recording; not against add_*.
    std::string render() const;

private:
    struct callback_metric {
        std::string name, help, type;
        std::function<double()> read;
    };
    std::vector<std::unique_ptr<counter_family>> counters_;
    std::vector<std::unique_ptr<histogram_family>> histograms_;
    std::vector<callback_metric> callbacks_;
    std::vector<std::function<void(exposition&)>> collectors_;
};

}  // namespace roster::api
