// Per-portal authorization, principals (operator, auditor, service, self), lock/unlock, tokens,
// security events and read authorization.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

// acme: alice (admin everywhere), sam (support:admin), ian (impact:admin), dave (no admin), t (target).
struct AuthzTest : ::testing::Test {
    world w;
    void SetUp() override {
        w.customer("acme");
        w.customer("beta");
        w.user("acme", "alice", roles({support_admin, impact_admin, learning_admin}));
        w.user("acme", "sam", roles({support_admin}));
        w.user("acme", "ian", roles({impact_admin}));
        w.user("acme", "dave", roles({support_contributor, impact_member}));
        w.user("acme", "t", roles({support_viewer, impact_member}));
        w.user("beta", "bert", roles({support_admin, impact_admin, learning_admin}));
    }
};

TEST_F(AuthzTest, GrantAndRevokeNeedAdminInEachPortalTouched) {
    auto e = w.refused(
        change_roles{account_id("acme"), user_id("t"), roles({learning_learner}), roles({impact_member})}, as("sam"));
    EXPECT_EQ(e.kind, error_kind::forbidden);
    EXPECT_EQ(e.code, codes::missing_portal_admin);
    EXPECT_EQ(e.missing_portals, (std::vector<portal>{portal::impact, portal::learning}));
    EXPECT_EQ(w.roles_of("acme", "t"), roles({support_viewer, impact_member}));

    auto evs =
        w.ok(change_roles{account_id("acme"), user_id("t"), roles({support_contributor}), roles({support_viewer})},
             as("sam"));
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(std::get<roles_granted>(evs[0]).roles, roles({support_contributor}));
    EXPECT_EQ(std::get<roles_revoked>(evs[1]).roles, roles({support_viewer}));
    EXPECT_EQ(w.roles_of("acme", "t"), roles({support_contributor, impact_member}));

    w.ok(change_roles{account_id("acme"), user_id("t"), {}, roles({impact_member})}, as("ian"));
    EXPECT_EQ(w.roles_of("acme", "t"), roles({support_contributor}));
}

TEST_F(AuthzTest, RolesOutsideTheCatalogAreBadInput) {
    const role_set bogus(static_cast<std::uint16_t>(1u << 9));
    EXPECT_EQ(w.refused(change_roles{account_id("acme"), user_id("t"), bogus, {}}).code, codes::invalid_roles);
    EXPECT_EQ(w.refused(create_user{account_id("acme"), user_id("n"), "n@x.com", "N", bogus, std::nullopt}).code,
              codes::invalid_roles);
}

TEST_F(AuthzTest, NoChangeIsAnEmptyResultNotAnError) {
    auto evs = w.ok(change_roles{account_id("acme"), user_id("t"), roles({support_viewer}), roles({learning_learner})},
                    as("alice"));
    EXPECT_TRUE(evs.empty());
    EXPECT_TRUE(w.ok(lock_user{user_id("t")}, as("alice")).size() == 1);
    EXPECT_TRUE(w.ok(lock_user{user_id("t")}, as("alice")).empty());
    EXPECT_EQ(
        w.refused(change_roles{account_id("acme"), user_id("t"), roles({support_viewer}), roles({support_viewer})},
                  as("alice"))
            .code,
        codes::invalid_roles);
}

TEST_F(AuthzTest, NonAdminsGetTheExactDetailOnEveryManagementCommand) {
    const actor dave = as("dave");
    const std::vector<command> cmds{
        create_user{account_id("acme"), user_id("x"), "x@x.com", "X", {}, std::nullopt},
        add_member{account_id("acme"), user_id("t"), {}},
        change_roles{account_id("acme"), user_id("t"), roles({support_viewer}), {}},
        remove_all_roles{account_id("acme"), user_id("t")},
        lock_user{user_id("t")},
        unlock_user{user_id("t")},
        remove_member{account_id("acme"), user_id("t")},
        invite_user{account_id("acme"), user_id("t"), {invitation_id("i"), hash_of("i"), std::nullopt}},
        save_contacts{account_id("acme"), {}},
        set_watchlist{account_id("acme"), {}},
        open_account{account_id("new"), "New", account_kind::customer},
        link_partner{account_id("acme"), account_id("beta")},
        issue_token{token_id("tk"), user_principal{user_id("t")}, hash_of("tk")},
    };
    for (const auto& c : cmds) {
        auto e = w.refused(c, dave);
        EXPECT_EQ(e.kind, error_kind::forbidden) << command_name(c);
        EXPECT_EQ(e.detail, no_access_detail) << command_name(c);
    }
}

TEST_F(AuthzTest, OtherCompaniesAccountsAndMembersAreNotFound) {
    auto e = w.refused(change_roles{account_id("beta"), user_id("bert"), {}, roles({support_admin})}, as("alice"));
    EXPECT_EQ(e.kind, error_kind::not_found);
    EXPECT_EQ(e.code, codes::account_not_found);
    EXPECT_EQ(w.refused(remove_member{account_id("acme"), user_id("bert")}, as("alice")).code, codes::member_not_found);
    EXPECT_EQ(w.refused(lock_user{user_id("bert")}, as("alice")).kind, error_kind::not_found);
    EXPECT_EQ(w.refused(change_roles{account_id("nope"), user_id("t"), {}, {}}, as("alice")).kind,
              error_kind::not_found);
}

TEST_F(AuthzTest, AuditorAndServiceAreRefusedEveryCommand) {
    const std::vector<command> cmds{
        open_account{account_id("new"), "New", account_kind::customer},
        change_roles{account_id("acme"), user_id("t"), roles({support_viewer}), {}},
        lock_user{user_id("t")},
        issue_token{token_id("tk"), auditor_principal{}, hash_of("tk")},
        revoke_token{token_id("tk")},
        save_contacts{account_id("acme"), {}},
    };
    for (const actor& who : {actor(auditor_principal{}), actor(service_principal{"portal"})})
        for (const auto& c : cmds) {
            auto e = w.refused(c, who);
            EXPECT_EQ(e.kind, error_kind::forbidden) << command_name(c);
            EXPECT_EQ(e.code, codes::read_only_principal);
        }
}

TEST_F(AuthzTest, OperatorMayDoEverythingAcrossAccounts) {
    w.ok(change_roles{account_id("beta"), user_id("bert"), {}, roles({learning_admin})});
    w.ok(lock_user{user_id("bert")});
    w.ok(remove_all_roles{account_id("acme"), user_id("t")});
    EXPECT_TRUE(w.roles_of("acme", "t").empty());
    EXPECT_TRUE(w.s.member(account_id("acme"), user_id("t")) != nullptr) << "membership stays";
}

TEST_F(AuthzTest, RemoveAllRolesNeedsAdminInEveryPortalTheUserHas) {
    auto e = w.refused(remove_all_roles{account_id("acme"), user_id("t")}, as("sam"));
    EXPECT_EQ(e.missing_portals, std::vector<portal>{portal::impact});
    auto evs = w.ok(remove_all_roles{account_id("acme"), user_id("t")}, as("alice"));
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(std::get<all_roles_removed>(evs[0]).roles, roles({support_viewer, impact_member}));
    EXPECT_TRUE(w.ok(remove_all_roles{account_id("acme"), user_id("t")}, as("sam")).empty());
}

TEST_F(AuthzTest, LockedOrRemovedActorsAreUnauthenticated) {
    w.ok(lock_user{user_id("sam")}, as("alice"));
    auto e = w.refused(change_roles{account_id("acme"), user_id("t"), roles({support_contributor}), {}}, as("sam"));
    EXPECT_EQ(e.kind, error_kind::unauthenticated);
    EXPECT_EQ(w.refused(lock_user{user_id("t")}, as("ghost")).kind, error_kind::unauthenticated);
}

TEST_F(AuthzTest, LockAndUnlockByEmployerAdminsOfAnyPortalOrTheOperator) {
    w.ok(lock_user{user_id("t")}, as("ian"));
    EXPECT_TRUE(w.s.user(user_id("t"))->locked());
    EXPECT_FALSE(access_decision(w.s, user_id("t"), account_id("acme"), portal::support).allowed);
    EXPECT_EQ(w.roles_of("acme", "t"), roles({support_viewer, impact_member})) << "locking keeps roles";
    w.ok(unlock_user{user_id("t")}, as("sam"));
    EXPECT_FALSE(w.s.user(user_id("t"))->locked());
    w.ok(lock_user{user_id("t")});
    w.ok(unlock_user{user_id("t")});
}

TEST_F(AuthzTest, ThirdPartyAdminsCannotLockAPartnerEmployee) {
    w.partner("pp");
    w.link("acme", "pp");
    w.user("pp", "paul", {});
    w.third_party("acme", "paul", roles({support_viewer}));
    auto e = w.refused(lock_user{user_id("paul")}, as("alice"));
    EXPECT_EQ(e.kind, error_kind::forbidden) << "alice sees paul but is not an admin of his employer";
    EXPECT_EQ(w.refused(lock_user{user_id("paul")}, as("bert")).kind, error_kind::not_found);
}

TEST_F(AuthzTest, TokensOperatorForAnyoneUsersForThemselves) {
    w.ok(issue_token{token_id("svc"), service_principal{"portal"}, hash_of("svc")});
    w.ok(issue_token{token_id("aud"), auditor_principal{}, hash_of("aud")});
    w.ok(issue_token{token_id("own"), user_principal{user_id("dave")}, hash_of("own")}, as("dave"));
    EXPECT_EQ(w.refused(issue_token{token_id("x"), user_principal{user_id("t")}, hash_of("x")}, as("alice")).kind,
              error_kind::forbidden);
    EXPECT_EQ(w.refused(issue_token{token_id("x"), operator_principal{}, hash_of("x")}, as("dave")).kind,
              error_kind::forbidden);
    EXPECT_EQ(w.refused(issue_token{token_id("own"), auditor_principal{}, hash_of("y")}).code, codes::token_exists);
    EXPECT_EQ(w.refused(issue_token{token_id("z"), auditor_principal{}, hash_of("own")}).code, codes::token_exists);
    EXPECT_EQ(w.refused(issue_token{token_id("z"), service_principal{""}, hash_of("z")}).code,
              codes::invalid_principal);
    EXPECT_EQ(w.refused(issue_token{token_id("z"), user_principal{user_id("ghost")}, hash_of("z")}).kind,
              error_kind::not_found);

    auto who = authenticate(w.s, hash_of("own"), w.now);
    ASSERT_TRUE(who);
    EXPECT_EQ(who->subject, actor(user_principal{user_id("dave")}));
    EXPECT_EQ(who->token, token_id("own"));
    EXPECT_EQ(authenticate(w.s, hash_of("svc"), w.now)->subject, actor(service_principal{"portal"}));
    EXPECT_FALSE(authenticate(w.s, hash_of("unknown"), w.now));

    EXPECT_EQ(w.refused(revoke_token{token_id("svc")}, as("dave")).kind, error_kind::not_found);
    w.ok(revoke_token{token_id("own")}, as("dave"));
    EXPECT_FALSE(authenticate(w.s, hash_of("own"), w.now)) << "a revoked token is refused";
    EXPECT_TRUE(w.ok(revoke_token{token_id("own")}).empty());
    w.ok(revoke_token{token_id("svc")});
    EXPECT_FALSE(authenticate(w.s, hash_of("svc"), w.now));
}

TEST_F(AuthzTest, LockedAndRemovedUsersTokensStopWorking) {
    w.ok(issue_token{token_id("t1"), user_principal{user_id("t")}, hash_of("t1")});
    ASSERT_TRUE(authenticate(w.s, hash_of("t1"), w.now));
    w.ok(lock_user{user_id("t")});
    EXPECT_FALSE(authenticate(w.s, hash_of("t1"), w.now));
    w.ok(unlock_user{user_id("t")});
    EXPECT_TRUE(authenticate(w.s, hash_of("t1"), w.now));
    w.ok(remove_member{account_id("acme"), user_id("t")});
    EXPECT_FALSE(authenticate(w.s, hash_of("t1"), w.now));
}

TEST_F(AuthzTest, AProfileIsReadOnlyThroughAnAccountItBelongsTo) {
    // alice administers acme; bert is beta's. Asking acme for bert must look like asking for nobody.
    const account_id acme("acme");
    for (const actor& who : {as("alice"), actor{operator_principal{}}, actor{auditor_principal{}}}) {
        auto foreign = authorize_read(w.s, who, read_kind::user_profile, acme, user_id("bert"));
        ASSERT_FALSE(foreign);
        EXPECT_EQ(foreign.error().code, codes::user_not_found);
        EXPECT_EQ(foreign.error(), authorize_read(w.s, who, read_kind::user_profile, acme, user_id("ghost")).error());
        EXPECT_TRUE(authorize_read(w.s, who, read_kind::user_profile, acme, user_id("t")));
    }
    // A removed member stays visible through the account that removed them (history, include_removed).
    w.ok(remove_member{acme, user_id("t")});
    EXPECT_TRUE(authorize_read(w.s, as("alice"), read_kind::user_profile, acme, user_id("t")));
}

TEST_F(AuthzTest, ReadAuthorizationFollowsTheWhoColumn) {
    const account_id acme("acme");
    const actor aud = auditor_principal{}, svc = service_principal{"p"};
    auto kind_of = [&](const actor& who, read_kind k, const user_id& u = {}) -> std::optional<error_kind> {
        auto r = authorize_read(w.s, who, k, acme, u);
        if (r) return std::nullopt;
        return r.error().kind;
    };
    EXPECT_EQ(kind_of(as("dave"), read_kind::account), std::nullopt);
    EXPECT_EQ(kind_of(as("dave"), read_kind::contacts), std::nullopt);
    EXPECT_EQ(kind_of(as("dave"), read_kind::user_list), error_kind::forbidden);
    EXPECT_EQ(kind_of(as("dave"), read_kind::user_profile, user_id("dave")), std::nullopt) << "self";
    EXPECT_EQ(kind_of(as("dave"), read_kind::user_profile, user_id("t")), error_kind::forbidden);
    EXPECT_EQ(kind_of(as("bert"), read_kind::account), error_kind::not_found);
    EXPECT_EQ(kind_of(as("bert"), read_kind::user_list), error_kind::not_found);
    EXPECT_EQ(kind_of(as("ian"), read_kind::watchlist), error_kind::forbidden);
    EXPECT_EQ(authorize_read(w.s, as("ian"), read_kind::watchlist, acme).error().missing_portals,
              std::vector<portal>{portal::support});
    EXPECT_EQ(kind_of(as("sam"), read_kind::recipients), std::nullopt);
    EXPECT_EQ(kind_of(as("ian"), read_kind::user_list), std::nullopt);
    EXPECT_EQ(kind_of(aud, read_kind::user_list), std::nullopt);
    EXPECT_EQ(kind_of(aud, read_kind::events), std::nullopt);
    EXPECT_EQ(kind_of(aud, read_kind::recipients), error_kind::forbidden);
    EXPECT_EQ(kind_of(aud, read_kind::access), error_kind::forbidden);
    EXPECT_EQ(kind_of(svc, read_kind::access), std::nullopt);
    EXPECT_EQ(kind_of(svc, read_kind::account), error_kind::forbidden);
    EXPECT_EQ(kind_of(svc, read_kind::events), error_kind::forbidden);
    EXPECT_EQ(kind_of(as("alice"), read_kind::events), error_kind::forbidden);
    EXPECT_EQ(kind_of(as("alice"), read_kind::access), error_kind::forbidden);
    EXPECT_EQ(kind_of(op, read_kind::removal_preview), std::nullopt);
    EXPECT_EQ(kind_of(as("alice"), read_kind::user_history, user_id("t")), std::nullopt);
    EXPECT_EQ(kind_of(as("dave"), read_kind::user_history, user_id("t")), error_kind::forbidden);
    EXPECT_EQ(kind_of(as("alice"), read_kind::user_history, user_id("bert")), error_kind::not_found);
    w.ok(lock_user{user_id("alice")});
    EXPECT_EQ(kind_of(as("alice"), read_kind::account), error_kind::unauthenticated);
}

TEST(Errors, KindsMapToSpecStatuses) {
    EXPECT_EQ(http_status(error_kind::bad_input), 400);
    EXPECT_EQ(http_status(error_kind::unauthenticated), 401);
    EXPECT_EQ(http_status(error_kind::forbidden), 403);
    EXPECT_EQ(http_status(error_kind::not_found), 404);
    EXPECT_EQ(http_status(error_kind::conflict), 409);
    EXPECT_EQ(http_status(error_kind::gone), 410);
    EXPECT_EQ(to_string(error_kind::not_found), "not_found");
    auto g = deactivate_gone();
    EXPECT_EQ(http_status(g.kind), 410);
    EXPECT_EQ(g.code, codes::deactivate_removed);
    EXPECT_NE(g.detail.find("/lock"), std::string::npos);
    EXPECT_NE(g.detail.find("/roles"), std::string::npos);
}

}  // namespace
}  // namespace roster::domain::testing
