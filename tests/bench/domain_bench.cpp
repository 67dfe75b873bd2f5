// decide + apply throughput of the write model over 100,000 users, for a realistic command mix.
// Run: build-dom/.../bench_domain [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "roster/domain/commands.hpp"
#include "roster/domain/decide.hpp"
#include "roster/domain/queries.hpp"
#include "roster/domain/state.hpp"

namespace {

using namespace roster::domain;

constexpr int customers = 100;
constexpr int employees_per_customer = 950;
constexpr int partners = 10;
constexpr int employees_per_partner = 500;  // 100*950 + 10*500 = 100,000 users

std::string hex_of(std::uint64_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(64, '0');
    for (int i = 63; i >= 0 && n; --i, n >>= 4) out[static_cast<std::size_t>(i)] = digits[n & 0xF];
    return out;
}

account_id customer(int c) { return account_id("c" + std::to_string(c)); }
account_id partner(int p) { return account_id("p" + std::to_string(p)); }
user_id employee(const account_id& a, int i) { return user_id(a.str() + "-u" + std::to_string(i)); }
actor admin_of(const account_id& a) { return user_principal{employee(a, 0)}; }

const timestamp now0 = timestamp(std::chrono::seconds(1'700'000'000));

void must(state& s, const command& c, const actor& who) {
    auto r = decide(s, c, who, now0);
    if (!r) throw std::runtime_error("setup refused " + std::string(command_name(c)) + ": " + r.error().code);
    apply_all(s, *r);
}

state& big_state() {
    static state s = [] {
        state st;
        const actor op = operator_principal{};
        const role_set admin = role_set::of({role::support_admin, role::impact_admin, role::learning_admin});
        const role_set staff = role_set::of({role::support_contributor, role::impact_member, role::learning_learner});
        auto populate = [&](const account_id& a, int n) {
            for (int i = 0; i < n; ++i)
                must(st,
                     create_user{a, employee(a, i), employee(a, i).str() + "@bench.example.com", "Bench User",
                                 i == 0 ? admin : staff, std::nullopt},
                     i == 0 ? op : admin_of(a));
        };
        for (int p = 0; p < partners; ++p) {
            must(st, open_account{partner(p), "Partner", account_kind::partner}, op);
            populate(partner(p), employees_per_partner);
        }
        for (int c = 0; c < customers; ++c) {
            must(st, open_account{customer(c), "Customer", account_kind::customer}, op);
            must(st, link_partner{customer(c), partner(c % partners)}, op);
            populate(customer(c), employees_per_customer);
            for (int i = 1; i <= 20; ++i)  // a few partner staff serve each customer
                must(st,
                     add_member{customer(c), employee(partner(c % partners), (c / partners) * 20 + i),
                                role_set::of({role::support_viewer})},
                     admin_of(customer(c)));
            must(st,
                 save_contacts{customer(c),
                               {{contact_role::primary_customer_admin, employee(customer(c), 0)},
                                {contact_role::primary_support, employee(customer(c), 1)},
                                {contact_role::secondary_support, employee(customer(c), 2)}}},
                 admin_of(customer(c)));
        }
        return st;
    }();
    return s;
}

// One command of the mix for iteration `i` (a cycle of 20): 45% role changes, 10% lock/unlock,
// 10% unified creations with invitation, 5% employee removals, 5% re-invitations, 5% contact saves,
// 5% watchlist saves, 5% invitation acceptances, 10% refusals (403 missing portal, 409 key contact).
std::pair<command, actor> mix(std::uint64_t i, std::mt19937_64& rng) {
    const int c = static_cast<int>(rng() % customers);
    const account_id a = customer(c);
    const int u = 3 + static_cast<int>(rng() % (employees_per_customer - 3));
    const user_id target = employee(a, u);
    const actor admin = admin_of(a);
    switch (i % 20) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
            return {
                change_roles{a, target, role_set::of({role::support_viewer}), role_set::of({role::learning_learner})},
                admin};
        case 6:
        case 7:
        case 8:
            return {
                change_roles{a, target, role_set::of({role::learning_learner}), role_set::of({role::support_viewer})},
                admin};
        case 9: return {lock_user{target}, admin};
        case 10: return {unlock_user{target}, admin};
        case 11:
        case 12:
            return {
                create_user{a, user_id("new" + std::to_string(i)), "new" + std::to_string(i) + "@bench.example.com",
                            "New", role_set::of({role::support_contributor}),
                            invitation_request{invitation_id("inv" + std::to_string(i)), hex_of(i + 1), std::nullopt}},
                admin};
        case 13:
            return {remove_member{a, user_id("new" + std::to_string(i - 1))}, admin};  // the user created just before
        case 14:
            return {invite_user{
                        a, target, {invitation_id("re" + std::to_string(i)), hex_of((1ULL << 40) + i), std::nullopt}},
                    admin};
        case 15: return {save_contacts{a, {{contact_role::security, target}}}, admin};
        case 16: return {set_watchlist{a, {{target, {topic::outage, topic::security}}}}, admin};
        case 17:
            return {change_roles{a, target, role_set::of({role::impact_admin}), {}},
                    actor(user_principal{employee(a, 1)})};         // refused: 403
        case 18: return {remove_member{a, employee(a, 1)}, admin};  // refused: key contact, 409
        default:
            return {accept_invitation{hex_of(i - 7)},
                    actor(user_principal{user_id("new" + std::to_string(i - 8))})};  // case 11's
    }
}

void BM_decide_apply_mix(benchmark::State& bench) {
    state& s = big_state();
    std::mt19937_64 rng(7);
    static std::uint64_t i = 0;  // keeps ids unique across repetitions
    std::int64_t events = 0, refusals = 0;
    for (auto _ : bench) {
        auto [cmd, who] = mix(i++, rng);
        auto r = decide(s, cmd, who, now0);
        if (r) {
            apply_all(s, *r);
            events += static_cast<std::int64_t>(r->size());
        } else {
            ++refusals;
        }
    }
    bench.SetItemsProcessed(bench.iterations());
    bench.counters["users"] = static_cast<double>(s.users.size());
    bench.counters["events/s"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
    bench.counters["refused"] =
        benchmark::Counter(static_cast<double>(refusals) / static_cast<double>(bench.iterations()));
}
BENCHMARK(BM_decide_apply_mix);

void BM_access_decision(benchmark::State& bench) {
    const state& s = big_state();
    std::mt19937_64 rng(11);
    for (auto _ : bench) {
        const account_id a = customer(static_cast<int>(rng() % customers));
        auto d = access_decision(s, employee(a, static_cast<int>(rng() % employees_per_customer)), a, portal::support);
        benchmark::DoNotOptimize(d);
    }
    bench.SetItemsProcessed(bench.iterations());
}
BENCHMARK(BM_access_decision);

void BM_removal_preview(benchmark::State& bench) {
    const state& s = big_state();
    std::mt19937_64 rng(13);
    for (auto _ : bench) {
        const account_id a = customer(static_cast<int>(rng() % customers));
        auto p = removal_preview(s, admin_of(a), a, employee(a, 3 + static_cast<int>(rng() % 900)));
        benchmark::DoNotOptimize(p);
    }
    bench.SetItemsProcessed(bench.iterations());
}
BENCHMARK(BM_removal_preview);

}  // namespace

BENCHMARK_MAIN();
