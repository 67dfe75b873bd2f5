// The contract an integrator relies on (issue 14, item 5), over HTTP against a real rosterd:
// every 201 says where the created resource is (Location), the account list, GET /v1/me and
// the W3C traceparent header.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <vector>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;

class api_contract : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::create_directories(tmp_.path() / "keys");
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data",
            std::vector<std::string>{"--threads", "2", "--log-origin", "roster.test/contract", "--signing-key",
                                     (tmp_.path() / "keys" / "checkpoint.key").string()});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<bearer_client>(bearer_client{*http_, read_token(tmp_.path() / "data")});
    }
    bearer_client& op() { return *op_; }
    json::object must(const http_reply& r, unsigned status) {
        EXPECT_EQ(r.status, status) << r.body;
        auto v = r.json();
        return v.is_object() ? v.as_object() : json::object{};
    }
    void open(const std::string& id, const std::string& kind) {
        must(op().post("/v1/accounts", json::object{{"id", id}, {"name", id}, {"kind", kind}}), 201);
    }
    static json::object roles(const char* portal, const char* role) {
        return json::object{{portal, json::array{role}}};
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<bearer_client> op_;
};

// The Location of a 201, followed with GET: it names what was just created.
std::string location(const http_reply& r) {
    EXPECT_EQ(r.status, 201u) << r.body;
    auto l = r.header("location");
    EXPECT_TRUE(l.has_value()) << "no Location on " << r.body;
    return l.value_or("");
}

TEST_F(api_contract, open_account_answers_location_of_the_account) {
    auto r = op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}});
    EXPECT_EQ(location(r), "/v1/accounts/acme");
    EXPECT_EQ(op().get("/v1/accounts/acme").status, 200u);
}

TEST_F(api_contract, create_user_answers_location_of_the_user_also_when_replayed) {
    open("acme", "customer");
    const json::value body =
        json::object{{"email", "ada@acme.com"}, {"name", "Ada"}, {"roles", roles("support", "viewer")}};
    auto r = op().post("/v1/accounts/acme/users", body, {{"Idempotency-Key", "k1"}});
    const std::string id(r.json().at("user").at("id").as_string());
    EXPECT_EQ(location(r), "/v1/accounts/acme/users/" + id);
    EXPECT_EQ(op().get(location(r)).status, 200u);
    auto again = op().post("/v1/accounts/acme/users", body, {{"Idempotency-Key", "k1"}});
    EXPECT_EQ(again.header("idempotent-replayed"), "true");
    EXPECT_EQ(location(again), "/v1/accounts/acme/users/" + id);
}

TEST_F(api_contract, add_member_answers_location_of_the_member) {
    open("acme", "customer");
    open("part", "partner");
    must(op().post("/v1/accounts/acme/partners", json::object{{"partner_id", "part"}}), 200);
    const auto pat = op().create_user("part", "pat@part.com", "Pat", roles("support", "viewer"));
    auto r =
        op().post("/v1/accounts/acme/members", json::object{{"user_id", pat}, {"roles", roles("impact", "member")}});
    EXPECT_EQ(location(r), "/v1/accounts/acme/users/" + pat);
    EXPECT_EQ(op().get(location(r)).status, 200u);
}

TEST_F(api_contract, issue_token_answers_location_of_the_token) {
    open("acme", "customer");
    const auto ada = op().create_user("acme", "ada@acme.com", "Ada", roles("support", "viewer"));
    auto r = op().post("/v1/tokens", json::object{{"principal", json::object{{"user_id", ada}}}});
    const std::string id(r.json().at("token_id").as_string());
    EXPECT_EQ(location(r), "/v1/tokens/" + id);
    EXPECT_EQ(op().del(location(r)).status, 200u);  // the URL that revokes it
}

TEST_F(api_contract, invite_answers_location_of_the_invitation) {
    open("acme", "customer");
    const auto ada = op().create_user("acme", "ada@acme.com", "Ada", roles("support", "viewer"));
    auto r = op().post("/v1/accounts/acme/users/" + ada + "/invitation", json::object{});
    EXPECT_EQ(location(r), "/v1/accounts/acme/users/" + ada + "/invitation");
}

TEST_F(api_contract, stream_ticket_answers_location_of_the_stream_it_opens) {
    auto r = op().post("/v1/stream/tickets", json::object{});
    const std::string ticket(r.json().at("ticket").as_string());
    EXPECT_EQ(location(r), "/v1/stream?ticket=" + ticket);
}

TEST_F(api_contract, key_rotation_answers_location_of_the_rotations_list) {
    auto r = op().post("/v1/audit/signing-key/rotations", json::object{});
    EXPECT_EQ(location(r), "/v1/audit/signing-key/rotations");
}

// --- GET /v1/accounts ---

std::vector<std::string> ids(const json::object& page) {
    std::vector<std::string> out;
    for (const auto& a : page.at("accounts").as_array()) out.emplace_back(a.at("id").as_string());
    return out;
}

TEST_F(api_contract, account_list_pages_by_id_for_operator_and_auditor) {
    open("c-3", "customer");
    open("a-1", "partner");
    const auto head_then = must(op().get("/v1/events?limit=1"), 200).at("head").to_number<std::uint64_t>();
    open("e-5", "customer");
    open("b-2", "customer");
    open("d-4", "customer");
    must(op().post("/v1/accounts/c-3/partners", json::object{{"partner_id", "a-1"}}), 200);

    using ids_t = std::vector<std::string>;
    auto first = must(op().get("/v1/accounts?limit=2"), 200);
    EXPECT_EQ(ids(first), (ids_t{"a-1", "b-2"}));
    ASSERT_TRUE(first.at("next_cursor").is_string());
    const auto& a1 = first.at("accounts").at(0).as_object();
    EXPECT_EQ(a1.at("name").as_string(), "a-1");
    EXPECT_EQ(a1.at("kind").as_string(), "partner");
    EXPECT_EQ(json::serialize(a1.at("customers")), R"(["c-3"])");
    EXPECT_EQ(json::serialize(a1.at("partners")), "[]");
    EXPECT_TRUE(a1.contains("version"));
    auto second =
        must(op().get("/v1/accounts?limit=2&cursor=" + std::string(first.at("next_cursor").as_string())), 200);
    EXPECT_EQ(ids(second), (ids_t{"c-3", "d-4"}));
    auto last = must(op().get("/v1/accounts?limit=2&cursor=" + std::string(second.at("next_cursor").as_string())), 200);
    EXPECT_EQ(ids(last), (ids_t{"e-5"}));
    EXPECT_TRUE(last.at("next_cursor").is_null());
    EXPECT_EQ(ids(must(op().get("/v1/accounts"), 200)), (ids_t{"a-1", "b-2", "c-3", "d-4", "e-5"}));

    // As it was after the first two accounts.
    auto then = op().get("/v1/accounts?as_of=" + std::to_string(head_then));
    EXPECT_EQ(ids(must(then, 200)), (ids_t{"a-1", "c-3"}));
    EXPECT_EQ(then.header("roster-as-of"), std::to_string(head_then));

    // An auditor reads it too.
    auto issued = must(op().post("/v1/tokens", json::object{{"principal", json::object{{"auditor", true}}}}), 201);
    bearer_client auditor{*http_, std::string(issued.at("token").as_string())};
    EXPECT_EQ(ids(must(auditor.get("/v1/accounts?limit=1"), 200)), (ids_t{"a-1"}));
}

TEST_F(api_contract, account_list_refuses_a_limit_out_of_range_and_a_bad_cursor_naming_the_field) {
    for (const char* q : {"?limit=0", "?limit=501", "?limit=x", "?cursor=NOT%20AN%20ID"}) {
        SCOPED_TRACE(q);
        auto r = op().get(std::string("/v1/accounts") + q);
        EXPECT_EQ(r.status, 400u) << r.body;
        EXPECT_EQ(r.json().at("field").as_string(),
                  std::string(q).find("cursor") != std::string::npos ? "cursor" : "limit");
    }
    EXPECT_EQ(op().get("/v1/accounts?limit=500").status, 200u);
}

// --- GET /v1/me ---

TEST_F(api_contract, me_for_a_user_names_the_user_and_every_current_membership_with_its_roles) {
    open("acme", "customer");
    open("part", "partner");
    must(op().post("/v1/accounts/acme/partners", json::object{{"partner_id", "part"}}), 200);
    const auto pat = op().create_user("part", "pat@part.com", "Pat", roles("support", "admin"));
    must(op().post("/v1/accounts/acme/members", json::object{{"user_id", pat}, {"roles", roles("impact", "member")}}),
         201);
    auto issued = must(op().post("/v1/tokens", json::object{{"principal", json::object{{"user_id", pat}}}}), 201);
    bearer_client pat_client{*http_, std::string(issued.at("token").as_string())};
    auto me = must(pat_client.get("/v1/me"), 200);
    EXPECT_EQ(json::serialize(me.at("principal")), R"({"user_id":")" + pat + R"("})");
    EXPECT_EQ(me.at("token_id").as_string(), issued.at("token_id").as_string());
    EXPECT_EQ(json::serialize(me.at("user")),
              R"({"id":")" + pat + R"(","name":"Pat","email":"pat@part.com","employer":"part"})");
    EXPECT_EQ(json::serialize(me.at("accounts")),
              R"([{"id":"part","roles":{"support":["admin"],"impact":[],"learning":[]},"type":"employee"},)"
              R"({"id":"acme","roles":{"support":[],"impact":["member"],"learning":[]},"type":"third_party"}])");
}

TEST_F(api_contract, me_for_operator_and_auditor_is_just_the_principal) {
    auto me = must(op().get("/v1/me"), 200);
    EXPECT_EQ(json::serialize(me.at("principal")), R"({"operator":true})");
    EXPECT_TRUE(me.at("user").is_null());
    EXPECT_TRUE(me.at("accounts").as_array().empty());
    auto issued = must(op().post("/v1/tokens", json::object{{"principal", json::object{{"auditor", true}}}}), 201);
    bearer_client auditor{*http_, std::string(issued.at("token").as_string())};
    auto aud = must(auditor.get("/v1/me"), 200);
    EXPECT_EQ(json::serialize(aud.at("principal")), R"({"auditor":true})");
    EXPECT_EQ(aud.at("token_id").as_string(), issued.at("token_id").as_string());
    EXPECT_TRUE(aud.at("user").is_null());
    bearer_client stranger{*http_, "rst_not_a_token"};
    EXPECT_EQ(stranger.get("/v1/me").status, 401u);
}

// --- W3C traceparent ---

const std::string trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST_F(api_contract, a_well_formed_traceparent_is_echoed_and_recorded_in_the_events_and_the_export) {
    auto r = op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}},
                       {{"traceparent", trace}});
    ASSERT_EQ(r.status, 201u) << r.body;
    EXPECT_EQ(r.header("traceparent"), trace);
    auto page = must(op().call("GET", "/v1/events?stream=account-acme", nullptr, {{"traceparent", trace}}), 200);
    ASSERT_EQ(page.at("events").as_array().size(), 1u);
    EXPECT_EQ(page.at("events").at(0).at("traceparent").as_string(), trace);
    // A read echoes it too; it is the request's, whatever the route.
    EXPECT_EQ(op().call("GET", "/v1/accounts/acme", nullptr, {{"traceparent", trace}}).header("traceparent"), trace);

    // The CSV export's last column.
    auto csv = op().get("/v1/audit/export?format=csv");
    ASSERT_EQ(csv.status, 200u) << csv.body;
    EXPECT_NE(csv.body.find(",labels,traceparent\r\n"), std::string::npos);
    EXPECT_NE(csv.body.find("," + trace + "\r\n"), std::string::npos) << csv.body;
}

TEST_F(api_contract, a_malformed_traceparent_is_ignored_neither_echoed_nor_recorded) {
    const std::vector<std::string> malformed = {
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // another version
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // the forbidden version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // all-zero parent id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",        // upper-case hex
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",         // short flags
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",         // short trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // trailing data on version 00
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",        // wrong separators
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",        // not hex
    };
    int n = 0;
    for (const auto& bad : malformed) {
        SCOPED_TRACE(bad);
        const auto id = "acc-" + std::to_string(n++);
        auto r = op().post("/v1/accounts", json::object{{"id", id}, {"name", id}, {"kind", "customer"}},
                           {{"traceparent", bad}});
        ASSERT_EQ(r.status, 201u) << r.body;  // ignored, never refused
        EXPECT_FALSE(r.header("traceparent").has_value());
        auto page = must(op().get("/v1/events?stream=account-" + id), 200);
        ASSERT_EQ(page.at("events").as_array().size(), 1u);
        EXPECT_TRUE(page.at("events").at(0).at("traceparent").is_null());
    }
    // And without one, none.
    auto r = op().post("/v1/accounts", json::object{{"id", "plain"}, {"name", "Plain"}, {"kind", "customer"}});
    EXPECT_FALSE(r.header("traceparent").has_value());
    EXPECT_TRUE(must(op().get("/v1/events?stream=account-plain"), 200).at("events").at(0).at("traceparent").is_null());
}

}  // namespace
}  // namespace roster::test
