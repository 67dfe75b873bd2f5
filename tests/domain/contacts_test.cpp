// Key contacts, self-service hand-over, contact health, watchlist, recipients, access decisions.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

// acme: alice (support:admin), ian (impact:admin only), c1/c2/c3 (support:contributor), v (support:viewer),
// d (no admin, support:contributor); partner pp linked, paul is its employee and third-party in acme.
struct ContactsTest : ::testing::Test {
    world w;
    const account_id acme{"acme"};
    void SetUp() override {
        w.customer("acme");
        w.partner("pp");
        w.link("acme", "pp");
        w.user("acme", "alice", roles({support_admin}));
        w.user("acme", "al2", roles({support_admin}));
        w.user("acme", "ian", roles({impact_admin}));
        for (auto u : {"c1", "c2", "c3", "d"}) w.user("acme", u, roles({support_contributor}));
        w.user("acme", "v", roles({support_viewer}));
        w.user("pp", "paul", roles({support_admin}));
        w.third_party("acme", "paul", roles({support_contributor}));
    }
    const user_id& holder(contact_role r) const { return w.s.account(acme)->contact(r); }
};

TEST_F(ContactsTest, AtomicSaveOfSeveralRolesOnlyByASupportAdmin) {
    save_contacts c{acme,
                    {{contact_role::primary_customer_admin, user_id("alice")},
                     {contact_role::primary_support, user_id("c1")},
                     {contact_role::secondary_support, user_id("paul")},
                     {contact_role::security, user_id("c2")}}};
    EXPECT_EQ(w.refused(c, as("ian")).missing_portals, std::vector<portal>{portal::support});
    EXPECT_EQ(w.refused(c, as("d")).detail, no_access_detail);
    auto evs = w.ok(c, as("alice"));
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(std::get<contacts_saved>(evs[0]).assignments.size(), 4u);
    EXPECT_EQ(holder(contact_role::secondary_support), user_id("paul")) << "third-party members are eligible";
    EXPECT_TRUE(w.ok(c, as("alice")).empty()) << "saving the same contacts changes nothing";
}

TEST_F(ContactsTest, OneIneligibleAssignmentRefusesTheWholeSave) {
    auto e = w.refused(save_contacts{acme,
                                     {{contact_role::primary_support, user_id("c1")},
                                      {contact_role::secondary_support, user_id("v")},
                                      {contact_role::primary_customer_admin, user_id("c2")}}},
                       as("alice"));
    EXPECT_EQ(http_status(e.kind), 409);
    EXPECT_EQ(e.code, codes::contact_not_eligible);
    ASSERT_EQ(e.blockers.size(), 2u);
    EXPECT_EQ(e.blockers[0].user, user_id("c2"));
    EXPECT_EQ(e.blockers[0].roles, roles({support_admin}));
    EXPECT_EQ(e.blockers[1].user, user_id("v"));
    EXPECT_TRUE(holder(contact_role::primary_support).empty()) << "atomic: nothing saved";
}

TEST_F(ContactsTest, HolderMustBeAnActiveMember) {
    w.customer("other");
    w.user("other", "o", roles({support_admin}));
    EXPECT_EQ(w.refused(save_contacts{acme, {{contact_role::security, user_id("o")}}}, as("alice")).code,
              codes::contact_not_eligible);
    EXPECT_EQ(w.refused(save_contacts{acme, {{contact_role::security, user_id("ghost")}}}, as("alice")).code,
              codes::contact_not_eligible);
    w.ok(lock_user{user_id("c3")});
    EXPECT_EQ(w.refused(save_contacts{acme, {{contact_role::security, user_id("c3")}}}, as("alice")).code,
              codes::contact_not_eligible);
    EXPECT_EQ(
        w.refused(save_contacts{acme, {{contact_role::primary_partner_contact, user_id("alice")}}}, as("alice")).code,
        codes::contact_role_not_applicable);
    EXPECT_EQ(
        w.refused(
             save_contacts{acme, {{contact_role::security, user_id("c1")}, {contact_role::security, user_id("c2")}}},
             as("alice"))
            .code,
        codes::invalid_contacts);
}

TEST_F(ContactsTest, PrimaryAndSecondaryAreDifferentPeople) {
    EXPECT_EQ(w.refused(save_contacts{acme,
                                      {{contact_role::primary_technical, user_id("c1")},
                                       {contact_role::secondary_technical, user_id("c1")}}},
                        as("alice"))
                  .code,
              codes::primary_equals_secondary);
    w.contacts("acme", {{contact_role::primary_technical, "c1"}}, as("alice"));
    EXPECT_EQ(w.refused(save_contacts{acme, {{contact_role::secondary_technical, user_id("c1")}}}, as("alice")).code,
              codes::primary_equals_secondary);
    // Swapping both in one save is fine.
    w.contacts("acme", {{contact_role::secondary_technical, "c2"}}, as("alice"));
    w.contacts("acme", {{contact_role::primary_technical, "c2"}, {contact_role::secondary_technical, "c1"}},
               as("alice"));
    EXPECT_EQ(holder(contact_role::primary_technical), user_id("c2"));
    // The same person may hold unrelated roles.
    w.contacts("acme", {{contact_role::security, "c2"}, {contact_role::primary_business, "c2"}}, as("alice"));
}

TEST_F(ContactsTest, PrimaryAdminContactCanBeReplacedButNeverCleared) {
    w.contacts("acme", {{contact_role::primary_customer_admin, "alice"}, {contact_role::security, "c1"}}, as("alice"));
    auto e = w.refused(save_contacts{acme, {{contact_role::primary_customer_admin, user_id()}}}, as("alice"));
    EXPECT_EQ(e.code, codes::primary_admin_contact_required);
    EXPECT_EQ(http_status(e.kind), 409);
    w.contacts("acme", {{contact_role::primary_customer_admin, "al2"}}, as("alice"));
    EXPECT_EQ(holder(contact_role::primary_customer_admin), user_id("al2"));
    w.contacts("acme", {{contact_role::security, ""}}, as("alice"));  // other roles may be cleared
    EXPECT_TRUE(holder(contact_role::security).empty());
}

TEST_F(ContactsTest, RevokingARequiredRoleIsRefusedUntilReassigned) {
    w.contacts("acme", {{contact_role::primary_customer_admin, "alice"}, {contact_role::security, "c1"}}, as("alice"));
    auto e = w.refused(change_roles{acme, user_id("c1"), {}, roles({support_contributor})}, as("alice"));
    EXPECT_EQ(e.code, codes::contact_role_required);
    ASSERT_EQ(e.blockers.size(), 1u);
    EXPECT_EQ(e.blockers[0].contact_roles, std::vector<contact_role>{contact_role::security});
    EXPECT_EQ(w.refused(remove_all_roles{acme, user_id("c1")}, as("alice")).code, codes::contact_role_required);
    // support:admin -> support:contributor still satisfies the security contact's requirement...
    w.ok(change_roles{acme, user_id("c2"), roles({support_admin}), {}}, as("alice"));
    w.contacts("acme", {{contact_role::security, "c2"}}, as("alice"));
    w.ok(change_roles{acme, user_id("c2"), roles({support_contributor}), roles({support_admin})}, as("alice"));
    // ... but the primary admin contact needs support:admin itself.
    EXPECT_EQ(
        w.refused(change_roles{acme, user_id("alice"), roles({support_contributor}), roles({support_admin})}).code,
        codes::contact_role_required);
    w.ok(change_roles{acme, user_id("c1"), {}, roles({support_contributor})}, as("alice"));  // c1 no longer a contact
}

TEST_F(ContactsTest, LockIsAlwaysAllowedForKeyContactsAndShowsAsAWarning) {
    w.contacts("acme",
               {{contact_role::primary_customer_admin, "alice"},
                {contact_role::primary_support, "c1"},
                {contact_role::secondary_support, "c2"},
                {contact_role::security, "c3"}},
               as("alice"));
    EXPECT_TRUE(contact_health(w.s, acme).empty());
    w.ok(lock_user{user_id("alice")}, as("al2"));
    auto warnings = contact_health(w.s, acme);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].code, "contact_locked");
    EXPECT_EQ(warnings[0].role, contact_role::primary_customer_admin);
    EXPECT_EQ(warnings[0].user, user_id("alice"));
}

TEST_F(ContactsTest, HealthWarnsAboutMissingSupportAndSecurityContacts) {
    auto codes_of = [&] {
        std::vector<std::string> out;
        for (auto& w2 : contact_health(w.s, acme)) out.push_back(w2.code);
        return out;
    };
    EXPECT_EQ(codes_of(), (std::vector<std::string>{"fewer_than_two_support_contacts", "no_security_contact"}));
    w.contacts("acme", {{contact_role::primary_support, "c1"}}, as("alice"));
    EXPECT_EQ(codes_of(), (std::vector<std::string>{"fewer_than_two_support_contacts", "no_security_contact"}));
    w.contacts("acme", {{contact_role::secondary_support, "c2"}}, as("alice"));
    EXPECT_EQ(codes_of(), (std::vector<std::string>{"no_security_contact"}));
    w.contacts("acme", {{contact_role::security, "c3"}}, as("alice"));
    EXPECT_TRUE(codes_of().empty());
}

TEST_F(ContactsTest, SelfServiceHandOverWithoutAdminRights) {
    w.contacts("acme", {{contact_role::primary_support, "c1"}, {contact_role::secondary_support, "c2"}}, as("alice"));
    // Not the holder and not an admin: refused with the non-admin detail.
    auto e = w.refused(hand_over_contact{acme, contact_role::primary_support, user_id("d")}, as("c3"));
    EXPECT_EQ(e.kind, error_kind::forbidden);
    EXPECT_EQ(e.detail, no_access_detail);
    // The holder may, but only to an eligible member who is not the paired contact.
    EXPECT_EQ(w.refused(hand_over_contact{acme, contact_role::primary_support, user_id("v")}, as("c1")).code,
              codes::contact_not_eligible);
    EXPECT_EQ(w.refused(hand_over_contact{acme, contact_role::primary_support, user_id("c2")}, as("c1")).code,
              codes::primary_equals_secondary);
    auto evs = w.ok(hand_over_contact{acme, contact_role::primary_support, user_id("d")}, as("c1"));
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(std::get<contact_handed_over>(evs[0]),
              (contact_handed_over{acme, contact_role::primary_support, user_id("c1"), user_id("d")}));
    EXPECT_EQ(holder(contact_role::primary_support), user_id("d"));
    // c1 no longer holds it.
    EXPECT_EQ(w.refused(hand_over_contact{acme, contact_role::primary_support, user_id("c1")}, as("c1")).kind,
              error_kind::forbidden);
    // A support admin may move it too; an empty role cannot be handed over.
    w.ok(hand_over_contact{acme, contact_role::primary_support, user_id("c3")}, as("alice"));
    EXPECT_EQ(w.refused(hand_over_contact{acme, contact_role::security, user_id("c3")}, as("alice")).code,
              codes::not_contact_holder);
}

TEST_F(ContactsTest, WatchlistNeedsSupportAdminAndMembers) {
    set_watchlist c{acme, {{user_id("d"), {topic::release, topic::outage, topic::release}}, {user_id("c1"), {}}}};
    EXPECT_EQ(w.refused(c, as("ian")).kind, error_kind::forbidden);
    auto evs = w.ok(c, as("alice"));
    ASSERT_EQ(evs.size(), 1u);
    const auto& changed = std::get<watchlist_changed>(evs[0]);
    ASSERT_EQ(changed.subscriptions.size(), 1u) << "entries without topics are dropped";
    EXPECT_EQ(changed.subscriptions[0].topics, (std::vector<topic>{topic::outage, topic::release}));
    EXPECT_TRUE(w.ok(c, as("alice")).empty());
    w.customer("other");
    w.user("other", "o", {});
    EXPECT_EQ(w.refused(set_watchlist{acme, {{user_id("o"), {topic::outage}}}}, as("alice")).code,
              codes::watchlist_user_not_member);
    EXPECT_EQ(w.refused(set_watchlist{acme, {{user_id("d"), {topic::outage}}, {user_id("d"), {topic::security}}}},
                        as("alice"))
                  .code,
              codes::invalid_watchlist);
}

TEST_F(ContactsTest, RecipientsAreWatchlistPlusKeyContactsDeduplicatedWithoutLockedOrRemoved) {
    w.contacts("acme",
               {{contact_role::primary_customer_admin, "alice"},
                {contact_role::security, "c1"},
                {contact_role::primary_support, "c2"}},
               as("alice"));
    w.ok(set_watchlist{acme,
                       {{user_id("d"), {topic::outage, topic::security}},
                        {user_id("c1"), {topic::outage}},
                        {user_id("v"), {topic::maintenance}},
                        {user_id("paul"), {topic::release}}}},
         as("alice"));
    using ids = std::vector<user_id>;
    EXPECT_EQ(recipients(w.s, acme, topic::outage),
              (ids{user_id("alice"), user_id("c1"), user_id("c2"), user_id("d")}));
    EXPECT_EQ(recipients(w.s, acme, topic::security), (ids{user_id("c1"), user_id("d")}));
    EXPECT_EQ(recipients(w.s, acme, topic::maintenance), (ids{user_id("v")}));
    EXPECT_EQ(recipients(w.s, acme, topic::release), (ids{user_id("paul")}));
    w.ok(lock_user{user_id("d")});
    EXPECT_EQ(recipients(w.s, acme, topic::security), (ids{user_id("c1")}));
    w.ok(remove_member{acme, user_id("paul")});
    EXPECT_TRUE(recipients(w.s, acme, topic::release).empty());
    w.ok(remove_member{acme, user_id("v")});
    EXPECT_TRUE(recipients(w.s, acme, topic::maintenance).empty());
}

TEST_F(ContactsTest, AccessDecisionsWithTheirReasons) {
    auto d = access_decision(w.s, user_id("c1"), acme, portal::support);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.roles, roles({support_contributor}));
    EXPECT_EQ(d.reason, access_reason::none);

    d = access_decision(w.s, user_id("c1"), acme, portal::impact);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.reason, access_reason::no_role);
    EXPECT_EQ(to_string(d.reason), "no_role");

    d = access_decision(w.s, user_id("c1"), account_id("pp"), portal::support);
    EXPECT_EQ(d.reason, access_reason::not_member);
    EXPECT_EQ(d.message, "You are not a member of an Account");
    EXPECT_EQ(access_decision(w.s, user_id("ghost"), acme, portal::support).reason, access_reason::not_member);
    EXPECT_EQ(access_decision(w.s, user_id("c1"), account_id("nope"), portal::support).reason,
              access_reason::not_member);

    w.ok(lock_user{user_id("c1")});
    d = access_decision(w.s, user_id("c1"), acme, portal::support);
    EXPECT_EQ(d.reason, access_reason::locked);
    EXPECT_TRUE(d.roles.empty());
    w.ok(unlock_user{user_id("c1")});

    w.ok(remove_member{acme, user_id("paul")});
    EXPECT_EQ(access_decision(w.s, user_id("paul"), acme, portal::support).reason, access_reason::removed);
    EXPECT_TRUE(access_decision(w.s, user_id("paul"), account_id("pp"), portal::support).allowed);
    // Re-added later: access again.
    w.third_party("acme", "paul", roles({support_viewer}));
    EXPECT_TRUE(access_decision(w.s, user_id("paul"), acme, portal::support).allowed);
}

}  // namespace
}  // namespace roster::domain::testing
