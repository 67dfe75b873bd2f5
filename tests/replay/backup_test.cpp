// rosterctl backup/restore against a real rosterd under concurrent write load: the backup is a
// consistent cut (a prefix of the source log), restores into a new directory, verifies, and a
// rosterd started on it answers exactly what the source held at the backup's head.
#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct cli_result {
    int exit_code;
    std::string out, err;
};

cli_result rosterctl(const fs::path& scratch, const std::string& args) {
    static std::atomic<int> n{0};
    const auto id = std::to_string(n++);
    const auto out = scratch / ("ctl" + id + ".out"), err = scratch / ("ctl" + id + ".err");
    const std::string cmd = std::string(ROSTERCTL_PATH) + " " + args + " > " + out.string() + " 2> " + err.string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
}

struct op_client {
    http_client http;
    std::string token;
    op_client(unsigned short port, std::string t) : http(port), token(std::move(t)) {}
    http_reply get(const std::string& target) { return http.request("GET", target, {}, {{"Authorization", "Bearer " + token}}); }
    http_reply post(const std::string& target, const json::object& body) {
        return http.request("POST", target, json::serialize(body),
                            {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
    }
};

// Every event with position <= `to`, as JSON text, in log order.
std::vector<std::string> events_up_to(op_client& c, std::uint64_t to) {
    std::vector<std::string> out;
    std::uint64_t from = 1;
    while (from <= to) {
        auto r = c.get("/v1/events?from=" + std::to_string(from) + "&limit=1000");
        EXPECT_EQ(r.status, 200u) << r.body;
        auto body = r.json();
        auto& events = body.as_object().at("events").as_array();
        if (events.empty()) break;
        for (auto& e : events) {
            if (e.at("position").to_number<std::uint64_t>() > to) return out;
            out.push_back(json::serialize(e));
        }
        from = events.back().at("position").to_number<std::uint64_t>() + 1;
    }
    return out;
}

std::set<std::string> listed_users(op_client& c, const std::string& account) {
    std::set<std::string> ids;
    std::string cursor;
    for (;;) {
        auto r = c.get("/v1/accounts/" + account + "/users?limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor));
        EXPECT_EQ(r.status, 200u) << r.body;
        auto o = r.json().as_object();
        for (auto& u : o.at("users").as_array()) ids.insert(std::string(u.at("id").as_string()));
        if (o.at("next_cursor").is_null()) break;
        cursor = std::string(o.at("next_cursor").as_string());
    }
    return ids;
}

TEST(backup, online_backup_under_write_load_restores_to_an_equal_verified_store) {
    temp_dir tmp;
    const fs::path data = tmp.path() / "data", backups = tmp.path() / "backups", restored = tmp.path() / "restored";
    rosterd_process source(data, {"--threads", "2", "--backup-dir", backups.string()});
    const std::string token = read_file(data / "operator.token").substr(0, read_file(data / "operator.token").find('\n'));
    op_client op(source.port(), token);
    ASSERT_EQ(op.post("/v1/accounts", {{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status, 201u);

    // Writers create users until told to stop; each records the ids the server acknowledged.
    std::atomic<bool> stop{false};
    std::atomic<int> acknowledged{0};
    constexpr int writers = 4;
    std::vector<std::vector<std::string>> acked(writers);
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            op_client c(source.port(), token);
            for (int i = 0; !stop.load(); ++i) {
                auto r = c.post("/v1/accounts/acme/users",
                                {{"email", "w" + std::to_string(w) + "-" + std::to_string(i) + "@acme.test"},
                                 {"name", "Writer " + std::to_string(w) + " " + std::to_string(i)},
                                 {"roles", json::object{{"support", json::array{"viewer"}}}}});
                if (r.status != 201) {
                    ADD_FAILURE() << r.status << " " << r.body;
                    return;
                }
                acked[w].push_back(std::string(r.json().at("user").at("id").as_string()));
                acknowledged.fetch_add(1);
            }
        });
    }
    auto wait_for = [&](int n) {
        const auto deadline = std::chrono::steady_clock::now() + safety_limit;
        while (acknowledged.load() < n && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ASSERT_GE(acknowledged.load(), n);
    };
    wait_for(200);

    // Offline mode refuses a directory the server holds: it could not copy it consistently.
    auto offline = rosterctl(tmp.path(), "backup --data-dir " + data.string() + " --to " + (tmp.path() / "nope").string());
    EXPECT_EQ(offline.exit_code, 2) << offline.err;
    EXPECT_NE(offline.err.find("--url"), std::string::npos) << offline.err;
    EXPECT_FALSE(fs::exists(tmp.path() / "nope"));

    // Every command acknowledged so far has a position <= this head, so a backup whose head is
    // at least this holds all of them.
    const auto head_before = op.get("/v1/events?from=1&limit=1").json().at("head").to_number<std::uint64_t>();

    const fs::path dest = backups / "b1";
    auto b = rosterctl(tmp.path(), "backup --data-dir " + data.string() + " --to " + dest.string() + " --url http://127.0.0.1:" +
                                       std::to_string(source.port()));
    ASSERT_EQ(b.exit_code, 0) << b.out << b.err;
    const auto manifest = json::parse(b.out).as_object();
    const auto position = manifest.at("position").to_number<std::uint64_t>();
    EXPECT_EQ(json::parse(read_file(dest / "backup.json")).at("position").to_number<std::uint64_t>(), position);
    EXPECT_GE(position, head_before) << "an acknowledged command is missing from the backup";

    const int at_backup = acknowledged.load();
    wait_for(at_backup + 100);  // the server kept serving during and after the backup
    stop = true;
    for (auto& t : threads) t.join();
    const auto final_head = op.get("/v1/events?from=1&limit=1").json().at("head").to_number<std::uint64_t>();
    EXPECT_GT(final_head, position) << "writes went on after the backup, so the backup is a strict prefix";

    // A second backup to the same place is refused; so is a path outside --backup-dir.
    EXPECT_NE(rosterctl(tmp.path(), "backup --to " + dest.string() + " --data-dir " + data.string() +
                                        " --url http://127.0.0.1:" + std::to_string(source.port()))
                  .exit_code,
              0);
    auto outside = op.post("/v1/admin/backup", {{"to", (tmp.path() / "elsewhere").string()}});
    EXPECT_EQ(outside.status, 400u);
    EXPECT_EQ(outside.json().at("code").as_string(), "backup_path_not_allowed");
    auto sneaky = op.post("/v1/admin/backup", {{"to", (backups / ".." / "elsewhere").string()}});
    EXPECT_EQ(sneaky.status, 400u) << sneaky.body;
    EXPECT_FALSE(fs::exists(tmp.path() / "elsewhere"));

    // Restore into a new directory, then verify it with rosterctl.
    auto r = rosterctl(tmp.path(), "restore --from " + dest.string() + " --data-dir " + restored.string());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto report = json::parse(r.out).as_object();
    EXPECT_TRUE(report.at("ok").as_bool());
    EXPECT_EQ(report.at("position").to_number<std::uint64_t>(), position);
    EXPECT_EQ(report.at("checked").to_number<std::uint64_t>(), position);
    auto v = rosterctl(tmp.path(), "verify --data-dir " + restored.string());
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

    // A second restore over it is refused without --force, accepted with it.
    auto again = rosterctl(tmp.path(), "restore --from " + dest.string() + " --data-dir " + restored.string());
    EXPECT_EQ(again.exit_code, 2);
    EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
    auto forced = rosterctl(tmp.path(), "restore --from " + dest.string() + " --data-dir " + restored.string() + " --force yes");
    EXPECT_EQ(forced.exit_code, 0) << forced.err;

    // The old operator token still works on the restored server (its hash is in the log).
    fs::copy_file(data / "operator.token", restored / "operator.token");
    rosterd_process copy(restored, {"--threads", "2"});
    op_client restored_op(copy.port(), token);

    // A restore is refused while a server holds the directory, even with --force.
    auto busy = rosterctl(tmp.path(), "restore --from " + dest.string() + " --data-dir " + restored.string() + " --force yes");
    EXPECT_EQ(busy.exit_code, 2) << busy.err;

    // The restored log equals the source's log up to the backup head, event for event.
    auto source_events = events_up_to(op, position);
    auto restored_events = events_up_to(restored_op, UINT64_MAX);
    ASSERT_EQ(source_events.size(), position);
    EXPECT_EQ(restored_events, source_events);

    // A projection query: the restored user list is exactly the users the source had created at
    // that head (their user_created events are at positions <= the backup head).
    std::set<std::string> created_by_then;
    for (auto& text : source_events) {
        auto e = json::parse(text).as_object();
        if (e.at("type").as_string() == "user_created")
            created_by_then.insert(std::string(e.at("data").at("user").as_string()));
    }
    auto restored_users = listed_users(restored_op, "acme");
    EXPECT_EQ(restored_users, created_by_then);
    EXPECT_GE(restored_users.size(), 200u);
    // And each of them was acknowledged to a writer by the source.
    std::set<std::string> all_acked;
    for (auto& w : acked) all_acked.insert(w.begin(), w.end());
    for (auto& u : restored_users) EXPECT_TRUE(all_acked.contains(u)) << u;
}

TEST(backup, offline_backup_of_a_stopped_server_and_restore_refuses_a_bad_source) {
    temp_dir tmp;
    const fs::path data = tmp.path() / "data";
    std::uint64_t head = 0;
    {
        rosterd_process p(data, {"--threads", "1"});
        op_client op(p.port(), read_file(data / "operator.token").substr(0, read_file(data / "operator.token").find('\n')));
        ASSERT_EQ(op.post("/v1/accounts", {{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status, 201u);
        head = op.get("/v1/events?from=1&limit=1").json().at("head").to_number<std::uint64_t>();
        // Without --backup-dir the HTTP route is off.
        auto off = op.post("/v1/admin/backup", {{"to", (tmp.path() / "x").string()}});
        EXPECT_EQ(off.status, 409u);
        EXPECT_EQ(off.json().at("code").as_string(), "backups_disabled");
        EXPECT_EQ(p.terminate(), 0);
    }
    auto b = rosterctl(tmp.path(), "backup --data-dir " + data.string() + " --to " + (tmp.path() / "b").string());
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(json::parse(b.out).at("position").to_number<std::uint64_t>(), head);

    auto r = rosterctl(tmp.path(), "restore --from " + (tmp.path() / "b").string() + " --data-dir " + (tmp.path() / "r").string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out).at("position").to_number<std::uint64_t>(), head);

    // A directory without a manifest is not a backup.
    fs::create_directories(tmp.path() / "junk");
    auto junk = rosterctl(tmp.path(), "restore --from " + (tmp.path() / "junk").string() + " --data-dir " + (tmp.path() / "r2").string());
    EXPECT_EQ(junk.exit_code, 2);
    EXPECT_FALSE(fs::exists(tmp.path() / "r2" / "eventstore"));
}

TEST(backup, non_operator_cannot_take_a_backup) {
    temp_dir tmp;
    const fs::path data = tmp.path() / "data";
    rosterd_process p(data, {"--threads", "1", "--backup-dir", (tmp.path() / "b").string()});
    op_client op(p.port(), read_file(data / "operator.token").substr(0, read_file(data / "operator.token").find('\n')));
    auto t = op.post("/v1/tokens", {{"principal", json::object{{"auditor", true}}}});
    ASSERT_EQ(t.status, 201u) << t.body;
    op_client auditor(p.port(), std::string(t.json().at("token").as_string()));
    auto r = auditor.post("/v1/admin/backup", {{"to", (tmp.path() / "b" / "x").string()}});
    EXPECT_EQ(r.status, 403u) << r.body;
    op_client nobody(p.port(), "not-a-token");
    EXPECT_EQ(nobody.post("/v1/admin/backup", {{"to", (tmp.path() / "b" / "x").string()}}).status, 401u);
    EXPECT_FALSE(fs::exists(tmp.path() / "b" / "x"));
}

}  // namespace
}  // namespace roster::test
