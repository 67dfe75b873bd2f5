// SPEC §1 "Remove a user from an account" rules 1-6, and preview == removal.
#include "fixture.hpp"

#include <map>
#include <random>

namespace roster::domain::testing {
namespace {

// acme (customer) and beta (customer) both linked to partner pp.
// pp employee paul is third-party in acme and beta.
struct RemovalTest : ::testing::Test {
    world w;
    void SetUp() override {
        w.customer("acme");
        w.customer("beta");
        w.partner("pp");
        w.link("acme", "pp");
        w.link("beta", "pp");
        w.user("acme", "alice", roles({support_admin, impact_admin, learning_admin}));
        w.user("acme", "sam", roles({support_admin}));
        w.user("acme", "t", roles({support_viewer, impact_member}));
        w.user("beta", "bert", roles({support_admin, impact_admin, learning_admin}));
        w.user("pp", "pia", roles({support_admin, impact_admin, learning_admin}));
        w.user("pp", "paul", roles({support_contributor}));
        w.third_party("acme", "paul", roles({support_contributor, learning_learner}));
        w.third_party("beta", "paul", roles({impact_member}));
    }
};

TEST_F(RemovalTest, ActorNeedsAdminInEveryPortalWhereTheTargetHasRoles) {
    auto e = w.refused(remove_member{account_id("acme"), user_id("t")}, as("sam"));
    EXPECT_EQ(http_status(e.kind), 403);
    EXPECT_EQ(e.missing_portals, std::vector<portal>{portal::impact});
    EXPECT_NE(w.s.member(account_id("acme"), user_id("t")), nullptr);
}

TEST_F(RemovalTest, ThirdPartyRemovalKeepsTheEmployer) {
    auto evs = w.ok(remove_member{account_id("acme"), user_id("paul")}, as("alice"));
    ASSERT_EQ(evs.size(), 1u);
    const auto& r = std::get<member_removed>(evs[0]);
    EXPECT_EQ(r.type, membership_type::third_party);
    EXPECT_EQ(r.roles, roles({support_contributor, learning_learner}));
    EXPECT_FALSE(r.cascade);
    EXPECT_EQ(w.s.member(account_id("acme"), user_id("paul")), nullptr);
    EXPECT_NE(w.s.member(account_id("pp"), user_id("paul")), nullptr);
    EXPECT_NE(w.s.member(account_id("beta"), user_id("paul")), nullptr);
    EXPECT_FALSE(w.s.user(user_id("paul"))->retired);
    EXPECT_EQ(access_decision(w.s, user_id("paul"), account_id("acme"), portal::support).reason,
              access_reason::removed);
    EXPECT_TRUE(access_decision(w.s, user_id("paul"), account_id("beta"), portal::impact).allowed);
}

TEST_F(RemovalTest, EmployeeRemovalRetiresCascadesAndFreesTheEmail) {
    auto evs = w.ok(remove_member{account_id("pp"), user_id("paul")}, as("pia"));
    ASSERT_EQ(evs.size(), 4u);
    EXPECT_EQ(std::get<member_removed>(evs[0]),
              (member_removed{account_id("pp"), user_id("paul"), membership_type::employee,
                              roles({support_contributor}), false, role_change{roles({support_contributor}), {}}}));
    EXPECT_EQ(std::get<member_removed>(evs[1]),
              (member_removed{account_id("acme"), user_id("paul"), membership_type::third_party,
                              roles({support_contributor, learning_learner}), true,
                              role_change{roles({support_contributor, learning_learner}), {}}}));
    EXPECT_EQ(std::get<member_removed>(evs[2]).account, account_id("beta"));
    EXPECT_TRUE(std::get<member_removed>(evs[2]).cascade);
    EXPECT_EQ(std::get<profile_retired>(evs[3]).address.str(), "paul@pp.example.com");
    // The retirement names every account the user belonged to, so each account's history shows it.
    EXPECT_EQ(std::get<profile_retired>(evs[3]).accounts,
              (std::vector<account_id>{account_id("pp"), account_id("acme"), account_id("beta")}));
    for (auto a : {"pp", "acme", "beta"}) {
        EXPECT_EQ(w.s.member(account_id(a), user_id("paul")), nullptr) << a;
        EXPECT_EQ(access_decision(w.s, user_id("paul"), account_id(a), portal::support).reason, access_reason::removed);
    }
    EXPECT_TRUE(w.s.user(user_id("paul"))->retired);
    // The email is free again: a new profile (new id) may take it.
    w.ok(create_user{account_id("pp"), user_id("paul2"), "Paul@pp.example.com", "Paul again", {}, std::nullopt});
    EXPECT_EQ(w.s.user_by_email(*email::parse("paul@pp.example.com"))->id, user_id("paul2"));
    // The retired profile can no longer be acted on.
    EXPECT_EQ(w.refused(lock_user{user_id("paul")}).kind, error_kind::not_found);
    EXPECT_EQ(w.refused(remove_member{account_id("pp"), user_id("paul")}).kind, error_kind::not_found);
}

TEST_F(RemovalTest, KeyContactHereBlocksWith409NamingTheRoles) {
    w.ok(change_roles{account_id("acme"), user_id("t"), roles({support_contributor}), {}});
    w.contacts("acme", {{contact_role::primary_support, "t"}});
    auto e = w.refused(remove_member{account_id("acme"), user_id("t")}, as("alice"));
    EXPECT_EQ(http_status(e.kind), 409);
    EXPECT_EQ(e.code, codes::key_contact_blocks_removal);
    ASSERT_EQ(e.blockers.size(), 1u);
    EXPECT_EQ(e.blockers[0].account, account_id("acme"));
    EXPECT_EQ(e.blockers[0].contact_roles, std::vector<contact_role>{contact_role::primary_support});
}

TEST_F(RemovalTest, KeyContactInAnotherAccountBlocksTheEmployeeRemovalNamingThatAccount) {
    // paul only has impact:member in beta: security needs support:contributor, so grant it first.
    EXPECT_EQ(
        w.refused(save_contacts{account_id("beta"), {{contact_role::security, user_id("paul")}}}, as("bert")).code,
        codes::contact_not_eligible);
    w.ok(change_roles{account_id("beta"), user_id("paul"), roles({support_contributor}), {}}, as("bert"));
    w.contacts("beta", {{contact_role::security, "paul"}}, as("bert"));
    auto e = w.refused(remove_member{account_id("pp"), user_id("paul")}, as("pia"));
    EXPECT_EQ(e.code, codes::key_contact_blocks_removal);
    ASSERT_EQ(e.blockers.size(), 1u);
    EXPECT_EQ(e.blockers[0].account, account_id("beta"));
    EXPECT_EQ(e.blockers[0].contact_roles, std::vector<contact_role>{contact_role::security});
    EXPECT_NE(e.detail.find("themselves"), std::string::npos);
    EXPECT_NE(w.s.member(account_id("acme"), user_id("paul")), nullptr) << "nothing happened";
    // paul hands the role over himself (no admin rights in beta), then the removal goes through.
    w.ok(hand_over_contact{account_id("beta"), contact_role::security, user_id("bert")}, as("paul"));
    w.ok(remove_member{account_id("pp"), user_id("paul")}, as("pia"));
}

TEST_F(RemovalTest, RemovalsCannotBeSeenOrDoneAcrossCompanies) {
    EXPECT_EQ(w.refused(remove_member{account_id("beta"), user_id("bert")}, as("alice")).kind, error_kind::not_found);
    EXPECT_EQ(w.refused(remove_member{account_id("acme"), user_id("t")}, as("t")).detail, no_access_detail);
    EXPECT_FALSE(removal_preview(w.s, as("alice"), account_id("beta"), user_id("bert")));
    EXPECT_FALSE(removal_preview(w.s, auditor_principal{}, account_id("acme"), user_id("t")));
}

TEST_F(RemovalTest, PreviewNamesTheImpact) {
    auto p = removal_preview(w.s, as("pia"), account_id("pp"), user_id("paul"));
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->profile_retired);
    EXPECT_EQ(p->roles_revoked, roles({support_contributor}));
    ASSERT_EQ(p->accounts_removed_from.size(), 3u);
    EXPECT_EQ(p->accounts_removed_from[0].account, account_id("pp"));
    EXPECT_TRUE(p->blockers.empty());
    EXPECT_TRUE(p->missing_portals.empty());
    auto tp = removal_preview(w.s, as("alice"), account_id("acme"), user_id("paul"));
    ASSERT_TRUE(tp);
    EXPECT_FALSE(tp->profile_retired);
    EXPECT_EQ(tp->accounts_removed_from.size(), 1u);
}

// Compares the preview with what remove_member does, for many actors, targets and states.
enum class outcome { refused, missing_portals, blocked, removed_third_party, retired };

outcome expect_preview_matches_removal(const state& s, const actor& who, const account_id& a, const user_id& u,
                                       timestamp now) {
    auto p = removal_preview(s, who, a, u);
    auto d = decide(s, remove_member{a, u}, who, now);
    if (!p) {
        EXPECT_FALSE(d);
        if (!d) {
            EXPECT_EQ(p.error(), d.error());
        }
        return outcome::refused;
    }
    if (!p->missing_portals.empty()) {
        EXPECT_FALSE(d);
        if (!d) {
            EXPECT_EQ(d.error().kind, error_kind::forbidden);
            EXPECT_EQ(d.error().missing_portals, p->missing_portals);
        }
        return outcome::missing_portals;
    }
    if (!p->blockers.empty()) {
        EXPECT_FALSE(d);
        if (!d) {
            EXPECT_EQ(d.error().kind, error_kind::conflict);
            EXPECT_EQ(d.error().blockers, p->blockers);
        }
        return outcome::blocked;
    }
    EXPECT_TRUE(d) << d.error().code;
    if (!d) return outcome::refused;
    std::vector<removed_membership> done;
    bool retired = false;
    role_set here;
    for (const auto& e : *d) {
        if (const auto* r = std::get_if<member_removed>(&e)) {
            done.push_back({r->account, r->type, r->roles, r->cascade});
            if (r->account == a) here = r->roles;
        } else if (std::holds_alternative<profile_retired>(e)) {
            retired = true;
        } else {
            ADD_FAILURE() << "unexpected event " << type_name(e);
        }
    }
    EXPECT_EQ(done, p->accounts_removed_from);
    EXPECT_EQ(retired, p->profile_retired);
    EXPECT_EQ(here, p->roles_revoked);
    return retired ? outcome::retired : outcome::removed_third_party;
}

TEST(RemovalPreview, EqualsTheRemovalForManyCases) {
    std::mt19937 rng(1234);
    int compared = 0;
    std::map<outcome, int> seen;
    for (int round = 0; round < 30; ++round) {
        world w;
        w.customer("c1");
        w.customer("c2");
        w.partner("p1");
        w.link("c1", "p1");
        w.link("c2", "p1");
        std::vector<std::pair<std::string, std::string>> people;  // (account, user)
        for (const char* acc : {"c1", "c2", "p1"})
            for (int i = 0; i < 4; ++i) {
                const std::string id = std::string(acc) + "u" + std::to_string(i);
                w.user(acc, id, role_set(static_cast<std::uint16_t>(rng() % 128)));
                people.emplace_back(acc, id);
            }
        for (int i = 0; i < 4; ++i)
            for (const char* c : {"c1", "c2"})
                if (rng() % 2)
                    w.third_party(c, "p1u" + std::to_string(i), role_set(static_cast<std::uint16_t>(rng() % 128)));
        // Random contacts where eligible (some blockers, some not).
        for (const char* acc : {"c1", "c2", "p1"})
            for (contact_role r :
                 {contact_role::security, contact_role::primary_support, contact_role::primary_technical}) {
                const account_record* a = w.s.account(account_id(acc));
                std::vector<user_id> candidates;
                for (const auto& [u, m] : a->members)
                    if (satisfies(m.roles, required_role(r))) candidates.push_back(u);
                std::sort(candidates.begin(), candidates.end());
                if (!candidates.empty() && rng() % 2)
                    (void)w.run(save_contacts{account_id(acc), {{r, candidates[rng() % candidates.size()]}}}, op);
            }
        if (rng() % 3 == 0) w.ok(lock_user{user_id("c1u" + std::to_string(rng() % 4))});
        std::vector<actor> actors{op, auditor_principal{}};
        for (auto& [acc, u] : people) actors.push_back(as(u));
        for (const auto& who : actors)
            for (const char* acc : {"c1", "c2", "p1"})
                for (auto& [_, u] : people) {
                    ++seen[expect_preview_matches_removal(w.s, who, account_id(acc), user_id(u), w.now)];
                    ++compared;
                }
    }
    EXPECT_GT(compared, 10000);
    // Every path of the removal is exercised.
    for (auto o :
         {outcome::refused, outcome::missing_portals, outcome::blocked, outcome::removed_third_party, outcome::retired})
        EXPECT_GT(seen[o], 20) << static_cast<int>(o);
}

}  // namespace
}  // namespace roster::domain::testing
