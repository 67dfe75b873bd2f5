// The audit machinery against a real store (issue 13, "Show"), each figure beside a same-run baseline:
//   checkpointer_catch_up_1000000   the Merkle tree built from zero over a 1,000,000-event RocksDB log
//                                   by api::checkpointer (leaf hashes, persisted blocks and subtrees),
//                                   as events/s beside a raw scan of the same log (ratio = per_s /
//                                   raw_per_s); synced:1 persists with fsync as rosterd does, synced:0
//                                   without (the hashing and reading alone)
//   inclusion_proof_1000000         an inclusion proof at tree size 1,000,000 through stored_subtrees
//   consistency_proof_1000000       a consistency proof (random m) to tree size 1,000,000
//                                   (both: µs per proof; proof_bytes = hashes × 32; meta_get_us = one
//                                   point read of a stored subtree, the unit they are made of)
//   sign_checkpoint                 Ed25519 signature of a checkpoint note, and
//   sign_and_persist_checkpoint     the same plus the synced write of checkpoint/latest (what the
//                                   checkpointer does per checkpoint)
// The 1M log is generated once per run (~1M events in big append_group batches, unsynced), like
// bench_replay's; the cases that need it carry 1000000 in their names (ROSTER_BENCH_QUICK skips them).
// Run: build-release/tests/bench/bench_audit   (about 1-2 minutes on the shared 2-core machine)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <thread>

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include "bench_log.hpp"
#include "roster/api/checkpointer.hpp"
#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/merkle.hpp"
#include "roster/eventstore/store.hpp"

namespace {

using namespace roster;
namespace es = roster::eventstore;
using clock_type = std::chrono::steady_clock;
constexpr std::uint64_t total_events = 1'000'000;
const std::string origin = "roster.bench/log";

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

std::filesystem::path temp_dir(const std::string& what) {
    std::random_device rd;
    return std::filesystem::temp_directory_path() / ("roster-audit-bench-" + what + "-" + std::to_string(rd()));
}

// The same key every time: a checkpointer refuses to serve a stored checkpoint another key signed.
es::signing_key new_key() {
    static constexpr std::uint8_t seed[32] = {42};
    auto k = es::signing_key::from_seed(origin, seed);
    if (!k) throw std::runtime_error(k.error().message);
    return std::move(*k);
}

struct fixture {
    std::filesystem::path dir;
    std::unique_ptr<es::store> store;
    bool synced = false;

    fixture() {
        dir = temp_dir("log");
        open(false);
        generate();
    }
    ~fixture() {
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    // Reopens the store with or without fsync on every write (the log is the same either way).
    void open(bool sync) {
        store.reset();
        es::store_options o;
        o.sync = sync;
        auto s = es::store::open(dir, o);
        if (!s) throw std::runtime_error(s.error().message);
        store = std::move(*s);
        synced = sync;
    }

    // bench_replay's log (bench_log.hpp) and its raw scan.
    void generate() { roster::bench::generate_log(*store, {.events = total_events}); }
    double raw_scan_seconds() const { return roster::bench::raw_log_scan_seconds(dir, total_events); }

    // Builds the tree from zero with a checkpointer (signing only at its stop); returns seconds.
    double catch_up_seconds() {
        // A resume trusts merkle/size: 0 makes the checkpointer start from the first leaf.
        if (!store->put_meta("merkle/size", "0")) throw std::runtime_error("reset merkle/size");
        std::atomic<bool> failed{false};
        api::checkpointer cp(*store, new_key(),
                             {origin, std::numeric_limits<std::uint64_t>::max(), std::chrono::hours(1)},
                             [&](std::string_view m) {
                                 std::fprintf(stderr, "checkpointer: %.*s\n", static_cast<int>(m.size()), m.data());
                                 failed = true;
                             });
        const auto t = clock_type::now();
        if (!cp.start()) throw std::runtime_error("checkpointer start");
        while (cp.tree_size() < total_events && !failed) std::this_thread::sleep_for(std::chrono::microseconds(200));
        const double secs = seconds_since(t);
        if (failed) throw std::runtime_error("the checkpointer failed");
        cp.stop();  // signs the checkpoint at 1M (not timed)
        auto latest = cp.latest();
        if (!latest || latest->body.size != total_events) throw std::runtime_error("no checkpoint at 1M");
        root = latest->body.root;
        return secs;
    }

    // The tree at 1M, persisted once (by the first catch-up, or here).
    const es::hash256& tree_root() {
        if (root == es::hash256{}) catch_up_seconds();
        return root;
    }

    es::hash256 root{};
};

fixture& data() {
    static fixture f;
    return f;
}

void BM_checkpointer_catch_up_1000000(benchmark::State& state) {
    auto& f = data();
    f.open(state.range(0) != 0);
    f.raw_scan_seconds();  // warm the caches for both sides
    double best = 1e9, raw = 1e9;
    for (auto _ : state) {
        const double s = f.catch_up_seconds();
        best = std::min(best, s);
        raw = std::min(raw, f.raw_scan_seconds());
        state.SetIterationTime(s);
    }
    f.open(false);
    state.counters["per_s"] = total_events / best;
    state.counters["raw_per_s"] = total_events / raw;
    state.counters["ratio"] = raw / best;
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(total_events));
}
BENCHMARK(BM_checkpointer_catch_up_1000000)
    ->ArgName("synced")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// One point read of a stored subtree, the unit a proof is made of.
double meta_get_us(const es::store& store) {
    constexpr int reads = 1000;
    const auto t = clock_type::now();
    for (int i = 0; i < reads; ++i)
        benchmark::DoNotOptimize(store.get_meta("merkle/node/8/" + std::to_string(i % 3000)));
    return seconds_since(t) / reads * 1e6;
}

// Checks a proof once, outside the timing: a fast wrong proof would be no figure at all.
void check_inclusion(fixture& f, std::uint64_t index) {
    api::stored_subtrees source(*f.store);
    auto proof = es::inclusion_proof(index, total_events, source);
    if (!proof) throw std::runtime_error("inclusion proof: " + proof.error().message);
    es::hash256 leaf{};
    auto r = f.store->read_raw_from(index + 1, 1, [&](std::uint64_t, std::string_view bytes) {
        leaf = es::leaf_hash(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
        return true;
    });
    if (!r || !es::verify_inclusion(leaf, index, total_events, *proof, f.tree_root()))
        throw std::runtime_error("the stored inclusion proof does not verify");
}

void BM_inclusion_proof_1000000(benchmark::State& state) {
    auto& f = data();
    f.tree_root();
    check_inclusion(f, 777'777);
    check_inclusion(f, total_events - 1);  // in the last, unpersisted block
    std::mt19937_64 rng(42);
    std::uint64_t hashes = 0, proofs = 0;
    for (auto _ : state) {
        api::stored_subtrees source(*f.store);  // one per proof, as the route does
        auto p = es::inclusion_proof(rng() % total_events, total_events, source);
        if (!p) state.SkipWithError(p.error().message.c_str());
        hashes += p ? p->size() : 0;
        ++proofs;
        benchmark::DoNotOptimize(p);
    }
    state.counters["proof_bytes"] = 32.0 * static_cast<double>(hashes) / static_cast<double>(proofs);
    state.counters["meta_get_us"] = meta_get_us(*f.store);
}
BENCHMARK(BM_inclusion_proof_1000000)->Unit(benchmark::kMicrosecond);

void BM_consistency_proof_1000000(benchmark::State& state) {
    auto& f = data();
    const auto root_n = f.tree_root();
    {
        api::stored_subtrees source(*f.store);
        const std::uint64_t m = 654'321;
        auto p = es::consistency_proof(m, total_events, source);
        auto root_m = es::root(m, source);
        if (!p || !root_m || !es::verify_consistency(m, total_events, *root_m, root_n, *p))
            throw std::runtime_error("the stored consistency proof does not verify");
    }
    std::mt19937_64 rng(7);
    std::uint64_t hashes = 0, proofs = 0;
    for (auto _ : state) {
        api::stored_subtrees source(*f.store);
        auto p = es::consistency_proof(1 + rng() % (total_events - 1), total_events, source);
        if (!p) state.SkipWithError(p.error().message.c_str());
        hashes += p ? p->size() : 0;
        ++proofs;
        benchmark::DoNotOptimize(p);
    }
    state.counters["proof_bytes"] = 32.0 * static_cast<double>(hashes) / static_cast<double>(proofs);
    state.counters["meta_get_us"] = meta_get_us(*f.store);
}
BENCHMARK(BM_consistency_proof_1000000)->Unit(benchmark::kMicrosecond);

// A small synced store of its own: signing needs no log, and these run in a quick run too.
struct signing_fixture {
    std::filesystem::path dir = temp_dir("sign");
    std::unique_ptr<es::store> store;
    es::signing_key key = new_key();
    es::checkpoint body{origin, total_events, es::leaf_hash(std::span<const std::uint8_t>{}), {}};

    signing_fixture() {
        auto s = es::store::open(dir, es::store_options{});  // synced, as rosterd's
        if (!s) throw std::runtime_error(s.error().message);
        store = std::move(*s);
    }
    ~signing_fixture() {
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    std::string sign(std::uint64_t i) {
        body.extensions = {"timestamp " + std::to_string(1'700'000'000'000'000 + i)};
        auto note = es::sign_checkpoint(body, key);
        if (!note) throw std::runtime_error(note.error().message);
        return *note;
    }
};

void BM_sign_checkpoint(benchmark::State& state) {
    signing_fixture f;
    std::uint64_t i = 0;
    std::size_t bytes = 0;
    for (auto _ : state) bytes = f.sign(++i).size();
    state.counters["note_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_sign_checkpoint)->Unit(benchmark::kMicrosecond);

void BM_sign_and_persist_checkpoint(benchmark::State& state) {
    signing_fixture f;
    std::uint64_t i = 0;
    for (auto _ : state)
        if (!f.store->put_meta("checkpoint/latest", f.sign(++i))) state.SkipWithError("put_meta failed");
}
BENCHMARK(BM_sign_and_persist_checkpoint)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
