// User-directory search on one account of 100,000 members: the indexed query against a
// brute-force scan (filter every member, then sort the matches) over the same directory, in the
// same run. Names are deliberately alike ("Load User <n>", as the HTTP load test seeds them), so
// every trigram of a query like "user 1" is common: the case that used to walk the account.
// Also the account stats (GET /v1/accounts/{a}/stats) beside the user list's first page on the
// same 100,000-member account and on a 100-member one: the counts are kept as events fold, so
// reading them must cost the same whatever the size of the account.
// Run: build/tests/bench/bench_projections
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "roster/projections/directory.hpp"

namespace {

using namespace roster;
using namespace roster::domain;
using roster::projections::directory;
using roster::projections::directory_entry;
using roster::projections::directory_query;

constexpr int members = 100'000;
const account_id account{"bench"};
constexpr int small_members = 100;
const account_id small_account{"small"};

struct fixture {
    directory dir;
    std::vector<user_id> ids;
    std::vector<const directory_entry*> rows;  // every member, for the brute-force baseline

    fixture() {
        std::mt19937 rng(1);
        const role_set staff = role_set::of({role::support_contributor, role::impact_member});
        for (int i = 0; i < members; ++i) {
            // Inserted in random name order, as real sign-ups are.
            const auto n = rng() % 1'000'000;
            user_id id{"u" + std::to_string(i)};
            dir.apply(user_created{id, *email::parse("user" + std::to_string(n) + "@load.example.com"),
                                   "Load User " + std::to_string(n), account});
            dir.apply(member_added{account, id, membership_type::employee});
            dir.apply(roles_granted{account, id, staff});
            ids.push_back(id);
        }
        for (const auto& id : ids) rows.push_back(dir.entry(account, id));
        for (int i = 0; i < small_members; ++i) {
            user_id id{"s" + std::to_string(i)};
            dir.apply(user_created{id, *email::parse("s" + std::to_string(i) + "@small.example.com"),
                                   "Small User " + std::to_string(i), small_account});
            dir.apply(member_added{small_account, id, membership_type::employee});
            dir.apply(roles_granted{small_account, id, staff});
        }
    }

    // What the directory would cost without an index: every member checked, the matches sorted.
    std::size_t brute_force(const std::string& needle, std::size_t limit) const {
        std::vector<const directory_entry*> matches;
        for (const auto* e : rows) {
            if (e->removed) continue;
            if (e->profile->name_folded.find(needle) != std::string::npos ||
                e->profile->email.find(needle) != std::string::npos)
                matches.push_back(e);
        }
        const auto keep = std::min(matches.size(), limit + 1);
        std::partial_sort(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(keep), matches.end(),
                          [](auto* a, auto* b) {
                              return std::tie(a->profile->name_folded, a->profile->email, a->profile->id.value) <
                                     std::tie(b->profile->name_folded, b->profile->email, b->profile->id.value);
                          });
        return keep;
    }
};

fixture& data() {
    static fixture f;
    return f;
}

// Each case: a first page of 50 rows for q.
const std::vector<std::string> needles{
    "user 1",      // every trigram common, ~1/9 of members match
    "user 9999",   // every trigram common, a handful match, sorting last
    "load user",   // matches everyone
    "user 12345",  // a single member or two
    "r77@lo",      // in emails only
};

void BM_Indexed(benchmark::State& state) {
    auto& f = data();
    directory_query q;
    q.q = needles[static_cast<std::size_t>(state.range(0))];
    q.limit = 50;
    for (auto _ : state) {
        auto page = f.dir.query(account, q);
        benchmark::DoNotOptimize(page);
    }
    state.SetLabel("q=" + q.q);
}

void BM_BruteForce(benchmark::State& state) {
    auto& f = data();
    const auto& needle = needles[static_cast<std::size_t>(state.range(0))];
    for (auto _ : state) benchmark::DoNotOptimize(f.brute_force(needle, 50));
    state.SetLabel("q=" + needle);
}

// Paging deep into a common result: every page must cost about the same as the first.
void BM_IndexedPage20(benchmark::State& state) {
    auto& f = data();
    directory_query q;
    q.q = "user 1";
    q.limit = 50;
    for (int page = 0; page < 19; ++page) q.after = f.dir.query(account, q)->next_cursor;
    for (auto _ : state) benchmark::DoNotOptimize(f.dir.query(account, q));
}

// The account stats against the user list's first page (no q, 50 rows), on the 100,000-member
// account (arg 0) and the 100-member one (arg 1).
const account_id& sized(const benchmark::State& state) { return state.range(0) == 0 ? account : small_account; }

void BM_Stats(benchmark::State& state) {
    auto& f = data();
    const auto& a = sized(state);
    for (auto _ : state) benchmark::DoNotOptimize(f.dir.stats(a));
    const auto s = f.dir.stats(a);
    state.SetLabel(a.value + " total=" + std::to_string(s.total()));
}

// What the counts would cost without counters: a walk over every member of the big account.
void BM_StatsByScan(benchmark::State& state) {
    auto& f = data();
    for (auto _ : state) {
        roster::projections::directory_stats s;
        for (const auto* e : f.rows) {
            if (e->removed) {
                ++s.removed;
                continue;
            }
            ++(e->profile->status == user_status::locked ? s.locked : s.active);
            for (std::size_t i = 0; i < all_portals.size(); ++i)
                if (!roles_in(e->roles, all_portals[i]).empty()) ++s.portal_users[i];
            for (std::size_t r = 0; r < role_count; ++r)
                if (e->roles.contains(static_cast<role>(r))) ++s.role_holders[r];
        }
        benchmark::DoNotOptimize(s);
    }
}

void BM_UserListFirstPage(benchmark::State& state) {
    auto& f = data();
    const auto& a = sized(state);
    directory_query q;
    q.limit = 50;
    for (auto _ : state) benchmark::DoNotOptimize(f.dir.query(a, q));
    state.SetLabel(a.value + " total_active=" + std::to_string(f.dir.query(a, q)->total_active));
}

// Folding a member in (trigram postings and periodic re-ranking included), amortized.
void BM_InsertMember(benchmark::State& state) {
    directory dir;
    std::uint64_t i = 0;
    for (auto _ : state) {
        user_id id{"n" + std::to_string(i)};
        dir.apply(user_created{id, *email::parse("n" + std::to_string(i) + "@load.example.com"),
                               "New User " + std::to_string(i * 7919 % 1'000'003), account});
        dir.apply(member_added{account, id, membership_type::employee});
        ++i;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(i));
}

BENCHMARK(BM_Indexed)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BruteForce)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IndexedPage20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Stats)->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_StatsByScan)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_UserListFirstPage)->DenseRange(0, 1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_InsertMember)->Iterations(100'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
