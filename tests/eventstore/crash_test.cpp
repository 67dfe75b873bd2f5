// Kills a real appending process with SIGKILL at random moments and checks, after each kill,
// that every position it acknowledged is durable and the log is dense and verifies.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <chrono>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "spawn.hpp"
#include "test_util.hpp"

namespace roster::eventstore {
namespace {

using namespace testing;

// Runs the child for `run_for`, kills it with SIGKILL and returns every position it acknowledged.
std::vector<std::uint64_t> run_and_kill(const std::filesystem::path& db, std::chrono::milliseconds run_for) {
    const auto child = test_support::spawn_with_stdout_pipe({ROSTER_CRASH_CHILD, db.string(), "4"});
    const pid_t pid = child.pid;
    const int out = child.stdout_fd;

    std::string bytes;
    char buf[4096];
    auto read_some = [&](int timeout_ms) {
        pollfd p{out, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0) return false;
        const auto n = ::read(out, buf, sizeof buf);
        if (n <= 0) return false;
        bytes.append(buf, static_cast<std::size_t>(n));
        return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + run_for;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        read_some(static_cast<int>(std::max<std::int64_t>(1, left.count())));
    }
    ::kill(pid, SIGKILL);
    // Everything written before the kill is still in the pipe: drain it to EOF.
    while (read_some(5000)) {}
    ::close(out);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        throw std::runtime_error("child ended on its own, status " + std::to_string(status));

    std::vector<std::uint64_t> acked;
    for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        std::uint64_t p = 0;
        for (int k = 0; k < 8; ++k) p = (p << 8) | static_cast<unsigned char>(bytes[i + static_cast<std::size_t>(k)]);
        acked.push_back(p);
    }
    return acked;
}

TEST(Crash, KilledWriterLosesNoAcknowledgedEvent) {
    temp_dir dir;
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> run_ms(5, 250);
    constexpr int cycles = 24;
    std::set<std::uint64_t> all_acked;
    std::uint64_t last_head = 0;
    for (int cycle = 0; cycle < cycles; ++cycle) {
        const auto acked = run_and_kill(dir.db(), std::chrono::milliseconds(run_ms(rng)));
        all_acked.insert(acked.begin(), acked.end());

        auto opened_store = store::open(dir.db());
        ASSERT_TRUE(opened_store.has_value()) << "cycle " << cycle << ": " << opened_store.error().message;
        auto& s = **opened_store;
        const auto h = s.head();
        ASSERT_GE(h.position.value, last_head) << "cycle " << cycle;  // nothing durable ever disappears
        last_head = h.position.value;
        if (!all_acked.empty()) {
            ASSERT_GE(h.position.value, *all_acked.rbegin()) << "cycle " << cycle;
        }
        for (auto p : acked) {
            auto e = s.read_at(log_position{p});
            ASSERT_TRUE(e.has_value()) << "cycle " << cycle << " position " << p;
            ASSERT_TRUE(e->has_value()) << "cycle " << cycle << ": acknowledged position " << p << " lost";
            EXPECT_EQ((*e)->position.value, p);
        }
        auto v = s.verify();
        ASSERT_TRUE(v.ok) << "cycle " << cycle << ": " << v.message;
        ASSERT_EQ(v.checked, h.position.value) << "cycle " << cycle;  // dense from 1 to the head
        // Stream versions are dense too: the index agrees with the log.
        for (int t = 0; t < 4; ++t) {
            std::uint64_t expect = 1;
            ASSERT_TRUE(
                s.read_stream("user-t" + std::to_string(t), stream_version{1}, SIZE_MAX, [&](const recorded_event& e) {
                     EXPECT_EQ(e.version.value, expect++);
                     return true;
                 }).has_value());
            EXPECT_EQ(s.stream_version("user-t" + std::to_string(t)).value, expect - 1);
        }
    }
    EXPECT_GT(all_acked.size(), 0u) << "the child never acknowledged anything: the test proved nothing";
}

}  // namespace
}  // namespace roster::eventstore
