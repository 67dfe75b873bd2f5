#include "roster/api/principal_limits.hpp"

#include <algorithm>
#include <cmath>

namespace roster::api {

namespace {
bool limited(const rate& r) { return r.per_second > 0; }
double capacity(const rate& r) { return std::max(1.0, r.burst); }
}  // namespace

void principal_limits::refill(bucket& b, const rate& r, clock::time_point now) {
    if (now > b.refilled) {
        const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
        b.tokens = std::min(capacity(r), b.tokens + elapsed * r.per_second);
    }
    b.refilled = std::max(b.refilled, now);
}

std::chrono::seconds principal_limits::wait_for_one(const bucket& b, const rate& r) {
    const double missing = std::max(0.0, 1.0 - b.tokens);
    // Retry-After is whole seconds; rounding up means a client that waits as told succeeds.
    return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(missing / r.per_second))));
}

principal_limits::buckets& principal_limits::buckets_of(std::string_view principal, clock::time_point now) {
    auto fresh = [&] {
        buckets b;
        b.commands = {capacity(options_.commands), now};
        b.refusals = {capacity(options_.refusals), now};
        return b;
    };
    if (auto it = by_principal_.find(std::string(principal)); it != by_principal_.end()) return it->second;
    if (by_principal_.size() >= options_.max_principals) {
        // A full bucket holds no memory of the past: dropping it changes nobody's budget.
        for (auto it = by_principal_.begin(); it != by_principal_.end();) {
            refill(it->second.commands, options_.commands, now);
            refill(it->second.refusals, options_.refusals, now);
            const bool idle = it->second.commands.tokens >= capacity(options_.commands) &&
                              it->second.refusals.tokens >= capacity(options_.refusals);
            it = idle ? by_principal_.erase(it) : std::next(it);
        }
    }
    if (by_principal_.size() >= options_.max_principals) {
        if (!overflow_started_) {
            overflow_ = fresh();
            overflow_started_ = true;
        }
        return overflow_;
    }
    return by_principal_.emplace(std::string(principal), fresh()).first->second;
}

std::optional<std::chrono::seconds> principal_limits::take_command(std::string_view principal, bool is_operator,
                                                                   clock::time_point now) {
    if (!limited(options_.commands) || (is_operator && !options_.limit_operator_commands)) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto& b = buckets_of(principal, now).commands;
    refill(b, options_.commands, now);
    if (b.tokens < 1.0) return wait_for_one(b, options_.commands);
    b.tokens -= 1.0;
    return std::nullopt;
}

void principal_limits::charge_refusal(std::string_view principal, clock::time_point now) {
    if (!limited(options_.refusals)) return;
    std::lock_guard lock(mutex_);
    auto& b = buckets_of(principal, now).refusals;
    refill(b, options_.refusals, now);
    b.tokens = std::max(0.0, b.tokens - 1.0);
}

std::optional<std::chrono::seconds> principal_limits::refusals_spent(std::string_view principal,
                                                                     clock::time_point now) {
    if (!limited(options_.refusals)) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = by_principal_.find(std::string(principal));
    const bool in_overflow = overflow_started_ && by_principal_.size() >= options_.max_principals;
    bucket* b = it != by_principal_.end() ? &it->second.refusals : (in_overflow ? &overflow_.refusals : nullptr);
    if (!b) return std::nullopt;  // never refused: a full budget
    refill(*b, options_.refusals, now);
    if (b->tokens < 1.0) return wait_for_one(*b, options_.refusals);
    return std::nullopt;
}

std::size_t principal_limits::tracked() const {
    std::lock_guard lock(mutex_);
    return by_principal_.size();
}

}  // namespace roster::api
