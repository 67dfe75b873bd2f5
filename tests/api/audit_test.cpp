// Replay for compliance over HTTP against a real rosterd: as-of reads equal what the live
// reads answered at the time (also after a restart), history, verify.
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
using headers = std::vector<std::pair<std::string, std::string>>;

using client = bearer_client;

std::string code_of(const http_reply& r) {
    auto v = r.json();
    return v.is_object() && v.as_object().contains("code") ? std::string(v.at("code").as_string()) : "";
}

struct answer {
    unsigned status = 0;
    std::string body;
    std::string etag;
};

answer snapshot_of(const http_reply& r) { return {r.status, r.body, r.header("etag").value_or("")}; }

class audit : public ::testing::Test {
protected:
    void SetUp() override { start(); }
    void start() {
        http_.reset();
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data", std::vector<std::string>{"--threads", "2", "--snapshot-every", "7"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<client>(client{*http_, read_token(tmp_.path() / "data")});
    }
    void restart() {
        http_.reset();
        ASSERT_EQ(server_->terminate(), 0);
        server_.reset();
        start();
    }
    client& op() { return *op_; }
    std::uint64_t head() {
        auto r = op().get("/v1/events?limit=1");
        EXPECT_EQ(r.status, 200u) << r.body;
        return static_cast<std::uint64_t>(r.json().at("head").as_int64());
    }
    std::string create_user(const std::string& account, const std::string& email, const std::string& name,
                            json::object roles) {
        return op().create_user(account, email, name, roles);
    }
    std::string token_for(const std::string& user) { return op().token_for(user); }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<client> op_;
};

json::object admin_everywhere() {
    return json::object{
        {"support", json::array{"admin"}}, {"impact", json::array{"admin"}}, {"learning", json::array{"admin"}}};
}

TEST_F(audit, as_of_answers_equal_the_live_answers_recorded_at_each_position_also_after_a_restart) {
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "part"}, {"name", "Part"}, {"kind", "partner"}}).status,
              201u);
    ASSERT_EQ(op().post("/v1/accounts/acme/partners", json::object{{"partner_id", "part"}}).status, 200u);
    const auto ada = create_user("acme", "ada@acme.com", "Ada", admin_everywhere());
    const auto bob = create_user("acme", "bob@acme.com", "Bob", json::object{{"support", json::array{"contributor"}}});
    const auto pat = create_user("part", "pat@part.com", "Pat", admin_everywhere());

    std::vector<std::string> targets{
        "/v1/accounts/acme",
        "/v1/accounts/acme/users",
        "/v1/accounts/acme/users?q=bo&include_removed=true",
        "/v1/accounts/acme/users/" + bob,
        "/v1/accounts/acme/users/" + pat,
        "/v1/users/lookup?email=pat@part.com&account=acme",
        "/v1/accounts/acme/users/" + bob + "/removal",
        "/v1/accounts/acme/contacts",
        "/v1/accounts/acme/watchlist",
        "/v1/accounts/acme/recipients?topic=outage",
        "/v1/access?user=" + bob + "&account=acme&portal=support",
        "/v1/access?user=" + pat + "&account=acme&portal=impact",
    };
    std::map<std::uint64_t, std::map<std::string, answer>> recorded;
    auto record = [&] {
        const auto p = head();
        for (const auto& t : targets) recorded[p][t] = snapshot_of(op().get(t));
    };
    record();
    ASSERT_EQ(
        op().post("/v1/accounts/acme/users/" + bob + "/roles",
                  json::object{{"grant", json::object{{"impact", json::array{"member"}}}}, {"revoke", json::object{}}})
            .status,
        200u);
    record();
    ASSERT_EQ(op().put("/v1/accounts/acme/contacts", json::object{{"primary_support", bob}, {"security", ada}}).status,
              200u);
    record();
    ASSERT_EQ(op().put("/v1/accounts/acme/watchlist",
                       json::object{{"subscriptions",
                                     json::array{json::object{{"user_id", bob}, {"topics", json::array{"outage"}}}}}})
                  .status,
              200u);
    record();
    ASSERT_EQ(op().post("/v1/accounts/acme/members",
                        json::object{{"user_id", pat}, {"roles", json::object{{"impact", json::array{"member"}}}}})
                  .status,
              201u);
    record();
    ASSERT_EQ(op().post("/v1/users/" + bob + "/lock", json::object{{"reason", "incident 42"}}).status, 200u);
    record();
    ASSERT_EQ(op().put("/v1/accounts/acme/contacts", json::object{{"primary_support", ada}}).status, 200u);
    record();
    ASSERT_EQ(op().del("/v1/accounts/acme/users/" + pat).status, 200u);
    record();
    ASSERT_EQ(op().post("/v1/users/" + bob + "/unlock", json::object{}).status, 200u);
    record();
    ASSERT_GE(recorded.size(), 9u);

    auto compare_all = [&](const std::string& when) {
        for (const auto& [position, answers] : recorded)
            for (const auto& [target, live] : answers) {
                const auto sep = target.find('?') == std::string::npos ? "?" : "&";
                auto r = op().get(target + sep + "as_of=" + std::to_string(position));
                EXPECT_EQ(r.status, live.status) << when << " " << target << " as_of " << position << ": " << r.body;
                EXPECT_EQ(r.body, live.body) << when << " " << target << " as_of " << position;
                EXPECT_EQ(r.header("etag").value_or(""), live.etag) << when << " " << target << " as_of " << position;
                EXPECT_EQ(r.header("roster-as-of").value_or(""), std::to_string(position));
            }
    };
    compare_all("live server");
    // The answers did change over time, so equality above is not trivially true.
    EXPECT_NE(recorded.begin()->second.at("/v1/accounts/acme/contacts").body,
              recorded.rbegin()->second.at("/v1/accounts/acme/contacts").body);
    EXPECT_NE(recorded.begin()->second.at("/v1/accounts/acme/users").body,
              std::next(recorded.begin(), 4)->second.at("/v1/accounts/acme/users").body);

    // By time: the recorded_at of a recorded position names that position.
    const auto [mid, mid_answers] = *std::next(recorded.begin(), 5);
    auto ev = op().get("/v1/events?from=" + std::to_string(mid) + "&limit=1");
    const std::string when(ev.json().at("events").at(0).at("recorded_at").as_string());
    auto by_time = op().get("/v1/accounts/acme/users/" + bob + "?as_of=" + when);
    EXPECT_EQ(by_time.body, mid_answers.at("/v1/accounts/acme/users/" + bob).body);
    EXPECT_EQ(by_time.header("roster-as-of").value_or(""), std::to_string(mid));

    restart();
    compare_all("after restart");
}

TEST_F(audit, as_of_refuses_bad_values_and_positions_beyond_the_head) {
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    const auto h = head();
    auto bad = op().get("/v1/accounts/acme?as_of=yesterday");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(code_of(bad), "invalid_as_of");
    auto beyond = op().get("/v1/accounts/acme?as_of=" + std::to_string(h + 1));
    EXPECT_EQ(beyond.status, 400u);
    EXPECT_EQ(code_of(beyond), "invalid_as_of");
    // Before the account existed it was not there.
    EXPECT_EQ(op().get("/v1/accounts/acme?as_of=0").status, 404u);
    // A future time is the head.
    auto future = op().get("/v1/accounts/acme?as_of=2999-01-01T00:00:00Z");
    EXPECT_EQ(future.status, 200u);
    EXPECT_EQ(future.header("roster-as-of").value_or(""), std::to_string(h));
}

TEST_F(audit, history_of_an_account_a_user_and_an_actor_with_filters_pages_and_rights) {
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "other"}, {"name", "Other"}, {"kind", "customer"}}).status,
              201u);
    const auto ada = create_user("acme", "ada@acme.com", "Ada", admin_everywhere());
    const auto bob = create_user("acme", "bob@acme.com", "Bob", json::object{{"support", json::array{"viewer"}}});
    create_user("other", "olga@other.com", "Olga", admin_everywhere());
    client ada_c{*http_, token_for(ada)};
    client bob_c{*http_, token_for(bob)};
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(ada_c
                      .post("/v1/accounts/acme/users/" + bob + "/roles",
                            json::object{{"grant", json::object{{"impact", json::array{"member"}}}},
                                         {"revoke", json::object{}}})
                      .status,
                  200u);
        ASSERT_EQ(ada_c
                      .post("/v1/accounts/acme/users/" + bob + "/roles",
                            json::object{{"grant", json::object{}},
                                         {"revoke", json::object{{"impact", json::array{"member"}}}}})
                      .status,
                  200u);
    }
    // Rights: a member who is no admin is refused.
    EXPECT_EQ(bob_c.get("/v1/accounts/acme/history").status, 403u);
    EXPECT_EQ(bob_c.get("/v1/users/" + bob + "/history").status, 403u);
    ASSERT_EQ(op().post("/v1/users/" + bob + "/lock", json::object{{"reason", "left the building"}}).status, 200u);

    auto h = ada_c.get("/v1/accounts/acme/history");
    ASSERT_EQ(h.status, 200u) << h.body;
    auto events = h.json().at("events").as_array();
    std::vector<std::string> types;
    for (const auto& e : events) {
        types.emplace_back(e.at("type").as_string());
        // Nothing of the other account.
        EXPECT_EQ(json::serialize(e).find("other"), std::string::npos);
    }
    EXPECT_EQ(types.front(), "account_opened");
    EXPECT_EQ(types.back(), "user_locked");  // a profile fact of a member, from the user's stream
    const auto& lock = events.back().as_object();
    EXPECT_EQ(lock.at("reason").as_string(), "left the building");
    EXPECT_EQ(lock.at("actor").at("principal").as_string(), "operator");
    EXPECT_FALSE(lock.at("request_id").is_null());
    EXPECT_TRUE(h.json().at("next_cursor").is_null());

    // Type filter and paging with the cursor: all six role changes, two per page, in order.
    std::vector<std::int64_t> positions;
    std::size_t by_ada = 0;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        auto r = ada_c.get("/v1/accounts/acme/history?type=roles_granted,roles_revoked&limit=2" +
                           (cursor.empty() ? "" : "&cursor=" + cursor));
        ASSERT_EQ(r.status, 200u) << r.body;
        const auto body = r.json();
        for (const auto& e : body.at("events").as_array()) {
            positions.push_back(e.at("position").as_int64());
            if (e.at("actor").at("principal").as_string() == "user:" + ada) ++by_ada;
        }
        if (body.at("next_cursor").is_null()) break;
        cursor = std::string(body.at("next_cursor").as_string());
    }
    // Creating ada and bob granted roles too (2 events), then 6 changes.
    ASSERT_EQ(positions.size(), 6u + 2u);
    EXPECT_EQ(by_ada, 6u);
    EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));

    // since/until by position.
    auto ranged = op().get("/v1/accounts/acme/history?since=" + std::to_string(positions[2]) +
                           "&until=" + std::to_string(positions[3]) + "&type=roles_granted,roles_revoked");
    ASSERT_EQ(ranged.status, 200u);
    EXPECT_EQ(ranged.json().at("events").as_array().size(), 2u);

    // User and actor history.
    auto uh = op().get("/v1/users/" + bob + "/history?type=user_locked");
    ASSERT_EQ(uh.status, 200u) << uh.body;
    EXPECT_EQ(uh.json().at("events").as_array().size(), 1u);
    auto ah = op().get("/v1/audit/history?actor=user:" + ada);
    ASSERT_EQ(ah.status, 200u) << ah.body;
    EXPECT_EQ(ah.json().at("events").as_array().size(), 6u);
    // Only auditors and the operator see an actor's history; bad input is 400.
    EXPECT_EQ(ada_c.get("/v1/audit/history?actor=operator").status, 403u);
    EXPECT_EQ(code_of(op().get("/v1/accounts/acme/history?type=nope")), "invalid_query");
    EXPECT_EQ(code_of(op().get("/v1/accounts/acme/history?since=soon")), "invalid_query");
    EXPECT_EQ(code_of(op().get("/v1/accounts/acme/history?cursor=x")), "invalid_cursor");
    EXPECT_EQ(code_of(op().get("/v1/audit/history")), "missing_query");
}

TEST_F(audit, verify_reports_the_whole_chain_to_auditors_and_operators_only) {
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    const auto ada = create_user("acme", "ada@acme.com", "Ada", admin_everywhere());
    auto auditor = op().post("/v1/tokens", json::object{{"principal", json::object{{"auditor", true}}}});
    ASSERT_EQ(auditor.status, 201u);
    client aud{*http_, std::string(auditor.json().at("token").as_string())};
    auto v = aud.get("/v1/audit/verify");
    ASSERT_EQ(v.status, 200u) << v.body;
    EXPECT_TRUE(v.json().at("ok").as_bool());
    EXPECT_EQ(static_cast<std::uint64_t>(v.json().at("checked").as_int64()), head());
    EXPECT_TRUE(v.json().at("first_bad_position").is_null());
    client ada_c{*http_, token_for(ada)};
    EXPECT_EQ(ada_c.get("/v1/audit/verify").status, 403u);
    EXPECT_EQ(ada_c.get("/v1/audit/export").status, 403u);
    EXPECT_EQ(code_of(aud.get("/v1/audit/export?format=xml")), "invalid_query");
}

TEST_F(audit, export_streams_jsonl_and_csv_of_a_range_chunked) {
    ASSERT_EQ(
        op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme, \"the\" company"}, {"kind", "customer"}})
            .status,
        201u);
    for (int i = 0; i < 30; ++i)
        create_user("acme", "u" + std::to_string(i) + "@acme.com", "Zoë, " + std::to_string(i), admin_everywhere());
    const auto h = head();
    auto all = op().get("/v1/audit/export?format=jsonl");
    ASSERT_EQ(all.status, 200u) << all.body;
    EXPECT_EQ(all.header("transfer-encoding").value_or(""), "chunked");
    EXPECT_EQ(all.header("content-type").value_or(""), "application/x-ndjson");
    std::vector<json::value> lines;
    for (std::size_t start = 0; start < all.body.size();) {
        const auto end = all.body.find('\n', start);
        ASSERT_NE(end, std::string::npos);
        lines.push_back(json::parse(all.body.substr(start, end - start)));
        start = end + 1;
    }
    ASSERT_EQ(lines.size(), h);
    // The same objects as the event listing.
    auto listed = op().get("/v1/events?from=1&limit=1000").json().at("events").as_array();
    for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], listed[i]) << i;

    auto csv = op().get("/v1/audit/export?format=csv&since=3&until=7");
    ASSERT_EQ(csv.status, 200u);
    EXPECT_EQ(csv.header("content-type").value_or(""), "text/csv; charset=utf-8");
    EXPECT_TRUE(
        csv.body.starts_with("position,recorded_at,stream,version,type,actor,token_id,address,request_id,reason,data,"
                             "correlation_id,causation_id,reference,prev_hash,hash,labels,traceparent\r\n"));
    // Five records: each starts with its position at a line start (embedded commas and quotes are quoted).
    for (int p = 3; p <= 7; ++p) EXPECT_NE(csv.body.find("\r\n" + std::to_string(p) + ",2"), std::string::npos) << p;
    EXPECT_EQ(csv.body.find("\r\n8,"), std::string::npos);
    EXPECT_EQ(csv.body.find("\r\n2,"), std::string::npos);
}

TEST_F(audit, overlong_or_hidden_text_is_refused_before_anything_is_appended_and_csv_defuses_formulas) {
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    const auto ada = create_user("acme", "ada@acme.com", "Ada", admin_everywhere());
    const auto lou = create_user("acme", "lou@acme.com", "Lou", admin_everywhere());
    client ada_client{*http_, token_for(ada)};
    const auto before = head();

    // A reason is at most 1000 bytes: 1001 is refused (it used to be stored, up to the 1 MiB body).
    auto overlong = ada_client.post("/v1/users/" + lou + "/lock", json::object{{"reason", std::string(1001, 'r')}});
    EXPECT_EQ(overlong.status, 400u) << overlong.body;
    EXPECT_EQ(code_of(overlong), "invalid_reason");
    auto escape = ada_client.post("/v1/users/" + lou + "/lock", json::object{{"reason", "ok\x1b[2J"}});
    EXPECT_EQ(escape.status, 400u) << escape.body;
    EXPECT_EQ(code_of(escape), "invalid_reason");
    // A name with RIGHT-TO-LEFT OVERRIDE would show "Bob exe.jpg" as something else.
    auto rlo = op().post("/v1/accounts/acme/users", json::object{{"email", "bob@acme.com"},
                                                                 {"name",
                                                                  "Bob \xe2\x80\xae"
                                                                  "gpj.exe"},
                                                                 {"roles", json::object{}}});
    EXPECT_EQ(rlo.status, 400u) << rlo.body;
    EXPECT_EQ(code_of(rlo), "invalid_name");
    EXPECT_EQ(head(), before);
    EXPECT_EQ(op().get("/v1/accounts/acme/users/" + lou).json().at("user").at("status").as_string(), "active");

    // 1000 bytes are fine; a reason that looks like a formula is stored as given and defused in the CSV.
    ASSERT_EQ(ada_client.post("/v1/users/" + lou + "/lock", json::object{{"reason", std::string(1000, 'r')}}).status,
              200u);
    ASSERT_EQ(ada_client.post("/v1/users/" + lou + "/unlock", json::object{{"reason", "=1+1"}}).status, 200u);
    const auto h = head();
    EXPECT_EQ(h, before + 2);
    auto csv = op().get("/v1/audit/export?format=csv&since=" + std::to_string(h) + "&until=" + std::to_string(h));
    ASSERT_EQ(csv.status, 200u) << csv.body;
    EXPECT_NE(csv.body.find(",\"'=1+1\","), std::string::npos) << csv.body;
    EXPECT_EQ(csv.body.find(",=1+1,"), std::string::npos) << csv.body;
}

// The OCSF lines of an export (README "OCSF"): one object per line, parsed.
std::vector<json::object> ocsf_lines(const std::string& body) {
    std::vector<json::object> out;
    for (std::size_t start = 0; start < body.size();) {
        const auto end = body.find('\n', start);
        if (end == std::string::npos) throw std::runtime_error("unterminated line");
        out.push_back(json::parse(body.substr(start, end - start)).as_object());
        start = end + 1;
    }
    return out;
}

// format=ocsf: a line for each event of a mapped type (no other), with the export's range and
// account filter, and auditor/operator only like the other formats.
TEST_F(audit, export_in_ocsf_has_a_line_per_mapped_event_and_keeps_filters_and_rights) {
    for (const std::string a : {"acme", "beta"})
        ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", a}, {"name", a}, {"kind", "customer"}}).status, 201u);
    const auto ada = create_user("acme", "ada@acme.com", "Ada", admin_everywhere());
    const auto lou = create_user("acme", "lou@acme.com", "Lou", admin_everywhere());
    const auto bea = create_user("beta", "bea@beta.com", "Bea", admin_everywhere());
    client ada_client{*http_, token_for(ada)};
    ASSERT_EQ(ada_client.post("/v1/users/" + lou + "/lock", json::object{{"reason", "left"}}).status, 200u);
    // Refused: ada is no admin of beta. The refusal is recorded right after the answer.
    const auto refused = ada_client.post("/v1/users/" + bea + "/lock", json::object{{"reason", "x"}});
    ASSERT_GE(refused.status, 400u);
    const auto deadline = std::chrono::steady_clock::now() + safety_limit;
    while (op().get("/v1/events?type=access_denied&limit=1").json().at("events").as_array().empty() &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));

    const std::set<std::string> mapped{"user_created",      "member_added", "roles_granted", "roles_revoked",
                                       "all_roles_removed", "user_locked",  "user_unlocked", "member_removed",
                                       "profile_retired",   "access_denied"};
    auto expected = [&](const std::string& query) {
        std::vector<std::uint64_t> out;
        const auto listed = op().get("/v1/events?limit=1000" + query).json();
        for (auto& e : listed.at("events").as_array())
            if (mapped.contains(std::string(e.at("type").as_string())))
                out.push_back(static_cast<std::uint64_t>(e.at("position").as_int64()));
        return out;
    };
    auto sequences = [](const std::vector<json::object>& lines) {
        std::vector<std::uint64_t> out;
        for (auto& o : lines) out.push_back(static_cast<std::uint64_t>(o.at("metadata").at("sequence").as_int64()));
        return out;
    };

    auto all = op().get("/v1/audit/export?format=ocsf");
    ASSERT_EQ(all.status, 200u) << all.body;
    EXPECT_EQ(all.header("content-type").value_or(""), "application/x-ndjson");
    EXPECT_NE(all.header("content-disposition").value_or("").find("roster-events.ocsf.jsonl"), std::string::npos);
    const auto lines = ocsf_lines(all.body);
    const auto want = expected("");
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(sequences(lines), want);
    bool saw_lock = false, saw_refusal = false;
    for (const auto& o : lines) {
        EXPECT_EQ(o.at("type_uid").as_int64(), o.at("class_uid").as_int64() * 100 + o.at("activity_id").as_int64());
        if (o.at("metadata").at("event_code").as_string() == "user_locked") {
            saw_lock = true;
            EXPECT_EQ(o.at("class_uid").as_int64(), 3001);
            EXPECT_EQ(o.at("activity_id").as_int64(), 9);
            EXPECT_EQ(o.at("user").at("uid").as_string(), lou);
            EXPECT_EQ(o.at("actor").at("user").at("uid").as_string(), ada);
            EXPECT_EQ(o.at("unmapped").at("reason").as_string(), "left");
        }
        if (o.at("metadata").at("event_code").as_string() == "access_denied") {
            saw_refusal = true;
            EXPECT_EQ(o.at("class_uid").as_int64(), 6003);
            EXPECT_EQ(o.at("status").as_string(), "Failure");
            EXPECT_EQ(o.at("actor").at("user").at("uid").as_string(), ada);
            EXPECT_EQ(o.at("api").at("operation").as_string(), "POST /v1/users/{u}/lock");
        }
    }
    EXPECT_TRUE(saw_lock);
    EXPECT_TRUE(saw_refusal);

    // The account filter and the range apply as to the other formats.
    auto beta = op().get("/v1/audit/export?format=ocsf&account=beta");
    ASSERT_EQ(beta.status, 200u) << beta.body;
    EXPECT_EQ(sequences(ocsf_lines(beta.body)), expected("&account=beta"));
    const auto from = want.at(1), to = want.at(3);
    auto ranged =
        op().get("/v1/audit/export?format=ocsf&since=" + std::to_string(from) + "&until=" + std::to_string(to));
    EXPECT_EQ(sequences(ocsf_lines(ranged.body)), (std::vector<std::uint64_t>{want.at(1), want.at(2), want.at(3)}));

    // Rights unchanged: an account admin is refused in every format; include=envelope is jsonl's.
    EXPECT_EQ(ada_client.get("/v1/audit/export?format=ocsf").status, 403u);
    EXPECT_EQ(ada_client.get("/v1/audit/export?format=ocsf&account=acme").status, 403u);
    EXPECT_EQ(code_of(op().get("/v1/audit/export?format=ocsf&include=envelope")), "invalid_query");
    auto bad = op().get("/v1/audit/export?format=OCSF");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(bad.header("content-type").value_or(""), "application/problem+json");
    EXPECT_EQ(bad.json().at("field").as_string(), "format");
}

}  // namespace
}  // namespace roster::test

namespace roster::test {
namespace {

// A cold as-of read folds the log (here 100,000 events, no snapshot to start from): with one
// I/O thread, a request sent during the fold must be answered before it, not after.
TEST(as_of_off_the_io_threads, a_cold_fold_does_not_hold_up_other_requests) {
    temp_dir tmp;
    rosterd_process server(tmp.path() / "data",
                           {"--threads", "1", "--enable-test-routes", "--snapshot-every", "100000000"});
    http_client http(server.port());
    client op{http, read_token(tmp.path() / "data")};
    ASSERT_EQ(op.post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    std::uint64_t head = 0;
    for (int i = 0; i < 10; ++i) {
        auto r = http.request("POST", "/test/append?n=10000");
        ASSERT_EQ(r.status, 200u) << r.body;
        head = static_cast<std::uint64_t>(r.json().at("head").as_int64());
    }
    // The state just before the head: a fold of the whole log.
    const auto past = std::to_string(head - 1);

    http_client slow(server.port());
    slow.send_raw("GET /v1/accounts/acme/users?as_of=" + past +
                  " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: cold-as-of\r\n"
                  "Authorization: Bearer " +
                  op.token + "\r\n\r\n");
    http_client quick(server.port());
    EXPECT_EQ(quick.request("GET", "/healthz", "", {{"X-Request-Id", "quick-during-fold"}}).status, 200u);
    auto cold = slow.read_reply();
    EXPECT_EQ(cold.status, 200u) << cold.body;
    EXPECT_EQ(cold.header("roster-as-of").value_or(""), past);

    ASSERT_TRUE(server.wait_for_log("\"cold-as-of\""));
    const auto log = server.log_text();
    EXPECT_LT(log.find("\"quick-during-fold\""), log.find("\"cold-as-of\""))
        << "the fold held up the only I/O thread:\n"
        << log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
}

}  // namespace
}  // namespace roster::test
