// Raw RocksDB durable-write baseline for ops/bench.sh (issue 15): `--writers` threads, each doing
// db->Write(sync=true) of a WriteBatch of `--batch` records (per record: a log value of
// `--value-bytes` plus a stream-index key, the store's layout minus everything the store adds),
// for `--seconds`. RocksDB groups concurrent synced writers itself. Prints one line:
//   records_per_s=N writes_per_s=N p99_ms=N writers=N batch=N value_bytes=N
//   build-release/tests/bench/baseline_rocksdb [--writers 64] [--batch 1] [--seconds 5] [--value-bytes 400]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <rocksdb/db.h>

namespace {

using clock_type = std::chrono::steady_clock;

std::string be64(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    int writers = 64, batch = 1;
    double seconds = 5;
    std::size_t value_bytes = 400;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view a = argv[i];
        if (a == "--writers")
            writers = std::atoi(argv[i + 1]);
        else if (a == "--batch")
            batch = std::atoi(argv[i + 1]);
        else if (a == "--seconds")
            seconds = std::atof(argv[i + 1]);
        else if (a == "--value-bytes")
            value_bytes = std::strtoull(argv[i + 1], nullptr, 10);
        else {
            std::fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    std::random_device rd;
    const auto dir = std::filesystem::temp_directory_path() / ("roster-baseline-rocksdb-" + std::to_string(rd()));
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"streams", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    if (auto s = rocksdb::DB::Open(o, dir.string(), cfs, &handles, &raw); !s.ok()) {
        std::fprintf(stderr, "open: %s\n", s.ToString().c_str());
        return 1;
    }
    std::atomic<std::uint64_t> next{1};
    std::atomic<bool> failed{false};
    const std::string value(value_bytes, 'v');
    std::vector<std::vector<float>> latencies(static_cast<std::size_t>(writers));
    const auto start = clock_type::now();
    const auto deadline =
        start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            rocksdb::WriteOptions wo;
            wo.sync = true;
            auto& lat = latencies[static_cast<std::size_t>(w)];
            while (clock_type::now() < deadline) {
                rocksdb::WriteBatch wb;
                for (int k = 0; k < batch; ++k) {
                    const auto pos = next++;
                    wb.Put(handles[1], be64(pos), value);
                    wb.Put(handles[2], "stream-" + std::to_string(w) + '\0' + be64(pos), be64(pos));
                }
                const auto t = clock_type::now();
                if (!raw->Write(wo, &wb).ok()) failed = true;
                lat.push_back(std::chrono::duration<float, std::milli>(clock_type::now() - t).count());
            }
        });
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (failed) {
        std::fprintf(stderr, "a write failed\n");
        return 1;
    }
    std::vector<float> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    const double p99 = all.empty() ? 0 : all[std::min(all.size() - 1, all.size() * 99 / 100)];
    std::printf("records_per_s=%.0f writes_per_s=%.0f p99_ms=%.2f writers=%d batch=%d value_bytes=%zu\n",
                static_cast<double>(all.size()) * batch / secs, static_cast<double>(all.size()) / secs, p99, writers,
                batch, value_bytes);
}
