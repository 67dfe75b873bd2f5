// Signing-key rotation against a real rosterd (issue 13, item 6): the rotation is an event whose
// statement the old key signed; checkpoints before and after verify with their own keys and are
// consistent; a witness that pinned the old key follows the chain; a kill -9 between the event
// and the key files is finished at the next start, because the log is the truth.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/merkle.hpp"
#include "roster/replay/key_rotation.hpp"
#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace es = roster::eventstore;
namespace json = boost::json;

const std::string origin = "roster.test/rotation";

std::vector<std::string> args_with(const std::filesystem::path& key_file, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {
        "--enable-test-routes", "--checkpoint-every", "50", "--checkpoint-interval-ms", "100", "--log-origin", origin,
        "--signing-key",        key_file.string()};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::uint64_t append(bearer_client& op, unsigned n) {
    auto r = op.call("POST", "/test/append?n=" + std::to_string(n));
    if (r.status != 200) throw std::runtime_error("append: " + r.body);
    return static_cast<std::uint64_t>(r.json().at("head").to_number<std::int64_t>());
}

es::verifier_key server_key(bearer_client& op) {
    auto r = op.get("/v1/audit/public-key");
    EXPECT_EQ(r.status, 200u) << r.body;
    return es::verifier_key::parse(r.json().at("verifier_key").as_string()).value();
}

// Polls until the latest checkpoint verifies with `key` and covers at least `size` leaves.
es::checkpoint wait_checkpoint(bearer_client& op, const es::verifier_key& key, std::uint64_t size) {
    const auto until = std::chrono::steady_clock::now() + safety_limit;
    while (std::chrono::steady_clock::now() < until) {
        auto r = op.get("/v1/audit/checkpoint");
        if (r.status == 200)
            if (auto c = es::open_checkpoint(r.body, std::span(&key, 1)); c && c->size >= size) return *c;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("no checkpoint of size " + std::to_string(size) + " signed by " + key.to_string());
}

void expect_consistent(bearer_client& op, const es::checkpoint& older, const es::checkpoint& newer) {
    auto r =
        op.get("/v1/audit/proof/consistency?from=" + std::to_string(older.size) + "&to=" + std::to_string(newer.size));
    ASSERT_EQ(r.status, 200u) << r.body;
    std::vector<es::hash256> proof;
    const auto body = r.json();  // named: the loop reads into it
    for (const auto& h : body.at("hashes").as_array()) {
        auto bytes = es::base64_decode(h.as_string()).value();
        es::hash256 x;
        std::copy(bytes.begin(), bytes.end(), x.begin());
        proof.push_back(x);
    }
    EXPECT_TRUE(es::verify_consistency(older.size, newer.size, older.root, newer.root, proof))
        << older.size << " -> " << newer.size;
}

std::vector<std::string> statements(bearer_client& op) {
    auto r = op.get("/v1/audit/signing-key/rotations");
    EXPECT_EQ(r.status, 200u) << r.body;
    std::vector<std::string> out;
    const auto body = r.json();  // named: the loop reads into it
    for (const auto& x : body.at("rotations").as_array()) out.emplace_back(x.at("statement").as_string());
    return out;
}

std::string hex(std::uint32_t id) {
    char b[9];
    std::snprintf(b, sizeof b, "%08x", id);
    return b;
}

std::vector<std::string> next_files(const std::filesystem::path& key_file) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(key_file.parent_path()))
        if (e.path().filename().string().starts_with(key_file.filename().string() + ".next-"))
            out.push_back(e.path().filename().string());
    return out;
}

std::pair<int, std::string> witness(unsigned short port, const std::filesystem::path& token_file,
                                    const std::filesystem::path& state) {
    const std::string cmd = std::string(ROSTERCTL_PATH) + " witness --url http://127.0.0.1:" + std::to_string(port) +
                            " --token-file " + token_file.string() + " --state " + state.string() + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string pinned_key(const std::filesystem::path& state) {
    std::ifstream in(state);
    return std::string(json::parse(std::string(std::istreambuf_iterator<char>(in), {})).at("verifier_key").as_string());
}

TEST(key_rotation, checkpoints_before_and_after_verify_with_their_keys_and_the_witness_follows) {
    test_support::temp_dir dir;
    const auto data = dir.path() / "data";
    const auto key_file = dir.path() / "keys" / "checkpoint.key";
    const auto state = dir.path() / "witness.json";
    std::filesystem::create_directories(key_file.parent_path());
    es::verifier_key old_key, new_key;
    {
        rosterd_process server(data, args_with(key_file));
        http_client http(server.port());
        bearer_client op{http, read_token(data)};
        old_key = server_key(op);
        EXPECT_TRUE(statements(op).empty());
        const auto before = wait_checkpoint(op, old_key, append(op, 40));
        auto [code1, out1] = witness(server.port(), data / "operator.token", state);
        ASSERT_EQ(code1, 0) << out1;
        ASSERT_EQ(pinned_key(state), old_key.to_string());

        auto r = op.post("/v1/audit/signing-key/rotations", json::object{{"reason", "yearly rotation"}});
        ASSERT_EQ(r.status, 201u) << r.body;
        const auto answer = r.json().as_object();
        new_key = es::verifier_key::parse(answer.at("verifier_key").as_string()).value();
        EXPECT_NE(new_key, old_key);
        EXPECT_EQ(new_key.name, origin);
        EXPECT_EQ(answer.at("previous_verifier_key").as_string(), old_key.to_string());
        EXPECT_TRUE(answer.at("checkpoint_signed").as_bool()) << r.body;
        EXPECT_EQ(server_key(op), new_key);

        // Signed with the new key at once: it covers the rotation event, and extends the old key's.
        auto latest = op.get("/v1/audit/checkpoint");
        ASSERT_EQ(latest.status, 200u);
        auto after = es::open_checkpoint(latest.body, std::span(&new_key, 1));
        ASSERT_TRUE(after) << latest.body;
        EXPECT_GT(after->size, before.size);
        EXPECT_FALSE(es::open_checkpoint(latest.body, std::span(&old_key, 1)));
        expect_consistent(op, before, *after);

        // The statement: in the log, signed by the old key, walks from it to the new one.
        const auto chain = statements(op);
        ASSERT_EQ(chain.size(), 1u);
        EXPECT_EQ(chain[0], answer.at("statement").as_string());
        EXPECT_EQ(replay::accept_rotations(old_key, chain).value(), new_key);
        auto events = op.get("/v1/events?limit=1000");
        EXPECT_NE(events.body.find("\"signing_key_rotated\""), std::string::npos);
        EXPECT_NE(events.body.find("yearly rotation"), std::string::npos);

        // The key files: the new one installed, the old one retired, both 0600, nothing pending.
        EXPECT_EQ(es::signing_key::load(key_file, origin).value().verifier(), new_key);
        const auto retired = key_file.string() + ".retired-" + hex(old_key.key_id);
        EXPECT_EQ(es::signing_key::load(retired, origin).value().verifier(), old_key);
        struct stat st {};
        ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        EXPECT_TRUE(next_files(key_file).empty());

        // The witness that pinned the old key follows the chain and pins the new one.
        const auto grown = wait_checkpoint(op, new_key, append(op, 30));
        auto [code2, out2] = witness(server.port(), data / "operator.token", state);
        ASSERT_EQ(code2, 0) << out2;
        EXPECT_NE(out2.find("following 1 rotation statement"), std::string::npos) << out2;
        // It checked the consistency with the checkpoint the old key signed, as before a rotation.
        EXPECT_EQ(out2.find("\"previous_size\":0"), std::string::npos) << out2;
        EXPECT_EQ(pinned_key(state), new_key.to_string());
        EXPECT_GE(grown.size, after->size);
        auto [code3, out3] = witness(server.port(), data / "operator.token", state);
        EXPECT_EQ(code3, 0) << out3;
        EXPECT_EQ(out3.find("following"), std::string::npos) << out3;
        EXPECT_EQ(server.terminate(), 0);
    }
    // A restart keeps the new key.
    rosterd_process server(data, args_with(key_file));
    http_client http(server.port());
    bearer_client op{http, read_token(data)};
    EXPECT_EQ(server_key(op), new_key);
    wait_checkpoint(op, new_key, append(op, 1));
}

TEST(key_rotation, a_witness_refuses_a_rotation_its_pinned_key_did_not_sign) {
    test_support::temp_dir dir;
    const auto data = dir.path() / "data";
    const auto key_file = dir.path() / "keys" / "checkpoint.key";
    const auto state = dir.path() / "witness.json";
    std::filesystem::create_directories(key_file.parent_path());
    // The witness pins a key the server never had, of the same origin: the server's rotation
    // (signed by its own key) does not start from it.
    const auto stranger = es::signing_key::generate(origin).value();
    { std::ofstream(state) << json::serialize(json::object{{"verifier_key", stranger.verifier().to_string()}}); }
    rosterd_process server(data, args_with(key_file));
    http_client http(server.port());
    bearer_client op{http, read_token(data)};
    ASSERT_EQ(op.post("/v1/audit/signing-key/rotations", json::object{}).status, 201u);
    wait_checkpoint(op, server_key(op), append(op, 5));
    auto [code, out] = witness(server.port(), data / "operator.token", state);
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find("rotation statement 1 of 1 is refused"), std::string::npos) << out;
}

TEST(key_rotation, a_kill_9_after_the_event_is_durable_is_finished_at_the_next_start) {
    test_support::temp_dir dir;
    const auto data = dir.path() / "data";
    const auto key_file = dir.path() / "keys" / "checkpoint.key";
    std::filesystem::create_directories(key_file.parent_path());
    es::verifier_key old_key;
    {
        rosterd_process server(data, args_with(key_file, {"--test-crash-at", "key_rotation_after_event"}));
        http_client http(server.port());
        bearer_client op{http, read_token(data)};
        old_key = server_key(op);
        wait_checkpoint(op, old_key, append(op, 20));
        EXPECT_THROW(op.post("/v1/audit/signing-key/rotations", json::object{}), std::runtime_error);
        EXPECT_EQ(server.wait_exit(), 128 + SIGKILL);
    }
    // The event is durable, the key file not yet installed.
    EXPECT_EQ(es::signing_key::load(key_file, origin).value().verifier(), old_key);
    ASSERT_EQ(next_files(key_file).size(), 1u);

    rosterd_process server(data, args_with(key_file));
    http_client http(server.port());
    bearer_client op{http, read_token(data)};
    const auto chain = statements(op);
    ASSERT_EQ(chain.size(), 1u);
    const auto logged = replay::accept_rotations(old_key, chain).value();
    EXPECT_NE(logged, old_key);
    EXPECT_EQ(server_key(op), logged);
    wait_checkpoint(op, logged, append(op, 3));
    EXPECT_EQ(es::signing_key::load(key_file, origin).value().verifier(), logged);
    EXPECT_TRUE(std::filesystem::exists(key_file.string() + ".retired-" + hex(old_key.key_id)));
    EXPECT_TRUE(next_files(key_file).empty());
    bool said = false;
    for (const auto& line : server.stdout_lines())
        said = said || line.find("installed the rotated key") != std::string::npos;
    EXPECT_TRUE(said);
}

TEST(key_rotation, a_kill_9_before_the_event_keeps_the_old_key) {
    test_support::temp_dir dir;
    const auto data = dir.path() / "data";
    const auto key_file = dir.path() / "keys" / "checkpoint.key";
    std::filesystem::create_directories(key_file.parent_path());
    es::verifier_key old_key;
    {
        rosterd_process server(data, args_with(key_file, {"--test-crash-at", "key_rotation_before_event"}));
        http_client http(server.port());
        bearer_client op{http, read_token(data)};
        old_key = server_key(op);
        EXPECT_THROW(op.post("/v1/audit/signing-key/rotations", json::object{}), std::runtime_error);
        EXPECT_EQ(server.wait_exit(), 128 + SIGKILL);
    }
    ASSERT_EQ(next_files(key_file).size(), 1u);
    rosterd_process server(data, args_with(key_file));
    http_client http(server.port());
    bearer_client op{http, read_token(data)};
    EXPECT_TRUE(statements(op).empty());
    EXPECT_EQ(server_key(op), old_key);
    wait_checkpoint(op, old_key, append(op, 3));
    EXPECT_TRUE(next_files(key_file).empty());
}

}  // namespace
}  // namespace roster::test
