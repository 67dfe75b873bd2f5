// API tokens over HTTP against a real rosterd (issue 14, item 5): expiry (with rosterd_test's
// movable clock), the list and who sees what, rotation, and `rosterctl tokens`.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;

std::pair<int, std::string> run(const std::string& cmd) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class tokens : public ::testing::Test {
protected:
    void SetUp() override { start(); }
    void start() {
        // Test routes: POST /test/clock moves the server's clock; no refusal budget, short windows.
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data", std::vector<std::string>{"--threads", "2", "--enable-test-routes",
                                                           "--refusal-window-ms", "100", "--refusal-rate", "0"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<bearer_client>(bearer_client{*http_, read_token(tmp_.path() / "data")});
    }
    void restart() {
        op_.reset();
        http_.reset();
        ASSERT_EQ(server_->terminate(), 0);
        server_.reset();
        start();
    }
    bearer_client& op() { return *op_; }
    bearer_client as(const std::string& secret) { return bearer_client{*http_, secret}; }
    json::object must(const http_reply& r, unsigned status) {
        EXPECT_EQ(r.status, status) << r.body;
        auto v = r.json();
        return v.is_object() ? v.as_object() : json::object{};
    }
    // A user of acme (opened on first use).
    std::string user(const std::string& name) {
        if (op().get("/v1/accounts/acme").status == 404)
            must(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}), 201);
        return op().create_user("acme", name + "@acme.com", name, json::object{{"support", json::array{"viewer"}}});
    }
    // {token_id, token} of a new token for `principal`.
    std::pair<std::string, std::string> issue(const json::object& principal, json::object extra = {}) {
        extra["principal"] = principal;
        auto o = must(op().post("/v1/tokens", extra), 201);
        return {std::string(o.at("token_id").as_string()), std::string(o.at("token").as_string())};
    }
    void advance_clock(int seconds) {
        auto r = http_->request("POST", "/test/clock?advance_s=" + std::to_string(seconds));
        ASSERT_EQ(r.status, 200u) << r.body;
    }
    std::vector<std::string> listed_ids(bearer_client& who, const std::string& query = "") {
        auto o = must(who.get("/v1/tokens" + query), 200);
        std::vector<std::string> ids;
        for (const auto& t : o.at("tokens").as_array()) ids.emplace_back(t.at("token_id").as_string());
        return ids;
    }
    json::array events_of_type(const std::string& type) {
        return must(op().get("/v1/events?limit=1000&type=" + type), 200).at("events").as_array();
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<bearer_client> op_;
};

json::object body_without_request_ids(const http_reply& r) {
    auto o = r.json().as_object();
    o.erase("instance");
    o.erase("request_id");
    return o;
}

TEST_F(tokens, an_expired_token_is_refused_exactly_like_an_unknown_one_and_the_refusal_is_recorded) {
    const auto ada = user("ada");
    auto issued = must(
        op().post("/v1/tokens", json::object{{"principal", json::object{{"user_id", ada}}}, {"expires_in", 60}}), 201);
    ASSERT_TRUE(issued.at("expires_at").is_string()) << json::serialize(issued);
    const std::string id(issued.at("token_id").as_string()), secret(issued.at("token").as_string());
    auto never = issue(json::object{{"user_id", ada}});  // no expires_in: never expires
    EXPECT_EQ(as(secret).get("/v1/me").status, 200u);

    advance_clock(61);
    auto expired = as(secret).get("/v1/me");
    auto unknown = as("rst_not_a_token").get("/v1/me");
    EXPECT_EQ(expired.status, 401u) << expired.body;
    EXPECT_EQ(expired.header("www-authenticate"), unknown.header("www-authenticate"));
    EXPECT_EQ(body_without_request_ids(expired), body_without_request_ids(unknown)) << "expiry must not be told apart";
    EXPECT_EQ(as(never.second).get("/v1/me").status, 200u);

    // The refusal is on record like any 401 with a known token: attributed to ada, naming the route.
    bool recorded = false;
    for (int i = 0; i < 100 && !recorded; ++i) {
        for (const auto& e : events_of_type("access_denied")) {
            const auto& d = e.at("data");
            const auto* who = d.at("principal").as_object().if_contains("user_id");
            if (d.at("status").as_int64() == 401 && who && who->as_string() == ada &&
                d.at("action").as_string() == "GET /v1/me")
                recorded = true;
        }
        if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(recorded);

    // Listed as expired, not as active; GET by id says so too.
    EXPECT_EQ(listed_ids(op(), "?status=expired"), std::vector<std::string>{id});
    const auto active = listed_ids(op());
    EXPECT_EQ(std::count(active.begin(), active.end(), id), 0);
    EXPECT_EQ(must(op().get("/v1/tokens/" + id), 200).at("status").as_string(), "expired");
    // An expired token cannot be rotated back to life.
    EXPECT_EQ(must(op().post("/v1/tokens/" + id + "/rotation", json::object{}), 409).at("code").as_string(),
              "token_expired");
    // The event carries the instant, so the expiry survives a restart (the projections refold).
    auto ev = events_of_type("token_issued");
    bool found = false;
    for (const auto& e : ev)
        if (e.at("data").at("token_id").as_string() == id) {
            found = true;
            EXPECT_EQ(e.at("data").at("expires_at"), issued.at("expires_at"));
        }
    EXPECT_TRUE(found);
}

TEST_F(tokens, expires_in_is_bounded_and_typed) {
    const auto ada = user("ada");
    for (const json::value& bad : {json::value(59), json::value(400LL * 24 * 3600 + 1), json::value(0), json::value(-5),
                                   json::value("60"), json::value(1.5)}) {
        auto r =
            op().post("/v1/tokens", json::object{{"principal", json::object{{"user_id", ada}}}, {"expires_in", bad}});
        EXPECT_EQ(r.status, 400u) << json::serialize(bad) << ": " << r.body;
        EXPECT_EQ(r.json().at("field").as_string(), "expires_in") << r.body;
    }
    must(op().post("/v1/tokens",
                   json::object{{"principal", json::object{{"user_id", ada}}}, {"expires_in", 400LL * 24 * 3600}}),
         201);
    // reason and reference are accepted like on every command.
    must(op().post("/v1/tokens", json::object{{"principal", json::object{{"auditor", true}}},
                                              {"reason", "quarterly audit"},
                                              {"reference", "CHG-1"}}),
         201);
}

TEST_F(tokens, the_list_shows_operators_and_auditors_every_token_and_a_user_only_their_own_never_a_secret) {
    const auto ada = user("ada");
    const auto bob = user("bob");
    const auto ada_tok = issue(json::object{{"user_id", ada}});
    const auto bob_tok = issue(json::object{{"user_id", bob}});
    const auto aud_tok = issue(json::object{{"auditor", true}});
    const auto svc_tok = issue(json::object{{"service", "portal-support"}});
    const auto revoked = issue(json::object{{"user_id", ada}});
    must(op().del("/v1/tokens/" + revoked.first), 200);

    auto ada_client = as(ada_tok.second);
    auto aud_client = as(aud_tok.second);
    EXPECT_EQ(listed_ids(ada_client), std::vector<std::string>{ada_tok.first});
    EXPECT_EQ(listed_ids(ada_client, "?status=active,revoked"),
              (ada_tok.first < revoked.first ? std::vector<std::string>{ada_tok.first, revoked.first}
                                             : std::vector<std::string>{revoked.first, ada_tok.first}));
    // Another user's token is not found, as for revocation.
    EXPECT_EQ(ada_client.get("/v1/tokens/" + bob_tok.first).status, 404u);
    EXPECT_EQ(ada_client.get("/v1/tokens/" + ada_tok.first).status, 200u);
    // Service principals see none.
    EXPECT_EQ(as(svc_tok.second).get("/v1/tokens").status, 403u);

    // Operator and auditor: every active token (the operator's own included), ordered by id.
    const auto all = listed_ids(op());
    EXPECT_EQ(all, listed_ids(aud_client));
    EXPECT_EQ(all.size(), 5u);  // operator, ada, bob, auditor, service
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
    EXPECT_EQ(std::count(all.begin(), all.end(), revoked.first), 0);
    EXPECT_EQ(listed_ids(op(), "?status=revoked"), std::vector<std::string>{revoked.first});

    // Pages of one walk the same list; the cursor continues after the last id.
    std::vector<std::string> walked;
    std::string cursor;
    for (int i = 0; i < 10; ++i) {
        auto page = must(op().get("/v1/tokens?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor)), 200);
        for (const auto& t : page.at("tokens").as_array()) walked.emplace_back(t.at("token_id").as_string());
        if (page.at("next_cursor").is_null()) break;
        cursor = std::string(page.at("next_cursor").as_string());
    }
    EXPECT_EQ(walked, all);

    // Each entry: who, when, by whom, expiry, never a secret or a hash.
    auto page = op().get("/v1/tokens?status=active,expired,revoked");
    const auto page_json = page.json();
    for (const auto& t : page_json.at("tokens").as_array()) {
        const auto& o = t.as_object();
        for (const char* k : {"token_id", "principal", "status", "issued_at", "issued_by", "expires_at", "revoked_at",
                              "rotated_at", "rotations"})
            EXPECT_TRUE(o.contains(k)) << k << " in " << json::serialize(o);
        EXPECT_FALSE(o.contains("token"));
        EXPECT_FALSE(o.contains("secret_sha256_hex"));
    }
    for (const auto& s : {ada_tok.second, bob_tok.second, aud_tok.second, op().token})
        EXPECT_EQ(page.body.find(s), std::string::npos) << "a secret in the list";
    EXPECT_EQ(page.body.find("sha256"), std::string::npos);
    auto bob_entry = must(op().get("/v1/tokens/" + bob_tok.first), 200);
    EXPECT_EQ(bob_entry.at("issued_by").as_string(), "operator");
    EXPECT_TRUE(bob_entry.at("issued_at").is_string());
    EXPECT_TRUE(bob_entry.at("expires_at").is_null());
    EXPECT_EQ(bob_entry.at("principal").at("user_id").as_string(), bob);
    EXPECT_TRUE(must(op().get("/v1/tokens/" + revoked.first), 200).at("revoked_at").is_string());

    // Bounds and filters are checked, naming the parameter.
    for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{{"limit=501", "limit"},
                                                                                       {"limit=0", "limit"},
                                                                                       {"status=sleeping", "status"},
                                                                                       {"cursor=%2F", "cursor"},
                                                                                       {"stauts=active", "stauts"}}) {
        auto r = op().get("/v1/tokens?" + query);
        EXPECT_EQ(r.status, 400u) << query << ": " << r.body;
        EXPECT_EQ(r.json().at("field").as_string(), field) << r.body;
    }
    EXPECT_EQ(op().get("/v1/tokens?limit=500").status, 200u);
}

TEST_F(tokens, rotation_replaces_the_secret_at_once_for_the_owner_or_the_operator) {
    const auto ada = user("ada");
    const auto bob = user("bob");
    const auto ada_tok = issue(json::object{{"user_id", ada}});
    const auto bob_tok = issue(json::object{{"user_id", bob}});

    // The owner rotates with the token itself; the old secret stops at once.
    auto rotated = must(
        as(ada_tok.second).post("/v1/tokens/" + ada_tok.first + "/rotation", json::object{{"reason", "laptop lost"}}),
        200);
    EXPECT_EQ(rotated.at("token_id").as_string(), ada_tok.first);
    EXPECT_EQ(rotated.at("principal").at("user_id").as_string(), ada);
    const std::string fresh(rotated.at("token").as_string());
    EXPECT_NE(fresh, ada_tok.second);
    EXPECT_EQ(as(ada_tok.second).get("/v1/me").status, 401u);
    auto me = must(as(fresh).get("/v1/me"), 200);
    EXPECT_EQ(me.at("token_id").as_string(), ada_tok.first);
    auto entry = must(op().get("/v1/tokens/" + ada_tok.first), 200);
    EXPECT_TRUE(entry.at("rotated_at").is_string());
    EXPECT_EQ(entry.at("rotations").as_int64(), 1);

    // The event: token_rotated in the token's stream, the reason recorded, no hash shown.
    auto ev = events_of_type("token_rotated");
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].at("stream").as_string(), "token-" + ada_tok.first);
    EXPECT_EQ(ev[0].at("reason").as_string(), "laptop lost");
    EXPECT_EQ(json::serialize(ev[0]).find(fresh), std::string::npos);

    // Another user's token is unknown to ada; the operator may rotate any.
    EXPECT_EQ(as(fresh).post("/v1/tokens/" + bob_tok.first + "/rotation", json::object{}).status, 404u);
    EXPECT_EQ(as(bob_tok.second).get("/v1/me").status, 200u);
    must(op().post("/v1/tokens/" + bob_tok.first + "/rotation", json::object{}), 200);
    EXPECT_EQ(as(bob_tok.second).get("/v1/me").status, 401u);
    // An empty body is fine; no grace period exists.
    auto no_body = as(fresh).call("POST", "/v1/tokens/" + ada_tok.first + "/rotation");
    EXPECT_EQ(no_body.status, 200u) << no_body.body;
    const std::string third(no_body.json().at("token").as_string());
    auto grace = as(third).post("/v1/tokens/" + ada_tok.first + "/rotation", json::object{{"grace_seconds", 60}});
    EXPECT_EQ(grace.status, 400u) << grace.body;
    EXPECT_EQ(grace.json().at("code").as_string(), "unknown_field");
    EXPECT_EQ(op().post("/v1/tokens/tok_000000000000/rotation", json::object{}).status, 404u);
    // A revoked token stays revoked.
    must(op().del("/v1/tokens/" + ada_tok.first), 200);
    EXPECT_EQ(must(op().post("/v1/tokens/" + ada_tok.first + "/rotation", json::object{}), 409).at("code").as_string(),
              "token_revoked");

    // After a restart (projections refolded from the log) the old secrets stay dead.
    restart();
    EXPECT_EQ(as(bob_tok.second).get("/v1/me").status, 401u);
    EXPECT_EQ(as(third).get("/v1/me").status, 401u);  // revoked
}

TEST_F(tokens, a_rotated_operator_token_is_not_reissued_from_the_file_on_restart) {
    auto me = must(op().get("/v1/me"), 200);
    const std::string op_id(me.at("token_id").as_string());
    const std::string old_secret = op().token;
    auto rotated = must(op().post("/v1/tokens/" + op_id + "/rotation", json::object{}), 200);
    const std::string fresh(rotated.at("token").as_string());
    // data/operator.token still holds the old secret: on restart it must not come back to life.
    op_.reset();
    http_.reset();
    ASSERT_EQ(server_->terminate(), 0);
    server_ = std::make_unique<rosterd_process>(tmp_.path() / "data",
                                                std::vector<std::string>{"--threads", "2", "--enable-test-routes"});
    http_ = std::make_unique<http_client>(server_->port());
    EXPECT_EQ(as(old_secret).get("/v1/me").status, 401u);
    EXPECT_EQ(as(fresh).get("/v1/me").status, 200u);
    EXPECT_TRUE(server_->wait_for_log("revoked or rotated"));
}

TEST_F(tokens, rosterctl_tokens_lists_issues_rotates_and_revokes) {
    const auto ada = user("ada");
    const std::string ctl = std::string(ROSTERCTL_PATH) + " tokens ";
    const std::string common = " --url http://127.0.0.1:" + std::to_string(server_->port()) + " --token-file " +
                               (tmp_.path() / "data" / "operator.token").string();
    auto last_line = [](const std::string& out) {
        auto end = out.find_last_not_of('\n');
        auto start = out.rfind('\n', end);
        return out.substr(start == std::string::npos ? 0 : start + 1,
                          end - (start == std::string::npos ? 0 : start + 1) + 1);
    };

    auto [rc, out] = run(ctl + "issue --principal user:" + ada + " --expires-in 3600 --reason cli-test" + common);
    ASSERT_EQ(rc, 0) << out;
    const auto secret = last_line(out);
    EXPECT_TRUE(secret.starts_with("rst_")) << out;
    auto me = must(as(secret).get("/v1/me"), 200);
    const std::string id(me.at("token_id").as_string());
    EXPECT_NE(out.find(id), std::string::npos) << out;

    std::tie(rc, out) = run(ctl + "list" + common);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("TOKEN_ID"), std::string::npos) << out;
    EXPECT_NE(out.find(id), std::string::npos) << out;
    EXPECT_NE(out.find("user:" + ada), std::string::npos) << out;
    EXPECT_NE(out.find("2 token(s)"), std::string::npos) << out;  // the operator's and ada's
    EXPECT_EQ(out.find(secret), std::string::npos) << out;

    std::tie(rc, out) = run(ctl + "rotate --id " + id + common);
    ASSERT_EQ(rc, 0) << out;
    const auto rotated = last_line(out);
    EXPECT_TRUE(rotated.starts_with("rst_")) << out;
    EXPECT_EQ(as(secret).get("/v1/me").status, 401u);
    EXPECT_EQ(as(rotated).get("/v1/me").status, 200u);

    std::tie(rc, out) = run(ctl + "revoke --id " + id + " --reason done" + common);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(as(rotated).get("/v1/me").status, 401u);
    std::tie(rc, out) = run(ctl + "list --status revoked" + common);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find(id), std::string::npos) << out;
    EXPECT_NE(out.find("revoked"), std::string::npos) << out;

    // Refusals and bad arguments have their exit codes.
    std::tie(rc, out) = run(ctl + "rotate --id " + id + common);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("409"), std::string::npos) << out;
    std::tie(rc, out) = run(ctl + "issue --principal nobody" + common);
    EXPECT_EQ(rc, 2) << out;
    std::tie(rc, out) = run(ctl + "frobnicate" + common);
    EXPECT_EQ(rc, 2) << out;
    std::tie(rc, out) =
        run(ctl + "list --url http://127.0.0.1:1 --token-file " + (tmp_.path() / "data" / "operator.token").string());
    EXPECT_EQ(rc, 3) << out;
}

}  // namespace
}  // namespace roster::test
