// rosterctl backup/restore against a real rosterd under concurrent write load: the backup is a
// consistent cut (a prefix of the source log), restores into a new directory, verifies, and a
// rosterd started on it answers exactly what the source held at the backup's head.
#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "roster/replay/backup_path.hpp"
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
    http_reply get(const std::string& target) {
        return http.request("GET", target, {}, {{"Authorization", "Bearer " + token}});
    }
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
    const std::string token =
        read_file(data / "operator.token").substr(0, read_file(data / "operator.token").find('\n'));
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
    auto offline =
        rosterctl(tmp.path(), "backup --data-dir " + data.string() + " --to " + (tmp.path() / "nope").string());
    EXPECT_EQ(offline.exit_code, 2) << offline.err;
    EXPECT_NE(offline.err.find("--url"), std::string::npos) << offline.err;
    EXPECT_FALSE(fs::exists(tmp.path() / "nope"));

    // Every command acknowledged so far has a position <= this head, so a backup whose head is
    // at least this holds all of them.
    const auto head_before = op.get("/v1/events?from=1&limit=1").json().at("head").to_number<std::uint64_t>();

    const fs::path dest = backups / "b1";
    auto b = rosterctl(tmp.path(), "backup --data-dir " + data.string() + " --to " + dest.string() +
                                       " --url http://127.0.0.1:" + std::to_string(source.port()));
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
    auto forced =
        rosterctl(tmp.path(), "restore --from " + dest.string() + " --data-dir " + restored.string() + " --force");
    EXPECT_EQ(forced.exit_code, 0) << forced.err;
    // The old spelling `--force yes` (from before --force was a switch) still works.
    auto forced_old =
        rosterctl(tmp.path(), "restore --force yes --from " + dest.string() + " --data-dir " + restored.string());
    EXPECT_EQ(forced_old.exit_code, 0) << forced_old.err;

    // The old operator token still works on the restored server (its hash is in the log).
    fs::copy_file(data / "operator.token", restored / "operator.token");
    rosterd_process copy(restored, {"--threads", "2"});
    op_client restored_op(copy.port(), token);

    // A restore is refused while a server holds the directory, even with --force.
    auto busy =
        rosterctl(tmp.path(), "restore --from " + dest.string() + " --data-dir " + restored.string() + " --force");
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
        op_client op(p.port(),
                     read_file(data / "operator.token").substr(0, read_file(data / "operator.token").find('\n')));
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

    auto r = rosterctl(tmp.path(),
                       "restore --from " + (tmp.path() / "b").string() + " --data-dir " + (tmp.path() / "r").string());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out).at("position").to_number<std::uint64_t>(), head);

    // A directory without a manifest is not a backup.
    fs::create_directories(tmp.path() / "junk");
    auto junk = rosterctl(
        tmp.path(), "restore --from " + (tmp.path() / "junk").string() + " --data-dir " + (tmp.path() / "r2").string());
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

// ---------------------------------------------------------------------------------------------
// Backup destinations: lexical checks, then creation beneath --backup-dir without following
// symlinks, and nothing left behind on failure.

using replay::backup_path_errc;

// Every path under `root` (symlinks listed, not followed), to compare before and after.
std::set<std::string> tree(const fs::path& root) {
    std::set<std::string> out;
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(root, ec))) return out;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        out.insert(it->path().lexically_relative(root).string());
    return out;
}

std::optional<backup_path_errc> check_code(const fs::path& root, const std::string& to) {
    auto r = replay::check_backup_destination(root, to);
    if (r) return std::nullopt;
    return r.error().code;
}

TEST(backup_path, lexical_checks_refuse_escapes_and_bad_names_before_any_system_call) {
    const fs::path root = "/srv/backups";
    EXPECT_EQ(check_code(root, "relative/b1"), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, ""), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, "/srv/backups"), backup_path_errc::not_allowed);  // strictly inside
    EXPECT_EQ(check_code(root, "/srv/elsewhere/b1"), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, "/srv/backups2/b1"), backup_path_errc::not_allowed);  // a string prefix is not a parent
    EXPECT_EQ(check_code(root, "/srv/backups/../elsewhere"), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, "/srv/backups/b1/../b2"), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, "/srv/backups/./b1"), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, "/srv/backups//b1"), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, "/srv/backups/b1/"), backup_path_errc::not_allowed);
    EXPECT_EQ(check_code(root, std::string("/srv/backups/b1\0x", 17)), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/b1\nx"), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/b1\x7f"), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/b1\x1b[2J"), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/\xff"), backup_path_errc::invalid_name);         // not UTF-8
    EXPECT_EQ(check_code(root, "/srv/backups/\xc0\xaf"), backup_path_errc::invalid_name);     // overlong '/'
    EXPECT_EQ(check_code(root, "/srv/backups/caf\xc3\xa9"), backup_path_errc::invalid_name);  // UTF-8, not portable
    EXPECT_EQ(check_code(root, "/srv/backups/a b"), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/-rf"), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/.hidden"), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/" + std::string(300, 'a')), backup_path_errc::invalid_name);
    EXPECT_EQ(check_code(root, "/srv/backups/" + std::string(256, 'a')), backup_path_errc::invalid_name);
    std::string deep = "/srv/backups";
    while (deep.size() < 4100) deep += "/" + std::string(200, 'd');
    EXPECT_EQ(check_code(root, deep), backup_path_errc::invalid_name);

    auto ok = replay::check_backup_destination(root, "/srv/backups/daily/2026-01-02_b.1");
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_EQ(ok->below, (std::vector<std::string>{"daily", "2026-01-02_b.1"}));
    EXPECT_EQ(ok->path(), fs::path("/srv/backups/daily/2026-01-02_b.1"));
    EXPECT_TRUE(replay::check_backup_destination(root, "/srv/backups/" + std::string(255, 'a')));
    EXPECT_TRUE(replay::check_backup_destination("/srv/backups/", "/srv/backups/b1"));
    EXPECT_TRUE(replay::check_backup_destination("/", "/b1"));

    // The detail never carries the control byte itself.
    auto nl = replay::check_backup_destination(root, "/srv/backups/b1\nx");
    ASSERT_FALSE(nl);
    EXPECT_EQ(nl.error().detail.find('\n'), std::string::npos);

    // Local (rosterctl) destinations: no root, only the byte and length checks.
    EXPECT_TRUE(replay::check_local_backup_path("/home/op/my backups/caf\xc3\xa9/../b1"));
    EXPECT_FALSE(replay::check_local_backup_path("/tmp/b1\nx"));
    EXPECT_FALSE(replay::check_local_backup_path(std::string("/tmp/b1\0x", 9)));
    EXPECT_FALSE(replay::check_local_backup_path("/tmp/" + std::string(300, 'a')));
    EXPECT_FALSE(replay::check_local_backup_path("/tmp/\xff"));
}

std::optional<backup_path_errc> open_code(const fs::path& root, const fs::path& to) {
    auto t = replay::check_backup_destination(root, to.string());
    if (!t) return t.error().code;
    auto d = replay::open_backup_destination(*t);
    if (d) return std::nullopt;
    return d.error().code;
}

TEST(backup_path, symlinks_beneath_the_root_are_refused_never_followed) {
    temp_dir tmp;
    const fs::path root = tmp.path() / "backups", outside = tmp.path() / "outside";
    fs::create_directories(root / "a");
    fs::create_directories(outside);
    fs::create_directory_symlink(outside, root / "link");              // to a directory outside
    fs::create_directory_symlink(outside, root / "a" / "link");        // deeper down
    fs::create_directory_symlink(outside / "new", root / "dangling");  // to something not there yet
    fs::create_directory_symlink(root / "a", root / "inner");          // even one that stays inside
    { std::ofstream(root / "file") << "x"; }
    const auto before = tree(tmp.path());

    EXPECT_EQ(open_code(root, root / "link" / "x"), backup_path_errc::not_allowed);  // intermediate
    EXPECT_EQ(open_code(root, root / "link"), backup_path_errc::not_allowed);        // last component
    EXPECT_EQ(open_code(root, root / "dangling"), backup_path_errc::not_allowed);    // last, dangling
    EXPECT_EQ(open_code(root, root / "a" / "link" / "b" / "c"), backup_path_errc::not_allowed);
    EXPECT_EQ(open_code(root, root / "inner" / "x"), backup_path_errc::not_allowed);
    EXPECT_EQ(open_code(root, root / "file" / "x"), backup_path_errc::not_allowed);  // not a directory
    EXPECT_EQ(open_code(root, root / "file"), backup_path_errc::exists);
    EXPECT_EQ(open_code(root, root / "a"), backup_path_errc::exists);
    EXPECT_EQ(open_code(root, root / ".." / "outside" / "x"), backup_path_errc::not_allowed);

    EXPECT_EQ(tree(tmp.path()), before) << "a refused destination changed the disk";
    EXPECT_TRUE(fs::is_empty(outside));
}

TEST(backup_path, a_backup_inside_another_backup_is_refused) {
    temp_dir tmp;
    const fs::path root = tmp.path() / "backups";
    fs::create_directories(root / "b1" / "eventstore");
    { std::ofstream(root / "b1" / "backup.json") << "{}"; }
    fs::create_directories(root / "b2" / "eventstore");  // a backup whose manifest is not written yet
    fs::create_directories(root / "daily" / "b3");
    { std::ofstream(root / "daily" / "b3" / "backup.json") << "{}"; }
    const auto before = tree(tmp.path());

    EXPECT_EQ(open_code(root, root / "b1" / "sub"), backup_path_errc::inside_backup);
    EXPECT_EQ(open_code(root, root / "b1" / "eventstore" / "x"), backup_path_errc::inside_backup);
    EXPECT_EQ(open_code(root, root / "b2" / "x" / "y"), backup_path_errc::inside_backup);
    EXPECT_EQ(open_code(root, root / "daily" / "b3" / "x"), backup_path_errc::inside_backup);
    EXPECT_EQ(tree(tmp.path()), before);
    // A sibling in the same folder is fine.
    EXPECT_EQ(open_code(root, root / "daily" / "b4"), std::nullopt);
}

TEST(backup_path, a_destination_not_kept_is_removed_with_every_directory_it_created) {
    temp_dir tmp;
    const fs::path root = tmp.path() / "missing" / "backups";  // even the root is made on demand
    {
        auto t = replay::check_backup_destination(root, (root / "daily" / "x" / "b1").string());
        ASSERT_TRUE(t);
        auto d = replay::open_backup_destination(*t);
        ASSERT_TRUE(d) << d.error().detail;
        EXPECT_EQ(d->path(), root / "daily" / "x" / "b1");
        struct stat st {};
        ASSERT_EQ(::fstat(d->fd(), &st), 0);
        EXPECT_TRUE(S_ISDIR(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0700u);
        EXPECT_TRUE(fs::equivalent(d->stable_path(), root / "daily" / "x" / "b1"));
        // What a failed checkpoint leaves: a directory of files and a half manifest.
        fs::create_directories(d->path() / "eventstore.tmp" / "deeper");
        { std::ofstream(d->path() / "eventstore.tmp" / "000001.sst") << "x"; }
        { std::ofstream(d->path() / "backup.json.tmp") << "{"; }
        fs::create_symlink("/", d->path() / "eventstore.tmp" / "root-link");  // removed, not followed
    }
    EXPECT_FALSE(fs::exists(tmp.path() / "missing"));
    EXPECT_TRUE(fs::exists("/"));

    // An existing root and parent stay; only what the request made goes.
    fs::create_directories(root / "daily");
    {
        auto t = replay::check_backup_destination(root, (root / "daily" / "b2" / "inner").string());
        auto d = replay::open_backup_destination(*t);
        ASSERT_TRUE(d);
    }
    EXPECT_EQ(tree(tmp.path() / "missing"), (std::set<std::string>{"backups", "backups/daily"}));

    // keep(): stays.
    {
        auto t = replay::check_backup_destination(root, (root / "daily" / "b3").string());
        auto d = replay::open_backup_destination(*t);
        ASSERT_TRUE(d);
        d->keep();
    }
    EXPECT_TRUE(fs::is_directory(root / "daily" / "b3"));
    EXPECT_EQ(open_code(root, root / "daily" / "b3"), backup_path_errc::exists);
}

TEST(backup_path, local_destinations_refuse_a_symlink_or_a_full_directory_and_clean_up_after_themselves) {
    temp_dir tmp;
    fs::create_directories(tmp.path() / "outside");
    fs::create_directory_symlink(tmp.path() / "outside", tmp.path() / "link");
    EXPECT_EQ(replay::open_local_backup_destination(tmp.path() / "link").error().code, backup_path_errc::not_allowed);
    fs::create_directories(tmp.path() / "full");
    { std::ofstream(tmp.path() / "full" / "keep-me") << "x"; }
    EXPECT_EQ(replay::open_local_backup_destination(tmp.path() / "full").error().code, backup_path_errc::exists);
    EXPECT_TRUE(fs::exists(tmp.path() / "full" / "keep-me"));
    EXPECT_EQ(replay::open_local_backup_destination(tmp.path() / std::string(300, 'a')).error().code,
              backup_path_errc::invalid_name);
    {
        auto d = replay::open_local_backup_destination(tmp.path() / "p" / "q" / "b1");
        ASSERT_TRUE(d) << d.error().detail;
        { std::ofstream(d->path() / "x") << "x"; }
    }
    EXPECT_FALSE(fs::exists(tmp.path() / "p"));
    fs::create_directories(tmp.path() / "empty");
    {
        auto d = replay::open_local_backup_destination(tmp.path() / "empty");
        ASSERT_TRUE(d) << d.error().detail;
        { std::ofstream(d->path() / "x") << "x"; }
    }
    EXPECT_TRUE(fs::is_directory(tmp.path() / "empty")) << "found empty, so not ours to remove";
    EXPECT_TRUE(fs::is_empty(tmp.path() / "empty"));
    EXPECT_TRUE(fs::is_empty(tmp.path() / "outside"));
}

TEST(backup, http_route_refuses_unsafe_destinations_with_400_and_leaves_nothing_behind) {
    temp_dir tmp;
    const fs::path data = tmp.path() / "data", backups = tmp.path() / "backups", outside = tmp.path() / "outside";
    fs::create_directories(backups);
    fs::create_directories(outside);
    fs::create_directory_symlink(outside, backups / "link");
    fs::create_directory_symlink(outside / "b", backups / "dangling");
    rosterd_process p(data, {"--threads", "1", "--backup-dir", backups.string()});
    op_client op(p.port(), read_file(data / "operator.token").substr(0, read_file(data / "operator.token").find('\n')));
    const auto before = tree(backups);

    struct refused {
        std::string to;
        unsigned status;
        std::string code;
    };
    const std::string b = backups.string();
    const std::vector<refused> cases = {
        {b + std::string("/a\0/x", 5), 400, "invalid_backup_name"},  // used to answer 503 and leave backups/a
        {b + "/a\nb", 400, "invalid_backup_name"},
        {b + "/" + std::string(300, 'n'), 400, "invalid_backup_name"},  // used to answer 503
        {b + "/link/x", 400, "backup_path_not_allowed"},                // used to write into outside/x
        {b + "/link", 400, "backup_path_not_allowed"},
        {b + "/dangling", 400, "backup_path_not_allowed"},
        {b + "/../outside/x", 400, "backup_path_not_allowed"},
        {b + "/./x", 400, "backup_path_not_allowed"},
        {b + "//x", 400, "backup_path_not_allowed"},
        {"x", 400, "backup_path_not_allowed"},
    };
    for (const auto& c : cases) {
        auto r = op.post("/v1/admin/backup", {{"to", json::string(c.to)}});
        EXPECT_EQ(r.status, c.status) << json::serialize(json::string(c.to)) << " " << r.body;
        if (r.status == c.status) {
            EXPECT_EQ(r.json().at("code").as_string(), c.code) << r.body;
        }
        EXPECT_EQ(tree(backups), before) << json::serialize(json::string(c.to));
        EXPECT_TRUE(fs::is_empty(outside)) << json::serialize(json::string(c.to));
    }

    // A real backup, then one inside it: refused (409) without creating anything.
    auto ok = op.post("/v1/admin/backup", {{"to", b + "/b1"}});
    ASSERT_EQ(ok.status, 201u) << ok.body;
    EXPECT_TRUE(fs::exists(backups / "b1" / "backup.json"));
    const auto with_b1 = tree(backups);
    for (const auto& to : {b + "/b1/sub", b + "/b1/eventstore/x"}) {
        auto r = op.post("/v1/admin/backup", {{"to", to}});
        EXPECT_EQ(r.status, 409u) << to << " " << r.body;
        if (r.status == 409u) {
            EXPECT_EQ(r.json().at("code").as_string(), "backup_inside_backup");
        }
    }
    auto again = op.post("/v1/admin/backup", {{"to", b + "/b1"}});
    EXPECT_EQ(again.status, 409u);
    EXPECT_EQ(again.json().at("code").as_string(), "backup_exists");
    EXPECT_EQ(tree(backups), with_b1);
    EXPECT_TRUE(fs::is_empty(outside));
    EXPECT_EQ(p.terminate(), 0);
}

TEST(backup, rosterctl_refuses_an_overlong_or_control_character_name_before_touching_the_disk) {
    temp_dir tmp;
    const fs::path data = tmp.path() / "data";
    {
        rosterd_process p(data, {"--threads", "1"});
        EXPECT_EQ(p.terminate(), 0);
    }
    const auto before = tree(tmp.path());
    auto long_name = rosterctl(tmp.path(), "backup --data-dir " + data.string() + " --to " +
                                               (tmp.path() / "new" / std::string(300, 'n')).string());
    EXPECT_EQ(long_name.exit_code, 2) << long_name.err;
    EXPECT_NE(long_name.err.find("bytes"), std::string::npos) << long_name.err;
    auto newline =
        rosterctl(tmp.path(), "backup --data-dir " + data.string() + " --to '" + (tmp.path() / "a\nb").string() + "'");
    EXPECT_EQ(newline.exit_code, 2) << newline.err;
    EXPECT_NE(newline.err.find("control character"), std::string::npos) << newline.err;
    auto after = tree(tmp.path());
    for (auto it = after.begin(); it != after.end();) it = it->starts_with("ctl") ? after.erase(it) : std::next(it);
    EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace roster::test
