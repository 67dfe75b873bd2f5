// Evidence packs against a real rosterd: a pack holds exactly one account's events in the range
// (the same selection as /v1/events?account=), both verifiers (rosterctl verify-pack and
// replay/verify_pack.py) accept it, and each tampering the issue names is caught by both.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/eventstore/checkpoint.hpp"
#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace es = roster::eventstore;
namespace json = boost::json;
namespace fs = std::filesystem;

// {exit code, stdout + stderr}
std::pair<int, std::string> run(const std::string& cmd) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const fs::path& p, const std::string& s) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << s;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

json::object admin_everywhere() {
    return json::object{
        {"support", json::array{"admin"}}, {"impact", json::array{"admin"}}, {"learning", json::array{"admin"}}};
}

// The two verifiers; both must agree.
std::pair<int, std::string> rosterctl_verify(const fs::path& pack, const std::string& key = "") {
    return run(std::string(ROSTERCTL_PATH) + " verify-pack " + q(pack) + (key.empty() ? "" : " --public-key " + key));
}
std::pair<int, std::string> python_verify(const fs::path& pack, const std::string& key = "") {
    return run("python3 " + std::string(ROSTER_SOURCE_DIR) + "/replay/verify_pack.py " + q(pack) +
               (key.empty() ? "" : " --public-key " + key));
}

class evidence : public ::testing::Test {
protected:
    void SetUp() override {
        // Checkpoints often, so the workload sees some signed before the pack's.
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data",
            std::vector<std::string>{"--checkpoint-every", "20", "--checkpoint-interval-ms", "100"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = std::make_unique<bearer_client>(bearer_client{*http_, read_token(tmp_.path() / "data")});
    }
    bearer_client& op() { return *op_; }

    // Positions and recorded_at of /v1/events?account=a, every page.
    std::vector<std::pair<std::uint64_t, std::string>> events_of(const std::string& a) {
        std::vector<std::pair<std::uint64_t, std::string>> out;
        for (std::uint64_t from = 1;;) {
            auto r = op().get("/v1/events?limit=1000&account=" + a + "&from=" + std::to_string(from));
            EXPECT_EQ(r.status, 200u) << r.body;
            auto v = r.json();
            for (const auto& e : v.at("events").as_array())
                out.emplace_back(e.at("position").to_number<std::uint64_t>(),
                                 std::string(e.at("recorded_at").as_string()));
            if (v.at("next_from").is_null()) return out;
            from = v.at("next_from").to_number<std::uint64_t>();
        }
    }

    // Two accounts, a dozen users each, role changes and locks interleaved.
    void workload(int rounds) {
        for (const char* a : {"acme", "other"})
            ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", a}, {"name", a}, {"kind", "customer"}}).status,
                      201u);
        for (int i = 0; i < rounds; ++i) {
            for (std::string a : {"acme", "other"}) {
                const auto u = op().create_user(a, "u" + std::to_string(i) + "@" + a + ".com",
                                                "User " + std::to_string(i), admin_everywhere());
                ASSERT_EQ(op().post("/v1/accounts/" + a + "/users/" + u + "/roles",
                                    json::object{{"grant", json::object{{"impact", json::array{"member"}}}},
                                                 {"revoke", json::object{{"learning", json::array{"admin"}}}},
                                                 {"reason", "round " + std::to_string(i)}})
                              .status,
                          200u);
                if (i % 3 == 0) {
                    ASSERT_EQ(op().post("/v1/users/" + u + "/lock", json::object{{"reason", "test"}}).status, 200u);
                    ASSERT_EQ(op().post("/v1/users/" + u + "/unlock", json::object{}).status, 200u);
                }
            }
            if (old_checkpoint_.empty()) {
                // The checkpointer signs on its own schedule; the first one may not be there yet.
                auto c = op().get("/v1/audit/checkpoint");
                if (c.status == 200) old_checkpoint_ = c.body;
            }
        }
    }

    http_reply get_pack(const std::string& query) { return op().get("/v1/audit/evidence?" + query); }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::unique_ptr<bearer_client> op_;
    std::string old_checkpoint_;
};

// The pack extracted into `dir` (fresh).
void extract(const fs::path& pack, const fs::path& dir) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto [code, out] = run("tar -xf " + q(pack) + " -C " + q(dir));
    ASSERT_EQ(code, 0) << out;
}
// `dir` as a tar again, as a reviewer would make it (./-prefixed names, directory entries).
fs::path repack(const fs::path& dir, const fs::path& pack) {
    auto [code, out] = run("tar -cf " + q(pack) + " -C " + q(dir) + " .");
    EXPECT_EQ(code, 0) << out;
    return pack;
}

json::object manifest_of(const fs::path& dir) { return json::parse(slurp(dir / "manifest.json")).as_object(); }
void set_manifest(const fs::path& dir, const json::object& m) { spit(dir / "manifest.json", json::serialize(m)); }
void drop_event(const fs::path& dir, std::uint64_t p) {
    const auto n = std::to_string(p);
    fs::remove(dir / "events" / (n + ".bin"));
    fs::remove(dir / "events" / (n + ".json"));
    fs::remove(dir / "proofs" / (n + ".json"));
}
void flip_byte(const fs::path& file, std::size_t at) {
    auto s = slurp(file);
    ASSERT_LT(at, s.size());
    s[at] = static_cast<char>(s[at] ^ 0x01);
    spit(file, s);
}

TEST_F(evidence, a_pack_holds_exactly_the_accounts_events_in_the_range_and_both_verifiers_accept_it) {
    workload(12);
    const auto acme = events_of("acme");
    const auto other = events_of("other");
    ASSERT_GT(acme.size(), 40u);
    // [since, until): from the 10th acme event's time to the 10th-from-last's (exclusive).
    const std::string since = acme[9].second, until = acme[acme.size() - 10].second;
    std::vector<std::uint64_t> expected;
    for (const auto& [p, at] : acme)
        if (at >= since && at < until) expected.push_back(p);
    ASSERT_GT(expected.size(), 20u);

    auto r = get_pack("account=acme&since=" + since + "&until=" + until);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("content-type").value_or(""), "application/x-tar");
    EXPECT_NE(r.header("content-disposition").value_or("").find("attachment"), std::string::npos);
    const auto pack = tmp_.path() / "acme.tar";
    spit(pack, r.body);

    const auto dir = tmp_.path() / "x";
    extract(pack, dir);
    const auto m = manifest_of(dir);
    EXPECT_EQ(m.at("account").as_string(), "acme");
    EXPECT_EQ(m.at("since").as_string(), since);
    EXPECT_EQ(m.at("until").as_string(), until);
    std::vector<std::uint64_t> got;
    for (const auto& e : m.at("events").as_array()) got.push_back(e.at("position").to_number<std::uint64_t>());
    EXPECT_EQ(got, expected);
    std::set<std::uint64_t> others;
    for (const auto& [p, at] : other) others.insert(p);
    std::size_t files = 0;
    for (const auto& f : fs::recursive_directory_iterator(dir / "events")) {
        ++files;
        EXPECT_FALSE(others.contains(std::stoull(f.path().stem().string()))) << f.path();
    }
    EXPECT_EQ(files, 2 * expected.size());
    // The README and the script are the repository's.
    EXPECT_TRUE(slurp(dir / "verify.py") == slurp(fs::path(ROSTER_SOURCE_DIR) / "replay" / "verify_pack.py"));

    const std::string key = std::string(op().get("/v1/audit/public-key").json().at("verifier_key").as_string());
    for (const auto& [name, result] :
         {std::pair{"rosterctl", rosterctl_verify(pack)}, {"python", python_verify(pack)}}) {
        EXPECT_EQ(result.first, 0) << name << ": " << result.second;
        EXPECT_NE(result.second.find("pack's own key"), std::string::npos) << name << ": " << result.second;
    }
    for (const auto& [name, result] :
         {std::pair{"rosterctl", rosterctl_verify(pack, key)}, {"python", python_verify(pack, key)}}) {
        EXPECT_EQ(result.first, 0) << name << ": " << result.second;
        EXPECT_NE(result.second.find("key pinned"), std::string::npos) << name << ": " << result.second;
    }
    // Re-tarred as it was by a reviewer's tar: still fine.
    const auto again = repack(dir, tmp_.path() / "again.tar");
    EXPECT_EQ(rosterctl_verify(again, key).first, 0) << rosterctl_verify(again, key).second;
    EXPECT_EQ(python_verify(again, key).first, 0) << python_verify(again, key).second;

    // The other account's pack (no range) holds its events only.
    auto o = get_pack("account=other");
    ASSERT_EQ(o.status, 200u) << o.body;
    spit(tmp_.path() / "other.tar", o.body);
    extract(tmp_.path() / "other.tar", dir);
    std::vector<std::uint64_t> other_got, other_expected;
    const auto other_manifest = manifest_of(dir);
    for (const auto& e : other_manifest.at("events").as_array())
        other_got.push_back(e.at("position").to_number<std::uint64_t>());
    for (const auto& [p, at] : other) other_expected.push_back(p);
    EXPECT_EQ(other_got, other_expected);
    EXPECT_EQ(rosterctl_verify(tmp_.path() / "other.tar", key).first, 0);

    // The shell procedure of the README, step 2, with openssl on this machine.
    auto [code, out] = run("cd " + q(dir) +
                           " && sed -n '1,/^$/p' manifest.sig | head -n -1 > m.txt"
                           " && tail -n 1 manifest.sig | cut -d' ' -f3 | base64 -d | tail -c 64 > m.sig"
                           " && openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in m.txt -sigfile m.sig"
                           " && sha256sum manifest.json | cut -d' ' -f1 > h && tail -n 1 m.txt | cmp - h");
    EXPECT_EQ(code, 0) << out;

    // rosterctl evidence downloads the same selection.
    const auto token = tmp_.path() / "data" / "operator.token";
    auto [dl, dl_out] =
        run(std::string(ROSTERCTL_PATH) + " evidence --url http://127.0.0.1:" + std::to_string(server_->port()) +
            " --token-file " + q(token) + " --account acme --since " + since + " --until " + until + " --out " +
            q(tmp_.path() / "dl.tar"));
    ASSERT_EQ(dl, 0) << dl_out;
    EXPECT_EQ(rosterctl_verify(tmp_.path() / "dl.tar", key).first, 0);
    extract(tmp_.path() / "dl.tar", dir);
    std::vector<std::uint64_t> dl_got;
    const auto dl_manifest = manifest_of(dir);
    for (const auto& e : dl_manifest.at("events").as_array())
        dl_got.push_back(e.at("position").to_number<std::uint64_t>());
    EXPECT_EQ(dl_got, expected);
}

TEST_F(evidence, every_tampering_is_caught_by_both_verifiers) {
    workload(8);
    auto r = get_pack("account=acme");
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto pack = tmp_.path() / "pack.tar";
    spit(pack, r.body);
    const std::string key = std::string(op().get("/v1/audit/public-key").json().at("verifier_key").as_string());
    const auto dir = tmp_.path() / "x";
    extract(pack, dir);
    const auto m = manifest_of(dir);
    const auto& events = m.at("events").as_array();
    ASSERT_GT(events.size(), 10u);
    const auto pos = [&](std::size_t i) { return events[i].at("position").to_number<std::uint64_t>(); };
    const auto mid = pos(events.size() / 2);

    const std::vector<std::pair<std::string, std::function<void(const fs::path&)>>> tamperings = {
        {"a changed byte in an envelope",
         [&](const fs::path& d) { flip_byte(d / "events" / (std::to_string(mid) + ".bin"), 200); }},
        {"a changed byte in an event JSON",
         [&](const fs::path& d) {
             const auto f = d / "events" / (std::to_string(mid) + ".json");
             auto s = slurp(f);
             const auto at = s.find("acme");
             ASSERT_NE(at, std::string::npos) << s;
             s[at + 3] = 'f';
             spit(f, s);
         }},
        {"a dropped event",
         [&](const fs::path& d) {
             auto mm = manifest_of(d);
             auto& ev = mm.at("events").as_array();
             ev.erase(ev.begin() + static_cast<std::ptrdiff_t>(ev.size() / 2));
             mm["count"] = ev.size();
             set_manifest(d, mm);
             drop_event(d, mid);
         }},
        {"a reordered manifest",
         [&](const fs::path& d) {
             auto mm = manifest_of(d);
             auto& ev = mm.at("events").as_array();
             std::swap(ev[2], ev[3]);
             set_manifest(d, mm);
         }},
        {"a truncated range",
         [&](const fs::path& d) {
             auto mm = manifest_of(d);
             auto& ev = mm.at("events").as_array();
             for (int i = 0; i < 3; ++i) {
                 drop_event(d, ev.back().at("position").to_number<std::uint64_t>());
                 ev.pop_back();
             }
             mm["count"] = ev.size();
             set_manifest(d, mm);
         }},
        {"a forged checkpoint (another key)",
         [&](const fs::path& d) {
             auto c = es::open_checkpoint(slurp(d / "checkpoint.txt"),
                                          std::vector<es::verifier_key>{es::verifier_key::parse(key).value()})
                          .value();
             auto forger = es::signing_key::generate(c.origin).value();
             spit(d / "checkpoint.txt", es::sign_checkpoint(c, forger).value());
         }},
        {"a replaced checkpoint (an older genuine one)",
         [&](const fs::path& d) {
             ASSERT_FALSE(old_checkpoint_.empty()) << "no checkpoint was signed during the workload";
             ASSERT_NE(old_checkpoint_, slurp(d / "checkpoint.txt"));
             spit(d / "checkpoint.txt", old_checkpoint_);
         }},
    };
    int n = 0;
    for (const auto& [what, tamper] : tamperings) {
        extract(pack, dir);
        tamper(dir);
        const auto bad = repack(dir, tmp_.path() / ("bad" + std::to_string(n++) + ".tar"));
        auto a = rosterctl_verify(bad);
        auto b = python_verify(bad);
        EXPECT_EQ(a.first, 1) << what << " (rosterctl): " << a.second;
        EXPECT_EQ(b.first, 1) << what << " (python): " << b.second;
        EXPECT_NE(a.second.find("FAILED"), std::string::npos) << a.second;
        EXPECT_NE(b.second.find("FAILED"), std::string::npos) << b.second;
        std::cerr << what << ":\n  rosterctl: " << a.second << "  python:    " << b.second;
    }
    // The untouched pack still passes (the tamperings are what fails).
    EXPECT_EQ(rosterctl_verify(pack, key).first, 0);
    EXPECT_EQ(python_verify(pack, key).first, 0);
    // Another key pinned: refused.
    auto other = es::signing_key::generate("roster.local/log").value().verifier().to_string();
    EXPECT_EQ(rosterctl_verify(pack, other).first, 1);
    EXPECT_EQ(python_verify(pack, other).first, 1);
}

// A reviewer who pinned the key before two rotations verifies a pack signed by the third key
// through key-rotations.txt; without the statements, or with one altered, that pin is refused.
TEST_F(evidence, a_pack_verifies_with_a_key_pinned_before_rotations_and_not_without_them) {
    workload(2);
    const auto key_now = [&] {
        return std::string(op().get("/v1/audit/public-key").json().at("verifier_key").as_string());
    };
    std::vector<std::string> keys{key_now()};
    for (int i = 0; i < 2; ++i) {
        auto r = op().post("/v1/audit/signing-key/rotations", json::object{{"reason", "rotation"}});
        ASSERT_EQ(r.status, 201u) << r.body;
        keys.push_back(key_now());
        ASSERT_EQ(std::string(r.json().at("verifier_key").as_string()), keys.back());
        const auto u = op().create_user("acme", "r" + std::to_string(i) + "@acme.com", "R", admin_everywhere());
        ASSERT_EQ(op().post("/v1/users/" + u + "/lock", json::object{{"reason", "after rotation"}}).status, 200u);
    }
    auto r = get_pack("account=acme");
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto pack = tmp_.path() / "pack.tar";
    spit(pack, r.body);
    const auto dir = tmp_.path() / "x";
    extract(pack, dir);
    EXPECT_EQ(slurp(dir / "verifier-key.txt"), keys[2] + "\n");
    // The statements exactly as the rotations route serves them, each followed by an empty line.
    std::string served;
    const auto listed = op().get("/v1/audit/signing-key/rotations").json();
    for (const auto& x : listed.at("rotations").as_array()) served += std::string(x.at("statement").as_string()) + "\n";
    EXPECT_EQ(slurp(dir / "key-rotations.txt"), served);

    for (const auto& k : keys) {
        auto a = rosterctl_verify(pack, k);
        auto b = python_verify(pack, k);
        EXPECT_EQ(a.first, 0) << a.second;
        EXPECT_EQ(b.first, 0) << b.second;
        EXPECT_NE(a.second.find("key pinned"), std::string::npos) << a.second;
    }
    EXPECT_NE(python_verify(pack, keys[0]).second.find("reached through key-rotations.txt"), std::string::npos);

    const auto statements = slurp(dir / "key-rotations.txt");
    const auto second = statements.find("roster signing-key rotation v1", 1);
    ASSERT_NE(second, std::string::npos) << statements;
    const std::vector<std::pair<std::string, std::function<void(const fs::path&)>>> tamperings = {
        {"key-rotations.txt removed", [&](const fs::path& d) { fs::remove(d / "key-rotations.txt"); }},
        {"key-rotations.txt emptied", [&](const fs::path& d) { spit(d / "key-rotations.txt", ""); }},
        {"the first statement dropped",
         [&](const fs::path& d) { spit(d / "key-rotations.txt", statements.substr(second)); }},
        {"a statement's tree size altered",
         [&](const fs::path& d) {
             auto s = statements;
             const auto at = s.find("\ntree ");
             ASSERT_NE(at, std::string::npos);
             s.insert(at + 6, "1");
             spit(d / "key-rotations.txt", s);
         }},
        {"a statement's old-key signature altered",
         [&](const fs::path& d) {
             auto s = statements;
             const auto at = s.find("\n\n\u2014 ");
             ASSERT_NE(at, std::string::npos);
             const auto sig = s.find(' ', s.find(' ', at + 2) + 1) + 20;
             s[sig] = s[sig] == 'A' ? 'B' : 'A';
             spit(d / "key-rotations.txt", s);
         }},
        {"a forged statement to another key",
         [&](const fs::path& d) {
             auto origin = es::verifier_key::parse(keys[0]).value().name;
             auto forger = es::signing_key::generate(origin).value();
             auto mallory = es::signing_key::generate(origin).value();
             std::string text = "roster signing-key rotation v1\n" + origin + "\nold " + keys[0] + "\nnew " +
                                mallory.verifier().to_string() + "\ntree 1\n";
             spit(d / "key-rotations.txt", es::sign_note(text, forger).value() + "\n" + statements);
         }},
    };
    int n = 0;
    for (const auto& [what, tamper] : tamperings) {
        extract(pack, dir);
        tamper(dir);
        const auto bad = repack(dir, tmp_.path() / ("rot" + std::to_string(n++) + ".tar"));
        auto a = rosterctl_verify(bad, keys[0]);
        auto b = python_verify(bad, keys[0]);
        EXPECT_EQ(a.first, 1) << what << " (rosterctl): " << a.second;
        EXPECT_EQ(b.first, 1) << what << " (python): " << b.second;
        std::cerr << what << ":\n  rosterctl: " << a.second << "  python:    " << b.second;
        // Pinned to the pack's own key, the statements are not needed.
        EXPECT_EQ(rosterctl_verify(bad, keys[2]).first, 0) << what;
        EXPECT_EQ(python_verify(bad, keys[2]).first, 0) << what;
    }
}

TEST_F(evidence, bad_requests_are_refused_with_the_field_named) {
    ASSERT_EQ(op().post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    auto field_of = [](const http_reply& r) {
        auto v = r.json();
        return v.as_object().contains("field") ? std::string(v.at("field").as_string()) : std::string();
    };
    auto r = get_pack("");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(field_of(r), "account");
    r = get_pack("account=acme&since=yesterday");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(field_of(r), "since");
    r = get_pack("account=acme&until=2026-02-30T00:00:00Z");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(field_of(r), "until");
    r = get_pack("account=acme&since=2026-03-01T00:00:00Z&until=2026-03-01T00:00:00Z");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(field_of(r), "until");
    r = get_pack("account=nobody");
    EXPECT_EQ(r.status, 404u) << r.body;
    EXPECT_EQ(std::string(r.json().at("code").as_string()), "account_not_found");
    // An empty range is a valid (empty) pack.
    r = get_pack("account=acme&until=2000-01-01T00:00:00Z");
    ASSERT_EQ(r.status, 200u) << r.body;
    spit(tmp_.path() / "empty.tar", r.body);
    EXPECT_EQ(rosterctl_verify(tmp_.path() / "empty.tar").first, 0)
        << rosterctl_verify(tmp_.path() / "empty.tar").second;
    EXPECT_EQ(python_verify(tmp_.path() / "empty.tar").first, 0) << python_verify(tmp_.path() / "empty.tar").second;
}

}  // namespace
}  // namespace roster::test
