// Webhook endpoints in the domain (issue 17, item 3): operator only, filters checked and
// normalized, every change an event with its before and after, removed ids never reused.
#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

struct webhooks : ::testing::Test {
    world w;
    void SetUp() override {
        w.customer("acme");
        w.user("acme", "ada", roles({support_admin}));
    }
    static webhook_settings settings(std::string url = "https://hooks.example.com/r") {
        return webhook_settings{std::move(url),
                                {account_id("zeta"), account_id("acme"), account_id("acme")},
                                {"user_locked", "member_added", "user_locked"},
                                "ops",
                                true};
    }
};

TEST_F(webhooks, registration_sorts_the_filters_and_keeps_only_the_secret_hash) {
    auto events = w.ok(register_webhook{webhook_id("wh1"), settings(), hash_of("secret")});
    ASSERT_EQ(events.size(), 1u);
    const auto& e = std::get<webhook_registered>(events[0]);
    EXPECT_EQ(e.settings.accounts, (std::vector<account_id>{account_id("acme"), account_id("zeta")}));
    EXPECT_EQ(e.settings.types, (std::vector<std::string>{"member_added", "user_locked"}));
    EXPECT_EQ(e.secret_sha256_hex, hash_of("secret"));
    EXPECT_EQ(stream_of(events[0]), "webhook-wh1");
    EXPECT_EQ(concerned(events[0]), concerned_parties{});
    ASSERT_NE(w.s.webhook(webhook_id("wh1")), nullptr);
    EXPECT_EQ(w.s.webhook(webhook_id("wh1"))->registered_at, w.s.folded);
}

TEST_F(webhooks, only_the_operator_manages_endpoints) {
    EXPECT_EQ(w.refused(register_webhook{webhook_id("wh1"), settings(), hash_of("s")}, as("ada")).code,
              codes::operator_only);
    w.ok(register_webhook{webhook_id("wh1"), settings(), hash_of("s")});
    EXPECT_EQ(w.refused(change_webhook{webhook_id("wh1"), {}, {}, {}, {}, false}, as("ada")).code,
              codes::operator_only);
    EXPECT_EQ(w.refused(remove_webhook{webhook_id("wh1")}, as("ada")).code, codes::operator_only);
}

TEST_F(webhooks, bad_settings_are_refused) {
    auto bad = [&](webhook_settings s) {
        return w.refused(register_webhook{webhook_id("wh1"), std::move(s), hash_of("s")}).code;
    };
    EXPECT_EQ(bad(settings("ftp://x/")), codes::invalid_webhook);
    auto s = settings();
    s.types = {"no_such_event"};
    EXPECT_EQ(bad(s), codes::invalid_webhook);
    s = settings();
    s.accounts = {account_id("Not Valid")};
    EXPECT_EQ(bad(s), codes::invalid_webhook);
    EXPECT_EQ(w.refused(register_webhook{webhook_id("wh1"), settings(), "nothex"}).code, codes::invalid_secret_hash);
}

TEST_F(webhooks, a_change_records_before_and_after_and_no_change_appends_nothing) {
    w.ok(register_webhook{webhook_id("wh1"), settings(), hash_of("s")});
    const auto before = w.s.webhook(webhook_id("wh1"))->settings;
    auto events = w.ok(change_webhook{webhook_id("wh1"), std::string("http://127.0.0.1:9/x"), {}, {}, {}, false});
    ASSERT_EQ(events.size(), 1u);
    const auto& c = std::get<webhook_changed>(events[0]);
    EXPECT_EQ(c.before, before);
    EXPECT_EQ(c.after.url, "http://127.0.0.1:9/x");
    EXPECT_FALSE(c.after.enabled);
    EXPECT_EQ(c.after.types, before.types);
    EXPECT_TRUE(w.ok(change_webhook{webhook_id("wh1"), {}, {}, {}, {}, false}).empty());
}

TEST_F(webhooks, a_removed_endpoint_is_gone_and_its_id_is_never_reused) {
    w.ok(register_webhook{webhook_id("wh1"), settings(), hash_of("s")});
    auto events = w.ok(remove_webhook{webhook_id("wh1")});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::get<webhook_removed>(events[0]).before.url, settings().url);
    EXPECT_EQ(w.refused(remove_webhook{webhook_id("wh1")}).code, codes::webhook_not_found);
    EXPECT_EQ(w.refused(change_webhook{webhook_id("wh1"), {}, {}, {}, {}, true}).code, codes::webhook_not_found);
    EXPECT_EQ(w.refused(register_webhook{webhook_id("wh1"), settings(), hash_of("t")}).code, codes::webhook_exists);
}

}  // namespace
}  // namespace roster::domain::testing
