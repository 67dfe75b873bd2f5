// Per-principal rate limits: how many commands, and how many refused requests, one principal may
// make. Token buckets keyed by the principal's label ("user:usr_…", "operator", ...).
//
// Owned by rosterd main; thread-safe (one mutex, held for a map lookup and a little arithmetic).
// Memory is bounded by `max_principals` buckets: beyond it, idle (full) buckets are dropped, and
// if none is idle the newcomers share one overflow bucket, so a swarm of principals cannot grow
// the map — it only makes them share a budget.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roster::api {

struct rate {
    double per_second = 0;  // 0: unlimited
    double burst = 0;       // bucket size; at least 1 when limited
};

struct principal_limits_options {
    rate commands{100, 1000};
    rate refusals{10, 200};
    // The operator is the vendor's own root credential (seeding, migrations, load tests): its
    // commands are not limited unless this is set. Its refusals always are.
    bool limit_operator_commands = false;
    std::size_t max_principals = 100'000;
};

class principal_limits {
public:
    using clock = std::chrono::steady_clock;
    explicit principal_limits(principal_limits_options options) : options_(options) {}

    // Takes one command from `principal`'s budget; when it is spent, how long until one is
    // available (the Retry-After), and nothing is taken.
    std::optional<std::chrono::seconds> take_command(std::string_view principal, bool is_operator,
                                                     clock::time_point now = clock::now());
    // Charges one refusal to `principal` (always: a refusal has happened).
    void charge_refusal(std::string_view principal, clock::time_point now = clock::now());
    // While `principal` has no refusal budget left, how long until it has: it is then answered
    // 429 before anything else is done for it.
    std::optional<std::chrono::seconds> refusals_spent(std::string_view principal,
                                                       clock::time_point now = clock::now());

    const principal_limits_options& options() const noexcept { return options_; }
    std::size_t tracked() const;

private:
    struct bucket {
        double tokens = 0;
        clock::time_point refilled{};
    };
    struct buckets {
        bucket commands, refusals;
    };
    buckets& buckets_of(std::string_view principal, clock::time_point now);  // with mutex_ held
    static void refill(bucket& b, const rate& r, clock::time_point now);
    static std::chrono::seconds wait_for_one(const bucket& b, const rate& r);

    const principal_limits_options options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, buckets> by_principal_;  // guarded by mutex_
    buckets overflow_;                                       // guarded by mutex_
    bool overflow_started_ = false;                          // guarded by mutex_
};

}  // namespace roster::api
