// Signed checkpoints of the log's Merkle tree, against a real rosterd: proofs verify with the
// merkle.hpp verifiers against the signed root, the root is the one recomputed offline from the
// stored envelope bytes, the tree survives kill -9, and `rosterctl witness` catches a rewrite.
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/merkle.hpp"
#include "roster/eventstore/store.hpp"
#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace es = roster::eventstore;
namespace json = boost::json;

const std::vector<std::string> fast_checkpoints = {"--enable-test-routes", "--checkpoint-every", "50",
                                                   "--checkpoint-interval-ms", "100"};

es::hash256 hash_of(const json::value& v) {
    auto bytes = es::base64_decode(v.as_string());
    if (!bytes || bytes->size() != 32) throw std::runtime_error("not a base64 hash");
    es::hash256 h;
    std::copy(bytes->begin(), bytes->end(), h.begin());
    return h;
}

std::vector<es::hash256> hashes_of(const json::value& v) {
    std::vector<es::hash256> out;
    for (const auto& h : v.as_array()) out.push_back(hash_of(h));
    return out;
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

// Polls until the latest signed checkpoint covers at least `size` leaves.
es::checkpoint wait_checkpoint(bearer_client& op, const es::verifier_key& key, std::uint64_t size) {
    const auto until = std::chrono::steady_clock::now() + safety_limit;
    while (std::chrono::steady_clock::now() < until) {
        auto r = op.get("/v1/audit/checkpoint");
        if (r.status == 200) {
            EXPECT_EQ(r.header("content-type").value_or(""), "text/plain; charset=utf-8");
            auto c = es::open_checkpoint(r.body, std::span(&key, 1));
            if (!c) throw std::runtime_error("checkpoint does not verify: " + c.error().message);
            if (c->size >= size) return *c;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("no checkpoint of size " + std::to_string(size));
}

// The RFC 9162 root over the first `n` stored envelopes, recomputed offline from the stopped
// server's store, with nothing of the server's tree.
es::hash256 offline_root(const std::filesystem::path& data_dir, std::uint64_t n) {
    auto store = es::store::open(es::store_dir(data_dir), {.read_only = true}).value();
    es::merkle_appender tree;
    std::uint64_t expected = 1;
    store
        ->read_raw_from(
            1, n,
            [&](std::uint64_t position, std::string_view bytes) {
                EXPECT_EQ(position, expected++);
                tree.append(es::leaf_hash(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())))
                    .value();
                return true;
            })
        .value();
    EXPECT_EQ(tree.size(), n);
    return tree.root();
}

es::hash256 offline_leaf(const std::filesystem::path& data_dir, std::uint64_t position) {
    auto store = es::store::open(es::store_dir(data_dir), {.read_only = true}).value();
    es::hash256 h{};
    store
        ->read_raw_from(
            position, 1,
            [&](std::uint64_t, std::string_view bytes) {
                h = es::leaf_hash(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
                return false;
            })
        .value();
    return h;
}

void expect_consistent(bearer_client& op, const es::checkpoint& older, const es::checkpoint& newer) {
    auto r =
        op.get("/v1/audit/proof/consistency?from=" + std::to_string(older.size) + "&to=" + std::to_string(newer.size));
    ASSERT_EQ(r.status, 200u) << r.body;
    auto proof = hashes_of(r.json().at("hashes"));
    EXPECT_TRUE(es::verify_consistency(older.size, newer.size, older.root, newer.root, proof))
        << older.size << " -> " << newer.size;
}

TEST(checkpoints, proofs_verify_against_the_signed_root_which_equals_the_offline_root) {
    temp_dir dir;
    std::vector<es::hash256> leaves;
    es::checkpoint first, second;
    std::uint64_t positions[4];
    {
        rosterd_process server(dir.path(), fast_checkpoints);
        http_client http(server.port());
        bearer_client op{http, read_token(dir.path())};
        const auto key = server_key(op);
        EXPECT_EQ(key.name, "roster.local/log");
        // Past one persisted block (256 leaves) and into the next, so both kinds of subtree serve.
        const auto head1 = append(op, 300);
        first = wait_checkpoint(op, key, head1);
        const auto head2 = append(op, 333);
        second = wait_checkpoint(op, key, head2);
        ASSERT_LT(first.size, second.size);
        expect_consistent(op, first, second);

        positions[0] = 1, positions[1] = 257, positions[2] = first.size, positions[3] = second.size;
        for (auto p : positions) {
            auto r = op.get("/v1/audit/proof/inclusion?position=" + std::to_string(p) +
                            "&tree_size=" + std::to_string(second.size));
            ASSERT_EQ(r.status, 200u) << r.body;
            auto body = r.json().as_object();
            EXPECT_EQ(body.at("leaf_index").to_number<std::uint64_t>(), p - 1);
            const auto leaf = hash_of(body.at("leaf_hash"));
            leaves.push_back(leaf);
            EXPECT_TRUE(es::verify_inclusion(leaf, p - 1, second.size, hashes_of(body.at("hashes")), second.root)) << p;
            // A proof for another leaf does not pass for this one.
            auto other = leaf;
            other[0] ^= 1;
            EXPECT_FALSE(es::verify_inclusion(other, p - 1, second.size, hashes_of(body.at("hashes")), second.root));
        }
        // Against the older checkpoint too (tree_size defaults to the latest).
        auto r = op.get("/v1/audit/proof/inclusion?position=3&tree_size=" + std::to_string(first.size));
        ASSERT_EQ(r.status, 200u);
        EXPECT_TRUE(es::verify_inclusion(hash_of(r.json().at("leaf_hash")), 2, first.size,
                                         hashes_of(r.json().at("hashes")), first.root));

        // Past the latest signed size, and malformed parameters.
        const auto latest = wait_checkpoint(op, key, second.size);
        auto beyond = op.get("/v1/audit/proof/inclusion?position=1&tree_size=" + std::to_string(latest.size + 1000));
        EXPECT_EQ(beyond.status, 400u);
        EXPECT_EQ(beyond.json().at("code").as_string(), "beyond_checkpoint");
        EXPECT_EQ(beyond.json().at("field").as_string(), "tree_size");
        auto bad = op.get("/v1/audit/proof/inclusion?position=abc");
        EXPECT_EQ(bad.status, 400u);
        EXPECT_EQ(bad.json().at("field").as_string(), "position");
        auto missing = op.get("/v1/audit/proof/consistency");
        EXPECT_EQ(missing.status, 400u);
        EXPECT_EQ(missing.json().at("field").as_string(), "from");
        auto far = op.get("/v1/audit/proof/consistency?from=1&to=" + std::to_string(latest.size + 1));
        EXPECT_EQ(far.status, 400u);
        EXPECT_EQ(far.json().at("code").as_string(), "beyond_checkpoint");

        // verify names the head it walked to.
        auto v = op.get("/v1/audit/verify").json().as_object();
        EXPECT_TRUE(v.at("ok").as_bool());
        EXPECT_GE(v.at("head_position").to_number<std::uint64_t>(), second.size);
        EXPECT_EQ(v.at("head_hash").as_string().size(), 64u);
        EXPECT_EQ(server.terminate(), 0);
    }
    EXPECT_EQ(offline_root(dir.path(), first.size), first.root);
    EXPECT_EQ(offline_root(dir.path(), second.size), second.root);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(offline_leaf(dir.path(), positions[i]), leaves[i]) << positions[i];
}

TEST(checkpoints, the_tree_resumes_after_kill_9_and_stays_consistent) {
    temp_dir dir;
    es::checkpoint before;
    es::verifier_key key;
    {
        rosterd_process server(dir.path(), fast_checkpoints);
        http_client http(server.port());
        bearer_client op{http, read_token(dir.path())};
        key = server_key(op);
        before = wait_checkpoint(op, key, append(op, 700));
        // Kill while appending: some leaves are in no persisted block, some events in no checkpoint.
        std::atomic<bool> done{false};
        std::thread load([port = server.port(), &dir, &done] {
            try {
                http_client h(port);
                bearer_client o{h, read_token(dir.path())};
                while (!done) append(o, 97);
            } catch (const std::exception&) {
                // The server died under us: expected.
            }
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        server.kill_hard();
        done = true;
        load.join();
    }
    es::checkpoint after;
    {
        rosterd_process server(dir.path(), fast_checkpoints);
        http_client http(server.port());
        bearer_client op{http, read_token(dir.path())};
        EXPECT_EQ(server_key(op), key);
        const auto head = append(op, 11);
        after = wait_checkpoint(op, key, head);
        ASSERT_GT(after.size, before.size);
        expect_consistent(op, before, after);
        EXPECT_EQ(server.terminate(), 0);
    }
    EXPECT_EQ(offline_root(dir.path(), after.size), after.root);
}

// rosterctl witness; {exit code, stdout + stderr}.
std::pair<int, std::string> witness(unsigned short port, const std::filesystem::path& token_file,
                                    const std::filesystem::path& state, const std::string& extra = "") {
    const std::string cmd = std::string(ROSTERCTL_PATH) + " witness --url http://127.0.0.1:" + std::to_string(port) +
                            " --token-file " + token_file.string() + " --state " + state.string() + " " + extra +
                            " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    const int status = ::pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(checkpoints, the_witness_accepts_growth_and_refuses_a_fork_and_another_key) {
    temp_dir dir;
    const auto data = dir.path() / "data";
    const auto key_file = dir.path() / "keys" / "checkpoint.key";
    const auto state = dir.path() / "witness.json";
    std::filesystem::create_directories(key_file.parent_path());
    auto args = fast_checkpoints;
    args.insert(args.end(), {"--signing-key", key_file.string()});
    std::uint64_t kept_size = 0;
    {
        rosterd_process server(data, args);
        http_client http(server.port());
        bearer_client op{http, read_token(data)};
        const auto key = server_key(op);
        wait_checkpoint(op, key, append(op, 40));
        auto [code1, out1] = witness(server.port(), data / "operator.token", state);
        ASSERT_EQ(code1, 0) << out1;
        EXPECT_NE(out1.find("pinning"), std::string::npos) << out1;
        kept_size = wait_checkpoint(op, key, append(op, 300)).size;
        auto [code2, out2] = witness(server.port(), data / "operator.token", state);
        ASSERT_EQ(code2, 0) << out2;
        EXPECT_NE(out2.find("\"tree_size\":" + std::to_string(kept_size)), std::string::npos) << out2;
        // Nothing new: still fine.
        auto [code3, out3] = witness(server.port(), data / "operator.token", state);
        EXPECT_EQ(code3, 0) << out3;
        EXPECT_EQ(server.terminate(), 0);
    }
    const std::string kept_state = [&] {
        std::ifstream in(state);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    // Another history under the same key: the data directory replaced, the key file kept.
    std::filesystem::remove_all(data);
    {
        rosterd_process server(data, args);
        http_client http(server.port());
        bearer_client op{http, read_token(data)};
        const auto key = server_key(op);
        const auto c = wait_checkpoint(op, key, append(op, static_cast<unsigned>(kept_size + 50)));
        ASSERT_GT(c.size, kept_size);
        auto [code, out] = witness(server.port(), data / "operator.token", state);
        EXPECT_EQ(code, 1) << out;
        EXPECT_NE(out.find("fork"), std::string::npos) << out;
        // The state file is left as it was.
        std::ifstream in(state);
        EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), kept_state);
        EXPECT_EQ(server.terminate(), 0);
    }
    // Same origin, another key.
    {
        auto other = fast_checkpoints;
        other.insert(other.end(), {"--signing-key", (dir.path() / "keys" / "other.key").string()});
        rosterd_process server(data, other);
        http_client http(server.port());
        bearer_client op{http, read_token(data)};
        wait_checkpoint(op, server_key(op), 1);
        auto [code, out] = witness(server.port(), data / "operator.token", state);
        EXPECT_EQ(code, 1) << out;
        EXPECT_NE(out.find("not signed by the pinned key"), std::string::npos) << out;
        EXPECT_EQ(server.terminate(), 0);
    }
}

}  // namespace
}  // namespace roster::test
