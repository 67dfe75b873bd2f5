#include <thread>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace roster::eventstore {
namespace {

using namespace testing;

TEST(StorageFault, FailedGroupFailsEveryBatchAndLeavesNothing) {
    temp_dir dir;
    auto s = std::move(*store::open(dir.db()));
    ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    const auto before = s->head();
    int commits = 0;
    auto sub = s->subscribe([&](std::uint64_t) { ++commits; });

    s->fail_next_writes_for_testing(1);
    std::vector<append_batch> group;
    group.push_back(one(locked("a"), 1));
    group.push_back(batch_of({ev(locked("b")), ev(opened("x"))}, "key", "fp"));
    group.push_back(one(locked("c")));
    group.push_back(one(locked("a"), 1));  // would conflict with the first batch of the group
    auto r = s->append_group(std::move(group));
    ASSERT_EQ(r.size(), 4u);
    for (auto& x : r) {
        ASSERT_FALSE(x.has_value());
        EXPECT_EQ(x.error().code, errc::storage_unavailable);
    }
    EXPECT_EQ(s->head().position, before.position);
    EXPECT_EQ(s->head().hash, before.hash);
    EXPECT_EQ(s->stream_version("user-a"), 1u);
    EXPECT_EQ(s->stream_version("user-b"), 0u);
    EXPECT_EQ(commits, 0);
    std::size_t n = 0;
    ASSERT_TRUE(s->read_from(1, 100, [&](const recorded_event&) { return ++n, true; }).has_value());
    EXPECT_EQ(n, 1u);

    // The store works again, and the failed idempotency key was never recorded.
    auto again = s->append(batch_of({ev(locked("b"))}, "key", "fp-other"));
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_FALSE(again->duplicate);
    EXPECT_EQ(again->first_position, 2u);
    EXPECT_EQ(again->recorded_at >= before.recorded_at, true);
    auto next = s->append(one(locked("a"), 1));
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(commits, 2);
    auto all = s->verify();
    EXPECT_TRUE(all.ok) << all.message;
    EXPECT_EQ(all.checked, 3u);
}

TEST(StorageFault, ConcurrentWaitersOfAFailedGroupAllSeeTheFailure) {
    temp_dir dir;
    auto s = std::move(*store::open(dir.db()));
    ASSERT_TRUE(s->append(one(locked("seed"))).has_value());
    // Fail many writes so that every concurrent caller hits one, however they are grouped.
    s->fail_next_writes_for_testing(1000);
    constexpr int callers = 8;
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (int i = 0; i < callers; ++i)
        threads.emplace_back([&, i] {
            auto r = s->append(one(locked("t" + std::to_string(i))));
            if (!r && r.error().code == errc::storage_unavailable) ++failed;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failed.load(), callers);
    EXPECT_EQ(s->head().position, 1u);
    s->fail_next_writes_for_testing(0);
    auto ok = s->append(one(locked("t0"), 0));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->first_position, 2u);
    s.reset();
    auto reopened = std::move(*store::open(dir.db()));
    EXPECT_EQ(reopened->head().position, 2u);
    EXPECT_TRUE(reopened->verify().ok);
}

}  // namespace
}  // namespace roster::eventstore
