// Before and after values of the contact and watchlist events (issue 13, item 2): a reviewer reads
// who held each role before and who holds it now, and each watch entry before and after, from the
// event alone, without replaying the log.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

// acme: alice and al2 (support:admin), c1/c2/c3/d (support:contributor), v (support:viewer).
struct AuditValuesTest : ::testing::Test {
    world w;
    const account_id acme{"acme"};
    void SetUp() override {
        w.customer("acme");
        w.user("acme", "alice", roles({support_admin}));
        w.user("acme", "al2", roles({support_admin}));
        for (auto u : {"c1", "c2", "c3", "d"}) w.user("acme", u, roles({support_contributor}));
        w.user("acme", "v", roles({support_viewer}));
    }
    contacts_saved save(std::vector<contact_assignment> a, const actor& who) {
        auto evs = w.ok(save_contacts{acme, std::move(a)}, who);
        EXPECT_EQ(evs.size(), 1u);
        return evs.empty() ? contacts_saved{} : std::get<contacts_saved>(evs[0]);
    }
    watchlist_changed watch(std::vector<watch_subscription> subs) {
        auto evs = w.ok(set_watchlist{acme, std::move(subs)}, as("alice"));
        EXPECT_EQ(evs.size(), 1u);
        return evs.empty() ? watchlist_changed{} : std::get<watchlist_changed>(evs[0]);
    }
    static contact_assignment held(contact_role r, const std::string& now, const std::string& before) {
        return contact_assignment{r, user_id(now), user_id(before)};
    }
};

TEST_F(AuditValuesTest, ContactsSavedNamesThePreviousAndTheNewHolderOfEachChangedRole) {
    // From nobody: the previous holder is recorded as empty (unassigned), not left unset.
    auto first = save({{contact_role::primary_support, user_id("c1")},
                       {contact_role::secondary_support, user_id("c2")},
                       {contact_role::security, user_id("c3")}},
                      as("alice"));
    EXPECT_EQ(first.account, acme);
    EXPECT_EQ(first.assignments, (std::vector<contact_assignment>{held(contact_role::primary_support, "c1", ""),
                                                                  held(contact_role::secondary_support, "c2", ""),
                                                                  held(contact_role::security, "c3", "")}));

    // Replaced, cleared and unchanged in one save: only the changed roles, each with the holder
    // before this save (not the first one, not the actor) and the holder after it.
    auto second = save({{contact_role::primary_support, user_id("d")},
                        {contact_role::secondary_support, user_id("c2")},
                        {contact_role::security, user_id("")}},
                       as("al2"));
    EXPECT_EQ(second.assignments, (std::vector<contact_assignment>{held(contact_role::primary_support, "d", "c1"),
                                                                   held(contact_role::security, "", "c3")}));

    auto third =
        save({{contact_role::primary_support, user_id("c3")}, {contact_role::security, user_id("c1")}}, as("alice"));
    EXPECT_EQ(third.assignments, (std::vector<contact_assignment>{held(contact_role::primary_support, "c3", "d"),
                                                                  held(contact_role::security, "c1", "")}));
    EXPECT_EQ(w.s.account(acme)->contact(contact_role::primary_support), user_id("c3"));
}

TEST_F(AuditValuesTest, HandOverNamesTheHolderBeforeAndAfterWhoeverActs) {
    w.contacts("acme", {{contact_role::primary_support, "c1"}}, as("alice"));
    // The holder hands it over: from is the holder.
    auto evs = w.ok(hand_over_contact{acme, contact_role::primary_support, user_id("d")}, as("c1"));
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(std::get<contact_handed_over>(evs[0]),
              (contact_handed_over{acme, contact_role::primary_support, user_id("c1"), user_id("d")}));
    // A support admin moves it: from is still the holder before (d), never the admin who acted.
    evs = w.ok(hand_over_contact{acme, contact_role::primary_support, user_id("c2")}, as("alice"));
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(std::get<contact_handed_over>(evs[0]),
              (contact_handed_over{acme, contact_role::primary_support, user_id("d"), user_id("c2")}));
    // And a save after the hand-over records the hand-over's holder as the previous one.
    auto saved = save({{contact_role::primary_support, user_id("c3")}}, as("alice"));
    EXPECT_EQ(saved.assignments, (std::vector<contact_assignment>{held(contact_role::primary_support, "c3", "c2")}));
}

TEST_F(AuditValuesTest, WatchlistChangedRecordsEachChangedEntryBeforeAndAfter) {
    using enum topic;
    // Added from nothing: before is empty; topics normalized (sorted, no duplicates) on both sides.
    auto first = watch({{user_id("d"), {release, outage, release}}, {user_id("c1"), {security}}});
    EXPECT_EQ(first.changes,
              (std::vector<watch_change>{{user_id("c1"), {}, {security}}, {user_id("d"), {}, {outage, release}}}));
    EXPECT_EQ(first.subscriptions,
              (std::vector<watch_subscription>{{user_id("c1"), {security}}, {user_id("d"), {outage, release}}}));

    // Removed (c1, also by listing it with no topics), narrowed (d), added (v): every one of them,
    // sorted by user; the whole list after the change beside it.
    auto second = watch({{user_id("v"), {maintenance}}, {user_id("d"), {outage}}, {user_id("c1"), {}}});
    EXPECT_EQ(second.changes, (std::vector<watch_change>{{user_id("c1"), {security}, {}},
                                                         {user_id("d"), {outage, release}, {outage}},
                                                         {user_id("v"), {}, {maintenance}}}));
    EXPECT_EQ(second.subscriptions,
              (std::vector<watch_subscription>{{user_id("d"), {outage}}, {user_id("v"), {maintenance}}}));

    // Unchanged entries are not listed as changes, though the subscriptions still hold them.
    auto third =
        watch({{user_id("d"), {outage}}, {user_id("v"), {maintenance, maintenance}}, {user_id("c2"), {release}}});
    EXPECT_EQ(third.changes, (std::vector<watch_change>{{user_id("c2"), {}, {release}}}));
    EXPECT_EQ(third.subscriptions.size(), 3u);

    // Emptying the watchlist records every entry's removal.
    auto last = watch({});
    EXPECT_EQ(last.changes,
              (std::vector<watch_change>{
                  {user_id("c2"), {release}, {}}, {user_id("d"), {outage}, {}}, {user_id("v"), {maintenance}, {}}}));
    EXPECT_TRUE(last.subscriptions.empty());
}

}  // namespace
}  // namespace roster::domain::testing
