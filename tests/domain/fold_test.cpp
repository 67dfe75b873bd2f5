// The fold (`apply`): total, and its derived effects that projections must mirror.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

TEST(Fold, EventsAboutUnknownEntitiesAreIgnoredNotFatal) {
    state s;
    const std::vector<event> odd{
        partner_linked{account_id("x"), account_id("y")},
        member_added{account_id("x"), user_id("u"), membership_type::third_party},
        roles_granted{account_id("x"), user_id("u"), all_roles},
        roles_revoked{account_id("x"), user_id("u"), all_roles},
        all_roles_removed{account_id("x"), user_id("u"), all_roles},
        user_locked{user_id("u")},
        user_unlocked{user_id("u")},
        invitation_accepted{invitation_id("i"), user_id("u")},
        member_removed{account_id("x"), user_id("u"), membership_type::employee, {}, false},
        profile_retired{user_id("u"), *email::parse("u@x.com")},
        contacts_saved{account_id("x"), {{contact_role::security, user_id("u")}}},
        contact_handed_over{account_id("x"), contact_role::security, user_id("u"), user_id("v")},
        watchlist_changed{account_id("x"), {{user_id("u"), {topic::outage}}}},
        token_revoked{token_id("t")},
        token_rotated{token_id("t"), "ab"},
        access_denied{operator_principal{}, "x", account_id("x"), "not_admin", {}, 403, 1, {}, {}},
        signing_key_rotated{"o+00000001+AQ==", "o+00000002+AQ==", 3, "statement\n"},
        profile_updated{user_id("u"), text_change{"a", "b"}, text_change{"u@x.com", "v@x.com"}},
    };
    for (const auto& e : odd) EXPECT_NO_THROW(apply(s, e)) << type_name(e);
    EXPECT_TRUE(s.accounts.empty());
    EXPECT_TRUE(s.users.empty());
    EXPECT_TRUE(s.email_index.empty());
}

TEST(Fold, UnqualifiedApplyOnANonConstEventUsesTheFold) {
    state s;
    event e = account_opened{account_id("a"), "A", account_kind::customer};
    apply(s, e);  // std::apply is a candidate through ADL; the exact overload must win
    EXPECT_NE(s.account(account_id("a")), nullptr);
}

TEST(Fold, RemovalDropsWatchlistEntryAndRevokesTheAccountsOpenInvitation) {
    world w;
    w.customer("acme");
    w.partner("pp");
    w.link("acme", "pp");
    w.user("pp", "paul", {});
    w.third_party("acme", "paul", {});
    w.ok(invite_user{account_id("acme"), user_id("paul"), {invitation_id("i1"), hash_of("i1"), std::nullopt}});
    w.ok(set_watchlist{account_id("acme"), {{user_id("paul"), {topic::release}}}});
    w.ok(remove_member{account_id("acme"), user_id("paul")});
    EXPECT_TRUE(w.s.account(account_id("acme"))->watchlist.empty());
    EXPECT_EQ(w.s.invitation(invitation_id("i1"))->status, invitation_status::revoked);
    EXPECT_EQ(w.refused(accept_invitation{hash_of("i1")}).code, codes::invitation_revoked);
}

TEST(Fold, RetirementFreesTheEmailAndRevokesTheOpenInvitation) {
    world w;
    w.customer("acme");
    w.ok(create_user{account_id("acme"),
                     user_id("u"),
                     "u@x.com",
                     "U",
                     {},
                     invitation_request{invitation_id("i"), hash_of("i"), std::nullopt}});
    ASSERT_NE(w.s.user_by_email(*email::parse("u@x.com")), nullptr);
    w.ok(remove_member{account_id("acme"), user_id("u")});
    EXPECT_EQ(w.s.user_by_email(*email::parse("u@x.com")), nullptr);
    EXPECT_EQ(w.s.invitation(invitation_id("i"))->status, invitation_status::revoked);
    EXPECT_EQ(w.s.email_index.size(), 0u);
}

TEST(Fold, ReplayingTheLogRebuildsTheSameAnswers) {
    world w;
    std::vector<event> log;
    auto keep = [&](std::vector<event> evs) { log.insert(log.end(), evs.begin(), evs.end()); };
    keep(w.ok(open_account{account_id("acme"), "Acme", account_kind::customer}));
    keep(w.ok(create_user{account_id("acme"), user_id("a"), "a@x.com", "A", roles({support_admin}), std::nullopt}));
    keep(w.ok(
        create_user{account_id("acme"), user_id("b"), "b@x.com", "B", roles({support_contributor}), std::nullopt}));
    keep(w.ok(
        save_contacts{account_id("acme"),
                      {{contact_role::primary_customer_admin, user_id("a")}, {contact_role::security, user_id("b")}}}));
    keep(w.ok(lock_user{user_id("b")}));
    state replayed;
    apply_all(replayed, log);
    EXPECT_EQ(contact_health(replayed, account_id("acme")), contact_health(w.s, account_id("acme")));
    EXPECT_EQ(access_decision(replayed, user_id("b"), account_id("acme"), portal::support),
              access_decision(w.s, user_id("b"), account_id("acme"), portal::support));
    EXPECT_EQ(replayed.account(account_id("acme"))->contacts, w.s.account(account_id("acme"))->contacts);
}

TEST(Commands, NamesAndAccounts) {
    EXPECT_EQ(command_name(command{lock_user{user_id("u")}}), "lock_user");
    EXPECT_EQ(command_name(command{revoke_token{token_id("t")}}), "revoke_token");
    EXPECT_EQ(account_of(command{open_account{account_id("a"), "A", account_kind::customer}}), account_id("a"));
    EXPECT_EQ(account_of(command{link_partner{account_id("c"), account_id("p")}}), account_id("c"));
    EXPECT_EQ(account_of(command{save_contacts{account_id("s"), {}}}), account_id("s"));
    EXPECT_EQ(account_of(command{lock_user{user_id("u")}}), std::nullopt);
}

}  // namespace
}  // namespace roster::domain::testing
