// Signed webhooks against a real rosterd (issue 17, item 3). The receiver is a python3 server
// (webhook_receiver.py) that checks every Standard Webhooks signature on its own and can fail,
// time out or answer slowly; the test reads what it recorded.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/api/secrets.hpp"
#include "rosterd_process.hpp"
#include "spawn.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;

constexpr std::string_view origin = "webhooks.test/log";

struct received {
    std::string path, id;
    std::int64_t position = 0;
    unsigned attempt = 0, status = 0;
    bool signature_ok = false, fresh = false;
    std::string type, data;
};

class receiver {
public:
    explicit receiver(const std::filesystem::path& dir) : log_(dir / "received.jsonl"), secrets_(dir / "secrets") {
        std::ofstream(secrets_).flush();
        auto child = test_support::spawn_with_stdout_pipe({"/usr/bin/env", "python3",
                                                           ROSTER_SOURCE_DIR "/tests/api/webhook_receiver.py",
                                                           log_.string(), secrets_.string()});
        pid_ = child.pid;
        std::string line;
        char c;
        while (::read(child.stdout_fd, &c, 1) == 1 && c != '\n') line += c;
        ::close(child.stdout_fd);
        port_ = static_cast<unsigned short>(std::stoi(line));
    }
    ~receiver() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    void trust(const std::string& secret) { std::ofstream(secrets_, std::ios::app) << secret << "\n"; }
    // What arrived at `path`, in arrival order.
    std::vector<received> at(const std::string& path) const {
        std::vector<received> out;
        std::ifstream in(log_);
        for (std::string line; std::getline(in, line);) {
            auto o = json::parse(line).as_object();
            if (o.at("path").as_string() != path) continue;
            received r;
            r.path = o.at("path").as_string();
            r.id = o.at("id").as_string();
            r.position = o.at("position").to_number<std::int64_t>();
            r.attempt = o.at("attempt").to_number<unsigned>();
            r.status = o.at("status").to_number<unsigned>();
            r.signature_ok = o.at("signature_ok").as_bool();
            r.fresh = o.at("fresh").as_bool();
            r.type = o.at("type").is_string() ? std::string(o.at("type").as_string()) : "";
            r.data = json::serialize(o.at("data"));
            out.push_back(std::move(r));
        }
        return out;
    }

private:
    std::filesystem::path log_, secrets_;
    pid_t pid_ = -1;
    unsigned short port_ = 0;
};

bool eventually(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + safety_limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
}

class webhooks : public ::testing::Test {
protected:
    void SetUp() override {
        hooks_ = std::make_unique<receiver>(tmp_.path());
        start();
    }
    void start() {
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data",
            std::vector<std::string>{"--threads", "2", "--log-origin", std::string(origin), "--webhook-timeout-ms",
                                     "300", "--webhook-backoff-ms", "5", "--webhook-max-backoff-ms", "20",
                                     "--webhook-max-attempts", "3"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<bearer_client>(bearer_client{*http_, read_token(tmp_.path() / "data")});
    }
    void kill_and_restart() {
        op_.reset();
        http_.reset();
        ASSERT_EQ(server_->kill_hard(), 128 + SIGKILL);
        server_.reset();
        start();
    }
    bearer_client& op() { return *op_; }
    json::object must(const http_reply& r, unsigned status) {
        EXPECT_EQ(r.status, status) << r.body;
        auto v = r.json();
        return v.is_object() ? v.as_object() : json::object{};
    }
    // Registers an endpoint at the receiver's `path`; the receiver trusts its secret from now on.
    // Returns {id, secret}.
    std::pair<std::string, std::string> add_hook(const std::string& path, json::object extra = {}) {
        extra["url"] = hooks_->url(path);
        auto o = must(op().post("/v1/admin/webhooks", extra), 201);
        std::string id(o.at("webhook_id").as_string()), secret(o.at("secret").as_string());
        hooks_->trust(secret);
        return {id, secret};
    }
    void open_account(const std::string& id) {
        must(op().post("/v1/accounts", json::object{{"id", id}, {"name", "Account " + id}, {"kind", "customer"}}), 201);
    }
    std::uint64_t head() {
        return must(op().get("/v1/events?from=1&limit=1"), 200).at("head").to_number<std::uint64_t>();
    }
    // The log position of the endpoint's webhook_registered event.
    std::uint64_t registered_at(const std::string& id) {
        auto page = must(op().get("/v1/events?type=webhook_registered&limit=1000"), 200);
        for (const auto& e : page.at("events").as_array())
            if (e.at("data").at("webhook_id").as_string() == id) return e.at("position").to_number<std::uint64_t>();
        ADD_FAILURE() << "no webhook_registered for " << id;
        return 0;
    }
    json::object status(const std::string& id) {
        return must(op().get("/v1/admin/webhooks/" + id), 200).at("status").as_object();
    }
    // Waits until the endpoint has handled the whole log as it is now.
    void wait_delivered(const std::string& id) {
        const auto h = head();
        ASSERT_TRUE(eventually([&] { return status(id).at("cursor").to_number<std::uint64_t>() >= h; }))
            << json::serialize(status(id));
    }
    json::array dead_letters(const std::string& id) {
        return must(op().get("/v1/admin/webhooks/" + id + "/dead-letters"), 200).at("dead_letters").as_array();
    }

    // Every position in (from, to] arrived, each first arrival after the previous one's, every
    // copy of one message under the same webhook-id, every signature valid.
    static void expect_complete_and_ordered(const std::vector<received>& got, std::uint64_t from, std::uint64_t to) {
        std::map<std::int64_t, std::string> id_of;
        std::int64_t last_first = static_cast<std::int64_t>(from);
        for (const auto& r : got) {
            EXPECT_TRUE(r.signature_ok) << r.id;
            EXPECT_TRUE(r.fresh) << r.id;
            EXPECT_EQ(r.id, std::string(origin) + ":" + std::to_string(r.position));
            auto [it, first] = id_of.emplace(r.position, r.id);
            if (first) {
                EXPECT_GT(r.position, last_first) << "out of order";
                last_first = r.position;
            } else {
                EXPECT_EQ(it->second, r.id) << "a duplicate with another webhook-id";
            }
        }
        for (auto p = from + 1; p <= to; ++p) EXPECT_TRUE(id_of.contains(static_cast<std::int64_t>(p))) << p;
        EXPECT_EQ(id_of.size(), to - from);
    }

    temp_dir tmp_;
    std::unique_ptr<receiver> hooks_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<bearer_client> op_;
};

TEST_F(webhooks, every_event_arrives_in_order_despite_failures_timeouts_and_slow_answers) {
    auto [id, secret] = add_hook("/flaky/all");
    const auto from = registered_at(id);
    for (int i = 0; i < 24; ++i) open_account("acc-" + std::to_string(i));
    wait_delivered(id);
    const auto to = head();
    const auto got = hooks_->at("/flaky/all");
    expect_complete_and_ordered(got, from, to);
    // The receiver did fail, time out and repeat: the retries are what delivered those messages.
    std::set<std::int64_t> retried;
    for (const auto& r : got)
        if (r.attempt > 1) retried.insert(r.position);
    for (auto p = from + 1; p <= to; ++p) {
        if (p % 3 == 0 || p % 4 == 0) {
            EXPECT_TRUE(retried.contains(static_cast<std::int64_t>(p))) << p;
        }
    }
    // The body is the event as GET /v1/events shows it.
    ASSERT_FALSE(got.empty());
    const auto event =
        must(op().get("/v1/events?from=" + std::to_string(got.back().position) + "&limit=1"), 200).at("events").at(0);
    EXPECT_EQ(got.back().data, json::serialize(event));
    EXPECT_EQ(got.back().type, "account_opened");

    auto s = status(id);
    EXPECT_EQ(s.at("lag").to_number<std::uint64_t>(), 0u);
    EXPECT_GE(s.at("failed_attempts").to_number<std::uint64_t>(), retried.size());
    EXPECT_GE(s.at("delivered").to_number<std::uint64_t>(), to - from);
    EXPECT_EQ(s.at("dead_letters").to_number<std::uint64_t>(), 0u);
    const auto metrics = op().get("/metrics").body;
    EXPECT_NE(metrics.find("roster_webhook_deliveries_total{endpoint=\"" + id + "\"}"), std::string::npos);
    EXPECT_NE(metrics.find("roster_webhook_lag_events{endpoint=\"" + id + "\"} 0"), std::string::npos);
}

TEST_F(webhooks, filters_by_account_and_by_event_type) {
    auto [by_account, s1] = add_hook("/ok/acme", json::object{{"accounts", json::array{"acme"}}});
    auto [by_type, s2] = add_hook("/ok/locks", json::object{{"types", json::array{"user_locked"}}});
    open_account("acme");
    open_account("globex");
    const auto ada = op().create_user("acme", "ada@acme.com", "Ada", json::object{{"support", json::array{"viewer"}}});
    const auto gus =
        op().create_user("globex", "gus@globex.com", "Gus", json::object{{"support", json::array{"viewer"}}});
    must(op().post("/v1/users/" + ada + "/lock", json::object{{"reason", "test"}}), 200);
    must(op().post("/v1/users/" + gus + "/lock", json::object{{"reason", "test"}}), 200);
    wait_delivered(by_account);
    wait_delivered(by_type);

    // Exactly the events of the log that concern acme, in order.
    std::vector<std::int64_t> expected;
    auto page = must(op().get("/v1/events?account=acme&limit=1000"), 200);
    for (const auto& e : page.at("events").as_array()) expected.push_back(e.at("position").to_number<std::int64_t>());
    std::vector<std::int64_t> got;
    for (const auto& r : hooks_->at("/ok/acme")) {
        got.push_back(r.position);
        EXPECT_TRUE(r.signature_ok);
    }
    EXPECT_EQ(got, expected);
    EXPECT_GE(got.size(), 4u);

    const auto locks = hooks_->at("/ok/locks");
    ASSERT_EQ(locks.size(), 2u);
    for (const auto& r : locks) EXPECT_EQ(r.type, "user_locked");
    EXPECT_NE(locks[0].data.find(ada), std::string::npos);
    EXPECT_NE(locks[1].data.find(gus), std::string::npos);
}

TEST_F(webhooks, a_message_failing_every_attempt_is_dead_lettered_and_replayed_with_its_id) {
    const auto hook = add_hook("/down/x");
    const std::string& id = hook.first;
    open_account("acme");
    open_account("globex");
    const auto p1 = head() - 1, p2 = head();
    ASSERT_TRUE(eventually([&] { return dead_letters(id).size() == 2; }));
    auto dead = dead_letters(id);
    EXPECT_EQ(dead.at(0).at("position").to_number<std::uint64_t>(), p1);
    EXPECT_EQ(dead.at(1).at("position").to_number<std::uint64_t>(), p2);
    EXPECT_EQ(dead.at(0).at("attempts").to_number<unsigned>(), 3u);
    EXPECT_EQ(dead.at(0).at("error").as_string(), "HTTP 500");
    EXPECT_EQ(dead.at(0).at("message_id").as_string(), std::string(origin) + ":" + std::to_string(p1));
    EXPECT_EQ(hooks_->at("/down/x").size(), 6u);  // three attempts each, then the worker moved on
    EXPECT_EQ(status(id).at("dead_letters").to_number<unsigned>(), 2u);

    // The receiver is fixed; one dead letter, then the rest.
    must(op().patch("/v1/admin/webhooks/" + id, json::object{{"url", hooks_->url("/ok/fixed")}}), 200);
    auto queued = must(
        op().post("/v1/admin/webhooks/" + id + "/dead-letters/replay", json::object{{"positions", json::array{p1}}}),
        202);
    EXPECT_EQ(queued.at("queued").to_number<unsigned>(), 1u);
    ASSERT_TRUE(eventually([&] { return dead_letters(id).size() == 1; }));
    EXPECT_EQ(dead_letters(id).at(0).at("position").to_number<std::uint64_t>(), p2);
    // Each dead letter is its own durable key: the replayed one stays gone, the other stays.
    kill_and_restart();
    ASSERT_EQ(dead_letters(id).size(), 1u);
    EXPECT_EQ(dead_letters(id).at(0).at("position").to_number<std::uint64_t>(), p2);
    EXPECT_EQ(dead_letters(id).at(0).at("attempts").to_number<unsigned>(), 3u);
    EXPECT_EQ(status(id).at("dead_letters").to_number<unsigned>(), 1u);
    queued = must(op().call("POST", "/v1/admin/webhooks/" + id + "/dead-letters/replay"), 202);
    EXPECT_EQ(queued.at("queued").to_number<unsigned>(), 1u);
    ASSERT_TRUE(eventually([&] { return dead_letters(id).empty(); }));

    std::map<std::int64_t, std::string> down_ids;
    // Only the dead letters: the change's own event may have had a first attempt at /down/x
    // before the worker saw the new url.
    for (const auto& r : hooks_->at("/down/x"))
        if (r.position == static_cast<std::int64_t>(p1) || r.position == static_cast<std::int64_t>(p2))
            down_ids[r.position] = r.id;
    std::vector<std::int64_t> replayed;
    for (const auto& r : hooks_->at("/ok/fixed")) {
        EXPECT_TRUE(r.signature_ok);
        if (down_ids.contains(r.position)) {
            EXPECT_EQ(r.id, down_ids[r.position]);
            replayed.push_back(r.position);
        }
    }
    EXPECT_EQ(replayed, (std::vector<std::int64_t>{static_cast<std::int64_t>(p1), static_cast<std::int64_t>(p2)}));
    EXPECT_EQ(must(op().post("/v1/admin/webhooks/" + id + "/dead-letters/replay", json::object{}), 202)
                  .at("queued")
                  .to_number<unsigned>(),
              0u);
}

// The worker takes the url from the log at each message's position, not from the read model:
// events committed before a change go to the old url even when delivered after it, and the
// change's own event and everything after it go to the new one.
TEST_F(webhooks, a_url_change_applies_from_its_position_in_the_log) {
    const auto [id, secret] = add_hook("/slow/old");
    wait_delivered(id);
    must(op().patch("/v1/admin/webhooks/" + id, json::object{{"enabled", false}}), 200);
    open_account("acme");
    open_account("globex");
    const auto before = head();
    must(op().patch("/v1/admin/webhooks/" + id, json::object{{"url", hooks_->url("/slow/new")}}), 200);
    const auto changed = head();
    open_account("initech");
    must(op().patch("/v1/admin/webhooks/" + id, json::object{{"enabled", true}}), 200);
    wait_delivered(id);
    const auto to = head();
    std::set<std::int64_t> old_positions, new_positions;
    for (const auto& r : hooks_->at("/slow/old")) old_positions.insert(r.position);
    for (const auto& r : hooks_->at("/slow/new")) new_positions.insert(r.position);
    for (auto p = before - 1; p <= before; ++p) EXPECT_TRUE(old_positions.contains(static_cast<std::int64_t>(p))) << p;
    for (auto p = changed; p <= to; ++p) EXPECT_TRUE(new_positions.contains(static_cast<std::int64_t>(p))) << p;
    ASSERT_FALSE(new_positions.empty());
    EXPECT_EQ(*new_positions.begin(), static_cast<std::int64_t>(changed));
    EXPECT_LE(*old_positions.rbegin(), static_cast<std::int64_t>(before));
}

TEST_F(webhooks, kill_9_mid_delivery_and_restart_lose_nothing) {
    auto [id, secret] = add_hook("/slow/k");
    const auto from = registered_at(id);
    for (int i = 0; i < 40; ++i) open_account("k-" + std::to_string(i));
    ASSERT_TRUE(eventually([&] { return hooks_->at("/slow/k").size() >= 8; }));
    kill_and_restart();
    for (int i = 40; i < 45; ++i) open_account("k-" + std::to_string(i));
    wait_delivered(id);
    expect_complete_and_ordered(hooks_->at("/slow/k"), from, head());
}

TEST_F(webhooks, the_secret_is_shown_once_and_is_in_neither_the_log_nor_the_export) {
    auto [id, secret] = add_hook("/ok/s", json::object{{"description", "ops pager"}});
    EXPECT_TRUE(secret.starts_with("whsec_")) << secret;
    const auto one = op().get("/v1/admin/webhooks/" + id);
    EXPECT_EQ(one.status, 200u);
    EXPECT_EQ(one.body.find(secret), std::string::npos);
    EXPECT_EQ(one.body.find("\"secret\""), std::string::npos);
    auto list = must(op().get("/v1/admin/webhooks"), 200).at("webhooks").as_array();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list.at(0).at("description").as_string(), "ops pager");
    const auto events = op().get("/v1/events?from=1&limit=1000").body;
    EXPECT_NE(events.find("webhook_registered"), std::string::npos);
    EXPECT_EQ(events.find(secret), std::string::npos);
    EXPECT_EQ(events.find(api::sha256_hex(secret)), std::string::npos);
    const auto exported = op().get("/v1/audit/export?include=envelope").body;
    EXPECT_NE(exported.find("webhook_registered"), std::string::npos);
    EXPECT_EQ(exported.find(secret), std::string::npos);
    // Every change is an event; a removed endpoint is gone.
    must(op().patch("/v1/admin/webhooks/" + id, json::object{{"enabled", false}}), 200);
    EXPECT_FALSE(must(op().get("/v1/admin/webhooks/" + id), 200).at("enabled").as_bool());
    must(op().del("/v1/admin/webhooks/" + id), 200);
    EXPECT_EQ(op().get("/v1/admin/webhooks/" + id).status, 404u);
    const auto types = op().get("/v1/events?stream=webhook-" + id).body;
    EXPECT_NE(types.find("webhook_changed"), std::string::npos);
    EXPECT_NE(types.find("webhook_removed"), std::string::npos);
}

TEST_F(webhooks, bad_urls_and_filters_are_refused) {
    for (const char* url : {"ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/x", "http://127.0.0.1/x#frag", "not a url",
                            "http:///x", "/relative"}) {
        auto r = op().post("/v1/admin/webhooks", json::object{{"url", url}});
        EXPECT_EQ(r.status, 400u) << url;
        EXPECT_EQ(r.header("content-type").value_or(""), "application/problem+json");
        auto o = r.json().as_object();
        EXPECT_EQ(o.at("code").as_string(), "invalid_field") << url << r.body;
        EXPECT_EQ(o.at("field").as_string(), "url") << url << r.body;
    }
    auto r = op().post("/v1/admin/webhooks",
                       json::object{{"url", "http://127.0.0.1/x"}, {"types", json::array{"no_such_type"}}});
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.json().at("code").as_string(), "invalid_webhook") << r.body;
    auto [id, secret] = add_hook("/ok/b");
    EXPECT_EQ(op().patch("/v1/admin/webhooks/" + id, json::object{{"url", "gopher://x/"}}).status, 400u);
    EXPECT_EQ(op().patch("/v1/admin/webhooks/whk_nope", json::object{{"enabled", false}}).status, 404u);
    EXPECT_EQ(must(op().get("/v1/admin/webhooks"), 200).at("webhooks").as_array().size(), 1u);
}

}  // namespace
}  // namespace roster::test
