// Accounts, unified creation, email uniqueness, instant lookup, third-party membership, invitations.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

TEST(Types, AdminSatisfiesLesserRolesOfItsPortalOnly) {
    EXPECT_TRUE(satisfies(roles({support_admin}), support_contributor));
    EXPECT_TRUE(satisfies(roles({support_admin}), support_viewer));
    EXPECT_TRUE(satisfies(roles({support_contributor}), support_contributor));
    EXPECT_FALSE(satisfies(roles({support_viewer}), support_contributor));
    EXPECT_FALSE(satisfies(roles({impact_admin}), support_contributor));
    EXPECT_TRUE(satisfies(roles({learning_admin}), learning_learner));
    EXPECT_FALSE(satisfies(roles({learning_learner}), learning_admin));
}

TEST(Types, ContactRoleTable) {
    EXPECT_EQ(required_role(contact_role::primary_customer_admin), support_admin);
    EXPECT_EQ(required_role(contact_role::primary_partner_contact), support_admin);
    for (auto c : {contact_role::primary_business, contact_role::secondary_business, contact_role::primary_support,
                   contact_role::secondary_support, contact_role::primary_technical, contact_role::secondary_technical,
                   contact_role::security})
        EXPECT_EQ(required_role(c), support_contributor) << to_string(c);
    EXPECT_TRUE(applies_to(contact_role::primary_customer_admin, account_kind::customer));
    EXPECT_FALSE(applies_to(contact_role::primary_customer_admin, account_kind::partner));
    EXPECT_FALSE(applies_to(contact_role::primary_partner_contact, account_kind::customer));
    EXPECT_EQ(paired_contact_role(contact_role::primary_support), contact_role::secondary_support);
    EXPECT_EQ(paired_contact_role(contact_role::security), std::nullopt);
}

TEST(Accounts, OnlyTheOperatorOpensAccountsWithValidIds) {
    world w;
    w.customer("acme");
    w.user("acme", "alice", roles({support_admin}));
    auto e = w.refused(open_account{account_id("other"), "Other", account_kind::customer}, as("alice"));
    EXPECT_EQ(e.kind, error_kind::forbidden);
    EXPECT_EQ(e.detail, no_access_detail);
    EXPECT_EQ(w.refused(open_account{account_id("Bad_Id"), "X", account_kind::customer}).code, codes::invalid_id);
    EXPECT_EQ(w.refused(open_account{account_id("acme"), "Again", account_kind::customer}).code, codes::account_exists);
    EXPECT_EQ(w.refused(open_account{account_id("blank"), "   ", account_kind::customer}).code, codes::invalid_name);
}

TEST(Accounts, LinkingNeedsACustomerAndAPartnerAndIsIdempotent) {
    world w;
    w.customer("acme");
    w.customer("beta");
    w.partner("pp");
    EXPECT_EQ(w.refused(link_partner{account_id("acme"), account_id("beta")}).code, codes::account_kind_mismatch);
    EXPECT_EQ(w.refused(link_partner{account_id("acme"), account_id("nope")}).kind, error_kind::not_found);
    EXPECT_EQ(w.ok(link_partner{account_id("acme"), account_id("pp")}).size(), 1u);
    EXPECT_TRUE(w.ok(link_partner{account_id("acme"), account_id("pp")}).empty());
    EXPECT_TRUE(w.s.account(account_id("pp"))->customers.contains(account_id("acme")));
}

TEST(Creation, UnifiedCreationMakesProfileEmployeeMembershipAndRolesInAllPortals) {
    world w;
    w.customer("acme");
    auto r = roles({support_contributor, impact_member, learning_learner});
    auto evs =
        w.ok(create_user{account_id("acme"), user_id("u1"), "  New.Person@Acme.COM ", "New Person", r, std::nullopt});
    ASSERT_EQ(evs.size(), 3u);
    const auto& created = std::get<user_created>(evs[0]);
    EXPECT_EQ(created.address.str(), "new.person@acme.com");
    EXPECT_EQ(created.employer, account_id("acme"));
    EXPECT_EQ(std::get<member_added>(evs[1]).type, membership_type::employee);
    EXPECT_EQ(std::get<roles_granted>(evs[2]).roles, r);
    for (portal p : all_portals) EXPECT_TRUE(access_decision(w.s, user_id("u1"), account_id("acme"), p).allowed);
    const user_record* u = w.s.user(user_id("u1"));
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(u->status, user_status::active);
    EXPECT_EQ(u->reg, registration::invited);
}

TEST(Creation, EmailIsUniqueAcrossTheSystemCaseInsensitiveAndTrimmed) {
    world w;
    w.customer("acme");
    w.customer("beta");
    w.ok(create_user{account_id("acme"), user_id("u1"), "jo@x.com", "Jo", {}, std::nullopt});
    auto e = w.refused(create_user{account_id("beta"), user_id("u2"), "  JO@X.Com\t", "Jo 2", {}, std::nullopt});
    EXPECT_EQ(e.code, codes::email_in_use);
    EXPECT_EQ(e.kind, error_kind::conflict);
    EXPECT_EQ(e.detail.find("acme"), std::string::npos) << "must not name another company";
    EXPECT_EQ(w.refused(create_user{account_id("acme"), user_id("u4"), "Jo@X.com", "Jo", {}, std::nullopt}).code,
              codes::already_member);
    EXPECT_EQ(w.refused(create_user{account_id("acme"), user_id("u3"), "not-an-email", "X", {}, std::nullopt}).code,
              codes::invalid_email);
    EXPECT_EQ(w.refused(create_user{account_id("acme"), user_id("u1"), "other@x.com", "X", {}, std::nullopt}).code,
              codes::user_exists);
}

TEST(Creation, GrantingRolesNeedsAdminInEachPortalOfTheNewUser) {
    world w;
    w.customer("acme");
    w.user("acme", "sup", roles({support_admin}));
    auto e = w.refused(create_user{account_id("acme"), user_id("n"), "n@x.com", "N",
                                   roles({support_viewer, impact_member, learning_learner}), std::nullopt},
                       as("sup"));
    EXPECT_EQ(e.code, codes::missing_portal_admin);
    EXPECT_EQ(e.missing_portals, (std::vector<portal>{portal::impact, portal::learning}));
    w.ok(create_user{account_id("acme"), user_id("n"), "n@x.com", "N", roles({support_viewer}), std::nullopt},
         as("sup"));
}

TEST(Lookup, SaysExistsMembershipAndPortalsOnlyForVisibleAccounts) {
    world w;
    w.customer("acme");
    w.customer("beta");
    w.partner("pp");
    w.link("acme", "pp");
    w.link("beta", "pp");
    w.user("acme", "alice", roles({support_admin}));
    w.user("beta", "bert", roles({support_admin}));
    w.user("pp", "paul", roles({learning_learner}));
    w.third_party("acme", "paul", roles({support_viewer}));
    w.third_party("beta", "paul", roles({impact_member}));

    auto r = lookup_email(w.s, as("alice"), account_id("acme"), " PAUL@pp.example.com ");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->exists);
    EXPECT_TRUE(r->member_of_account);
    // Only acme is visible to alice: impact (from beta) and learning (from pp) stay hidden.
    EXPECT_EQ(r->portals, std::vector<portal>{portal::support});

    auto all = lookup_email(w.s, op, account_id("acme"), "paul@pp.example.com");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->portals, (std::vector<portal>{portal::support, portal::impact, portal::learning}));

    auto none = lookup_email(w.s, as("alice"), account_id("acme"), "nobody@x.com");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->exists);
    EXPECT_TRUE(none->portals.empty());

    auto bert = lookup_email(w.s, as("alice"), account_id("acme"), "bert@beta.example.com");
    ASSERT_TRUE(bert);
    EXPECT_TRUE(bert->exists);
    EXPECT_FALSE(bert->member_of_account);
    EXPECT_TRUE(bert->portals.empty());

    // Asking about an account alice cannot see is 404, not an answer.
    auto hidden = lookup_email(w.s, as("alice"), account_id("beta"), "bert@beta.example.com");
    ASSERT_FALSE(hidden);
    EXPECT_EQ(hidden.error().kind, error_kind::not_found);
    EXPECT_EQ(lookup_email(w.s, as("alice"), account_id("acme"), "bad").error().code, codes::invalid_email);
}

TEST(Lookup, NonAdminsAreRefused) {
    world w;
    w.customer("acme");
    w.user("acme", "dave", roles({support_contributor}));
    auto r = lookup_email(w.s, as("dave"), account_id("acme"), "x@y.com");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, error_kind::forbidden);
    EXPECT_EQ(r.error().detail, no_access_detail);
}

TEST(ThirdParty, OnlyEmployeesOfALinkedPartner) {
    world w;
    w.customer("acme");
    w.partner("pp");
    w.partner("qq");
    w.link("acme", "pp");
    w.user("acme", "alice", roles({support_admin, impact_admin}));
    w.user("pp", "paul", {});
    w.user("qq", "quin", {});
    w.customer("beta");
    w.user("beta", "bert", {});

    EXPECT_EQ(w.refused(add_member{account_id("acme"), user_id("quin"), {}}, as("alice")).code,
              codes::not_linked_partner_employee);
    EXPECT_EQ(w.refused(add_member{account_id("acme"), user_id("bert"), {}}, as("alice")).code,
              codes::not_linked_partner_employee);
    EXPECT_EQ(w.refused(add_member{account_id("acme"), user_id("ghost"), {}}, as("alice")).kind, error_kind::not_found);
    EXPECT_EQ(w.refused(add_member{account_id("acme"), std::string("ghost@x.com"), {}}, as("alice")).code,
              codes::user_not_found);
    EXPECT_EQ(w.refused(add_member{account_id("acme"), user_id("alice"), {}}, as("alice")).code, codes::already_member);
    EXPECT_EQ(w.refused(add_member{account_id("acme"), std::string("PAUL@pp.example.com"), roles({learning_learner})},
                        as("alice"))
                  .missing_portals,
              std::vector<portal>{portal::learning});

    auto evs =
        w.ok(add_member{account_id("acme"), std::string(" PAUL@pp.example.com"), roles({support_viewer})}, as("alice"));
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(std::get<member_added>(evs[0]).type, membership_type::third_party);
    EXPECT_EQ(w.s.user(user_id("paul"))->employer, account_id("pp"));
    EXPECT_TRUE(w.s.user(user_id("paul"))->third_party.contains(account_id("acme")));
}

TEST(Invitations, SingleUseWithExpiryAndOnlyAHashKept) {
    world w;
    w.customer("acme");
    const std::string h = hash_of("secret-1");
    auto evs = w.ok(create_user{account_id("acme"),
                                user_id("u"),
                                "u@x.com",
                                "U",
                                {},
                                invitation_request{invitation_id("i1"), h, std::nullopt}});
    ASSERT_EQ(evs.size(), 3u);
    const auto& issued = std::get<invitation_issued>(evs[2]);
    EXPECT_EQ(issued.secret_sha256_hex, h);
    EXPECT_EQ(issued.expires_at, w.now + default_invitation_validity);
    EXPECT_TRUE(issued.replaces.empty());

    EXPECT_EQ(w.refused(accept_invitation{hash_of("wrong")}).code, codes::invitation_not_found);
    EXPECT_EQ(w.refused(accept_invitation{"NOT-HEX"}).code, codes::invalid_secret_hash);
    auto acc = w.ok(accept_invitation{h}, auditor_principal{});  // authorized by the secret, not the actor
    ASSERT_EQ(acc.size(), 1u);
    EXPECT_EQ(w.s.user(user_id("u"))->reg, registration::registered);
    auto again = w.refused(accept_invitation{h});
    EXPECT_EQ(again.kind, error_kind::gone);
    EXPECT_EQ(again.code, codes::invitation_used);
    EXPECT_EQ(
        w.refused(invite_user{account_id("acme"), user_id("u"), {invitation_id("i2"), hash_of("s2"), std::nullopt}})
            .code,
        codes::already_registered);
}

TEST(Invitations, ExpireAndReinviteRevokesThePreviousSecret) {
    world w;
    w.customer("acme");
    w.user("acme", "alice", roles({impact_admin}));
    w.user("acme", "u", {});
    const std::string h1 = hash_of("s1"), h2 = hash_of("s2");
    w.ok(invite_user{account_id("acme"), user_id("u"), {invitation_id("i1"), h1, w.now + std::chrono::hours(1)}},
         as("alice"));
    auto evs =
        w.ok(invite_user{account_id("acme"), user_id("u"), {invitation_id("i2"), h2, std::nullopt}}, as("alice"));
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(std::get<invitation_issued>(evs[0]).replaces, invitation_id("i1"));
    EXPECT_EQ(w.refused(accept_invitation{h1}).code, codes::invitation_revoked);

    w.now += default_invitation_validity;
    auto expired = w.refused(accept_invitation{h2});
    EXPECT_EQ(expired.code, codes::invitation_expired);
    EXPECT_EQ(expired.kind, error_kind::gone);
    EXPECT_EQ(
        w.refused(invite_user{account_id("acme"), user_id("u"), {invitation_id("i3"), hash_of("s3"), w.now}}).code,
        codes::invalid_expiry);
    EXPECT_EQ(
        w.refused(invite_user{account_id("acme"), user_id("u"), {invitation_id("i2"), hash_of("s4"), std::nullopt}})
            .code,
        codes::invitation_exists);
    w.ok(invite_user{account_id("acme"), user_id("u"), {invitation_id("i3"), hash_of("s3"), std::nullopt}});
    w.ok(accept_invitation{hash_of("s3")});
    EXPECT_EQ(w.s.user(user_id("u"))->reg, registration::registered);
}

TEST(Invitations, InvitingNeedsAnAdminAndAMember) {
    world w;
    w.customer("acme");
    w.customer("beta");
    w.user("acme", "dave", roles({support_contributor}));
    w.user("acme", "u", {});
    w.user("beta", "b", {});
    invitation_request req{invitation_id("i"), hash_of("x"), std::nullopt};
    EXPECT_EQ(w.refused(invite_user{account_id("acme"), user_id("u"), req}, as("dave")).detail, no_access_detail);
    EXPECT_EQ(w.refused(invite_user{account_id("acme"), user_id("b"), req}).code, codes::member_not_found);
}

}  // namespace
}  // namespace roster::domain::testing
