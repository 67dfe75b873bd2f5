// One version per resource (issue 14): the ETag a GET of a user answers is what If-Match on
// that user's commands accepts, it moves only when that user changes, If-Match: * and lists,
// If-None-Match 304, and the profile update. Against a real rosterd on 127.0.0.1.
#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
using as = bearer_client;

class etag : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data", std::vector<std::string>{"--threads", "2"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<as>(as{*http_, read_token(tmp_.path() / "data")});
        auto r = op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}});
        ASSERT_EQ(r.status, 201u) << r.body;
        const json::object all_admin{
            {"support", json::array{"admin"}}, {"impact", json::array{"admin"}}, {"learning", json::array{"admin"}}};
        ada_ = op().create_user("acme", "ada@acme.com", "Ada Admin", all_admin);
        ann_ = op().create_user("acme", "ann@acme.com", "Ann", json::object{{"support", json::array{"viewer"}}});
        bob_ = op().create_user("acme", "bob@acme.com", "Bob", json::object{{"support", json::array{"viewer"}}});
        ada_token_ = op().token_for(ada_);
    }
    as& op() { return *op_; }
    as ada() { return as{*http_, ada_token_}; }
    std::string user_url(const std::string& u) { return "/v1/accounts/acme/users/" + u; }
    // The ETag of GET user, checked to be a strong tag equal to the body's version.
    std::string etag_of(const std::string& u) {
        auto r = ada().get(user_url(u));
        EXPECT_EQ(r.status, 200u) << r.body;
        auto tag = r.header("etag").value_or("");
        EXPECT_EQ(tag, "\"" + std::to_string(r.json().at("user").at("version").to_number<std::uint64_t>()) + "\"");
        return tag;
    }
    static std::string code_of(const http_reply& r) {
        auto v = r.json();
        return v.is_object() && v.as_object().contains("code") ? std::string(v.at("code").as_string()) : "";
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<as> op_;
    std::string ada_, ann_, bob_, ada_token_;
};

TEST_F(etag, the_etag_of_get_user_is_accepted_as_if_match_by_every_command_on_that_user) {
    // Account-wide changes since the user was read (another user created) do not stale it.
    auto tag = etag_of(ann_);
    op().create_user("acme", "cy@acme.com", "Cy", json::object{{"support", json::array{"viewer"}}});
    EXPECT_EQ(etag_of(ann_), tag);

    auto lock = ada().post("/v1/users/" + ann_ + "/lock", json::object{}, {{"If-Match", tag}});
    ASSERT_EQ(lock.status, 200u) << lock.body;
    EXPECT_EQ(lock.header("etag"), etag_of(ann_)) << "the answer carries the new ETag";
    EXPECT_NE(etag_of(ann_), tag);

    auto unlock = ada().post("/v1/users/" + ann_ + "/unlock", json::object{}, {{"If-Match", tag}});
    EXPECT_EQ(unlock.status, 412u) << "the ETag read before the lock is stale: " << unlock.body;
    EXPECT_EQ(code_of(unlock), "version_mismatch");
    unlock = ada().post("/v1/users/" + ann_ + "/unlock", json::object{}, {{"If-Match", etag_of(ann_)}});
    ASSERT_EQ(unlock.status, 200u) << unlock.body;

    auto roles = ada().post(user_url(ann_) + "/roles",
                            json::object{{"grant", json::object{{"support", json::array{"contributor"}}}}},
                            {{"If-Match", etag_of(ann_)}});
    ASSERT_EQ(roles.status, 200u) << roles.body;
    EXPECT_EQ(roles.header("etag"), etag_of(ann_));

    auto renamed = ada().patch("/v1/users/" + ann_, json::object{{"name", "Annie"}}, {{"If-Match", etag_of(ann_)}});
    ASSERT_EQ(renamed.status, 200u) << renamed.body;
    EXPECT_EQ(renamed.json().at("user").at("name").as_string(), "Annie");
    EXPECT_EQ(renamed.header("etag"), etag_of(ann_));

    auto preview = ada().get(user_url(ann_) + "/removal");
    ASSERT_EQ(preview.status, 200u) << preview.body;
    EXPECT_EQ(preview.header("etag"), etag_of(ann_));
    auto removed = ada().del(user_url(ann_), {{"If-Match", etag_of(ann_)}});
    ASSERT_EQ(removed.status, 200u) << removed.body;
}

TEST_F(etag, creating_a_user_answers_the_etag_a_get_then_answers) {
    auto created = ada().post("/v1/accounts/acme/users",
                              json::object{{"email", "dee@acme.com"}, {"name", "Dee"}, {"roles", json::object{}}});
    ASSERT_EQ(created.status, 201u) << created.body;
    const std::string dee(created.json().at("user").at("id").as_string());
    EXPECT_EQ(created.header("etag"), etag_of(dee));
}

TEST_F(etag, changing_one_user_leaves_the_etag_of_another_alone) {
    const auto ann = etag_of(ann_);
    const auto bob = etag_of(bob_);
    ASSERT_EQ(ada().post("/v1/users/" + bob_ + "/lock", json::object{}).status, 200u);
    ASSERT_EQ(ada()
                  .post(user_url(bob_) + "/roles",
                        json::object{{"grant", json::object{{"support", json::array{"contributor"}}}}})
                  .status,
              200u);
    ASSERT_EQ(ada().patch("/v1/users/" + bob_, json::object{{"name", "Robert"}}).status, 200u);
    EXPECT_EQ(etag_of(ann_), ann);
    EXPECT_NE(etag_of(bob_), bob);
}

TEST_F(etag, if_match_star_needs_the_resource_a_list_matches_any_and_weak_or_malformed_tags_are_400) {
    auto star =
        ada().post(user_url(ann_) + "/roles",
                   json::object{{"grant", json::object{{"support", json::array{"contributor"}}}}}, {{"If-Match", "*"}});
    EXPECT_EQ(star.status, 200u) << star.body;
    auto ghost =
        ada().post(user_url("usr_nobody") + "/roles",
                   json::object{{"grant", json::object{{"support", json::array{"contributor"}}}}}, {{"If-Match", "*"}});
    EXPECT_EQ(ghost.status, 412u) << ghost.body;

    auto list = ada().post("/v1/users/" + ann_ + "/lock", json::object{}, {{"If-Match", "\"1\", " + etag_of(ann_)}});
    EXPECT_EQ(list.status, 200u) << list.body;
    auto none = ada().post("/v1/users/" + ann_ + "/unlock", json::object{}, {{"If-Match", "\"1\", \"2\""}});
    EXPECT_EQ(none.status, 412u) << none.body;

    for (std::string bad : {"W/" + etag_of(ann_), std::string("\"abc\""), std::string("\"1"), std::string(",")}) {
        auto r = ada().post("/v1/users/" + ann_ + "/unlock", json::object{}, {{"If-Match", bad}});
        EXPECT_EQ(r.status, 400u) << bad << ": " << r.body;
        EXPECT_EQ(code_of(r), "invalid_if_match") << bad;
        EXPECT_EQ(r.json().at("field").as_string(), "If-Match") << bad;
    }
}

TEST_F(etag, if_none_match_answers_304_while_the_user_is_unchanged_then_200) {
    const auto tag = etag_of(ann_);
    auto same = ada().call("GET", user_url(ann_), nullptr, {{"If-None-Match", "W/" + tag}});
    EXPECT_EQ(same.status, 304u);
    EXPECT_EQ(same.header("etag"), tag);
    EXPECT_TRUE(same.body.empty());
    EXPECT_EQ(ada().call("GET", user_url(ann_), nullptr, {{"If-None-Match", "*"}}).status, 304u);
    EXPECT_EQ(ada().call("HEAD", user_url(ann_), nullptr, {{"If-None-Match", tag}}).status, 304u);
    EXPECT_EQ(ada().call("GET", user_url(ann_), nullptr, {{"If-None-Match", "\"1\""}}).status, 200u);

    ASSERT_EQ(ada().patch("/v1/users/" + ann_, json::object{{"name", "Annie"}}).status, 200u);
    auto changed = ada().call("GET", user_url(ann_), nullptr, {{"If-None-Match", tag}});
    EXPECT_EQ(changed.status, 200u);
    EXPECT_EQ(changed.json().at("user").at("name").as_string(), "Annie");
    // Routes without a version ignore the header.
    EXPECT_EQ(ada().call("GET", "/v1/me", nullptr, {{"If-None-Match", "*"}}).status, 200u);
}

TEST_F(etag, a_profile_update_is_in_the_users_and_the_accounts_history_with_before_and_after) {
    as ann{*http_, op().token_for(ann_)};
    auto own = ann.patch("/v1/users/" + ann_, json::object{{"name", "Ann B."}, {"reason", "married"}});
    ASSERT_EQ(own.status, 200u) << own.body;
    EXPECT_EQ(ann.patch("/v1/users/" + ann_, json::object{{"email", "ann.b@acme.com"}}).status, 403u);
    auto mail = ada().patch("/v1/users/" + ann_, json::object{{"email", "Ann.B@acme.com"}});
    ASSERT_EQ(mail.status, 200u) << mail.body;
    EXPECT_EQ(mail.json().at("user").at("email").as_string(), "ann.b@acme.com");
    const auto tag = etag_of(ann_);
    auto noop = ada().patch("/v1/users/" + ann_, json::object{{"name", "Ann B."}});
    ASSERT_EQ(noop.status, 200u) << noop.body;
    EXPECT_EQ(noop.header("etag"), tag) << "no change, no event";
    EXPECT_EQ(ada().patch("/v1/users/" + ann_, json::object{{"email", "bob@acme.com"}}).status, 409u);
    EXPECT_EQ(ada().patch("/v1/users/" + ann_, json::object{{"nickname", "A"}}).status, 400u);

    for (const std::string& history : {std::string("/v1/accounts/acme/history?limit=1000&type=profile_updated"),
                                       "/v1/users/" + ann_ + "/history?limit=1000&type=profile_updated"}) {
        auto r = op().get(history);
        ASSERT_EQ(r.status, 200u) << history << ": " << r.body;
        const auto page = r.json();
        const auto& events = page.at("events").as_array();
        ASSERT_EQ(events.size(), 2u) << history << ": " << r.body;
        const auto& first = events[0].at("data");
        EXPECT_EQ(json::serialize(first.at("before")), R"({"name":"Ann"})");
        EXPECT_EQ(json::serialize(first.at("after")), R"({"name":"Ann B."})");
        EXPECT_EQ(events[0].at("reason").as_string(), "married");
        const auto& second = events[1].at("data");
        EXPECT_EQ(json::serialize(second.at("before")), R"({"email":"ann@acme.com"})");
        EXPECT_EQ(json::serialize(second.at("after")), R"({"email":"ann.b@acme.com"})");
    }
    // The directory lists and finds the new name and email.
    auto found = ada().get("/v1/accounts/acme/users?q=ann.b");
    ASSERT_EQ(found.status, 200u) << found.body;
    const auto list = found.json();
    ASSERT_EQ(list.at("users").as_array().size(), 1u) << found.body;
    EXPECT_EQ(list.at("users").as_array()[0].at("name").as_string(), "Ann B.");
}

}  // namespace
}  // namespace roster::test
