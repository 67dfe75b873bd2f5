// Helper process of crash_test: appends from several threads until it is killed, writing each
// acknowledged (durable) position to stdout as 8 raw bytes. Writes of <= PIPE_BUF bytes to a
// pipe are atomic, so records of different threads never interleave.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "roster/eventstore/store.hpp"

using namespace roster;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DB_DIR THREADS\n", argv[0]);
        return 2;
    }
    auto s = eventstore::store::open(argv[1]);
    if (!s) {
        std::fprintf(stderr, "open: %s\n", s.error().message.c_str());
        return 3;
    }
    auto& st = **s;
    const int threads = std::stoi(argv[2]);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&st, t] {
            for (std::uint64_t i = 0;; ++i) {
                eventstore::append_batch b;
                // Alternate single events and two-stream batches so atomic multi-event batches are
                // exercised by the crash too.
                b.events.push_back({domain::user_locked{domain::user_id("t" + std::to_string(t))}, std::nullopt, {}});
                if (i % 2 == 1)
                    b.events.push_back(
                        {domain::user_unlocked{domain::user_id("x" + std::to_string(t))}, std::nullopt, {}});
                b.events.back().meta.request_id = "crash-" + std::to_string(t) + "-" + std::to_string(i);
                auto r = st.append(std::move(b));
                if (!r) {
                    std::fprintf(stderr, "append: %s\n", r.error().message.c_str());
                    _exit(4);
                }
                for (std::uint64_t p = r->first_position.value; p <= r->last_position.value; ++p) {
                    unsigned char rec[8];
                    for (int k = 0; k < 8; ++k) rec[k] = static_cast<unsigned char>(p >> (56 - 8 * k));
                    if (::write(1, rec, sizeof rec) != static_cast<ssize_t>(sizeof rec)) _exit(5);
                }
            }
        });
    for (auto& w : workers) w.join();
}
