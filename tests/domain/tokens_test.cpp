// Token expiry and rotation in the domain (issue 14, item 5): the command carries the expiry
// instant, authentication judges it at the caller's `now`, a rotation retires the old secret.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

struct tokens : ::testing::Test {
    world w;
    void SetUp() override {
        w.customer("acme");
        w.user("acme", "ada", roles({support_viewer}));
        w.user("acme", "bob", roles({support_viewer}));
    }
};

TEST(principal_labels, name_every_principal_and_only_well_formed_ones) {
    for (const principal& p :
         {principal{operator_principal{}}, principal{auditor_principal{}},
          principal{service_principal{"billing-sync_2"}}, principal{user_principal{user_id("usr_1")}}}) {
        const auto back = principal_from_label(principal_label(p));
        ASSERT_TRUE(back) << principal_label(p);
        EXPECT_EQ(principal_label(*back), principal_label(p));
        EXPECT_EQ(back->index(), p.index()) << principal_label(p);
    }
    const std::string too_long = "user:" + std::string(129, 'a');
    for (std::string_view bad :
         {std::string_view(), std::string_view("Operator"), std::string_view("operator "), std::string_view(too_long),
          std::string_view("user"), std::string_view("admin:x"), std::string_view("user:"),
          std::string_view("service:"), std::string_view("user:a b"), std::string_view("service:x/y")})
        EXPECT_FALSE(principal_from_label(bad)) << bad;
}

TEST_F(tokens, an_expired_token_no_longer_authenticates) {
    w.ok(issue_token{token_id("t1"), user_principal{user_id("ada")}, hash_of("s1"), w.now + std::chrono::seconds(60)});
    w.ok(issue_token{token_id("t2"), user_principal{user_id("ada")}, hash_of("s2")});
    EXPECT_TRUE(authenticate(w.s, hash_of("s1"), w.now + std::chrono::seconds(59)));
    EXPECT_FALSE(authenticate(w.s, hash_of("s1"), w.now + std::chrono::seconds(60)));
    EXPECT_TRUE(authenticate(w.s, hash_of("s2"), w.now + std::chrono::hours(24 * 3650)));
    EXPECT_EQ(w.s.token(token_id("t1"))->expires_at, w.now + std::chrono::seconds(60));
}

TEST_F(tokens, an_expiry_not_in_the_future_is_refused) {
    auto e = w.refused(issue_token{token_id("t1"), user_principal{user_id("ada")}, hash_of("s1"), w.now});
    EXPECT_EQ(e.code, codes::invalid_expiry);
}

TEST_F(tokens, rotation_retires_the_old_secret_and_keeps_id_principal_and_expiry) {
    const auto expiry = w.now + std::chrono::seconds(3600);
    w.ok(issue_token{token_id("t1"), user_principal{user_id("ada")}, hash_of("old"), expiry});
    auto events = w.ok(rotate_token{token_id("t1"), hash_of("new")}, as("ada"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::get<token_rotated>(events[0]).user, user_id("ada"));
    EXPECT_EQ(stream_of(events[0]), "token-t1");
    EXPECT_FALSE(authenticate(w.s, hash_of("old"), w.now));
    auto a = authenticate(w.s, hash_of("new"), w.now);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->token, token_id("t1"));
    EXPECT_EQ(a->subject, principal{user_principal{user_id("ada")}});
    EXPECT_EQ(w.s.token(token_id("t1"))->expires_at, expiry);
    // The old secret stays known (attributed, never reissued).
    EXPECT_EQ(w.refused(issue_token{token_id("t9"), auditor_principal{}, hash_of("old")}).code, codes::token_exists);
    EXPECT_EQ(w.refused(rotate_token{token_id("t1"), hash_of("old")}).code, codes::token_exists);
}

TEST_F(tokens, only_the_owner_or_the_operator_rotates_and_not_a_dead_token) {
    w.ok(issue_token{token_id("t1"), user_principal{user_id("ada")}, hash_of("a")});
    EXPECT_EQ(w.refused(rotate_token{token_id("t1"), hash_of("b")}, as("bob")).code, codes::token_not_found);
    EXPECT_EQ(w.refused(rotate_token{token_id("t1"), hash_of("b")}, auditor_principal{}).code,
              codes::read_only_principal);
    EXPECT_EQ(w.refused(rotate_token{token_id("nope"), hash_of("b")}).code, codes::token_not_found);
    EXPECT_EQ(w.refused(rotate_token{token_id("t1"), "not-hex"}).code, codes::invalid_secret_hash);
    w.ok(rotate_token{token_id("t1"), hash_of("b")});

    w.ok(issue_token{token_id("t2"), user_principal{user_id("ada")}, hash_of("c"), w.now + std::chrono::seconds(60)});
    w.now += std::chrono::seconds(61);
    EXPECT_EQ(w.refused(rotate_token{token_id("t2"), hash_of("d")}).code, codes::token_expired);
    w.ok(revoke_token{token_id("t1")});
    EXPECT_EQ(w.refused(rotate_token{token_id("t1"), hash_of("d")}).code, codes::token_revoked);
}

}  // namespace
}  // namespace roster::domain::testing
