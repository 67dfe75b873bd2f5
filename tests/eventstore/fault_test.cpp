#include <thread>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace roster::eventstore {
namespace {

using namespace testing;

// A store whose WAL appends fail on demand (store_options::faults).
struct faulty_store {
    std::shared_ptr<write_faults> faults = std::make_shared<write_faults>();
    std::unique_ptr<store> s;
    explicit faulty_store(const std::filesystem::path& dir, store_options options = {}) {
        options.faults = faults;
        auto r = store::open(dir, options);
        EXPECT_TRUE(r.has_value()) << r.error().message;
        s = std::move(*r);
    }
};

TEST(StorageFault, FailedGroupFailsEveryBatchAndLeavesNothing) {
    temp_dir dir;
    faulty_store f(dir.db());
    auto& s = f.s;
    ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    const auto before = s->head();
    int commits = 0;
    auto sub = s->subscribe([&](log_position) { ++commits; });

    f.faults->fail_next(1);
    std::vector<append_batch> group;
    group.push_back(one(locked("a"), 2));
    group.push_back(batch_of({ev(locked("b")), ev(opened("x"))}, "key", "fp"));
    group.push_back(one(locked("c")));
    group.push_back(one(locked("a"), 2));  // refused on its own: the first batch of the group took version 2
    auto r = s->append_group(std::move(group));
    ASSERT_EQ(r.size(), 4u);
    for (auto& x : r) {
        ASSERT_FALSE(x.has_value());
        EXPECT_EQ(x.error().code, errc::storage_unavailable);
    }
    EXPECT_EQ(s->head().position.value, before.position.value);
    EXPECT_EQ(s->head().hash, before.hash);
    EXPECT_EQ(s->stream_version("user-a").value, 1u);
    EXPECT_EQ(s->stream_version("user-b").value, 0u);
    EXPECT_EQ(commits, 0);
    std::size_t n = 0;
    ASSERT_TRUE(s->read_from(log_position{1}, 100, [&](const recorded_event&) { return ++n, true; }).has_value());
    EXPECT_EQ(n, 1u);

    // The failed idempotency key was never recorded, and the store works again.
    auto key = s->find_idempotency("key");
    ASSERT_TRUE(key.has_value());
    EXPECT_FALSE(key->has_value());
    auto again = s->append(batch_of({ev(locked("b"))}, "key", "fp-other"));
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_EQ(again->first_position.value, 2u);
    EXPECT_EQ(again->recorded_at >= before.recorded_at, true);
    auto next = s->append(one(locked("a"), 2));
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(commits, 2);
    auto all = s->verify();
    EXPECT_TRUE(all.ok) << all.message;
    EXPECT_EQ(all.checked, 3u);
}

TEST(StorageFault, ConcurrentWaitersOfAFailedGroupAllSeeTheFailure) {
    temp_dir dir;
    faulty_store f(dir.db());
    auto& s = f.s;
    ASSERT_TRUE(s->append(one(locked("seed"))).has_value());
    // Fail many writes so that every concurrent caller hits one, however they are grouped.
    f.faults->fail_next(1000);
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
    EXPECT_EQ(s->head().position.value, 1u);
    f.faults->fail_next(0);
    auto ok = s->append(one(locked("t0"), 1));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->first_position.value, 2u);
    s.reset();
    auto reopened = std::move(*store::open(dir.db()));
    EXPECT_EQ(reopened->head().position.value, 2u);
    EXPECT_TRUE(reopened->verify().ok);
}

// The fault sits below RocksDB, not in the commit path: the error is RocksDB's own, every write
// of the store meets it (put_meta too), the failure is counted and timed like a disk error, and
// nothing of the failed write reaches the WAL, so a reopen (which replays the WAL) does not
// bring it back.
TEST(StorageFault, InjectedFaultIsARocksDBWalErrorAndLeavesNothingToReplay) {
    temp_dir dir;
    {
        faulty_store f(dir.db(), store_options{.mode = commit_mode::inline_per_call});
        auto& s = f.s;
        ASSERT_TRUE(s->append(one(locked("a"))).has_value());
        f.faults->fail_next(1);
        auto r = s->append(batch_of({ev(locked("b"))}, "key", "fp"));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, errc::storage_unavailable);
        EXPECT_NE(r.error().message.find("injected WAL write failure"), std::string::npos) << r.error().message;
        EXPECT_EQ(f.faults->pending(), 0);
        const auto st = s->stats();
        EXPECT_EQ(st.write_failures, 1u);
        EXPECT_EQ(st.commits, 1u);
        EXPECT_EQ(st.write_seconds.count, 2u);  // the failed write was timed too

        f.faults->fail_next(1);
        auto meta = s->put_meta("k", "v");
        ASSERT_FALSE(meta.has_value());
        EXPECT_EQ(meta.error().code, errc::storage_unavailable);
        EXPECT_EQ(s->get_meta("k"), std::nullopt);
        ASSERT_TRUE(s->append(one(locked("c"))).has_value()) << "the store resumes after the failure";
    }
    auto reopened = std::move(*store::open(dir.db()));
    EXPECT_EQ(reopened->head().position.value, 2u);
    EXPECT_EQ(reopened->stream_version("user-b").value, 0u);
    auto key = reopened->find_idempotency("key");
    ASSERT_TRUE(key.has_value());
    EXPECT_FALSE(key->has_value());
    EXPECT_EQ(reopened->get_meta("k"), std::nullopt);
    EXPECT_TRUE(reopened->verify().ok);
}

// Read faults fail the store's log reads (all of them, memtable included) until cleared, and
// nothing else: writes, the head, stream versions and idempotency records keep working.
TEST(StorageFault, ReadFaultFailsEveryLogReadUntilCleared) {
    temp_dir dir;
    faulty_store f(dir.db());
    auto& s = f.s;
    ASSERT_TRUE(s->append(batch_of({ev(locked("a")), ev(opened("x"))}, "key", "fp")).has_value());

    f.faults->fail_reads(true);
    EXPECT_TRUE(f.faults->reads_failing());
    int delivered = 0;
    auto from = s->read_from(log_position{1}, 100, [&](const recorded_event&) { return ++delivered, true; });
    ASSERT_FALSE(from.has_value());
    EXPECT_EQ(from.error().code, errc::storage_unavailable);
    EXPECT_NE(from.error().message.find("injected log read failure"), std::string::npos) << from.error().message;
    auto stream =
        s->read_stream("user-a", stream_version{1}, 100, [&](const recorded_event&) { return ++delivered, true; });
    ASSERT_FALSE(stream.has_value());
    EXPECT_EQ(stream.error().code, errc::storage_unavailable);
    auto at = s->read_at(log_position{1});
    ASSERT_FALSE(at.has_value());
    EXPECT_EQ(at.error().code, errc::storage_unavailable);
    EXPECT_EQ(delivered, 0);

    EXPECT_EQ(s->head().position.value, 2u);
    EXPECT_EQ(s->stream_version("user-a").value, 1u);
    auto key = s->find_idempotency("key");
    ASSERT_TRUE(key.has_value() && key->has_value());
    EXPECT_EQ((*key)->last_position.value, 2u);
    ASSERT_TRUE(s->append(one(locked("a"), 2)).has_value());

    f.faults->fail_reads(false);
    ASSERT_TRUE(
        s->read_from(log_position{1}, 100, [&](const recorded_event&) { return ++delivered, true; }).has_value());
    EXPECT_EQ(delivered, 3);
    auto third = s->read_at(log_position{3});
    ASSERT_TRUE(third.has_value() && third->has_value());
    EXPECT_EQ((*third)->version.value, 2u);
}

// Without a handle the store runs on RocksDB's default file system: nothing is wrapped.
TEST(StorageFault, AHandleOnlyAffectsTheStoreItWasGivenTo) {
    temp_dir a, b;
    faulty_store f(a.db());
    auto plain = std::move(*store::open(b.db()));
    f.faults->fail_next(1);
    EXPECT_TRUE(plain->append(one(locked("x"))).has_value());
    EXPECT_EQ(f.faults->pending(), 1);
    EXPECT_FALSE(f.s->append(one(locked("x"))).has_value());
    EXPECT_TRUE(f.s->append(one(locked("x"))).has_value());
}

}  // namespace
}  // namespace roster::eventstore
