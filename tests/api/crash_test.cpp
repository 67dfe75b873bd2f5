// Crash under load: several client threads drive real HTTP commands into rosterd while the test
// SIGKILLs it at random moments. After every kill the chain must verify (rosterctl, server
// stopped), every acknowledged command must be in the log and in the projections, no command is
// half-applied, and retrying an unanswered command with its Idempotency-Key applies it once.
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"
#include "spawn.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;

// One command a client thread sent. `request_id` tags its events in the log (X-Request-Id), so
// the log itself tells which events belong to which command.
struct command {
    enum class kind { create, grant } what;
    std::string request_id;
    std::string idempotency_key;
    std::string email;    // create: the new user's email
    std::string user_id;  // grant: the target; create: filled from the reply
    std::string body;
    unsigned status = 0;  // 0: no reply (the server died first)
    bool retried = false;
    bool landed_before_retry = false;
};

const json::object create_roles{
    {"support", json::array{"viewer"}}, {"impact", json::array{"member"}}, {"learning", json::array{"learner"}}};
// What one create-user command appends, atomically (SPEC §1 unified creation + invitation).
const std::multiset<std::string> create_event_types{"user_created", "member_added", "roles_granted",
                                                    "invitation_issued"};
const std::multiset<std::string> grant_event_types{"roles_granted"};

http_reply send(http_client& http, const std::string& token, std::string_view method, const std::string& target,
                const std::string& body = {}, std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) extra.emplace_back("Content-Type", "application/json");
    return http.request(method, target, body, std::move(extra));
}

http_reply send_command(http_client& http, const std::string& token, const command& c, const std::string& request_id) {
    const std::string target =
        c.what == command::kind::create ? "/v1/accounts/acme/users" : "/v1/accounts/acme/users/" + c.user_id + "/roles";
    return send(http, token, "POST", target, c.body,
                {{"Idempotency-Key", c.idempotency_key}, {"X-Request-Id", request_id}});
}

// rosterctl verify on the stopped server's data directory; returns {exit code, stdout}.
std::pair<int, std::string> rosterctl_verify(const std::filesystem::path& data_dir) {
    auto child = test_support::spawn_with_stdout_pipe({ROSTERCTL_PATH, "verify", "--data-dir", data_dir.string()});
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(child.stdout_fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(child.stdout_fd);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Every event in the log, in order.
std::vector<json::object> all_events(http_client& http, const std::string& token) {
    std::vector<json::object> out;
    std::uint64_t from = 1;
    while (true) {
        auto r = send(http, token, "GET", "/v1/events?limit=1000&from=" + std::to_string(from));
        if (r.status != 200) throw std::runtime_error("GET /v1/events: " + r.body);
        auto page = r.json().as_object();
        for (auto& e : page.at("events").as_array()) out.push_back(e.as_object());
        if (page.at("next_from").is_null()) break;
        from = static_cast<std::uint64_t>(page.at("next_from").to_number<std::int64_t>());
    }
    return out;
}

class crash_under_load : public ::testing::Test {
protected:
    std::filesystem::path data() const { return tmp_.path() / "data"; }
    std::unique_ptr<rosterd_process> start() {
        return std::make_unique<rosterd_process>(data(), std::vector<std::string>{"--threads", "2"});
    }

    temp_dir tmp_;
};

TEST_F(crash_under_load, acknowledged_commands_survive_sigkill_and_nothing_is_half_applied) {
    constexpr int cycles = 12;
    constexpr int client_threads = 4;
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> run_ms(30, 400);

    std::string token;
    {
        auto server = start();
        token = read_token(data());
        http_client http(server->port());
        auto r = send(http, token, "POST", "/v1/accounts", R"({"id":"acme","name":"Acme","kind":"customer"})");
        ASSERT_EQ(r.status, 201u) << r.body;
        server->kill_hard();
    }

    std::vector<command> sent;           // every command of every cycle
    std::vector<std::string> grantable;  // acknowledged users not yet granted, for the next cycle
    std::size_t acknowledged = 0, unanswered = 0, unanswered_but_landed = 0;

    for (int cycle = 0; cycle < cycles; ++cycle) {
        auto server = start();
        const auto port = server->port();
        std::mutex mu;
        std::vector<command> cycle_commands;
        std::vector<std::string> to_grant;
        to_grant.swap(grantable);
        std::atomic<std::size_t> next_grant{0};
        std::atomic<bool> stop{false};

        auto client = [&](int t) {
            std::optional<http_client> http;
            try {
                http.emplace(port);
            } catch (const std::exception&) {
                return;
            }
            for (int i = 0; !stop; ++i) {
                command c;
                const std::string tag =
                    "c" + std::to_string(cycle) + "-t" + std::to_string(t) + "-" + std::to_string(i);
                c.request_id = "crash-" + tag;
                c.idempotency_key = "key-" + tag;
                const auto g = i % 2 == 1 ? next_grant.fetch_add(1) : to_grant.size();
                if (g < to_grant.size()) {
                    c.what = command::kind::grant;
                    c.user_id = to_grant[g];
                    c.body = R"({"grant":{"support":["contributor"]}})";
                } else {
                    c.what = command::kind::create;
                    c.email = tag + "@acme.com";
                    c.body = json::serialize(
                        json::object{{"email", c.email}, {"name", "User " + tag}, {"roles", create_roles}});
                }
                bool died = false;
                try {
                    auto r = send_command(*http, token, c, c.request_id);
                    c.status = r.status;
                    if (c.what == command::kind::create && r.status == 201)
                        c.user_id = std::string(r.json().at("user").at("id").as_string());
                } catch (const std::exception&) {
                    died = true;  // killed mid-command: the outcome is unknown
                }
                std::lock_guard lock(mu);
                cycle_commands.push_back(std::move(c));
                if (died) return;
            }
        };
        std::vector<std::thread> clients;
        for (int t = 0; t < client_threads; ++t) clients.emplace_back(client, t);
        std::this_thread::sleep_for(std::chrono::milliseconds(run_ms(rng)));
        ASSERT_EQ(server->kill_hard(), 128 + SIGKILL);
        stop = true;
        for (auto& c : clients) c.join();
        server.reset();

        // The chain verifies with the server stopped, dense from 1 to the head.
        auto [rc, out] = rosterctl_verify(data());
        ASSERT_EQ(rc, 0) << "cycle " << cycle << ": rosterctl verify: " << out;
        auto verdict = json::parse(out).as_object();
        ASSERT_TRUE(verdict.at("ok").as_bool()) << out;

        server = start();
        http_client http(server->port());
        const auto events = all_events(http, token);
        ASSERT_EQ(verdict.at("checked").to_number<std::int64_t>(), static_cast<std::int64_t>(events.size())) << out;
        std::map<std::string, std::multiset<std::string>> types_by_request;
        for (const auto& e : events)
            if (e.at("request_id").is_string())
                types_by_request[std::string(e.at("request_id").as_string())].insert(
                    std::string(e.at("type").as_string()));

        for (auto& c : cycle_commands) {
            const auto& expected = c.what == command::kind::create ? create_event_types : grant_event_types;
            auto it = types_by_request.find(c.request_id);
            if (c.status >= 200 && c.status < 300) {
                ++acknowledged;
                // Acknowledged: all of its events are in the log, and the projection shows it.
                ASSERT_NE(it, types_by_request.end())
                    << "cycle " << cycle << ": acknowledged " << c.request_id << " lost";
                EXPECT_EQ(it->second, expected) << c.request_id;
                auto view = send(http, token, "GET", "/v1/accounts/acme/users/" + c.user_id);
                ASSERT_EQ(view.status, 200u) << c.request_id << ": " << view.body;
                const auto user = view.json();
                const auto& roles = user.at("user").at("roles").as_object();
                EXPECT_EQ(roles.size(), 3u) << view.body;
                if (c.what == command::kind::grant)
                    EXPECT_NE(json::serialize(roles.at("support")).find("contributor"), std::string::npos) << view.body;
                else
                    grantable.push_back(c.user_id);
                continue;
            }
            ASSERT_EQ(c.status, 0u) << "cycle " << cycle << ": " << c.request_id << " was refused, not killed";
            ++unanswered;
            // No reply: all of its events or none.
            if (it != types_by_request.end()) {
                EXPECT_EQ(it->second, expected) << c.request_id << " is half-applied";
            }

            // Retrying with the same key applies it exactly once, whether or not it landed before the kill.
            auto retry = send_command(http, token, c, c.request_id + "-retry");
            ASSERT_TRUE(retry.status == 200 || retry.status == 201) << c.request_id << ": " << retry.body;
            const bool replayed = retry.header("idempotent-replayed").value_or("") == "true";
            EXPECT_EQ(replayed, it != types_by_request.end()) << c.request_id;
            if (c.what == command::kind::create) {
                c.user_id = std::string(retry.json().at("user").at("id").as_string());
                grantable.push_back(c.user_id);
            }
            c.status = retry.status;
            c.retried = true;
            c.landed_before_retry = it != types_by_request.end();
            if (c.landed_before_retry) ++unanswered_but_landed;
        }
        // The retries appended exactly what had not landed, once; nothing else changed.
        const auto after = all_events(http, token);
        std::map<std::string, std::multiset<std::string>> after_by_request;
        for (std::size_t i = events.size(); i < after.size(); ++i)
            if (after[i].at("request_id").is_string())
                after_by_request[std::string(after[i].at("request_id").as_string())].insert(
                    std::string(after[i].at("type").as_string()));
        std::size_t expected_new = 0;
        for (const auto& c : cycle_commands) {
            if (!c.retried) continue;
            const auto& expected = c.what == command::kind::create ? create_event_types : grant_event_types;
            auto it = after_by_request.find(c.request_id + "-retry");
            if (c.landed_before_retry) {
                EXPECT_EQ(it, after_by_request.end()) << c.request_id << " applied twice";
            } else {
                ASSERT_NE(it, after_by_request.end()) << c.request_id << " retry appended nothing";
                EXPECT_EQ(it->second, expected) << c.request_id;
                expected_new += expected.size();
            }
        }
        EXPECT_EQ(after.size() - events.size(), expected_new) << "cycle " << cycle;
        server->kill_hard();
        sent.insert(sent.end(), cycle_commands.begin(), cycle_commands.end());
    }

    // Final state: every command of every cycle applied exactly once.
    auto server = start();
    http_client http(server->port());
    std::map<std::string, int> created_per_email;
    for (const auto& e : all_events(http, token))
        if (e.at("type").as_string() == "user_created")
            ++created_per_email[std::string(e.at("data").at("email").as_string())];
    for (const auto& c : sent) {
        if (c.what != command::kind::create) continue;
        EXPECT_EQ(created_per_email[c.email], 1) << c.email;
        auto view = send(http, token, "GET", "/v1/accounts/acme/users/" + c.user_id);
        EXPECT_EQ(view.status, 200u) << view.body;
    }
    server->terminate();
    auto [rc, out] = rosterctl_verify(data());
    EXPECT_EQ(rc, 0) << out;

    EXPECT_GT(acknowledged, 0u) << "no command was ever acknowledged: the test proved nothing";
    // Unanswered commands are the point of the test; with 4 clients and random kills there is
    // practically always one in flight. Reported, not asserted: a kill can land between commands.
    std::cout << "[ crash ] " << cycles << " kills, " << acknowledged << " acknowledged, " << unanswered
              << " unanswered commands (" << unanswered_but_landed << " of them had landed)\n";
}

}  // namespace
}  // namespace roster::test
