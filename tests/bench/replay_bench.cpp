// Compliance replay at 1,000,000 events, each figure beside a raw RocksDB scan of the same log
// in the same run (counters: per_s, raw_per_s, ratio = per_s / raw_per_s):
//   rebuild   fold every event into the read model from position 0 (what rosterd does at start)
//   verify    recompute the SHA-256 chain
//   export    JSON Lines of every event into a discarding sink
//   as_of     latency of one as-of state at a random position: cold (snapshots every 100k,
//             empty cache), warm (cached), and without snapshots (a fold from 0) as its baseline.
// The log is generated once per run (bench_log.hpp: ~1M events in big append_group batches, unsynced).
// Run: build/tests/bench/bench_replay   (about 2-3 minutes on the shared 2-core machine)
#include <chrono>
#include <filesystem>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include "bench_log.hpp"
#include "roster/eventstore/store.hpp"
#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"
#include "roster/replay/export.hpp"

namespace {

using namespace roster;
using clock_type = std::chrono::steady_clock;
// ROSTER_BENCH_LOG_EVENTS overrides the size (ops/bench.sh --quick).
const std::uint64_t total_events = bench::log_events();
constexpr std::uint64_t snapshot_every = 100'000;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

struct fixture {
    std::filesystem::path dir;
    std::unique_ptr<eventstore::store> store;

    fixture() {
        std::random_device rd;
        dir = std::filesystem::temp_directory_path() / ("roster-replay-bench-" + std::to_string(rd()));
        eventstore::store_options o;
        o.sync = false;  // generation only; the log is the same as a synced one
        auto s = eventstore::store::open(dir, o);
        if (!s) throw std::runtime_error(s.error().message);
        store = std::move(*s);
        generate();
    }
    ~fixture() {
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    void generate() { bench::generate_log(*store, {.events = total_events}); }

    double raw_scan_seconds() const { return bench::raw_log_scan_seconds(dir, total_events); }
};

fixture& data() {
    static fixture f;
    return f;
}

// Times `work` once per iteration, then one raw scan, and reports both rates.
template <class F>
void versus_raw(benchmark::State& state, F work) {
    auto& f = data();
    f.raw_scan_seconds();  // warm the caches for both sides
    double best = 1e9, raw = 1e9;
    for (auto _ : state) {
        const auto t = clock_type::now();
        work(f);
        const double s = seconds_since(t);
        best = std::min(best, s);
        raw = std::min(raw, f.raw_scan_seconds());
        state.SetIterationTime(s);
    }
    state.counters["per_s"] = total_events / best;
    state.counters["raw_per_s"] = total_events / raw;
    state.counters["ratio"] = raw / best;
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(total_events));
}

void BM_rebuild(benchmark::State& state) {
    versus_raw(state, [](fixture& f) {
        projections::read_model m;
        if (!m.catch_up(*f.store) || m.position().value != total_events) throw std::runtime_error("rebuild");
    });
}
BENCHMARK(BM_rebuild)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);

void BM_verify(benchmark::State& state) {
    versus_raw(state, [](fixture& f) {
        auto r = f.store->verify();
        if (!r.ok || r.checked != total_events) throw std::runtime_error("verify");
    });
}
BENCHMARK(BM_verify)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);

void BM_export_jsonl(benchmark::State& state) {
    versus_raw(state, [](fixture& f) {
        replay::export_reader r(*f.store, replay::export_format::jsonl, eventstore::log_position{1},
                                eventstore::log_position::max());
        std::string chunk;
        std::uint64_t bytes = 0;
        while (true) {
            chunk.clear();
            auto more = r.next(chunk);
            if (!more) throw std::runtime_error("export");
            bytes += chunk.size();
            if (!*more) break;
        }
        benchmark::DoNotOptimize(bytes);
        if (r.rows() != total_events) throw std::runtime_error("export rows");
    });
}
BENCHMARK(BM_export_jsonl)->UseManualTime()->Iterations(2)->Unit(benchmark::kMillisecond);

// Snapshots are written once (what rosterd's background thread does as the log grows).
projections::past_states& with_snapshots() {
    static projections::past_states past(*data().store, {.snapshot_every = snapshot_every});
    static bool taken = [] {
        const auto t = clock_type::now();
        auto r = past.take_snapshots(*data().store);
        if (!r) throw std::runtime_error("snapshots");
        std::fprintf(stderr, "took %zu snapshots in %.1f s\n", *r, seconds_since(t));
        return true;
    }();
    (void)taken;
    return past;
}

eventstore::log_position random_position(std::mt19937_64& rng) {
    return eventstore::log_position{1 + rng() % total_events};
}

void BM_as_of_cold(benchmark::State& state) {
    auto& store = *data().store;
    with_snapshots();
    std::mt19937_64 rng(7);
    for (auto _ : state) {
        const auto p = random_position(rng);
        // A fresh object: empty cache, snapshots only (as after a restart).
        projections::past_states past(store, {.snapshot_every = snapshot_every});
        const auto t = clock_type::now();
        auto m = past.at(p);
        state.SetIterationTime(seconds_since(t));
        if (!m || (*m)->position() != p) throw std::runtime_error("as_of");
    }
}
BENCHMARK(BM_as_of_cold)->UseManualTime()->Iterations(10)->Unit(benchmark::kMillisecond);

void BM_as_of_warm(benchmark::State& state) {
    auto& past = with_snapshots();
    const eventstore::log_position p{total_events / 8 * 7};
    if (!past.at(p)) throw std::runtime_error("as_of");
    for (auto _ : state) {
        auto m = past.at(p);
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK(BM_as_of_warm)->Unit(benchmark::kMicrosecond);

void BM_as_of_without_snapshots(benchmark::State& state) {
    auto& store = *data().store;
    std::mt19937_64 rng(7);
    for (auto _ : state) {
        const auto p = random_position(rng);
        const auto t = clock_type::now();
        projections::read_model m(projections::read_model_options{.history_index = false});
        if (!m.catch_up(store, p)) throw std::runtime_error("fold");
        state.SetIterationTime(seconds_since(t));
    }
}
BENCHMARK(BM_as_of_without_snapshots)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
