// The directory's per-account counts (GET /v1/accounts/{a}/stats) are kept as events fold. They
// must always equal a recount from scratch over the domain state, which is folded independently
// by roster::domain: a handler that forgets to move a counter shows up here as a difference.
#include <gtest/gtest.h>

#include <unordered_set>

#include "roster/projections/directory.hpp"
#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"
#include "workload.hpp"

namespace roster::projections {
namespace {

using namespace roster::domain;
using testing::temp_dir;
using testing::workload;

// The counts by their definitions (README "Account stats"), from the domain state alone.
directory_stats recount(const state& s, const account_id& a) {
    directory_stats out;
    const auto* acc = s.account(a);
    if (!acc) return out;
    std::unordered_set<user_id> invited_ever;
    for (const auto& [id, inv] : s.invitations) invited_ever.insert(inv.user);
    out.removed = acc->removed.size();
    for (const auto& [u, m] : acc->members) {
        const auto* user = s.user(u);
        if (!user) continue;
        ++(user->locked() ? out.locked : out.active);
        if (user->reg == registration::registered)
            ++out.registered;
        else if (invited_ever.contains(u))
            ++out.invited;
        else
            ++out.not_invited;
        for (std::size_t i = 0; i < all_portals.size(); ++i)
            if (!roles_in(m.roles, all_portals[i]).empty()) ++out.portal_users[i];
        for (std::size_t r = 0; r < role_count; ++r)
            if (m.roles.contains(static_cast<role>(r))) ++out.role_holders[r];
    }
    return out;
}

std::string show(const directory_stats& s) {
    std::string out = "active=" + std::to_string(s.active) + " locked=" + std::to_string(s.locked) +
                      " removed=" + std::to_string(s.removed) + " invited=" + std::to_string(s.invited) +
                      " registered=" + std::to_string(s.registered) + " not_invited=" + std::to_string(s.not_invited) +
                      " portals=";
    for (auto n : s.portal_users) out += std::to_string(n) + ",";
    out += " roles=";
    for (auto n : s.role_holders) out += std::to_string(n) + ",";
    return out;
}

// Every account of the model: its counts equal the recount. Returns the sum over accounts, so
// callers can check the workload reached every kind of count.
directory_stats expect_counts_equal_recount(const read_model& m) {
    return m.read([](const read_view& v) {
        directory_stats sum;
        for (const auto& [id, acc] : v.state.accounts) {
            const auto kept = v.directory.stats(id);
            const auto expected = recount(v.state, id);
            EXPECT_EQ(show(kept), show(expected)) << "account " << id.value << " at position " << v.position.value;
            EXPECT_EQ(kept.total(), kept.invited + kept.registered + kept.not_invited);
            sum.active += kept.active;
            sum.locked += kept.locked;
            sum.removed += kept.removed;
            sum.invited += kept.invited;
            sum.registered += kept.registered;
            sum.not_invited += kept.not_invited;
            for (std::size_t r = 0; r < role_count; ++r) sum.role_holders[r] += kept.role_holders[r];
        }
        return sum;
    });
}

std::unique_ptr<eventstore::store> open_store(const temp_dir& dir) {
    auto s = eventstore::store::open(dir.path() / "db", {});
    if (!s) throw std::runtime_error(s.error().message);
    return std::move(*s);
}

TEST(directory_stats, counters_equal_a_recount_after_a_random_workload) {
    for (unsigned seed : {3u, 17u, 29u}) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        temp_dir dir;
        auto store = open_store(dir);
        workload w(*store, seed);
        read_model live;
        directory_stats seen;
        // Compared often: a counter that goes wrong and back right later is still caught.
        for (int round = 0; round < 60; ++round) {
            w.run(20);
            ASSERT_TRUE(live.catch_up(*store).has_value());
            const auto sum = expect_counts_equal_recount(live);
            seen.locked = std::max(seen.locked, sum.locked);
            seen.removed = std::max(seen.removed, sum.removed);
            seen.invited = std::max(seen.invited, sum.invited);
            seen.registered = std::max(seen.registered, sum.registered);
            seen.not_invited = std::max(seen.not_invited, sum.not_invited);
            for (std::size_t r = 0; r < role_count; ++r)
                seen.role_holders[r] = std::max(seen.role_holders[r], sum.role_holders[r]);
            if (::testing::Test::HasFailure()) return;
        }
        // The workload reached every kind of count (locks, removals, invitations both ways, roles).
        EXPECT_GT(seen.locked, 0u);
        EXPECT_GT(seen.removed, 0u);
        EXPECT_GT(seen.invited, 0u);
        EXPECT_GT(seen.registered, 0u);
        EXPECT_GT(seen.not_invited, 0u);
        for (std::size_t r = 0; r < role_count; ++r) EXPECT_GT(seen.role_holders[r], 0u) << "role " << r;
    }
}

TEST(directory_stats, as_of_states_and_restored_snapshots_carry_the_counts) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 5);
    w.run(600);
    past_states past(*store, past_states_options{.snapshot_every = 100, .cache_entries = 2});
    ASSERT_TRUE(past.take_snapshots(*store).has_value());
    ASSERT_FALSE(past.snapshot_positions().empty());
    for (std::uint64_t p : {1, 99, 100, 101, 250, 333, 500, 599}) {
        auto m = past.at(eventstore::log_position{p});
        ASSERT_TRUE(m.has_value());
        ASSERT_EQ((*m)->position().value, p);
        expect_counts_equal_recount(**m);
    }
}

// The cases one by one, to read what each count means.
class stats_by_event : public ::testing::Test {
protected:
    void SetUp() override {
        for (auto [id, name] : {std::pair{"u1", "Ann"}, {"u2", "Ben"}, {"u3", "Cat"}}) {
            dir.apply(user_created{user_id{id}, *email::parse(std::string(id) + "@acme.com"), name, acme});
            dir.apply(member_added{acme, user_id{id}, membership_type::employee});
        }
    }
    directory_stats at(const account_id& a) const { return dir.stats(a); }
    const account_id acme{"acme"};
    const account_id customer{"customer"};
    directory dir;
};

TEST_F(stats_by_event, lock_and_unlock_move_the_user_in_every_account_listing_them) {
    dir.apply(member_added{customer, user_id{"u1"}, membership_type::third_party});
    dir.apply(user_locked{user_id{"u1"}});
    EXPECT_EQ(at(acme).active, 2u);
    EXPECT_EQ(at(acme).locked, 1u);
    EXPECT_EQ(at(customer).active, 0u);
    EXPECT_EQ(at(customer).locked, 1u);
    EXPECT_EQ(at(acme).total(), 3u);
    dir.apply(user_unlocked{user_id{"u1"}});
    EXPECT_EQ(at(acme).active, 3u);
    EXPECT_EQ(at(customer).active, 1u);
    EXPECT_EQ(at(customer).locked, 0u);
}

TEST_F(stats_by_event, invitations_issued_and_accepted) {
    EXPECT_EQ(at(acme).not_invited, 3u);
    dir.apply(invitation_issued{invitation_id{"i1"}, user_id{"u1"}, acme, "h1", {}, {}});
    dir.apply(invitation_issued{invitation_id{"i2"}, user_id{"u2"}, acme, "h2", {}, {}});
    // Re-inviting replaces the secret; the user is still one invited user.
    dir.apply(invitation_issued{invitation_id{"i3"}, user_id{"u2"}, acme, "h3", {}, invitation_id{"i2"}});
    EXPECT_EQ(at(acme).invited, 2u);
    EXPECT_EQ(at(acme).not_invited, 1u);
    dir.apply(invitation_accepted{invitation_id{"i3"}, user_id{"u2"}});
    EXPECT_EQ(at(acme).invited, 1u);
    EXPECT_EQ(at(acme).registered, 1u);
    EXPECT_EQ(at(acme).not_invited, 1u);
}

TEST_F(stats_by_event, roles_per_portal_and_exact_role) {
    dir.apply(roles_granted{acme, user_id{"u1"}, role_set::of({role::support_admin, role::impact_member})});
    dir.apply(roles_granted{acme, user_id{"u2"}, role_set::of({role::support_viewer})});
    const auto support = static_cast<std::size_t>(portal::support);
    const auto impact = static_cast<std::size_t>(portal::impact);
    const auto learning = static_cast<std::size_t>(portal::learning);
    EXPECT_EQ(at(acme).portal_users[support], 2u);
    EXPECT_EQ(at(acme).portal_users[impact], 1u);
    EXPECT_EQ(at(acme).portal_users[learning], 0u);
    // admin is not counted as a viewer: role counts are of the exact role held.
    EXPECT_EQ(at(acme).role_holders[static_cast<std::size_t>(role::support_admin)], 1u);
    EXPECT_EQ(at(acme).role_holders[static_cast<std::size_t>(role::support_viewer)], 1u);
    dir.apply(roles_revoked{acme, user_id{"u1"}, role_set::of({role::support_admin})});
    EXPECT_EQ(at(acme).portal_users[support], 1u);
    EXPECT_EQ(at(acme).role_holders[static_cast<std::size_t>(role::support_admin)], 0u);
    dir.apply(all_roles_removed{acme, user_id{"u1"}, role_set::of({role::impact_member})});
    EXPECT_EQ(at(acme).portal_users[impact], 0u);
    EXPECT_EQ(at(acme).total(), 3u);
}

TEST_F(stats_by_event, removal_and_readding) {
    dir.apply(roles_granted{acme, user_id{"u1"}, role_set::of({role::learning_admin})});
    dir.apply(user_locked{user_id{"u1"}});
    dir.apply(member_removed{acme, user_id{"u1"}, membership_type::employee, role_set::of({role::learning_admin})});
    EXPECT_EQ(at(acme).removed, 1u);
    EXPECT_EQ(at(acme).locked, 0u);
    EXPECT_EQ(at(acme).active, 2u);
    EXPECT_EQ(at(acme).portal_users[static_cast<std::size_t>(portal::learning)], 0u);
    // A removed row no longer follows its profile.
    dir.apply(user_unlocked{user_id{"u1"}});
    EXPECT_EQ(at(acme).active, 2u);
    dir.apply(member_added{acme, user_id{"u1"}, membership_type::employee});
    EXPECT_EQ(at(acme).removed, 0u);
    EXPECT_EQ(at(acme).active, 3u);
    EXPECT_EQ(at(customer), directory_stats{});
}

}  // namespace
}  // namespace roster::projections
