// Event-store throughput against raw RocksDB doing the same work.
// Every benchmark runs the store and the raw equivalent in the same iteration and reports both
// rates and their ratio as counters (store_per_s, raw_per_s, ratio = store / raw).
// Run: build-es/tests/bench/bench_eventstore [--benchmark_filter=...]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "roster/eventstore/store.hpp"
#include "temp_dir.hpp"

namespace {

using namespace roster;
using clock_type = std::chrono::steady_clock;

class temp_dir : public test_support::temp_dir {
public:
    temp_dir() : test_support::temp_dir("roster-es-bench") {}
};

std::string be64(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    return s;
}

// A representative command event with full metadata.
eventstore::new_event sample(int writer, std::uint64_t i) {
    eventstore::new_event e;
    e.payload = domain::roles_granted{domain::account_id("account-" + std::to_string(writer)),
                                      domain::user_id("user-" + std::to_string(i % 1000)),
                                      domain::role_set::of({domain::role::support_admin, domain::role::impact_member})};
    e.meta.actor = {"user:admin-" + std::to_string(writer), "tok-3f2a9c", "10.1.2.3:51234"};
    e.meta.request_id = "req-" + std::to_string(i);
    e.meta.correlation_id = "corr-" + std::to_string(i);
    return e;
}

// Size of a stored envelope, so that raw RocksDB writes values of the same size.
std::size_t envelope_bytes() {
    temp_dir dir;
    {
        auto s = std::move(*eventstore::store::open(dir.path() / "db"));
        eventstore::append_batch b;
        b.events.push_back(sample(0, 123456));
        (void)s->append(std::move(b));
    }
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"streams", {}}, {"idempotency", {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* db = nullptr;
    if (!rocksdb::DB::OpenForReadOnly(o, (dir.path() / "db").string(), cfs, &h, &db).ok()) return 256;
    std::string v;
    (void)db->Get({}, h[1], be64(1), &v);
    for (auto* x : h) db->DestroyColumnFamilyHandle(x);
    delete db;
    return v.size();
}

// Raw RocksDB with the store's layout minus everything the store adds (checks, encoding,
// hashing, ordering): a log CF and an index CF.
struct raw_db {
    std::unique_ptr<rocksdb::DB> db;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    explicit raw_db(const std::filesystem::path& dir, bool read_only = false) {
        rocksdb::Options o;
        o.create_if_missing = true;
        o.create_missing_column_families = true;
        o.max_background_jobs = 2;
        std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
            {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"streams", {}}, {"idempotency", {}}, {"meta", {}}};
        rocksdb::DB* raw = nullptr;
        auto s = read_only ? rocksdb::DB::OpenForReadOnly(o, dir.string(), cfs, &handles, &raw)
                           : rocksdb::DB::Open(o, dir.string(), cfs, &handles, &raw);
        if (!s.ok()) throw std::runtime_error(s.ToString());
        db.reset(raw);
    }
    ~raw_db() {
        for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    }
};

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// `writers` threads each append `per_writer` batches of `batch_size` events, durably.
double run_store(int writers, int per_writer, int batch_size, eventstore::commit_mode mode) {
    temp_dir dir;
    eventstore::store_options o;
    o.mode = mode;
    auto s = std::move(*eventstore::store::open(dir.path() / "db", o));
    std::atomic<bool> failed{false};
    const auto start = clock_type::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < per_writer; ++i) {
                eventstore::append_batch b;
                for (int k = 0; k < batch_size; ++k)
                    b.events.push_back(sample(w, static_cast<std::uint64_t>(i * batch_size + k)));
                if (!s->append(std::move(b))) failed = true;
            }
        });
    for (auto& t : threads) t.join();
    const double secs = seconds_since(start);
    if (failed) throw std::runtime_error("append failed");
    return static_cast<double>(writers) * per_writer * batch_size / secs;
}

// The same with raw RocksDB: each thread db->Write(sync) of a WriteBatch holding, per event, a
// record of the envelope's size plus an index key; RocksDB groups concurrent writers itself.
double run_raw(int writers, int per_writer, int batch_size, std::size_t value_size) {
    temp_dir dir;
    raw_db r(dir.path() / "db");
    std::atomic<std::uint64_t> next{1};
    const std::string value(value_size, 'v');
    const auto start = clock_type::now();
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            rocksdb::WriteOptions wo;
            wo.sync = true;
            for (int i = 0; i < per_writer; ++i) {
                rocksdb::WriteBatch wb;
                for (int k = 0; k < batch_size; ++k) {
                    const auto pos = next++;
                    wb.Put(r.handles[1], be64(pos), value);
                    wb.Put(r.handles[2], "account-" + std::to_string(w) + '\0' + be64(pos), be64(pos));
                }
                if (!r.db->Write(wo, &wb).ok()) failed = true;
            }
        });
    for (auto& t : threads) t.join();
    const double secs = seconds_since(start);
    if (failed) throw std::runtime_error("raw write failed");
    return static_cast<double>(writers) * per_writer * batch_size / secs;
}

void report(benchmark::State& state, double store_rate, double raw_rate) {
    state.counters["store_per_s"] = store_rate;
    state.counters["raw_per_s"] = raw_rate;
    state.counters["ratio"] = store_rate / raw_rate;
}

// Args: writers, appends per writer, events per append, mode (0 = writer thread, 1 = inline).
void BM_durable_append(benchmark::State& state) {
    const int writers = static_cast<int>(state.range(0));
    const int per_writer = static_cast<int>(state.range(1));
    const int batch = static_cast<int>(state.range(2));
    const auto mode =
        state.range(3) == 0 ? eventstore::commit_mode::writer_thread : eventstore::commit_mode::inline_per_call;
    static const std::size_t value_size = envelope_bytes();
    // The disk is shared with other work, so fsync latency drifts: store and raw runs alternate
    // and the best rate of each is reported.
    double store_rate = 0, raw_rate = 0;
    for (auto _ : state) {
        const double s = run_store(writers, per_writer, batch, mode);
        raw_rate = std::max(raw_rate, run_raw(writers, per_writer, batch, value_size));
        store_rate = std::max(store_rate, s);
        state.SetIterationTime(static_cast<double>(writers) * per_writer * batch / s);
    }
    state.SetItemsProcessed(state.iterations() * writers * per_writer * batch);
    state.counters["envelope_bytes"] = static_cast<double>(value_size);
    report(state, store_rate, raw_rate);
}
BENCHMARK(BM_durable_append)
    ->ArgNames({"writers", "appends", "events", "inline"})
    ->Args({1, 1000, 1, 0})
    ->Args({8, 250, 1, 0})
    ->Args({8, 250, 1, 1})
    ->Args({1, 300, 100, 0})
    ->Args({8, 40, 100, 0})
    ->UseManualTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// Full forward scan of 1,000,000 events: decoded by the store vs a raw iterator over the same files.
void BM_full_scan(benchmark::State& state) {
    const std::uint64_t events = static_cast<std::uint64_t>(state.range(0));
    temp_dir dir;
    const auto db_dir = dir.path() / "db";
    auto s = std::move(*eventstore::store::open(db_dir));
    {
        // Keep background flushes/compactions of the setup out of the timed scans: compact the
        // log once, then reopen.
        struct settle {
            std::filesystem::path dir;
            std::unique_ptr<eventstore::store>& s;
            ~settle() {
                s.reset();
                {
                    raw_db rw(dir);
                    (void)rw.db->Flush(rocksdb::FlushOptions(), rw.handles[1]);
                    (void)rw.db->CompactRange(rocksdb::CompactRangeOptions(), rw.handles[1], nullptr, nullptr);
                }
                s = std::move(*eventstore::store::open(dir));
            }
        } settle_after_setup{db_dir, s};
        // Large batches: one fsync per 10,000 events keeps the setup short.
        constexpr std::uint64_t per_batch = 10'000;
        for (std::uint64_t done = 0; done < events; done += per_batch) {
            eventstore::append_batch b;
            for (std::uint64_t i = 0; i < std::min(per_batch, events - done); ++i)
                b.events.push_back(sample(static_cast<int>((done + i) % 64), done + i));
            if (!s->append(std::move(b))) throw std::runtime_error("setup append failed");
        }
    }
    raw_db raw(db_dir, /*read_only=*/true);  // beside the open store, as rosterctl would

    auto scan_store = [&] {
        std::uint64_t n = 0, sum = 0;
        auto r = s->read_from(eventstore::log_position{1}, SIZE_MAX, [&](const eventstore::recorded_event& e) {
            ++n;
            sum += e.version.value + e.stream.size() + e.meta.request_id.size();
            return true;
        });
        if (!r || n != events) throw std::runtime_error("store scan failed");
        benchmark::DoNotOptimize(sum);
    };
    auto scan_raw = [&] {
        std::uint64_t n = 0, sum = 0;
        std::unique_ptr<rocksdb::Iterator> it(raw.db->NewIterator({}, raw.handles[1]));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            ++n;
            sum += it->key().size() + it->value().size() + static_cast<unsigned char>(it->value()[0]);
        }
        if (!it->status().ok() || n != events) throw std::runtime_error("raw scan failed");
        benchmark::DoNotOptimize(sum);
    };
    scan_store();  // warm the block cache and page cache for both
    scan_raw();
    double store_secs = 1e9, raw_secs = 1e9;  // best of the iterations, like the appends
    for (auto _ : state) {
        auto t = clock_type::now();
        scan_store();
        const double s = seconds_since(t);
        store_secs = std::min(store_secs, s);
        t = clock_type::now();
        scan_raw();
        raw_secs = std::min(raw_secs, seconds_since(t));
        state.SetIterationTime(s);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events));
    report(state, static_cast<double>(events) / store_secs, static_cast<double>(events) / raw_secs);
}
BENCHMARK(BM_full_scan)->Arg(1'000'000)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
