#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace roster::eventstore {
namespace {

using namespace testing;

std::unique_ptr<store> open_store(const std::filesystem::path& dir, store_options o = {}) {
    auto s = store::open(dir, o);
    if (!s) throw std::runtime_error("open failed: " + s.error().message);
    return std::move(*s);
}

std::vector<recorded_event> read_all(const store& s, std::uint64_t from = 1, std::size_t limit = SIZE_MAX) {
    std::vector<recorded_event> out;
    auto r = s.read_from(log_position{from}, limit, [&](const recorded_event& e) {
        out.push_back(e);
        return true;
    });
    if (!r) throw std::runtime_error(r.error().message);
    return out;
}

class StoreTest : public ::testing::TestWithParam<commit_mode> {
protected:
    store_options opts() const {
        store_options o;
        o.mode = GetParam();
        return o;
    }
    temp_dir dir_;
};

TEST_P(StoreTest, PositionsAreDenseFromOneAndVersionsPerStream) {
    auto s = open_store(dir_.db(), opts());
    EXPECT_EQ(s->head().position.value, 0u);
    auto a = s->append(one(opened("a")));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->first_position.value, 1u);
    EXPECT_EQ(a->last_position.value, 1u);
    auto b = s->append(batch_of({ev(locked("u1")), ev(locked("u2")), ev(locked("u1"))}));
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->first_position.value, 2u);
    EXPECT_EQ(b->last_position.value, 4u);
    EXPECT_EQ(s->head().position.value, 4u);
    EXPECT_EQ(s->stream_version("account-a").value, 1u);
    EXPECT_EQ(s->stream_version("user-u1").value, 2u);
    EXPECT_EQ(s->stream_version("user-u2").value, 1u);
    EXPECT_EQ(s->stream_version("user-none").value, 0u);

    auto all = read_all(*s);
    ASSERT_EQ(all.size(), 4u);
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].position.value, i + 1);
    EXPECT_EQ(all[1].stream, "user-u1");
    EXPECT_EQ(all[1].version.value, 1u);
    EXPECT_EQ(all[3].stream, "user-u1");
    EXPECT_EQ(all[3].version.value, 2u);
    EXPECT_EQ(all[2].type, "user_locked");
    EXPECT_EQ(all[0].payload, opened("a"));
    EXPECT_EQ(all[0].meta.actor.principal, "operator");
    EXPECT_EQ(all[0].meta.actor.token_id, "tok-1");
    EXPECT_EQ(all[0].meta.actor.address, "127.0.0.1");
    EXPECT_EQ(all[0].meta.request_id, "req-1");
    EXPECT_EQ(all[0].schema_version, 1);
    // The chain links every event to its predecessor.
    EXPECT_EQ(all[0].prev_hash, hash256{});
    for (std::size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i].prev_hash, all[i - 1].hash);
    EXPECT_EQ(s->head().hash, all.back().hash);
    EXPECT_NE(all[0].hash, hash256{});
}

TEST_P(StoreTest, StoresEveryEventTypeAndAllMetadata) {
    auto s = open_store(dir_.db(), opts());
    std::vector<new_event> events;
    for (auto& e : all_event_samples()) {
        auto n = ev(e);
        n.meta.correlation_id = "corr-" + std::string(domain::type_name(e));
        n.meta.causation_id = "cause";
        n.meta.reason = "because";
        n.meta.reference = "CHG-42";
        n.meta.labels = {{domain::user_id("u-1"), "Ann Smith", "ann.smith@example.com"},
                         {domain::user_id("u-2"), "Bo", "bo@example.com"}};
        n.meta.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        events.push_back(std::move(n));
    }
    const auto expected = events;
    ASSERT_TRUE(s->append(batch_of(std::move(events))).has_value());
    auto all = read_all(*s);
    ASSERT_EQ(all.size(), expected.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].payload, expected[i].payload);
        EXPECT_EQ(all[i].meta, expected[i].meta);
        EXPECT_EQ(all[i].type, domain::type_name(expected[i].payload));
        EXPECT_EQ(all[i].stream, domain::stream_of(expected[i].payload));
    }
}

// The root struct pointer of a canonical envelope (word 0): its pointer section's size in words.
std::uint16_t root_pointer_words(std::string_view envelope) {
    EXPECT_GE(envelope.size(), 8u);
    const auto* b = reinterpret_cast<const unsigned char*>(envelope.data());
    return static_cast<std::uint16_t>(b[6] | (b[7] << 8));
}

// traceparent (@16) was added after events were written without it. An event that has none is
// encoded exactly as before the field existed: canonical Cap'n Proto drops trailing null
// pointers, so its pointer section holds the 12 pointers of the older schema (stream .. labels)
// and its bytes, hence its hash, are what the older writer produced; it decodes with an empty
// traceparent and every other field as before. One that has it carries a 13th pointer.
TEST_P(StoreTest, TraceparentIsOptionalAndOlderEnvelopesKeepTheirLayout) {
    auto s = open_store(dir_.db(), opts());
    auto old_style = ev(opened("a"));
    old_style.meta.reference = "CHG-1";
    old_style.meta.labels = {{domain::user_id("u-1"), "Ann", "ann@example.com"}};
    auto traced = old_style;
    traced.payload = opened("b");
    traced.meta.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    ASSERT_TRUE(s->append(batch_of({old_style, traced})).has_value());

    std::vector<std::string> raw;
    ASSERT_TRUE(s->read_raw_from(1, 10, [&](std::uint64_t, std::string_view bytes) {
                     raw.emplace_back(bytes);
                     return true;
                 }).has_value());
    ASSERT_EQ(raw.size(), 2u);
    EXPECT_EQ(root_pointer_words(raw[0]), 12u);
    EXPECT_EQ(raw[0].find("00-4bf92f"), std::string::npos);
    EXPECT_EQ(root_pointer_words(raw[1]), 13u);

    auto first = decode_envelope(raw[0]);
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->meta, old_style.meta);
    EXPECT_TRUE(first->meta.traceparent.empty());
    auto second = decode_envelope(raw[1]);
    ASSERT_TRUE(second.has_value()) << second.error().message;
    EXPECT_EQ(second->meta.traceparent, traced.meta.traceparent);
    EXPECT_EQ(second->meta.reference, "CHG-1");
    EXPECT_TRUE(s->verify().ok);
}

// new_event::version is an assertion of the caller's numbering, not a precondition: an event
// numbered otherwise than the store numbers it refuses its batch, and nothing of it is written.
TEST_P(StoreTest, StatedVersionMustBeTheOneTheStoreAssigns) {
    auto s = open_store(dir_.db(), opts());
    ASSERT_TRUE(s->append(one(locked("u1"), 1)).has_value());
    ASSERT_TRUE(s->append(one(locked("u1"), 2)).has_value());
    const auto before = s->head();
    auto r = s->append(one(locked("u1"), 2));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::version_conflict);
    EXPECT_EQ(r.error().stream, "user-u1");
    EXPECT_EQ(r.error().expected, 2u);
    EXPECT_EQ(r.error().actual, 3u);
    auto skipping = s->append(one(locked("u1"), 4));
    ASSERT_FALSE(skipping.has_value());
    EXPECT_EQ(skipping.error().code, errc::version_conflict);
    EXPECT_EQ(s->head().position.value, before.position.value);
    EXPECT_EQ(s->head().hash, before.hash);
    EXPECT_EQ(s->stream_version("user-u1").value, 2u);
    // Unnumbered events are simply numbered.
    ASSERT_TRUE(s->append(one(locked("u1"))).has_value());
    EXPECT_EQ(s->stream_version("user-u1").value, 3u);
}

TEST_P(StoreTest, MultiStreamBatchIsAllOrNothing) {
    auto s = open_store(dir_.db(), opts());
    ASSERT_TRUE(s->append(one(locked("u1"))).has_value());
    // u2 and a are new (1 is right), u1 is at 1 (1 is wrong): nothing of the batch may land.
    auto r = s->append(batch_of({ev(locked("u2"), 1), ev(opened("a"), 1), ev(locked("u1"), 1)}, "k", "fp"));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::version_conflict);
    EXPECT_EQ(s->head().position.value, 1u);
    EXPECT_EQ(s->stream_version("user-u2").value, 0u);
    EXPECT_EQ(s->stream_version("account-a").value, 0u);
    EXPECT_EQ(read_all(*s).size(), 1u);
    auto key = s->find_idempotency("k");
    ASSERT_TRUE(key.has_value());
    EXPECT_FALSE(key->has_value()) << "the refused batch's idempotency record is not written either";
    // Several events of one stream in a batch are numbered one after another.
    auto ok = s->append(batch_of({ev(locked("u2"), 1), ev(locked("u2"), 2), ev(locked("u1"), 2)}));
    ASSERT_TRUE(ok.has_value()) << ok.error().message;
    EXPECT_EQ(s->stream_version("user-u2").value, 2u);
}

// The store keeps idempotency records; it does not judge them (the writer does, api/core
// write_rules): the record is written in the batch's WriteBatch and found again, also after a
// reopen.
TEST_P(StoreTest, IdempotencyRecordIsWrittenWithItsBatchAndFound) {
    auto s = open_store(dir_.db(), opts());
    auto none = s->find_idempotency("key-1");
    ASSERT_TRUE(none.has_value());
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(s->append(one(locked("u0"))).has_value());
    auto first = s->append(batch_of({ev(locked("u1")), ev(locked("u2"))}, "key-1", "fp-A", "HTTP 201 {...}"));
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->first_position.value, 2u);
    EXPECT_EQ(first->last_position.value, 3u);
    auto check = [&](store& st) {
        auto found = st.find_idempotency("key-1");
        ASSERT_TRUE(found.has_value());
        ASSERT_TRUE(found->has_value());
        EXPECT_EQ((*found)->first_position.value, 2u);
        EXPECT_EQ((*found)->last_position.value, 3u);
        EXPECT_EQ((*found)->recorded_at, first->recorded_at);
        EXPECT_EQ((*found)->fingerprint, "fp-A");
        EXPECT_EQ((*found)->outcome, "HTTP 201 {...}");
    };
    check(*s);
    auto other = s->find_idempotency("key-2");
    ASSERT_TRUE(other.has_value());
    EXPECT_FALSE(other->has_value());

    s.reset();
    s = open_store(dir_.db(), opts());
    check(*s);
    EXPECT_EQ(s->head().position.value, 3u);
}

TEST_P(StoreTest, GroupNumberingSeesEarlierBatchesOfTheSameGroup) {
    auto s = open_store(dir_.db(), opts());
    std::vector<append_batch> group;
    group.push_back(one(locked("u1"), 1));
    group.push_back(one(locked("u1"), 1));  // numbered as if the first batch were not there: refused
    group.push_back(one(locked("u1"), 2));  // sees the first batch
    group.push_back(batch_of({ev(locked("u2"), 1)}, "k", "fp", "out"));
    group.push_back(append_batch{});  // empty: refused
    auto r = s->append_group(std::move(group));
    ASSERT_EQ(r.size(), 5u);
    ASSERT_TRUE(r[0].has_value());
    EXPECT_EQ(r[0]->first_position.value, 1u);
    ASSERT_FALSE(r[1].has_value());
    EXPECT_EQ(r[1].error().code, errc::version_conflict);
    ASSERT_TRUE(r[2].has_value());
    EXPECT_EQ(r[2]->first_position.value, 2u);
    ASSERT_TRUE(r[3].has_value());
    EXPECT_EQ(r[3]->first_position.value, 3u);
    ASSERT_FALSE(r[4].has_value());
    EXPECT_EQ(r[4].error().code, errc::invalid_argument);
    EXPECT_EQ(s->head().position.value, 3u);
    EXPECT_EQ(s->stream_version("user-u1").value, 2u);
    auto key = s->find_idempotency("k");
    ASSERT_TRUE(key.has_value() && key->has_value());
    EXPECT_EQ((*key)->first_position.value, 3u);
    EXPECT_TRUE(s->verify().ok);
}

TEST_P(StoreTest, ReopenRestoresHeadAndContinuesTheChain) {
    head_info before;
    {
        auto s = open_store(dir_.db(), opts());
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(s->append(one(locked("u" + std::to_string(i % 2)))).has_value());
        before = s->head();
    }
    auto s = open_store(dir_.db(), opts());
    EXPECT_EQ(s->head().position.value, before.position.value);
    EXPECT_EQ(s->head().hash, before.hash);
    EXPECT_EQ(s->head().recorded_at, before.recorded_at);
    EXPECT_EQ(s->stream_version("user-u0").value, 3u);
    EXPECT_EQ(s->stream_version("user-u1").value, 2u);
    auto r = s->append(one(locked("u1"), 3));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->first_position.value, 6u);
    EXPECT_GE(r->recorded_at, before.recorded_at);
    auto all = read_all(*s);
    ASSERT_EQ(all.size(), 6u);
    EXPECT_EQ(all[5].prev_hash, before.hash);
    EXPECT_EQ(all[5].version.value, 3u);
    auto v = s->verify();
    EXPECT_TRUE(v.ok) << v.message;
    EXPECT_EQ(v.checked, 6u);
}

TEST_P(StoreTest, ReadFromAndReadStreamRespectBounds) {
    auto s = open_store(dir_.db(), opts());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(s->append(one(locked(i % 2 ? "odd" : "even"))).has_value());
    auto mid = read_all(*s, 4, 3);
    ASSERT_EQ(mid.size(), 3u);
    EXPECT_EQ(mid.front().position.value, 4u);
    EXPECT_EQ(mid.back().position.value, 6u);
    EXPECT_EQ(read_all(*s, 0).size(), 10u);  // 0 reads from the start
    EXPECT_EQ(read_all(*s, 10).size(), 1u);
    EXPECT_TRUE(read_all(*s, 11).empty());
    EXPECT_TRUE(read_all(*s, 1, 0).empty());

    std::vector<recorded_event> stopped;
    ASSERT_TRUE(s->read_from(log_position{1}, 100, [&](const recorded_event& e) {
                     stopped.push_back(e);
                     return stopped.size() < 2;
                 }).has_value());
    EXPECT_EQ(stopped.size(), 2u);

    std::vector<std::uint64_t> versions, positions;
    ASSERT_TRUE(s->read_stream("user-odd", stream_version{2}, 3, [&](const recorded_event& e) {
                     EXPECT_EQ(e.stream, "user-odd");
                     versions.push_back(e.version.value);
                     positions.push_back(e.position.value);
                     return true;
                 }).has_value());
    EXPECT_EQ(versions, (std::vector<std::uint64_t>{2, 3, 4}));
    EXPECT_EQ(positions, (std::vector<std::uint64_t>{4, 6, 8}));
    std::size_t n = 0;
    ASSERT_TRUE(s->read_stream("user-odd", stream_version{5}, 100, [&](const recorded_event&) {
                     return ++n, true;
                 }).has_value());
    EXPECT_EQ(n, 1u);
    n = 0;
    ASSERT_TRUE(s->read_stream("user-od", stream_version{1}, 100, [&](const recorded_event&) {
                     return ++n, true;
                 }).has_value());
    EXPECT_EQ(n, 0u);  // a prefix of another stream id is another stream

    auto at = s->read_at(log_position{7});
    ASSERT_TRUE(at.has_value());
    ASSERT_TRUE(at->has_value());
    EXPECT_EQ((*at)->position.value, 7u);
    auto missing = s->read_at(log_position{11});
    ASSERT_TRUE(missing.has_value());
    EXPECT_FALSE(missing->has_value());
}

TEST_P(StoreTest, PositionAtFindsLastEventRecordedAtOrBefore) {
    auto s = open_store(dir_.db(), opts());
    EXPECT_FALSE(s->position_at(timestamp{}).has_value());
    std::vector<timestamp> times;
    for (int i = 0; i < 9; ++i) {
        auto r = s->append(one(locked("u")));
        ASSERT_TRUE(r.has_value());
        times.push_back(r->recorded_at);
        if (i % 3 == 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (std::size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i], times[i - 1]);
    EXPECT_FALSE(s->position_at(times.front() - std::chrono::microseconds(1)).has_value());
    EXPECT_EQ(s->position_at(times.back() + std::chrono::hours(1)), log_position{9});
    for (std::size_t i = 0; i < times.size(); ++i) {
        // The last position whose time is <= times[i]: events sharing a timestamp count together.
        std::uint64_t expected = 0;
        for (std::size_t j = 0; j < times.size(); ++j)
            if (times[j] <= times[i]) expected = j + 1;
        EXPECT_EQ(s->position_at(times[i]), log_position{expected}) << i;
    }
}

TEST_P(StoreTest, SubscribersHearEveryCommitUntilUnsubscribed) {
    auto s = open_store(dir_.db(), opts());
    std::vector<std::uint64_t> heard;
    std::mutex mu;
    auto sub = s->subscribe([&](log_position p) {
        std::lock_guard lk(mu);
        heard.push_back(p.value);
    });
    ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    ASSERT_TRUE(s->append(batch_of({ev(locked("a")), ev(locked("b"))})).has_value());
    ASSERT_FALSE(s->append(one(locked("a"), 1)).has_value());  // refused: no commit, no call
    {
        std::lock_guard lk(mu);
        EXPECT_EQ(heard, (std::vector<std::uint64_t>{1, 3}));
    }
    sub.reset();
    ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    std::lock_guard lk(mu);
    EXPECT_EQ(heard.size(), 2u);
}

TEST_P(StoreTest, MetaValuesAreDurableAndSeparateFromTheLog) {
    {
        auto s = open_store(dir_.db(), opts());
        EXPECT_FALSE(s->get_meta("snapshot/users").has_value());
        ASSERT_TRUE(s->put_meta("snapshot/users", std::string("bin\0ary", 7)).has_value());
        ASSERT_TRUE(s->put_meta("head", "not the store's head").has_value());
        ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    }
    auto s = open_store(dir_.db(), opts());
    EXPECT_EQ(s->get_meta("snapshot/users"), std::string("bin\0ary", 7));
    EXPECT_EQ(s->get_meta("head"), "not the store's head");
    EXPECT_EQ(s->head().position.value, 1u);
    EXPECT_TRUE(s->verify().ok);
}

TEST_P(StoreTest, MetaKeysAreScannedByPrefixInOrderAndDeleted) {
    auto s = open_store(dir_.db(), opts());
    for (const char* k : {"hook/a/dead/002", "hook/a/dead/001", "hook/a/deadline", "hook/ab/dead/001", "hook/b/x"})
        ASSERT_TRUE(s->put_meta(k, std::string("v:") + k).has_value());
    auto scan = [&](std::string_view prefix, std::size_t stop_after = 100) {
        std::vector<std::string> keys;
        auto r = s->scan_meta(prefix, [&](std::string_view k, std::string_view v) {
            EXPECT_EQ(v, "v:" + std::string(k));
            keys.emplace_back(k);
            return keys.size() < stop_after;
        });
        EXPECT_TRUE(r.has_value());
        return keys;
    };
    EXPECT_EQ(scan("hook/a/dead/"), (std::vector<std::string>{"hook/a/dead/001", "hook/a/dead/002"}));
    EXPECT_EQ(scan("hook/a/dead/", 1), (std::vector<std::string>{"hook/a/dead/001"}));
    EXPECT_EQ(scan("hook/c/"), std::vector<std::string>{});
    ASSERT_TRUE(s->delete_meta("hook/a/dead/001").has_value());
    ASSERT_TRUE(s->delete_meta("never/there").has_value());
    EXPECT_EQ(s->get_meta("hook/a/dead/001"), std::nullopt);
    EXPECT_EQ(scan("hook/a/"), (std::vector<std::string>{"hook/a/dead/002", "hook/a/deadline"}));
    // The store's own metadata is not reachable through the user's key space.
    EXPECT_EQ(scan("").size(), 4u);
}

TEST_P(StoreTest, CheckpointIsAnIndependentConsistentCopy) {
    auto s = open_store(dir_.db(), opts());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    const auto copy_dir = dir_.path() / "copy";
    ASSERT_TRUE(s->checkpoint(copy_dir).has_value());
    ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    auto copy = open_store(copy_dir, opts());
    EXPECT_EQ(copy->head().position.value, 3u);
    EXPECT_TRUE(copy->verify().ok);
    EXPECT_EQ(s->head().position.value, 4u);
}

TEST_P(StoreTest, ReadOnlyOpenReadsButRefusesWrites) {
    auto s = open_store(dir_.db(), opts());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(s->append(one(locked("a"))).has_value());
    store_options ro = opts();
    ro.read_only = true;
    // Opened while the writer still holds the directory, like rosterctl beside a running server.
    auto r = open_store(dir_.db(), ro);
    EXPECT_TRUE(r->read_only());
    EXPECT_EQ(r->head().position.value, 4u);
    EXPECT_EQ(r->head().hash, s->head().hash);
    EXPECT_EQ(r->stream_version("user-a").value, 4u);
    EXPECT_EQ(read_all(*r).size(), 4u);
    auto v = r->verify();
    EXPECT_TRUE(v.ok) << v.message;
    EXPECT_EQ(v.checked, 4u);
    auto w = r->append(one(locked("a")));
    ASSERT_FALSE(w.has_value());
    EXPECT_EQ(w.error().code, errc::invalid_argument);
    EXPECT_FALSE(r->put_meta("k", "v").has_value());
}

TEST_P(StoreTest, StreamIdWithNulIsRefused) {
    auto s = open_store(dir_.db(), opts());
    auto r = s->append(batch_of({ev(locked("ok")), ev(locked(std::string("a\0b", 3)))}));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_EQ(s->head().position.value, 0u);
    EXPECT_EQ(s->stream_version("user-ok").value, 0u);
}

TEST(StoreOpen, ReadOnlyOpenOfMissingDirectoryFails) {
    temp_dir dir;
    store_options ro;
    ro.read_only = true;
    auto s = store::open(dir.path() / "nothing", ro);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, errc::storage_unavailable);
}

TEST_P(StoreTest, ConcurrentAppendsAndReadsStayDenseAndVerified) {
    auto s = open_store(dir_.db(), opts());
    constexpr int writers = 4, per_writer = 50;
    std::atomic<bool> done{false};
    std::atomic<int> read_errors{0};
    std::thread reader([&] {
        while (!done) {
            std::uint64_t expect = 1;
            auto r = s->read_from(log_position{1}, SIZE_MAX, [&](const recorded_event& e) {
                if (e.position.value != expect++) ++read_errors;
                return true;
            });
            if (!r) ++read_errors;
        }
    });
    std::vector<std::thread> threads;
    std::set<std::uint64_t> positions;
    std::mutex mu;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int i = 0; i < per_writer; ++i) {
                auto r = s->append(one(locked("w" + std::to_string(w))));
                ASSERT_TRUE(r.has_value());
                std::lock_guard lk(mu);
                positions.insert(r->first_position.value);
            }
        });
    for (auto& t : threads) t.join();
    done = true;
    reader.join();
    EXPECT_EQ(read_errors.load(), 0);
    ASSERT_EQ(positions.size(), std::size_t{writers * per_writer});
    EXPECT_EQ(*positions.begin(), 1u);
    EXPECT_EQ(*positions.rbegin(), std::uint64_t{writers * per_writer});
    for (int w = 0; w < writers; ++w)
        EXPECT_EQ(s->stream_version("user-w" + std::to_string(w)).value, std::uint64_t{per_writer});
    EXPECT_TRUE(s->verify().ok);
}

// Writers racing on one stream both land: the store numbers them, so positions stay dense and
// the stream's versions contiguous, each version at its own position, and the chain verifies.
TEST_P(StoreTest, RacingWritersOnOneStreamStayContiguous) {
    auto s = open_store(dir_.db(), opts());
    constexpr int rounds = 100;
    std::vector<std::uint64_t> positions;
    std::mutex mu;
    for (int round = 0; round < rounds; ++round) {
        std::atomic<int> go{0};
        auto racer = [&] {
            ++go;
            while (go.load() < 2) {}
            auto r = s->append(one(opened("race")));
            ASSERT_TRUE(r.has_value()) << r.error().message;
            std::lock_guard lk(mu);
            positions.push_back(r->first_position.value);
        };
        std::thread a(racer), b(racer);
        a.join();
        b.join();
    }
    std::sort(positions.begin(), positions.end());
    ASSERT_EQ(positions.size(), std::size_t{2 * rounds});
    for (std::size_t i = 0; i < positions.size(); ++i) EXPECT_EQ(positions[i], i + 1);
    EXPECT_EQ(s->stream_version("account-race").value, std::uint64_t{2 * rounds});
    EXPECT_EQ(s->head().position.value, std::uint64_t{2 * rounds});
    std::uint64_t expected_version = 1;
    ASSERT_TRUE(s->read_stream("account-race", stream_version{1}, SIZE_MAX, [&](const recorded_event& e) {
                     EXPECT_EQ(e.version.value, expected_version);
                     EXPECT_EQ(e.position.value, expected_version);  // the only stream: version = position
                     ++expected_version;
                     return true;
                 }).has_value());
    EXPECT_EQ(expected_version, std::uint64_t{2 * rounds + 1});
    EXPECT_TRUE(s->verify().ok);
}

INSTANTIATE_TEST_SUITE_P(Modes, StoreTest, ::testing::Values(commit_mode::writer_thread, commit_mode::inline_per_call),
                         [](const auto& info) {
                             return info.param == commit_mode::writer_thread ? std::string("writer_thread")
                                                                             : std::string("inline_per_call");
                         });

}  // namespace
}  // namespace roster::eventstore
