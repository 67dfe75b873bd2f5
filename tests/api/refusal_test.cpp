// Hardening over HTTP against a real rosterd: every refusal is on record (coalesced, so it cannot
// flood the log), per-principal rate limits answer 429 with Retry-After, a profile is read only
// through an account it belongs to, and as_of never turns authentication into a question of the past.
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
using client = bearer_client;

const json::object all_admin{
    {"support", json::array{"admin"}}, {"impact", json::array{"admin"}}, {"learning", json::array{"admin"}}};
const json::object viewer{{"support", json::array{"viewer"}}};

class refusals : public ::testing::Test {
protected:
    void start(std::vector<std::string> extra = {}) {
        extra.insert(extra.end(), {"--threads", "2"});
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data", std::move(extra));
        http_ = std::make_unique<http_client>(server_->port());
        other_http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<client>(client{*http_, read_token(tmp_.path() / "data")});
        for (auto id : {"acme", "globex"})
            ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", id}, {"name", id}, {"kind", "customer"}}).status,
                      201u);
        ada_ = create_user("acme", "ada", all_admin);
        before_tess_ = head();
        tess_ = create_user("acme", "tess", viewer);
        gus_ = create_user("globex", "gus", all_admin);
    }
    client& op() { return *op_; }
    client as(const std::string& token) { return client{*other_http_, token}; }
    std::string create_user(const std::string& account, const std::string& name, const json::object& roles) {
        return op().create_user(account, name + "@" + account + ".com", name, roles);
    }
    std::string token_for(const std::string& user) { return op().token_for(user); }
    std::uint64_t head() {
        return static_cast<std::uint64_t>(op().get("/v1/events?limit=1").json().at("head").as_int64());
    }
    // The access_denied events after `after`, waiting (bounded) until at least `at_least` are there:
    // records are appended by the writer right after the refusal is answered.
    json::array denials_after(std::uint64_t after, std::size_t at_least) {
        const auto deadline = std::chrono::steady_clock::now() + safety_limit;
        for (;;) {
            auto r = op().get("/v1/events?type=access_denied&limit=1000&from=" + std::to_string(after + 1));
            EXPECT_EQ(r.status, 200u) << r.body;
            auto events = r.json().at("events").as_array();
            if (events.size() >= at_least || std::chrono::steady_clock::now() > deadline) return events;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_, other_http_;
    std::unique_ptr<client> op_;
    std::string ada_, tess_, gus_;
    std::uint64_t before_tess_ = 0;
};

const json::object& data_of(const json::value& event) { return event.at("data").as_object(); }
// A JSON member as text: strings as they are, anything else serialized (404 -> "404").
std::string text(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : json::serialize(v); }

TEST_F(refusals, every_kind_of_refusal_is_recorded_with_caller_account_and_target) {
    start({"--refusal-window-ms", "60000"});
    const auto gus_token = token_for(gus_), tess_token = token_for(tess_);
    const auto revoked = op().post("/v1/tokens", json::object{{"principal", json::object{{"user_id", ada_}}}}).json();
    ASSERT_EQ(op().del("/v1/tokens/" + std::string(revoked.at("token_id").as_string())).status, 200u);
    const auto before = head();

    // A cross-account command: 404 that hides acme's tess from globex's admin.
    EXPECT_EQ(as(gus_token).post("/v1/accounts/acme/users/" + tess_ + "/roles", json::object{{"grant", viewer}}).status,
              404u);
    // A member's user-list read: 403.
    EXPECT_EQ(as(tess_token).get("/v1/accounts/acme/users").status, 403u);
    // A non-operator's backup request: 403.
    EXPECT_EQ(as(tess_token).post("/v1/admin/backup", json::object{{"to", "/tmp/x"}}).status, 403u);
    // A revoked token: 401, and the server knows whose it was.
    EXPECT_EQ(as(std::string(revoked.at("token").as_string())).get("/v1/accounts/acme").status, 401u);
    // Not refusals of anyone: a made-up token, and an id that exists nowhere.
    EXPECT_EQ(as("rtk_made_up").get("/v1/accounts/acme").status, 401u);
    EXPECT_EQ(
        as(gus_token).post("/v1/accounts/acme/users/usr_000000000000/roles", json::object{{"grant", viewer}}).status,
        404u);

    // What a refused caller types is not copied into the record unless it is an id's shape.
    EXPECT_EQ(
        as(tess_token)
            .post("/v1/accounts/" + std::string(3000, 'x') + "%1B%5B2J/partners", json::object{{"partner_id", "p"}})
            .status,
        403u);

    auto events = denials_after(before, 5);
    ASSERT_EQ(events.size(), 5u) << json::serialize(events);
    EXPECT_EQ(data_of(events[4]).at("account"), nullptr);
    EXPECT_LT(json::serialize(events[4]).size(), 2000u);
    const auto& cross = data_of(events[0]);
    EXPECT_EQ(text(cross.at("principal").at("user_id")), gus_);
    EXPECT_EQ(text(cross.at("action")), "POST /v1/accounts/{a}/users/{u}/roles");
    EXPECT_EQ(text(cross.at("account")), "acme");
    EXPECT_EQ(text(cross.at("target")), tess_);
    EXPECT_EQ(text(cross.at("status")), "404");
    EXPECT_EQ(text(cross.at("count")), "1");
    EXPECT_EQ(text(data_of(events[1]).at("action")), "GET /v1/accounts/{a}/users");
    EXPECT_EQ(text(data_of(events[1]).at("status")), "403");
    EXPECT_EQ(text(data_of(events[1]).at("principal").at("user_id")), tess_);
    EXPECT_EQ(text(data_of(events[2]).at("action")), "POST /v1/admin/backup");
    EXPECT_EQ(text(data_of(events[2]).at("code")), "operator_only");
    EXPECT_EQ(text(data_of(events[3]).at("status")), "401");
    EXPECT_EQ(text(data_of(events[3]).at("principal").at("user_id")), ada_);
    EXPECT_EQ(text(events[3].at("actor").at("token_id")), text(revoked.at("token_id")));
}

// A member's refused reads (the user list and the history of the account) are security events of
// that account: recorded with the account set, found by `/v1/events?account=` and in the account's
// history, and coalesced per principal and route with a count when repeated.
TEST_F(refusals, a_members_refused_reads_are_recorded_against_the_account_and_coalesced) {
    start({"--refusal-window-ms", "500"});
    auto tess = as(token_for(tess_));
    const auto before = head();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(tess.get("/v1/accounts/acme/users").status, 403u);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(tess.get("/v1/accounts/acme/history").status, 403u);
    // Past the window, the repeats are on record as one event per route with their count.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    auto events = denials_after(before, 4);
    ASSERT_EQ(events.size(), 4u) << json::serialize(events);
    std::map<std::string, std::uint64_t> counted, records;
    std::set<std::int64_t> positions;
    for (const auto& e : events) {
        const auto& d = data_of(e);
        EXPECT_EQ(text(d.at("account")), "acme") << json::serialize(e);
        EXPECT_EQ(text(d.at("status")), "403");
        EXPECT_EQ(text(d.at("principal").at("user_id")), tess_);
        counted[text(d.at("action"))] += static_cast<std::uint64_t>(d.at("count").as_int64());
        ++records[text(d.at("action"))];
        positions.insert(e.at("position").as_int64());
    }
    EXPECT_EQ(counted, (std::map<std::string, std::uint64_t>{{"GET /v1/accounts/{a}/history", 2},
                                                             {"GET /v1/accounts/{a}/users", 3}}));
    // The first refusal of a window at once, the repeats together when it closes.
    EXPECT_EQ(records, (std::map<std::string, std::uint64_t>{{"GET /v1/accounts/{a}/history", 2},
                                                             {"GET /v1/accounts/{a}/users", 2}}));

    // The account filter of /v1/events and the account's history both show exactly these.
    auto filtered =
        op().get("/v1/events?type=access_denied&account=acme&limit=1000&from=" + std::to_string(before + 1));
    ASSERT_EQ(filtered.status, 200u) << filtered.body;
    std::set<std::int64_t> by_filter;
    const auto filtered_body = filtered.json();  // kept alive: the loop reads inside it
    for (const auto& e : filtered_body.at("events").as_array()) by_filter.insert(e.at("position").as_int64());
    EXPECT_EQ(by_filter, positions);
    auto history = op().get("/v1/accounts/acme/history?type=access_denied&since=" + std::to_string(before + 1));
    ASSERT_EQ(history.status, 200u) << history.body;
    std::set<std::int64_t> in_history;
    const auto history_body = history.json();
    for (const auto& e : history_body.at("events").as_array()) in_history.insert(e.at("position").as_int64());
    EXPECT_EQ(in_history, positions);
    // And not another account's.
    auto globex = op().get("/v1/events?type=access_denied&account=globex&from=" + std::to_string(before + 1));
    ASSERT_EQ(globex.status, 200u) << globex.body;
    EXPECT_TRUE(globex.json().at("events").as_array().empty()) << globex.body;
}

TEST_F(refusals, a_flood_of_refusals_is_counted_in_a_few_records_and_then_answered_429) {
    start({"--refusal-window-ms", "500", "--refusal-rate", "5", "--refusal-burst", "20"});
    auto tess = as(token_for(tess_));
    const auto before = head();
    constexpr int sent = 400;
    int refused = 0, limited = 0;
    std::string retry_after;
    for (int i = 0; i < sent; ++i) {
        auto r =
            tess.post("/v1/accounts/acme/users",
                      json::object{{"email", "x" + std::to_string(i) + "@acme.com"}, {"name", "X"}, {"roles", viewer}});
        if (r.status == 403)
            ++refused;
        else if (r.status == 429) {
            ++limited;
            retry_after = r.header("retry-after").value_or("");
        } else
            ADD_FAILURE() << r.status << " " << r.body;
    }
    // The budget: a burst of 20 plus whatever refilled at 5/s meanwhile; the rest waited.
    EXPECT_GE(refused, 20);
    EXPECT_LT(refused, 100);
    EXPECT_EQ(refused + limited, sent);
    EXPECT_FALSE(retry_after.empty());
    EXPECT_GE(std::stoi(retry_after.empty() ? "0" : retry_after), 1);

    // Once the windows have closed every refusal is counted, in a handful of records.
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    auto events = denials_after(before, 1);
    std::uint64_t counted = 0;
    for (const auto& e : events) {
        EXPECT_EQ(text(data_of(e).at("principal").at("user_id")), tess_);
        counted += static_cast<std::uint64_t>(data_of(e).at("count").as_int64());
    }
    EXPECT_EQ(counted, static_cast<std::uint64_t>(sent)) << json::serialize(events);
    // Two routes' worth (403s and 429s share the route) over a few windows, not 400 events.
    EXPECT_LE(events.size(), 12u) << json::serialize(events);
    // Nothing but the records was appended.
    EXPECT_EQ(head() - before, events.size());
}

TEST_F(refusals, commands_beyond_a_principals_rate_are_answered_429_with_retry_after) {
    start({"--command-rate", "1", "--command-burst", "3"});
    auto ada = as(token_for(ada_));
    std::vector<unsigned> statuses;
    for (int i = 0; i < 5; ++i)
        statuses.push_back(ada.post("/v1/users/" + tess_ + (i % 2 ? "/unlock" : "/lock"), json::object{}).status);
    EXPECT_EQ(statuses, (std::vector<unsigned>{200, 200, 200, 429, 429}));
    auto r = ada.post("/v1/users/" + tess_ + "/unlock", json::object{});
    ASSERT_EQ(r.status, 429u);
    EXPECT_EQ(r.header("content-type").value_or(""), "application/problem+json");
    EXPECT_EQ(text(r.json().at("code")), "rate_limited");
    EXPECT_EQ(r.header("retry-after").value_or(""), "1");
    // The operator is not limited (seeding, migrations).
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(op().post("/v1/users/" + tess_ + (i % 2 ? "/lock" : "/unlock"), json::object{}).status, 200u);
    // And the budget refills.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(ada.post("/v1/users/" + tess_ + "/unlock", json::object{}).status, 200u);
}

TEST_F(refusals, a_profile_is_read_only_through_an_account_it_belongs_to) {
    start();
    auto ada = as(token_for(ada_));
    const auto at = head();
    auto foreign = ada.get("/v1/accounts/acme/users/" + gus_);
    auto ghost = ada.get("/v1/accounts/acme/users/usr_000000000000");
    EXPECT_EQ(foreign.status, 404u) << foreign.body;
    EXPECT_EQ(text(foreign.json().at("code")), text(ghost.json().at("code")));
    EXPECT_EQ(text(foreign.json().at("detail")), text(ghost.json().at("detail")));
    EXPECT_EQ(foreign.body.find("gus"), std::string::npos) << foreign.body;
    EXPECT_EQ(ada.get("/v1/accounts/acme/users/" + gus_ + "?as_of=" + std::to_string(at)).status, 404u);
    EXPECT_EQ(ada.get("/v1/accounts/acme/users/" + tess_).status, 200u);
    // The probe of another tenant's user is on record; the made-up id is not.
    auto events = denials_after(at, 1);
    ASSERT_GE(events.size(), 1u);
    EXPECT_EQ(text(data_of(events[0]).at("target")), gus_);
    EXPECT_EQ(text(data_of(events[0]).at("account")), "acme");

    // A 404 about what the caller can see hides nothing and is no refusal: tess to acme's admin as
    // of before tess existed, acme to the operator as of before it existed. A recorded refusal
    // after them (records keep the order of the answers) shows that nothing came before it.
    const auto mark = head();
    EXPECT_EQ(ada.get("/v1/accounts/acme/users/" + tess_ + "?as_of=" + std::to_string(before_tess_)).status, 404u);
    EXPECT_EQ(op().get("/v1/accounts/acme?as_of=1").status, 404u);
    EXPECT_EQ(ada.get("/v1/events").status, 403u);
    auto after = denials_after(mark, 1);
    ASSERT_EQ(after.size(), 1u) << json::serialize(after);
    EXPECT_EQ(text(data_of(after[0]).at("action")), "GET /v1/events");
}

TEST_F(refusals, as_of_before_the_caller_existed_is_a_403_not_an_unknown_token) {
    start();
    const auto before_kim = head();
    const auto kim = create_user("acme", "kim", all_admin);
    auto kim_client = as(token_for(kim));
    ASSERT_EQ(kim_client.get("/v1/accounts/acme/users").status, 200u);
    auto past = kim_client.get("/v1/accounts/acme/users?as_of=" + std::to_string(before_kim));
    EXPECT_EQ(past.status, 403u) << past.body;
    EXPECT_EQ(text(past.json().at("code")), "not_allowed_as_of");
    // As of a point when kim was an admin, the same token reads the past.
    EXPECT_EQ(kim_client.get("/v1/accounts/acme/users?as_of=" + std::to_string(head())).status, 200u);
}

}  // namespace
}  // namespace roster::test
