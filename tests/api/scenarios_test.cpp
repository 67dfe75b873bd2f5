// The seed scenarios of issue 4 driven over HTTP against a real rosterd on 127.0.0.1.
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <thread>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
using headers = std::vector<std::pair<std::string, std::string>>;

using as = bearer_client;

std::string code_of(const http_reply& r) {
    auto v = r.json();
    return v.is_object() && v.as_object().contains("code") ? std::string(v.at("code").as_string()) : "";
}

class scenario : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data",
                                                    std::vector<std::string>{"--threads", "2", "--enable-test-routes"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<as>(as{*http_, read_token(tmp_.path() / "data")});
    }
    as& op() { return *op_; }
    as user_client(const std::string& token) { return as{*http_, token}; }

    void open_account(const std::string& id, const std::string& kind) {
        auto r = op().post("/v1/accounts", json::object{{"id", id}, {"name", id + " Inc"}, {"kind", kind}});
        ASSERT_EQ(r.status, 201u) << r.body;
    }
    // Creates a user through the operator and returns its id.
    std::string create_user(const std::string& account, const std::string& email, const std::string& name,
                            json::object roles) {
        return op().create_user(account, email, name, roles);
    }
    std::string token_for(const std::string& user) { return op().token_for(user); }
    json::object all_admin() {
        return json::object{
            {"support", json::array{"admin"}}, {"impact", json::array{"admin"}}, {"learning", json::array{"admin"}}};
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<as> op_;
};

TEST_F(scenario, admin_creates_users_with_roles_in_three_portals_and_looks_up_an_email) {
    open_account("acme", "customer");
    auto admin = create_user("acme", "admin@acme.com", "Ada Admin", all_admin());
    as ada = user_client(token_for(admin));

    auto r = ada.post("/v1/accounts/acme/users",
                      json::object{{"email", "  Bob@Acme.com "},
                                   {"name", "Bob"},
                                   {"roles", json::object{{"support", json::array{"contributor"}},
                                                          {"impact", json::array{"member"}},
                                                          {"learning", json::array{"learner"}}}}});
    ASSERT_EQ(r.status, 201u) << r.body;
    auto created = r.json().as_object();
    EXPECT_EQ(created.at("user").at("email").as_string(), "bob@acme.com");
    EXPECT_EQ(created.at("user").at("type").as_string(), "employee");
    EXPECT_EQ(json::serialize(created.at("user").at("roles")),
              R"({"support":["contributor"],"impact":["member"],"learning":["learner"]})");
    // The invitation secret is shown once, with an expiry.
    EXPECT_TRUE(created.at("invitation").as_object().contains("secret"));
    EXPECT_TRUE(created.at("invitation").as_object().contains("expires_at"));
    auto bob = std::string(created.at("user").at("id").as_string());

    // Visible at once in the list, searchable by name or email.
    auto list = ada.get("/v1/accounts/acme/users?q=BOB");
    ASSERT_EQ(list.status, 200u) << list.body;
    ASSERT_EQ(list.json().at("users").as_array().size(), 1u);
    EXPECT_EQ(list.json().at("users").at(0).at("id").as_string(), bob);
    EXPECT_EQ(list.json().at("total_active").as_int64(), 2);

    // Every portal's access decision knows the new user.
    for (auto portal : {"support", "impact", "learning"}) {
        auto d = op().get("/v1/access?user=" + bob + "&account=acme&portal=" + portal);
        ASSERT_EQ(d.status, 200u) << d.body;
        EXPECT_TRUE(d.json().at("allowed").as_bool()) << portal;
    }

    auto lookup = ada.get("/v1/users/lookup?email=BOB%40acme.com&account=acme");
    ASSERT_EQ(lookup.status, 200u) << lookup.body;
    EXPECT_TRUE(lookup.json().at("exists").as_bool());
    EXPECT_TRUE(lookup.json().at("member_of_account").as_bool());
    EXPECT_EQ(lookup.json().at("portals").as_array().size(), 3u);

    // Email uniqueness across the system, case-insensitively.
    auto dup = ada.post("/v1/accounts/acme/users", json::object{{"email", "BOB@acme.com"}, {"name", "Bob 2"}});
    EXPECT_EQ(dup.status, 409u) << dup.body;
}

TEST_F(scenario, partner_employee_becomes_third_party_member_of_a_linked_customer) {
    open_account("acme", "customer");
    open_account("partnerco", "partner");
    auto pat = create_user("partnerco", "pat@partnerco.com", "Pat", json::object{{"support", json::array{"viewer"}}});
    auto admin = create_user("acme", "admin@acme.com", "Ada", all_admin());
    as ada = user_client(token_for(admin));

    // Not linked yet: refused with a clear error.
    auto refused =
        ada.post("/v1/accounts/acme/members",
                 json::object{{"user_id", pat}, {"roles", json::object{{"support", json::array{"contributor"}}}}});
    EXPECT_EQ(refused.status, 409u) << refused.body;
    EXPECT_EQ(code_of(refused), "not_linked_partner_employee");

    ASSERT_EQ(op().post("/v1/accounts/acme/partners", json::object{{"partner_id", "partnerco"}}).status, 200u);
    auto added = ada.post(
        "/v1/accounts/acme/members",
        json::object{{"email", "PAT@partnerco.com"}, {"roles", json::object{{"support", json::array{"contributor"}}}}});
    ASSERT_EQ(added.status, 201u) << added.body;
    EXPECT_EQ(added.json().at("user").at("type").as_string(), "third_party");
    EXPECT_EQ(added.json().at("user").at("employer").as_string(), "partnerco");

    auto third = ada.get("/v1/accounts/acme/users?type=third_party");
    ASSERT_EQ(third.json().at("users").as_array().size(), 1u);
}

TEST_F(scenario, roles_change_per_portal_with_the_right_403s) {
    open_account("acme", "customer");
    auto support_admin = create_user("acme", "sa@acme.com", "Sam", json::object{{"support", json::array{"admin"}}});
    auto target = create_user("acme", "t@acme.com", "Tess",
                              json::object{{"support", json::array{"viewer"}}, {"impact", json::array{"member"}}});
    as sam = user_client(token_for(support_admin));

    auto ok = sam.post("/v1/accounts/acme/users/" + target + "/roles",
                       json::object{{"grant", json::object{{"support", json::array{"contributor"}}}},
                                    {"revoke", json::object{{"support", json::array{"viewer"}}}},
                                    {"reason", "promoted after training"},
                                    {"reference", "CHG-1042"}});
    ASSERT_EQ(ok.status, 200u) << ok.body;
    EXPECT_EQ(json::serialize(ok.json().at("user").at("roles").at("support")), R"(["contributor"])");

    // The history reads as a reviewer needs it: who (with name and email as they were), what
    // from what to what, and why, without a second lookup.
    auto history = op().get("/v1/accounts/acme/history?type=roles_revoked");
    ASSERT_EQ(history.status, 200u) << history.body;
    const auto page = history.json();
    ASSERT_EQ(page.at("events").as_array().size(), 1u) << history.body;
    const auto& entry = page.at("events").at(0);
    EXPECT_EQ(json::serialize(entry.at("data").at("before").at("roles").at("support")), R"(["contributor","viewer"])");
    EXPECT_EQ(json::serialize(entry.at("data").at("after").at("roles").at("support")), R"(["contributor"])");
    EXPECT_EQ(json::serialize(entry.at("data").at("after").at("roles").at("impact")), R"(["member"])");
    EXPECT_EQ(entry.at("actor").at("name").as_string(), "Sam");
    EXPECT_EQ(entry.at("actor").at("email").as_string(), "sa@acme.com");
    EXPECT_EQ(entry.at("reason").as_string(), "promoted after training");
    EXPECT_EQ(entry.at("reference").as_string(), "CHG-1042");
    bool target_labelled = false;
    for (const auto& l : entry.at("labels").as_array())
        target_labelled =
            target_labelled || (l.at("user").as_string() == target && l.at("name").as_string() == "Tess" &&
                                l.at("email").as_string() == "t@acme.com");
    EXPECT_TRUE(target_labelled) << entry;
    auto granted = op().get("/v1/accounts/acme/history?type=roles_granted").json().at("events").as_array();
    ASSERT_FALSE(granted.empty());
    EXPECT_EQ(json::serialize(granted.back().at("data").at("before").at("roles").at("support")), R"(["viewer"])");

    // A reference over 200 bytes is refused before anything is decided.
    auto long_ref = sam.post("/v1/accounts/acme/users/" + target + "/roles",
                             json::object{{"grant", json::object{{"support", json::array{"viewer"}}}},
                                          {"reference", std::string(201, 'x')}});
    EXPECT_EQ(long_ref.status, 400u) << long_ref.body;
    EXPECT_EQ(code_of(long_ref), "invalid_reference");

    auto impact = sam.post("/v1/accounts/acme/users/" + target + "/roles",
                           json::object{{"revoke", json::object{{"impact", json::array{"member"}}}}});
    EXPECT_EQ(impact.status, 403u) << impact.body;

    // Removal needs admin in every portal where the target has roles: the problem names them.
    auto removal = sam.del("/v1/accounts/acme/users/" + target);
    ASSERT_EQ(removal.status, 403u) << removal.body;
    EXPECT_EQ(json::serialize(removal.json().at("missing_portals")), R"(["impact"])");

    // The refusals are recorded as security events (by the writer, right after they are answered).
    auto recorded = [&] {
        auto events = op().get("/v1/events?type=access_denied");
        EXPECT_EQ(events.status, 200u) << events.body;
        return events.json().at("events").as_array().size();
    };
    const auto deadline = std::chrono::steady_clock::now() + safety_limit;
    while (recorded() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GE(recorded(), 2u);

    // Unknown roles are bad input.
    auto bad = sam.post("/v1/accounts/acme/users/" + target + "/roles",
                        json::object{{"grant", json::object{{"support", json::array{"superuser"}}}}});
    EXPECT_EQ(bad.status, 400u) << bad.body;
}

TEST_F(scenario, locked_user_is_denied_everywhere_and_their_token_stops_working) {
    open_account("acme", "customer");
    auto admin = create_user("acme", "admin@acme.com", "Ada", all_admin());
    auto lou = create_user("acme", "lou@acme.com", "Lou", all_admin());
    as ada = user_client(token_for(admin));
    auto lou_token = token_for(lou);
    ASSERT_EQ(user_client(lou_token).get("/v1/accounts/acme").status, 200u);

    auto locked = ada.post("/v1/users/" + lou + "/lock", json::object{{"reason", "incident 42"}});
    ASSERT_EQ(locked.status, 200u) << locked.body;
    EXPECT_EQ(locked.json().at("user").at("status").as_string(), "locked");
    for (auto portal : {"support", "impact", "learning"}) {
        auto d = op().get("/v1/access?user=" + lou + "&account=acme&portal=" + portal);
        EXPECT_FALSE(d.json().at("allowed").as_bool());
        EXPECT_EQ(d.json().at("reason").as_string(), "locked");
    }
    EXPECT_EQ(user_client(lou_token).get("/v1/accounts/acme").status, 401u);

    // The reason is in the audit trail.
    auto events = op().get("/v1/events?type=user_locked");
    EXPECT_EQ(events.json().at("events").at(0).at("reason").as_string(), "incident 42");
    // A dashboard filtering on the account sees the lock too (the event names lou's accounts).
    auto of_acme = op().get("/v1/events?account=acme&type=user_locked");
    ASSERT_EQ(of_acme.json().at("events").as_array().size(), 1u) << of_acme.body;
    EXPECT_EQ(json::serialize(of_acme.json().at("events").at(0).at("data").at("accounts")), R"(["acme"])");

    ASSERT_EQ(ada.post("/v1/users/" + lou + "/unlock", json::object{}).status, 200u);
    EXPECT_EQ(user_client(lou_token).get("/v1/accounts/acme").status, 200u);
}

TEST_F(scenario, key_contact_cannot_be_removed_until_replaced) {
    open_account("acme", "customer");
    auto admin = create_user("acme", "admin@acme.com", "Ada", all_admin());
    auto kim = create_user("acme", "kim@acme.com", "Kim", json::object{{"support", json::array{"admin"}}});
    as ada = user_client(token_for(admin));
    ASSERT_EQ(ada.put("/v1/accounts/acme/contacts", json::object{{"primary_customer_admin", kim}}).status, 200u);

    auto preview = ada.get("/v1/accounts/acme/users/" + kim + "/removal");
    ASSERT_EQ(preview.status, 200u) << preview.body;
    EXPECT_EQ(preview.json().at("blockers").as_array().size(), 1u);
    // SPEC §5: a blocker is {kind, account, roles}, roles being the contact roles to reassign.
    EXPECT_EQ(json::serialize(preview.json().at("blockers").at(0).at("roles")), R"(["primary_customer_admin"])");

    auto blocked = ada.del("/v1/accounts/acme/users/" + kim);
    ASSERT_EQ(blocked.status, 409u) << blocked.body;
    const auto blocked_body = blocked.json();  // json() answers a copy: keep it alive while reading
    const auto& blocker = blocked_body.at("blockers").at(0);
    EXPECT_EQ(blocker.at("kind").as_string(), "key_contact") << blocked.body;
    EXPECT_EQ(blocker.at("account").as_string(), "acme") << blocked.body;
    EXPECT_EQ(json::serialize(blocker.at("roles")), R"(["primary_customer_admin"])") << blocked.body;

    // Clearing the primary admin contact is refused; replacing it works.
    EXPECT_EQ(ada.put("/v1/accounts/acme/contacts", json::object{{"primary_customer_admin", nullptr}}).status, 409u);
    auto replaced = ada.put("/v1/accounts/acme/contacts", json::object{{"primary_customer_admin", admin}});
    ASSERT_EQ(replaced.status, 200u) << replaced.body;

    // The preview's version makes the removal exactly what was confirmed.
    auto fresh = ada.get("/v1/accounts/acme/users/" + kim + "/removal");
    auto version = fresh.json().at("version").as_int64();
    auto stale = ada.del("/v1/accounts/acme/users/" + kim, {{"If-Match", "\"" + std::to_string(version - 1) + "\""}});
    EXPECT_EQ(stale.status, 412u) << stale.body;
    auto removed = ada.del("/v1/accounts/acme/users/" + kim, {{"If-Match", "\"" + std::to_string(version) + "\""}});
    EXPECT_EQ(removed.status, 200u) << removed.body;
    EXPECT_TRUE(ada.get("/v1/accounts/acme/users?q=kim").json().at("users").as_array().empty());
    EXPECT_EQ(ada.get("/v1/accounts/acme/users?q=kim&include_removed=true").json().at("users").as_array().size(), 1u);
}

TEST_F(scenario, removing_an_employee_cascades_out_of_served_customers_and_frees_the_email) {
    open_account("acme", "customer");
    open_account("globex", "customer");
    open_account("partnerco", "partner");
    for (auto c : {"acme", "globex"})
        ASSERT_EQ(
            op().post(std::string("/v1/accounts/") + c + "/partners", json::object{{"partner_id", "partnerco"}}).status,
            200u);
    auto partner_admin = create_user("partnerco", "boss@partnerco.com", "Boss", all_admin());
    auto pat = create_user("partnerco", "pat@partnerco.com", "Pat", json::object{{"support", json::array{"viewer"}}});
    for (auto c : {"acme", "globex"}) {
        auto r =
            op().post(std::string("/v1/accounts/") + c + "/members",
                      json::object{{"user_id", pat}, {"roles", json::object{{"support", json::array{"contributor"}}}}});
        ASSERT_EQ(r.status, 201u) << r.body;
    }
    as boss = user_client(token_for(partner_admin));
    auto preview = boss.get("/v1/accounts/partnerco/users/" + pat + "/removal");
    ASSERT_EQ(preview.status, 200u) << preview.body;
    EXPECT_TRUE(preview.json().at("profile_retired").as_bool());
    EXPECT_EQ(preview.json().at("accounts_removed_from").as_array().size(), 3u);

    auto removed = boss.del("/v1/accounts/partnerco/users/" + pat);
    ASSERT_EQ(removed.status, 200u) << removed.body;
    for (auto c : {"acme", "globex"}) {
        auto d = op().get("/v1/access?user=" + pat + "&account=" + c + "&portal=support");
        EXPECT_FALSE(d.json().at("allowed").as_bool()) << c;
        EXPECT_EQ(d.json().at("reason").as_string(), "removed") << c;
    }
    // The email is free for a new profile.
    auto again =
        boss.post("/v1/accounts/partnerco/users", json::object{{"email", "pat@partnerco.com"}, {"name", "Pat II"}});
    ASSERT_EQ(again.status, 201u) << again.body;
    EXPECT_NE(again.json().at("user").at("id").as_string(), pat);
}

// Issue 13, "Show": the seed scenarios' history read as a reviewer reads it. Every entry must
// state who (with name and email when a user acted), when, what from what to what, and why, with
// no second lookup. A new change event without before/after fails here unless it is consciously
// added to `facts_without_a_before`.
TEST_F(scenario, a_reviewer_reads_every_history_entry_as_who_when_what_from_what_to_what_and_why) {
    open_account("acme", "customer");
    open_account("partnerco", "partner");
    ASSERT_EQ(op().post("/v1/accounts/acme/partners", json::object{{"partner_id", "partnerco"}}).status, 200u);
    auto admin = create_user("acme", "ada@acme.com", "Ada Admin", all_admin());
    auto pat =
        create_user("partnerco", "pat@partnerco.com", "Pat Partner", json::object{{"support", json::array{"viewer"}}});
    as ada = user_client(token_for(admin));

    int step = 0;
    auto why = [&step](json::object body) {
        ++step;
        body["reason"] = "reviewed step " + std::to_string(step);
        body["reference"] = "CHG-" + std::to_string(step);
        return body;
    };
    auto expect_ok = [](const http_reply& r) { EXPECT_TRUE(r.status == 200u || r.status == 201u) << r.body; };

    auto created = ada.post("/v1/accounts/acme/users",
                            why(json::object{{"email", "bob@acme.com"},
                                             {"name", "Bob Builder"},
                                             {"roles", json::object{{"support", json::array{"viewer"}}}}}));
    ASSERT_EQ(created.status, 201u) << created.body;
    const std::string bob(created.json().at("user").at("id").as_string());
    const std::string secret(created.json().at("invitation").at("secret").as_string());
    expect_ok(ada.post("/v1/accounts/acme/users/" + bob + "/roles",
                       why(json::object{{"grant", json::object{{"support", json::array{"contributor"}}}},
                                        {"revoke", json::object{{"support", json::array{"viewer"}}}}})));
    expect_ok(ada.post("/v1/users/" + bob + "/lock", why({})));
    expect_ok(ada.post("/v1/users/" + bob + "/unlock", why({})));
    expect_ok(ada.patch("/v1/users/" + bob, why(json::object{{"name", "Bob Rebuilt"}, {"email", "bobr@acme.com"}})));
    expect_ok(
        ada.post("/v1/accounts/acme/members",
                 why(json::object{{"user_id", pat}, {"roles", json::object{{"support", json::array{"viewer"}}}}})));
    expect_ok(ada.put("/v1/accounts/acme/contacts", why(json::object{{"primary_customer_admin", admin}})));
    expect_ok(ada.put("/v1/accounts/acme/watchlist",
                      why(json::object{{"subscriptions", json::array{json::object{
                                                             {"user_id", bob}, {"topics", json::array{"outage"}}}}}})));
    expect_ok(http_->request("POST", "/v1/invitations/accept", json::serialize(json::object{{"secret", secret}}),
                             {{"Content-Type", "application/json"}}));
    const json::value removal_body = why({});
    expect_ok(ada.call("DELETE", "/v1/accounts/acme/users/" + pat, &removal_body));
    const json::value all_roles_body = why({});
    expect_ok(ada.call("DELETE", "/v1/accounts/acme/users/" + bob + "/roles", &all_roles_body));

    // Facts that create something have no earlier value to state.
    const std::set<std::string> facts_without_a_before{"account_opened",    "partner_linked", "user_created",
                                                       "invitation_issued", "token_issued",   "token_revoked",
                                                       "access_denied"};
    auto history = op().get("/v1/accounts/acme/history?limit=1000");
    ASSERT_EQ(history.status, 200u) << history.body;
    std::set<std::string> seen;
    const json::value page = history.json();
    for (const auto& v : page.at("events").as_array()) {
        const auto& e = v.as_object();
        const std::string type(e.at("type").as_string());
        const std::string where = "position " + std::to_string(e.at("position").as_int64()) + " " + type;
        seen.insert(type);
        EXPECT_FALSE(e.at("recorded_at").as_string().empty()) << where;
        const auto& actor = e.at("actor").as_object();
        const std::string principal(actor.at("principal").as_string());
        EXPECT_FALSE(principal.empty()) << where;
        if (principal.starts_with("user:")) {
            EXPECT_TRUE(actor.contains("name") && actor.contains("email")) << where << ": " << json::serialize(actor);
            // Everything Ada did says why and under which change ticket.
            if (principal == "user:" + admin) {
                EXPECT_TRUE(e.at("reason").is_string()) << where;
                EXPECT_TRUE(e.at("reference").is_string()) << where;
            }
        }
        const auto& data = e.at("data").as_object();
        if (!facts_without_a_before.contains(type)) {
            EXPECT_TRUE(data.contains("before") && data.contains("after")) << where << ": " << json::serialize(data);
        }
        // Whoever the entry concerns is named as they were, not only by id.
        if (data.contains("user") && type != "access_denied") {
            bool labelled = false;
            if (e.contains("labels"))
                for (const auto& l : e.at("labels").as_array()) labelled = labelled || l.at("user") == data.at("user");
            EXPECT_TRUE(labelled) << where;
        }
    }
    // The walk covered the kinds of change the seed articles describe.
    for (auto t :
         {"roles_granted", "roles_revoked", "user_locked", "user_unlocked", "member_added", "contacts_saved",
          "watchlist_changed", "invitation_accepted", "member_removed", "all_roles_removed", "profile_updated"})
        EXPECT_TRUE(seen.contains(t)) << t;
}

TEST_F(scenario, non_admin_gets_no_access_to_this_feature) {
    open_account("acme", "customer");
    auto viewer = create_user("acme", "v@acme.com", "Vic", json::object{{"support", json::array{"viewer"}}});
    as vic = user_client(token_for(viewer));
    auto r = vic.get("/v1/accounts/acme/users");
    ASSERT_EQ(r.status, 403u) << r.body;
    EXPECT_EQ(r.json().at("detail").as_string(), "You do not have access to this feature.");
    auto c = vic.post("/v1/accounts/acme/users", json::object{{"email", "x@acme.com"}, {"name", "X"}});
    EXPECT_EQ(c.status, 403u) << c.body;
    EXPECT_EQ(c.json().at("detail").as_string(), "You do not have access to this feature.");
    // Members still read their own profile.
    EXPECT_EQ(vic.get("/v1/accounts/acme/users/" + viewer).status, 200u);
}

TEST_F(scenario, status_codes_of_the_contract) {
    open_account("acme", "customer");
    EXPECT_EQ(op().post("/v1/accounts", json::object{{"name", "x"}, {"kind", "vendor"}}).status, 400u);
    as anonymous{*http_, ""};
    as bogus{*http_, "rst_bogus"};
    EXPECT_EQ(anonymous.get("/v1/accounts/acme").status, 401u);
    EXPECT_EQ(bogus.get("/v1/accounts/acme").status, 401u);
    EXPECT_EQ(op().get("/v1/accounts/nope").status, 404u);
    EXPECT_EQ(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "again"}, {"kind", "customer"}}).status,
              409u);
    EXPECT_EQ(op().post("/v1/accounts/acme/users/u1/deactivate", json::object{}).status, 410u);

    auto account = op().get("/v1/accounts/acme");
    ASSERT_TRUE(account.header("etag").has_value());
    auto stale =
        op().post("/v1/accounts/acme/partners", json::object{{"partner_id", "acme"}}, {{"If-Match", "\"999\""}});
    EXPECT_EQ(stale.status, 412u) << stale.body;

    // Idempotency: the same key and body replays the outcome, another body is 422.
    json::object body{{"id", "initech"}, {"name", "Initech"}, {"kind", "customer"}};
    auto first = op().post("/v1/accounts", body, {{"Idempotency-Key", "k-1"}});
    ASSERT_EQ(first.status, 201u) << first.body;
    auto replay = op().post("/v1/accounts", body, {{"Idempotency-Key", "k-1"}});
    EXPECT_EQ(replay.status, 201u) << replay.body;
    EXPECT_EQ(replay.body, first.body);
    EXPECT_EQ(replay.header("idempotent-replayed").value_or(""), "true");
    body["name"] = "Initech 2";
    EXPECT_EQ(op().post("/v1/accounts", body, {{"Idempotency-Key", "k-1"}}).status, 422u);
    auto events = op().get("/v1/events?type=account_opened");
    EXPECT_EQ(events.json().at("events").as_array().size(), 2u);
}

TEST_F(scenario, storage_failure_is_503_with_nothing_half_applied_and_recovers) {
    open_account("acme", "customer");
    const auto before = op().get("/v1/events?limit=1000").json().at("events").as_array().size();
    ASSERT_EQ(op().post("/test/fail-next-writes?n=1", json::object{}).status, 200u);
    auto failed = op().post("/v1/accounts/acme/users", json::object{{"email", "f@acme.com"}, {"name", "F"}});
    ASSERT_EQ(failed.status, 503u) << failed.body;
    EXPECT_EQ(op().get("/v1/events?limit=1000").json().at("events").as_array().size(), before);
    EXPECT_TRUE(op().get("/v1/accounts/acme/users?q=f%40acme").json().at("users").as_array().empty());
    // Reads kept working; the same command succeeds once the fault is gone.
    auto again = op().post("/v1/accounts/acme/users", json::object{{"email", "f@acme.com"}, {"name", "F"}});
    EXPECT_EQ(again.status, 201u) << again.body;
}

TEST_F(scenario, state_survives_a_restart) {
    open_account("acme", "customer");
    auto admin = create_user("acme", "admin@acme.com", "Ada", all_admin());
    auto token = token_for(admin);
    auto before = user_client(token).get("/v1/accounts/acme/users");
    ASSERT_EQ(before.status, 200u);

    http_.reset();
    ASSERT_EQ(server_->terminate(), 0);
    server_ = std::make_unique<rosterd_process>(tmp_.path() / "data", std::vector<std::string>{"--threads", "2"});
    http_ = std::make_unique<http_client>(server_->port());
    auto after = as{*http_, token}.get("/v1/accounts/acme/users");
    ASSERT_EQ(after.status, 200u) << after.body;
    EXPECT_EQ(after.body, before.body);
}

}  // namespace
}  // namespace roster::test
