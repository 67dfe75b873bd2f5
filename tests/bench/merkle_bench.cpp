// The Merkle tree and checkpoint signatures at 1,000,000 leaves, beside a same-run raw baseline:
// SHA-256 of 1,000,000 32-byte values (what the tree's hashing costs at the very least).
// Run: build/tests/bench/bench_merkle [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <vector>

#include <openssl/evp.h>

#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/merkle.hpp"

namespace {

using namespace roster::eventstore;
using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t leaves = 1'000'000;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

const std::vector<hash256>& leaf_hashes() {
    static const std::vector<hash256> v = [] {
        std::vector<hash256> out;
        out.reserve(leaves);
        for (std::uint64_t i = 0; i < leaves; ++i) {
            const std::uint8_t bytes[8] = {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i >> 8),
                                           static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 24)};
            out.push_back(leaf_hash(bytes));
        }
        return out;
    }();
    return v;
}

// The in-memory stand-in for the store's subtree column: one dense array per level.
class dense_source : public subtree_source {
public:
    result<hash256> subtree(unsigned level, std::uint64_t index) override {
        ++lookups;
        if (level >= levels.size() || index >= levels[level].size())
            return error{errc::corrupt, "missing subtree", {}, 0, 0};
        return levels[level][index];
    }
    std::vector<std::vector<hash256>> levels;
    std::uint64_t lookups = 0;
};

struct built {
    dense_source source;
    hash256 root{};
};

built& tree() {
    static built b = [] {
        built out;
        merkle_appender app;
        for (const auto& h : leaf_hashes()) {
            for (const auto& node : *app.append(h)) {
                if (out.source.levels.size() <= node.level) out.source.levels.resize(node.level + 1);
                out.source.levels[node.level].push_back(node.hash);  // completed in index order
            }
        }
        out.root = app.root();
        return out;
    }();
    return b;
}

// SHA-256 of 1,000,000 32-byte values through one reused EVP context: the floor for the tree.
double raw_sha256_per_s() {
    const auto& values = leaf_hashes();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    hash256 out{};
    unsigned int len = 0;
    const auto start = clock_type::now();
    for (const auto& v : values) {
        EVP_DigestInit_ex2(ctx, md, nullptr);
        EVP_DigestUpdate(ctx, v.data(), v.size());
        EVP_DigestFinal_ex(ctx, out.data(), &len);
        benchmark::DoNotOptimize(out);
    }
    const double secs = seconds_since(start);
    EVP_MD_free(md);
    EVP_MD_CTX_free(ctx);
    return static_cast<double>(values.size()) / secs;
}

// Appending 1,000,000 leaf hashes (each append hashes 1 + ctz(n + 1) - 1 nodes, ~1 on average);
// the subtrees it yields are counted, as a writer would hand them to its batch.
void BM_append_1m_leaves(benchmark::State& state) {
    const auto& values = leaf_hashes();
    double best_append = 0, best_raw = 0;
    std::uint64_t nodes = 0;
    for (auto _ : state) {
        merkle_appender app;
        nodes = 0;
        const auto start = clock_type::now();
        for (const auto& h : values) nodes += app.append(h)->size();
        benchmark::DoNotOptimize(app.root());
        const double secs = seconds_since(start);
        state.SetIterationTime(secs);
        best_append = std::max(best_append, static_cast<double>(values.size()) / secs);
        best_raw = std::max(best_raw, raw_sha256_per_s());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values.size()));
    state.counters["leaves_per_s"] = best_append;
    state.counters["raw_sha256_per_s"] = best_raw;
    state.counters["ratio"] = best_append / best_raw;
    state.counters["subtrees_per_leaf"] = static_cast<double>(nodes) / static_cast<double>(values.size());
}
BENCHMARK(BM_append_1m_leaves)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

void BM_inclusion_proof_1m(benchmark::State& state) {
    auto& t = tree();
    std::mt19937_64 rng(42);
    std::uint64_t bytes = 0, proofs = 0;
    t.source.lookups = 0;
    for (auto _ : state) {
        auto p = inclusion_proof(rng() % leaves, leaves, t.source);
        bytes += p->size() * sizeof(hash256);
        ++proofs;
        benchmark::DoNotOptimize(p);
    }
    state.counters["proof_bytes"] = static_cast<double>(bytes) / static_cast<double>(proofs);
    state.counters["lookups"] = static_cast<double>(t.source.lookups) / static_cast<double>(proofs);
}
BENCHMARK(BM_inclusion_proof_1m)->Unit(benchmark::kMicrosecond);

void BM_verify_inclusion_1m(benchmark::State& state) {
    auto& t = tree();
    const std::uint64_t index = 777'777;
    const auto p = *inclusion_proof(index, leaves, t.source);
    const hash256 leaf = leaf_hashes()[index];
    for (auto _ : state) {
        if (!verify_inclusion(leaf, index, leaves, p, t.root)) state.SkipWithError("inclusion proof did not verify");
    }
}
BENCHMARK(BM_verify_inclusion_1m)->Unit(benchmark::kMicrosecond);

void BM_consistency_proof_1m(benchmark::State& state) {
    auto& t = tree();
    std::mt19937_64 rng(7);
    std::uint64_t bytes = 0, proofs = 0;
    t.source.lookups = 0;
    for (auto _ : state) {
        auto p = consistency_proof(1 + rng() % (leaves - 1), leaves, t.source);
        bytes += p->size() * sizeof(hash256);
        ++proofs;
        benchmark::DoNotOptimize(p);
    }
    state.counters["proof_bytes"] = static_cast<double>(bytes) / static_cast<double>(proofs);
    state.counters["lookups"] = static_cast<double>(t.source.lookups) / static_cast<double>(proofs);
}
BENCHMARK(BM_consistency_proof_1m)->Unit(benchmark::kMicrosecond);

void BM_verify_consistency_1m(benchmark::State& state) {
    auto& t = tree();
    const std::uint64_t m = 654'321;
    const auto p = *consistency_proof(m, leaves, t.source);
    const hash256 root_m = *root(m, t.source);
    for (auto _ : state) {
        if (!verify_consistency(m, leaves, root_m, t.root, p)) state.SkipWithError("consistency proof did not verify");
    }
}
BENCHMARK(BM_verify_consistency_1m)->Unit(benchmark::kMicrosecond);

checkpoint sample_checkpoint() {
    return checkpoint{"roster.example/log", leaves, tree().root, {"timestamp 1700000000123456"}};
}

void BM_ed25519_sign_checkpoint(benchmark::State& state) {
    auto key = generate_signing_key("roster.example/log");
    const checkpoint c = sample_checkpoint();
    std::size_t size = 0;
    for (auto _ : state) {
        auto note = sign_checkpoint(c, *key);
        size = note->size();
        benchmark::DoNotOptimize(note);
    }
    state.counters["note_bytes"] = static_cast<double>(size);
}
BENCHMARK(BM_ed25519_sign_checkpoint)->Unit(benchmark::kMicrosecond);

void BM_ed25519_open_checkpoint(benchmark::State& state) {
    auto key = generate_signing_key("roster.example/log");
    const std::vector<verifier_key> known = {key->verifier()};
    const std::string note = *sign_checkpoint(sample_checkpoint(), *key);
    for (auto _ : state) {
        auto c = open_checkpoint(note, known);
        if (!c) state.SkipWithError("checkpoint did not verify");
        benchmark::DoNotOptimize(c);
    }
}
BENCHMARK(BM_ed25519_open_checkpoint)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
