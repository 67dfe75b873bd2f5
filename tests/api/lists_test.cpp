// The user list as the seed shows it (issue 14, items 4 and 6), over HTTP against a real rosterd:
// active users by default, a status filter that shows locked and removed ones, a registration
// filter, the filtered list's own total, statuses that tell the truth, the page-size limit in the
// contract, and roles written one way (the access decision keyed by portal).
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;

json::object roles(const char* portal, const char* role) { return json::object{{portal, json::array{role}}}; }

class lists : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data", std::vector<std::string>{"--threads", "2"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<bearer_client>(bearer_client{*http_, read_token(tmp_.path() / "data")});
        must(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}), 201);
        // ada: invited; bob: registered; cal: never invited, locked; dee: never invited, removed;
        // eve: never invited.
        ada_ = user("ada", true);
        bob_ = user("bob", true);
        cal_ = user("cal", false);
        dee_ = user("dee", false);
        eve_ = user("eve", false);
        must(op().post("/v1/invitations/accept", json::object{{"secret", bob_.second}}), 200);
        must(op().post("/v1/users/" + cal_.first + "/lock", json::object{{"reason", "test"}}), 200);
        must(op().del("/v1/accounts/acme/users/" + dee_.first), 200);
    }
    bearer_client& op() { return *op_; }
    json::object must(const http_reply& r, unsigned status) {
        EXPECT_EQ(r.status, status) << r.body;
        auto v = r.json();
        return v.is_object() ? v.as_object() : json::object{};
    }
    // {id, invitation secret or ""}
    std::pair<std::string, std::string> user(const std::string& name, bool invite) {
        auto o = must(op().post("/v1/accounts/acme/users", json::object{{"email", name + "@acme.com"},
                                                                        {"name", name},
                                                                        {"roles", roles("support", "viewer")},
                                                                        {"invite", invite}}),
                      201);
        std::string secret;
        if (auto it = o.find("invitation"); it != o.end() && it->value().is_object())
            secret = std::string(it->value().at("secret").as_string());
        return {std::string(o.at("user").at("id").as_string()), secret};
    }
    // The names listed (all pages concatenated is not needed: every list here fits a page).
    std::vector<std::string> names(const json::object& page) {
        std::vector<std::string> out;
        for (const auto& u : page.at("users").as_array()) out.emplace_back(u.at("name").as_string());
        return out;
    }
    json::object list(const std::string& query) { return must(op().get("/v1/accounts/acme/users" + query), 200); }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<bearer_client> op_;
    std::pair<std::string, std::string> ada_, bob_, cal_, dee_, eve_;
};

using names_t = std::vector<std::string>;

TEST_F(lists, default_list_hides_locked_and_removed_and_counts_only_active) {
    auto page = list("");
    EXPECT_EQ(names(page), (names_t{"ada", "bob", "eve"}));
    EXPECT_EQ(page.at("total").to_number<int>(), 3);
    EXPECT_EQ(page.at("total_active").to_number<int>(), 3);
    for (const auto& u : page.at("users").as_array()) EXPECT_EQ(u.at("status").as_string(), "active");
}

TEST_F(lists, status_filter_shows_locked_and_removed_when_asked) {
    auto inactive = list("?status=active,locked");  // the seed's "show inactive"
    EXPECT_EQ(names(inactive), (names_t{"ada", "bob", "cal", "eve"}));
    EXPECT_EQ(inactive.at("total").to_number<int>(), 4);
    EXPECT_EQ(inactive.at("total_active").to_number<int>(), 3);
    auto locked = list("?status=locked");
    EXPECT_EQ(names(locked), (names_t{"cal"}));
    EXPECT_EQ(locked.at("users").at(0).at("status").as_string(), "locked");
    auto removed = list("?status=removed");
    EXPECT_EQ(names(removed), (names_t{"dee"}));
    EXPECT_EQ(removed.at("users").at(0).at("status").as_string(), "removed");
    EXPECT_TRUE(removed.at("users").at(0).at("removed").as_bool());
    EXPECT_EQ(names(list("?status=active,locked,removed")), (names_t{"ada", "bob", "cal", "dee", "eve"}));
    // include_removed stays an alias of adding `removed`.
    EXPECT_EQ(names(list("?include_removed=true")), (names_t{"ada", "bob", "dee", "eve"}));
    auto bad = op().get("/v1/accounts/acme/users?status=active,gone");
    EXPECT_EQ(bad.status, 400u) << bad.body;
    EXPECT_EQ(bad.json().at("code").as_string(), "invalid_query");
    EXPECT_EQ(bad.json().at("field").as_string(), "status");
}

TEST_F(lists, registration_filter_works_and_invite_false_is_not_invited) {
    EXPECT_EQ(names(list("?registration=invited")), (names_t{"ada"}));
    EXPECT_EQ(names(list("?registration=registered")), (names_t{"bob"}));
    EXPECT_EQ(names(list("?registration=not_invited")), (names_t{"eve"}));
    EXPECT_EQ(names(list("?registration=not_invited&status=active,locked,removed")), (names_t{"cal", "dee", "eve"}));
    auto created = must(op().post("/v1/accounts/acme/users",
                                  json::object{{"email", "fay@acme.com"}, {"name", "fay"}, {"invite", false}}),
                        201);
    EXPECT_EQ(created.at("user").at("registration").as_string(), "not_invited");
    const std::string fay(created.at("user").at("id").as_string());
    auto got = must(op().get("/v1/accounts/acme/users/" + fay), 200);
    EXPECT_EQ(got.at("user").at("registration").as_string(), "not_invited");
    auto ada = must(op().get("/v1/accounts/acme/users/" + ada_.first), 200);
    EXPECT_EQ(ada.at("user").at("registration").as_string(), "invited");
    auto bad = op().get("/v1/accounts/acme/users?registration=maybe");
    EXPECT_EQ(bad.status, 400u) << bad.body;
    EXPECT_EQ(bad.json().at("field").as_string(), "registration");
}

TEST_F(lists, every_page_answers_the_total_of_its_filtered_list) {
    auto first = list("?status=active,locked,removed&limit=2");
    EXPECT_EQ(first.at("users").as_array().size(), 2u);
    EXPECT_EQ(first.at("total").to_number<int>(), 5);
    const std::string cursor(first.at("next_cursor").as_string());
    auto second = list("?status=active,locked,removed&limit=2&cursor=" + cursor);
    EXPECT_EQ(second.at("total").to_number<int>(), 5);
    EXPECT_EQ(list("?q=ev").at("total").to_number<int>(), 1);                             // a short q: eve
    EXPECT_EQ(list("?q=acme.com&status=active,locked").at("total").to_number<int>(), 4);  // trigram search
    EXPECT_EQ(list("?role=support:viewer&registration=not_invited").at("total").to_number<int>(), 1);
    EXPECT_EQ(list("?role=viewer&portal=support").at("total").to_number<int>(), 3);  // the older notation
    EXPECT_EQ(list("?role=impact:member").at("total").to_number<int>(), 0);
}

TEST_F(lists, removed_members_get_says_removed) {
    auto got = must(op().get("/v1/accounts/acme/users/" + dee_.first), 200);
    EXPECT_EQ(got.at("user").at("status").as_string(), "removed");
    EXPECT_TRUE(got.at("user").at("removed").as_bool());
    auto cal = must(op().get("/v1/accounts/acme/users/" + cal_.first), 200);
    EXPECT_EQ(cal.at("user").at("status").as_string(), "locked");
    EXPECT_FALSE(cal.at("user").at("removed").as_bool());
}

TEST_F(lists, page_size_above_500_is_refused_naming_the_field) {
    auto r = op().get("/v1/accounts/acme/users?limit=501");
    EXPECT_EQ(r.status, 400u) << r.body;
    EXPECT_EQ(r.json().at("code").as_string(), "invalid_query");
    EXPECT_EQ(r.json().at("field").as_string(), "limit");
    EXPECT_EQ(op().get("/v1/accounts/acme/users?limit=500").status, 200u);
}

TEST_F(lists, access_decision_roles_are_keyed_by_portal) {
    auto allowed = must(op().get("/v1/access?user=" + ada_.first + "&account=acme&portal=support"), 200);
    EXPECT_TRUE(allowed.at("allowed").as_bool());
    EXPECT_EQ(json::serialize(allowed.at("roles")), R"({"support":["viewer"]})");
    EXPECT_TRUE(allowed.at("reason").is_null());
    auto denied = must(op().get("/v1/access?user=" + ada_.first + "&account=acme&portal=impact"), 200);
    EXPECT_FALSE(denied.at("allowed").as_bool());
    EXPECT_EQ(json::serialize(denied.at("roles")), R"({"impact":[]})");
    EXPECT_EQ(denied.at("reason").as_string(), "no_role");
}

}  // namespace
}  // namespace roster::test
