// Private: the commit path's lock-free histograms (store_stats).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "roster/eventstore/store.hpp"

namespace roster::eventstore {

// Fixed buckets counted with relaxed atomics: the commit path pays two increments and a
// fetch_add per observation, and never a lock.
template <std::size_t N>
class atomic_histogram {
public:
    explicit constexpr atomic_histogram(std::array<double, N> bounds) : bounds_(bounds) {}
    void observe(double v) noexcept {
        const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
        counts_[i].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(v, std::memory_order_relaxed);
    }
    histogram_snapshot snapshot() const {
        histogram_snapshot out;
        out.upper_bounds.assign(bounds_.begin(), bounds_.end());
        for (const auto& c : counts_) {
            out.counts.push_back(c.load(std::memory_order_relaxed));
            out.count += out.counts.back();
        }
        out.sum = sum_.load(std::memory_order_relaxed);
        return out;
    }

private:
    std::array<double, N> bounds_;
    std::array<std::atomic<std::uint64_t>, N + 1> counts_{};
    std::atomic<double> sum_{0};
};

}  // namespace roster::eventstore
