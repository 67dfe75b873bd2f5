// The version of a user in an account (issue 14): it moves exactly when what
// /v1/accounts/{a}/users/{u} shows moves, and never for another user. And update_profile.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

member_version version(const world& w, const std::string& a, const std::string& u) {
    auto v = member_version_of(w.s, account_id(a), user_id(u));
    EXPECT_TRUE(v.has_value()) << a << "/" << u;
    return v.value_or(member_version{});
}

struct two_users : ::testing::Test {
    world w;
    void SetUp() override {
        w.customer("acme");
        w.partner("pco");
        w.link("acme", "pco");
        w.user("acme", "ann", roles({support_admin}));
        w.user("acme", "bob", roles({support_viewer}));
        w.user("pco", "pat", roles({support_viewer}));
        w.third_party("acme", "pat", roles({support_viewer}));
    }
};

TEST_F(two_users, the_version_is_the_position_of_the_last_change_of_that_user_there) {
    const auto before = w.s.folded;
    EXPECT_EQ(version(w, "acme", "pat"), member_version{before});  // the third-party membership's grant
    const auto ann = version(w, "acme", "ann");
    w.ok(change_roles{account_id("acme"), user_id("bob"), roles({support_contributor}), {}});
    EXPECT_EQ(version(w, "acme", "bob"), member_version{w.s.folded});
    EXPECT_EQ(version(w, "acme", "ann"), ann) << "another user's change";
    w.ok(lock_user{user_id("bob")});
    EXPECT_EQ(version(w, "acme", "bob"), member_version{w.s.folded});
    EXPECT_EQ(version(w, "acme", "ann"), ann);
}

TEST_F(two_users, a_profile_change_moves_the_user_in_every_account_a_membership_change_only_in_its_own) {
    const auto pat_home = version(w, "pco", "pat");
    w.ok(change_roles{account_id("acme"), user_id("pat"), roles({support_contributor}), {}});
    EXPECT_EQ(version(w, "pco", "pat"), pat_home);
    w.ok(lock_user{user_id("pat")});
    EXPECT_EQ(version(w, "pco", "pat"), member_version{w.s.folded});
    EXPECT_EQ(version(w, "acme", "pat"), member_version{w.s.folded});
}

TEST_F(two_users, contact_roles_shown_with_the_user_move_the_old_and_new_holders) {
    const auto pat = version(w, "acme", "pat");
    w.contacts("acme", {{contact_role::primary_customer_admin, "ann"}});
    EXPECT_EQ(version(w, "acme", "ann"), member_version{w.s.folded});
    w.ok(change_roles{account_id("acme"), user_id("bob"), roles({support_admin}), {}});
    w.contacts("acme", {{contact_role::primary_customer_admin, "bob"}});
    EXPECT_EQ(version(w, "acme", "ann"), member_version{w.s.folded});
    EXPECT_EQ(version(w, "acme", "bob"), member_version{w.s.folded});
    EXPECT_EQ(version(w, "acme", "pat"), pat);
}

TEST_F(two_users, a_removed_membership_keeps_a_version_and_a_new_one_never_reuses_it) {
    w.ok(remove_member{account_id("acme"), user_id("pat")});
    const auto removed = version(w, "acme", "pat");
    EXPECT_EQ(removed, member_version{w.s.folded});
    w.third_party("acme", "pat", roles({support_viewer}));
    EXPECT_GT(version(w, "acme", "pat"), removed);
    EXPECT_FALSE(member_version_of(w.s, account_id("acme"), user_id("nobody")));
    EXPECT_FALSE(member_version_of(w.s, account_id("pco"), user_id("ann")));
}

TEST_F(two_users, profile_update_records_before_and_after_of_each_changed_field_only) {
    auto events = w.ok(update_profile{user_id("bob"), "  Robert  ", std::nullopt}, as("ann"));
    ASSERT_EQ(events.size(), 1u);
    const auto& e = std::get<profile_updated>(events[0]);
    ASSERT_TRUE(e.name);
    EXPECT_EQ(e.name->before, "User bob");
    EXPECT_EQ(e.name->after, "Robert");
    EXPECT_FALSE(e.email);
    EXPECT_EQ(e.accounts, std::vector<account_id>{account_id("acme")});
    EXPECT_EQ(w.s.user(user_id("bob"))->name, "Robert");
    EXPECT_EQ(version(w, "acme", "bob"), member_version{w.s.folded});

    // The same values again: nothing to record.
    EXPECT_TRUE(w.ok(update_profile{user_id("bob"), "Robert", "BOB@acme.example.com"}, as("ann")).empty());

    auto moved = w.ok(update_profile{user_id("bob"), std::nullopt, "robert@acme.example.com"});
    ASSERT_EQ(moved.size(), 1u);
    const auto& m = std::get<profile_updated>(moved[0]);
    ASSERT_TRUE(m.email);
    EXPECT_EQ(m.email->before, "bob@acme.example.com");
    EXPECT_EQ(m.email->after, "robert@acme.example.com");
    EXPECT_EQ(w.s.user_by_email(*email::parse("robert@acme.example.com"))->id, user_id("bob"));
    EXPECT_EQ(w.s.user_by_email(*email::parse("bob@acme.example.com")), nullptr);
}

TEST_F(two_users, profile_update_is_for_employer_admins_the_operator_and_the_user_for_their_own_name) {
    EXPECT_EQ(w.refused(update_profile{user_id("ann"), "Annie", std::nullopt}, as("bob")).code, "not_admin");
    EXPECT_EQ(w.refused(update_profile{user_id("pat"), "P", std::nullopt}, as("ann")).code, "not_admin");
    EXPECT_EQ(w.ok(update_profile{user_id("bob"), "Bobby", std::nullopt}, as("bob")).size(), 1u);
    EXPECT_EQ(w.refused(update_profile{user_id("bob"), std::nullopt, "b2@acme.example.com"}, as("bob")).code,
              "not_admin");
    EXPECT_EQ(w.refused(update_profile{user_id("bob"), std::nullopt, "ann@acme.example.com"}).code, "email_in_use");
    EXPECT_EQ(w.refused(update_profile{user_id("bob"), std::nullopt, "not an email"}).code, "invalid_email");
    EXPECT_EQ(w.refused(update_profile{user_id("bob"), "", std::nullopt}).code, "invalid_name");
    EXPECT_EQ(w.refused(update_profile{user_id("nobody"), "X", std::nullopt}).code, "user_not_found");
}

}  // namespace
}  // namespace roster::domain::testing
