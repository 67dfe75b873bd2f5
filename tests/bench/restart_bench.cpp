// Restart from projection checkpoints (issue 15), measured in-process on a seeded log:
//   bench_restart <data-dir> [events] [users]
// Seeds <data-dir>/eventstore with bench_log's generator when it holds no log (unsynced, fast),
// then times the full fold of the read model, the copy of its state that is the write model,
// writing a checkpoint, and a start from it (restore + tail). The per-event fold cost is what a
// kill -9 restart pays for each event after the last checkpoint. A real rosterd start on the
// same directory (`rosterd --data-dir <data-dir>`, /readyz) measures the rest of the start-up.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

#include "bench_log.hpp"
#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"
#include "roster/projections/restart_checkpoint.hpp"

namespace {

using namespace roster;
using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

long rss_kib() {
    long kib = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        long pages = 0, resident = 0;
        if (std::fscanf(f, "%ld %ld", &pages, &resident) == 2) kib = resident * 4;
        std::fclose(f);
    }
    return kib;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_restart <data-dir> [events] [users]\n");
        return 2;
    }
    const std::filesystem::path dir = eventstore::store_dir(argv[1]);
    bench::log_shape shape;
    if (argc > 2) shape.events = std::strtoull(argv[2], nullptr, 10);
    if (argc > 3) shape.users = std::atoi(argv[3]);
    {
        auto s = eventstore::store::open(dir, {.sync = false});
        if (!s) return std::fprintf(stderr, "%s\n", s.error().message.c_str()), 1;
        if ((*s)->head().position.value == 0) {
            const auto t = clock_type::now();
            bench::generate_log(**s, shape);
            std::printf("seeded %llu events (%d users) in %.1f s\n",
                        static_cast<unsigned long long>((*s)->head().position.value), shape.users, since(t));
        }
    }
    auto opened = eventstore::store::open(dir);
    if (!opened) return std::fprintf(stderr, "%s\n", opened.error().message.c_str()), 1;
    auto& store = **opened;
    const auto head = store.head().position.value;
    const long rss0 = rss_kib();

    projections::read_model full;
    auto t = clock_type::now();
    if (auto r = projections::restore_from_checkpoint(full, store, /*rebuild=*/true); !r) return 1;
    const double fold_s = since(t);
    const long rss_folded = rss_kib();
    t = clock_type::now();
    domain::state write_model;
    full.read([&](const projections::read_view& v) { write_model = v.state; });
    const double copy_s = since(t);

    // What the writer's start-up did before: a second full fold, of the write model alone.
    t = clock_type::now();
    domain::state folded_write_model;
    if (!store.read_from(eventstore::log_position{1}, SIZE_MAX, [&](const eventstore::recorded_event& e) {
            domain::apply(folded_write_model, e.payload, e.position);
            return true;
        }))
        return 1;
    const double write_fold_s = since(t);

    projections::past_states past(store);
    t = clock_type::now();
    auto written = projections::write_checkpoint(store, full, past);
    if (!written) return std::fprintf(stderr, "%s\n", written.error().message.c_str()), 1;
    const double write_s = since(t);
    const auto record = store.get_meta(projections::checkpoint_key).value_or("");
    const auto snapshot = store.get_meta(projections::past_states::snapshot_key(*written)).value_or("");

    projections::read_model restarted;
    t = clock_type::now();
    const auto cpu = std::clock();
    auto r = projections::restore_from_checkpoint(restarted, store);
    const double restore_s = since(t);
    const double restore_cpu_s = static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC;
    if (!r || r->checkpoint != *written) return std::fprintf(stderr, "the checkpoint was not used\n"), 1;
    const bool same = restarted.fingerprint() == full.fingerprint();

    std::printf("log: %llu events\n", static_cast<unsigned long long>(head));
    std::printf("full fold (read model): %.2f s = %.2f us/event (the tail cost after kill -9)\n", fold_s,
                fold_s * 1e6 / static_cast<double>(head));
    std::printf("write model: full fold %.2f s (before), copy of the read model's state %.3f s (now)\n", write_fold_s,
                copy_s);
    std::printf(
        "write checkpoint: %.3f s (snapshot %.1f MiB, record %.1f KiB; the history index goes to the store "
        "in segments)\n",
        write_s, static_cast<double>(snapshot.size()) / 1048576, static_cast<double>(record.size()) / 1024);
    std::printf("start from checkpoint (decode snapshot, fold %llu): %.3f s (%.3f s of CPU)\n",
                static_cast<unsigned long long>(r->folded), restore_s, restore_cpu_s);

    // History pages now read the store's segments: the first page of 1000 users' histories.
    t = clock_type::now();
    std::size_t listed = 0;
    restarted.read([&](const projections::read_view& v) {
        for (int u = 0; u < 1000; ++u) {
            projections::history_page_request q{projections::history_subject::user,
                                                "usr-" + std::to_string(u * (shape.users / 1000))};
            auto page = v.history->page(q);
            if (!page) throw std::runtime_error(page.error().message);
            listed += page->size();
        }
    });
    std::printf("history: 1000 first pages from the persisted segments in %.3f s (%zu positions)\n", since(t), listed);
    std::printf("restored equals full fold: %s\n", same ? "yes" : "NO");
    std::printf("RSS: %ld KiB before, %ld KiB after the fold (%.2f KiB/user for %d users)\n", rss0, rss_folded,
                static_cast<double>(rss_folded - rss0) / shape.users, shape.users);
    return same ? 0 : 1;
}
