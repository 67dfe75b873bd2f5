// GET /v1/accounts/{a}/stats over HTTP against a real rosterd: the counts by their definitions,
// as of a past position (equal to what the live route answered then), and who may read them.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;

std::string code_of(const http_reply& r) {
    auto v = r.json();
    return v.is_object() && v.as_object().contains("code") ? std::string(v.at("code").as_string()) : "";
}

json::object roles(std::initializer_list<std::pair<const char*, std::vector<const char*>>> per_portal) {
    json::object out;
    for (const auto& [portal, names] : per_portal) {
        json::array a;
        for (auto* n : names) a.emplace_back(n);
        out[portal] = std::move(a);
    }
    return out;
}

class stats : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data", std::vector<std::string>{"--threads", "2", "--snapshot-every", "5"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<bearer_client>(bearer_client{*http_, read_token(tmp_.path() / "data")});
        for (auto [id, kind] : {std::pair{"acme", "customer"}, {"globex", "customer"}})
            must(op().post("/v1/accounts", json::object{{"id", id}, {"name", id}, {"kind", kind}}), 201);
    }
    bearer_client& op() { return *op_; }
    bearer_client as(const std::string& token) { return bearer_client{*http_, token}; }
    json::object must(const http_reply& r, unsigned status) {
        EXPECT_EQ(r.status, status) << r.body;
        auto v = r.json();
        return v.is_object() ? v.as_object() : json::object{};
    }
    // Creates a user with `invite` as given; returns {id, invitation secret or ""}.
    std::pair<std::string, std::string> user(const std::string& account, const std::string& name, json::object r,
                                             bool invite = true) {
        auto o =
            must(op().post("/v1/accounts/" + account + "/users", json::object{{"email", name + "@" + account + ".com"},
                                                                              {"name", name},
                                                                              {"roles", std::move(r)},
                                                                              {"invite", invite}}),
                 201);
        std::string secret;
        if (auto it = o.find("invitation"); it != o.end() && it->value().is_object())
            secret = std::string(it->value().at("secret").as_string());
        return {std::string(o.at("user").at("id").as_string()), secret};
    }
    std::uint64_t head() {
        return static_cast<std::uint64_t>(
            must(op().get("/v1/events?limit=1"), 200).at("head").to_number<std::int64_t>());
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<bearer_client> op_;
};

TEST_F(stats, counts_users_by_status_registration_portal_and_role_and_shows_contact_health) {
    const auto all_admin = roles({{"support", {"admin"}}, {"impact", {"admin"}}, {"learning", {"admin"}}});
    const auto ada = user("acme", "ada", all_admin);                                                 // invited
    const auto bob = user("acme", "bob", roles({{"support", {"viewer"}}, {"impact", {"member"}}}));  // registers
    const auto cal = user("acme", "cal", roles({{"support", {"contributor"}}}), false);              // locked
    const auto dee = user("acme", "dee", roles({{"learning", {"learner"}}}), false);                 // removed
    user("globex", "gus", all_admin);  // another account: never counted in acme
    must(op().post("/v1/invitations/accept", json::object{{"secret", bob.second}}), 200);
    // Contacts first: a locked member cannot be assigned, but a contact may be locked later.
    must(op().put("/v1/accounts/acme/contacts",
                  json::object{{"primary_customer_admin", ada.first}, {"primary_support", cal.first}}),
         200);
    must(op().post("/v1/users/" + cal.first + "/lock", json::object{{"reason", "test"}}), 200);
    must(op().del("/v1/accounts/acme/users/" + dee.first), 200);

    auto r = op().get("/v1/accounts/acme/stats");
    auto s = must(r, 200);
    EXPECT_EQ(s.at("account").as_string(), "acme");
    EXPECT_EQ(s.at("position").to_number<std::uint64_t>(), head());
    EXPECT_EQ(json::serialize(s.at("users")),
              R"({"active":2,"locked":1,"removed":1,"invited":1,"registered":1,"not_invited":1,"total":3})");
    EXPECT_EQ(json::serialize(s.at("portals")),
              R"({"support":{"users":3,"roles":{"admin":1,"contributor":1,"viewer":1}},)"
              R"("impact":{"users":2,"roles":{"admin":1,"member":1}},)"
              R"("learning":{"users":1,"roles":{"admin":1,"learner":0}}})");
    const auto& c = s.at("contacts").as_object();
    EXPECT_EQ(c.at("required_roles_filled").to_number<int>(), 2);
    EXPECT_EQ(json::serialize(c.at("required_roles_missing")), R"(["secondary_support","security"])");
    // Exactly the warnings of the contacts view (the same domain rule, the same JSON).
    auto contacts = must(op().get("/v1/accounts/acme/contacts"), 200);
    EXPECT_EQ(json::serialize(c.at("warnings")), json::serialize(contacts.at("warnings")));
    std::vector<std::string> codes;
    for (const auto& w : c.at("warnings").as_array()) codes.emplace_back(w.at("code").as_string());
    EXPECT_EQ(codes,
              (std::vector<std::string>{"fewer_than_two_support_contacts", "no_security_contact", "contact_locked"}));

    auto g = must(op().get("/v1/accounts/globex/stats"), 200);
    EXPECT_EQ(g.at("users").at("total").to_number<int>(), 1);
    EXPECT_EQ(code_of(op().get("/v1/accounts/nope/stats")), "account_not_found");
}

TEST_F(stats, as_of_answers_what_the_live_route_answered_at_that_position) {
    std::vector<std::pair<std::uint64_t, std::string>> seen;
    auto record = [&] {
        auto r = op().get("/v1/accounts/acme/stats");
        ASSERT_EQ(r.status, 200u) << r.body;
        seen.emplace_back(head(), r.body);
    };
    record();  // no members yet
    const auto ada = user("acme", "ada", roles({{"support", {"admin"}}}));
    record();
    const auto bob = user("acme", "bob", roles({{"impact", {"member"}}}), false);
    record();
    must(op().post("/v1/users/" + bob.first + "/lock", json::object{}), 200);
    record();
    must(op().post("/v1/accounts/acme/users/" + bob.first + "/roles",
                   json::object{{"grant", roles({{"learning", {"learner"}}})}}),
         200);
    record();
    must(op().post("/v1/invitations/accept", json::object{{"secret", ada.second}}), 200);
    record();
    must(op().post("/v1/users/" + bob.first + "/unlock", json::object{}), 200);
    must(op().del("/v1/accounts/acme/users/" + bob.first), 200);
    record();
    // Snapshots every 5 positions: some answers come from a snapshot plus a fold.
    for (const auto& [position, body] : seen) {
        auto r = op().get("/v1/accounts/acme/stats?as_of=" + std::to_string(position));
        EXPECT_EQ(r.status, 200u) << r.body;
        EXPECT_EQ(r.header("roster-as-of").value_or(""), std::to_string(position));
        EXPECT_EQ(r.body, body) << "as of " << position;
    }
    EXPECT_EQ(code_of(op().get("/v1/accounts/acme/stats?as_of=" + std::to_string(head() + 1))), "invalid_as_of");
    EXPECT_EQ(code_of(op().get("/v1/accounts/acme/stats?as_of=soon")), "invalid_as_of");
}

TEST_F(stats, readable_as_the_user_list_now_and_then) {
    const auto ada = user("acme", "ada", roles({{"support", {"admin"}}}));
    const auto before_imp = head();
    const auto imp = user("acme", "imp", roles({{"impact", {"admin"}}}));
    const auto tess = user("acme", "tess", roles({{"support", {"viewer"}}}));
    const auto gus = user("globex", "gus", roles({{"support", {"admin"}}}));
    auto auditor =
        as(std::string(must(op().post("/v1/tokens", json::object{{"principal", json::object{{"auditor", true}}}}), 201)
                           .at("token")
                           .as_string()));
    auto get_as = [&](const std::string& user_id, const std::string& target) {
        return as(op().token_for(user_id)).get(target);
    };
    // Admins of acme in any portal, the auditor, the operator.
    EXPECT_EQ(get_as(ada.first, "/v1/accounts/acme/stats").status, 200u);
    EXPECT_EQ(get_as(imp.first, "/v1/accounts/acme/stats").status, 200u);
    EXPECT_EQ(auditor.get("/v1/accounts/acme/stats").status, 200u);
    // A member without admin: 403 with the SPEC's detail; another account's admin: 404 (as unknown).
    auto member = get_as(tess.first, "/v1/accounts/acme/stats");
    EXPECT_EQ(member.status, 403u) << member.body;
    EXPECT_EQ(member.json().at("detail").as_string(), "You do not have access to this feature.");
    auto outsider = get_as(gus.first, "/v1/accounts/acme/stats");
    EXPECT_EQ(outsider.status, 404u) << outsider.body;
    EXPECT_EQ(outsider.body.find("acme"), std::string::npos);
    auto ghost = get_as(gus.first, "/v1/accounts/no-such/stats");
    EXPECT_EQ(ghost.status, 404u);
    EXPECT_EQ(code_of(ghost), code_of(outsider));
    EXPECT_EQ(as("").get("/v1/accounts/acme/stats").status, 401u);
    // As of a position where imp did not exist yet: no rights then.
    auto then = get_as(imp.first, "/v1/accounts/acme/stats?as_of=" + std::to_string(before_imp));
    EXPECT_EQ(then.status, 403u) << then.body;
    EXPECT_EQ(code_of(then), "not_allowed_as_of");
    // The past is not readable by a caller who has no rights now.
    EXPECT_EQ(get_as(tess.first, "/v1/accounts/acme/stats?as_of=" + std::to_string(head())).status, 403u);
}

TEST_F(stats, the_served_openapi_describes_the_route_and_its_counts) {
    auto doc = must(http_->request("GET", "/v1/openapi.json"), 200);
    const auto& op = doc.at("paths").at("/v1/accounts/{a}/stats").at("get").as_object();
    EXPECT_FALSE(op.at("summary").as_string().empty());
    std::vector<std::string> params;
    for (const auto& p : op.at("parameters").as_array())
        if (!p.as_object().contains("$ref"))  // the shared headers (traceparent)
            params.push_back(std::string(p.at("in").as_string()) + ":" + std::string(p.at("name").as_string()));
    EXPECT_EQ(params, (std::vector<std::string>{"path:a", "query:as_of"}));
    // Every count is defined where integrators read the contract.
    const std::string description(op.at("description").as_string());
    for (const char* term : {"users.active", "users.locked", "users.removed", "users.invited", "users.registered",
                             "users.not_invited", "users.total", "portals.<portal>.users",
                             "portals.<portal>.roles.<role>", "required_roles_missing", "warnings"})
        EXPECT_NE(description.find(term), std::string::npos) << term;
}

}  // namespace
}  // namespace roster::test
