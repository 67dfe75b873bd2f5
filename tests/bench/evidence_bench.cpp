// Evidence pack of one account (~1,000 of its events) in a log of 1,000,000 events, beside the
// same-run raw baseline: RocksDB point reads of those events' stored bytes, nothing else.
//   pack    history-index walk + per event: envelope read and decode, JSON, inclusion proof
//           (stored subtrees), three tar entries; then the manifest and its signature
//   raw     rocksdb Get of each selected position in the log column family
// Counters: events, pack_bytes, per_event_us, raw_per_event_us, ratio = pack time / raw time.
// The log is generated once per run (bench_log.hpp, 1,000 accounts of 20 users), the
// Merkle tree built by a real checkpointer and the history index by one scan.
// ROSTER_EVIDENCE_BENCH_EVENTS overrides the log size.
// Run: build/tests/bench/bench_evidence
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include "bench_log.hpp"
#include "roster/api/checkpointer.hpp"
#include "roster/eventstore/store.hpp"
#include "roster/projections/history_index.hpp"
#include "roster/replay/evidence.hpp"

namespace {

using namespace roster;
using clock_type = std::chrono::steady_clock;
namespace es = roster::eventstore;

std::uint64_t total_events() {
    const char* v = std::getenv("ROSTER_EVIDENCE_BENCH_EVENTS");
    return v ? std::strtoull(v, nullptr, 10) : 1'000'000;
}

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

std::string be64(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    return s;
}

struct fixture {
    std::filesystem::path dir;
    std::unique_ptr<es::store> store;
    std::unique_ptr<api::checkpointer> checkpoints;
    projections::history_index index;
    double setup_seconds = 0;

    fixture() {
        const auto start = clock_type::now();
        std::random_device rd;
        dir = std::filesystem::temp_directory_path() / ("roster-evidence-bench-" + std::to_string(rd()));
        es::store_options o;
        o.sync = false;  // generation only
        store = std::move(es::store::open(dir, o).value());
        generate();
        checkpoints = std::make_unique<api::checkpointer>(*store, es::signing_key::generate("bench/log").value(),
                                                          api::checkpointer_options{.origin = "bench/log"});
        checkpoints->start().value();
        if (!checkpoints->sign_through(store->head().position.value, std::chrono::minutes(5)))
            throw std::runtime_error("no checkpoint");
        domain::state unused;
        store->read_from(es::log_position{1}, SIZE_MAX, [&](const es::recorded_event& e) {
            index.add(e, unused);
            return true;
        });
        setup_seconds = seconds_since(start);
    }
    ~fixture() {
        checkpoints.reset();
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    // bench_replay's log shape (bench_log.hpp) with 20 employees an account: each account gets
    // about total / 1,000 events.
    void generate() { roster::bench::generate_log(*store, {.users = 20'000, .events = total_events()}); }

    std::vector<es::log_position> positions(const std::string& account) const {
        projections::history_page_request r;
        r.id = account;
        r.limit = replay::max_pack_events;
        return index.page(r).value();  // a fresh in-memory index: nothing to damage
    }
};

fixture& fx() {
    static fixture f;
    return f;
}

void BM_evidence_pack(benchmark::State& state) {
    auto& f = fx();
    const auto cp = f.checkpoints->latest().value();
    std::size_t events = 0, bytes = 0;
    double pack_s = 0, raw_s = 0;
    for (auto _ : state) {
        auto t = clock_type::now();
        auto positions = f.positions("acc-7");
        events = positions.size();
        const auto key = f.checkpoints->key();
        replay::evidence_writer w(
            *f.store, std::make_unique<api::stored_subtrees>(*f.store), {"acc-7", "", ""}, positions,
            {cp.note, cp.body, key->verifier(), [key](std::string_view text) { return es::sign_note(text, *key); }, {}},
            domain::timestamp{});
        std::string piece;
        bytes = 0;
        for (bool more = true; more;) {
            piece.clear();
            more = w.next(piece).value();
            bytes += piece.size();
        }
        pack_s += seconds_since(t);

        // Baseline: the same events' bytes, straight from RocksDB.
        rocksdb::Options o;
        std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
            {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"streams", {}}, {"idempotency", {}}, {"meta", {}}};
        std::vector<rocksdb::ColumnFamilyHandle*> handles;
        rocksdb::DB* raw = nullptr;
        auto s = rocksdb::DB::OpenForReadOnly(o, f.dir.string(), cfs, &handles, &raw);
        if (!s.ok()) throw std::runtime_error(s.ToString());
        std::unique_ptr<rocksdb::DB> db(raw);
        t = clock_type::now();
        std::size_t raw_bytes = 0;
        for (auto p : positions) {
            rocksdb::PinnableSlice v;
            if (db->Get(rocksdb::ReadOptions(), handles[1], be64(p.value), &v).ok()) raw_bytes += v.size();
        }
        raw_s += seconds_since(t);
        benchmark::DoNotOptimize(raw_bytes);
        for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    }
    const double iters = static_cast<double>(state.iterations());
    state.counters["log_events"] = static_cast<double>(f.store->head().position.value);
    state.counters["events"] = static_cast<double>(events);
    state.counters["pack_bytes"] = static_cast<double>(bytes);
    state.counters["pack_ms"] = pack_s / iters * 1e3;
    state.counters["raw_ms"] = raw_s / iters * 1e3;
    state.counters["per_event_us"] = pack_s / iters / static_cast<double>(events) * 1e6;
    state.counters["raw_per_event_us"] = raw_s / iters / static_cast<double>(events) * 1e6;
    state.counters["ratio"] = pack_s / raw_s;
    state.counters["setup_s"] = f.setup_seconds;
}
BENCHMARK(BM_evidence_pack)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
