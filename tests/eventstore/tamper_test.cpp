// Edits the stored log behind the store's back with the raw RocksDB API and checks that
// verify() names exactly the first damaged position.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "test_util.hpp"

namespace roster::eventstore {
namespace {

using namespace testing;

std::string be64(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    return s;
}

// Opens the store's RocksDB directly (the store must be closed) and runs f(db, log column family).
template <class F>
void with_raw_log(const std::filesystem::path& dir, F&& f) {
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"streams", {}}, {"idempotency", {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(o, dir.string(), cfs, &handles, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    f(*db, handles[1]);
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
}

class TamperTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = store::open(dir_.db());
        ASSERT_TRUE(s.has_value());
        std::vector<new_event> events;
        for (auto& e : all_event_samples()) events.push_back(ev(e));
        ASSERT_TRUE((*s)->append(batch_of(std::move(events))).has_value());  // one of every event type
        for (int i = 0; i < 6; ++i) ASSERT_TRUE((*s)->append(one(locked("u" + std::to_string(i)))).has_value());
        auto v = (*s)->verify();
        ASSERT_TRUE(v.ok) << v.message;
        ASSERT_EQ(v.checked, total);
    }

    verify_report reverify(std::uint64_t from = 1) {
        auto s = store::open(dir_.db());
        EXPECT_TRUE(s.has_value());
        return (*s)->verify(log_position{from});
    }

    void flip(std::uint64_t position, std::size_t byte) {
        with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
            std::string v;
            ASSERT_TRUE(db.Get({}, log, be64(position), &v).ok());
            ASSERT_LT(byte, v.size());
            v[byte] = static_cast<char>(v[byte] ^ 0x01);
            ASSERT_TRUE(db.Put({}, log, be64(position), v).ok());
        });
    }

    // One sample of every event type, then six locks: grows with the event types.
    static inline const std::uint64_t total = all_event_samples().size() + 6;
    temp_dir dir_;
};

TEST_F(TamperTest, EveryFlippedByteIsReportedAtItsPosition) {
    // Flip one byte at every offset of one value in turn, restoring it in between: wherever the
    // byte lies (payload, metadata, pointers, hash fields), verify names exactly that position.
    std::string original;
    with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        ASSERT_TRUE(db.Get({}, log, be64(7), &original).ok());
    });
    ASSERT_FALSE(original.empty());
    for (std::size_t byte = 0; byte < original.size(); byte += 7) {
        flip(7, byte);
        auto v = reverify();
        EXPECT_FALSE(v.ok) << "byte " << byte;
        EXPECT_EQ(v.first_bad_position, log_position{7u}) << "byte " << byte << ": " << v.message;
        EXPECT_EQ(v.checked, 6u);
        flip(7, byte);
    }
    EXPECT_TRUE(reverify().ok);
}

TEST_F(TamperTest, ModifiedPayloadTextIsDetected) {
    with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        std::string v;
        ASSERT_TRUE(db.Get({}, log, be64(1), &v).ok());
        auto at = v.find("Acme Corp");
        ASSERT_NE(at, std::string::npos);
        v[at] = 'X';  // still a perfectly decodable event, just a different one
        ASSERT_TRUE(db.Put({}, log, be64(1), v).ok());
    });
    auto v = reverify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_position, log_position{1u});
}

TEST_F(TamperTest, DeletedPositionIsReported) {
    with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        ASSERT_TRUE(db.Delete({}, log, be64(12)).ok());
    });
    auto v = reverify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_position, log_position{12u});
    EXPECT_EQ(v.checked, 11u);
}

TEST_F(TamperTest, DeletedTailIsReported) {
    with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        ASSERT_TRUE(db.Delete({}, log, be64(total)).ok());
        ASSERT_TRUE(db.Delete({}, log, be64(total - 1)).ok());
    });
    auto v = reverify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_position, log_position{total - 1});
}

TEST_F(TamperTest, SwappedEventsAreReported) {
    with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        std::string a, b;
        ASSERT_TRUE(db.Get({}, log, be64(20), &a).ok());
        ASSERT_TRUE(db.Get({}, log, be64(21), &b).ok());
        ASSERT_TRUE(db.Put({}, log, be64(20), b).ok());
        ASSERT_TRUE(db.Put({}, log, be64(21), a).ok());
    });
    auto v = reverify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_position, log_position{20u});
}

TEST_F(TamperTest, RangeVerificationStartsFromTheStoredPredecessor) {
    flip(5, 40);
    auto later = reverify(10);
    EXPECT_TRUE(later.ok) << later.message;
    EXPECT_EQ(later.checked, total - 9);
    auto s = store::open(dir_.db());
    ASSERT_TRUE(s.has_value());
    auto part = (*s)->verify(log_position{3}, log_position{8});
    EXPECT_FALSE(part.ok);
    EXPECT_EQ(part.first_bad_position, log_position{5u});
    auto before = (*s)->verify(log_position{1}, log_position{4});
    EXPECT_TRUE(before.ok);
    EXPECT_EQ(before.checked, 4u);
}

// verify reads and hashes in batches of a few thousand events on two threads: damage far into a
// long log, in a later batch than the first, is still named at its position, and of two damages
// the earlier one is reported whichever stage (reading, hashing) meets it.
TEST_F(TamperTest, DamageInALaterBatchOfALongLogIsReportedAtItsPosition) {
    constexpr std::uint64_t extra = 20'000;
    {
        auto s = store::open(dir_.db());
        ASSERT_TRUE(s.has_value());
        for (std::uint64_t i = 0; i < extra; i += 1000) {
            std::vector<new_event> events;
            for (std::uint64_t j = i; j < i + 1000; ++j) events.push_back(ev(locked("u" + std::to_string(j % 50))));
            ASSERT_TRUE((*s)->append(batch_of(std::move(events))).has_value());
        }
    }
    auto all = reverify();
    ASSERT_TRUE(all.ok) << all.message;
    EXPECT_EQ(all.checked, total + extra);

    flip(15'000, 40);
    auto v = reverify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_position, log_position{15'000u});
    EXPECT_EQ(v.checked, 14'999u);
    EXPECT_EQ(v.message, "hash mismatch: the event was modified");

    // A gap after the modified event: the modification, met first, is the report.
    with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
        ASSERT_TRUE(db.Delete({}, log, be64(17'500)).ok());
    });
    v = reverify();
    EXPECT_EQ(v.first_bad_position, log_position{15'000u});
    // From past the modification (and its successor, which links to it), the gap.
    v = reverify(15'002);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.first_bad_position, log_position{17'500u});
    EXPECT_EQ(v.checked, 2'498u);
    EXPECT_EQ(v.message, "position 17500 is missing");
}

// read_bulk_from decodes ahead on a second thread in chunks of 256 events: it must call back the
// same events in the same order as read_from, stop where the callback says (also at a chunk's
// edge), and report damage after exactly the events before it, wherever in a chunk it lies.
TEST_F(TamperTest, BulkReadsCallBackWhatReadFromDoesAndStopAtTheSameEvent) {
    constexpr std::uint64_t extra = 2'000;
    {
        auto s = store::open(dir_.db());
        ASSERT_TRUE(s.has_value());
        std::vector<new_event> events;
        for (std::uint64_t j = 0; j < extra; ++j) events.push_back(ev(locked("u" + std::to_string(j % 50))));
        ASSERT_TRUE((*s)->append(batch_of(std::move(events))).has_value());
    }
    struct seen {
        std::vector<std::uint64_t> positions;
        std::vector<hash256> hashes;
        std::vector<domain::event> payloads;
        std::optional<errc> failure;
    };
    // Every event from `from`, at most `limit`, until the callback has seen `stop_at`.
    auto read = [&](const store& st, bool bulk, std::uint64_t from, std::size_t limit, std::uint64_t stop_at) {
        seen out;
        auto cb = [&](const recorded_event& e) {
            out.positions.push_back(e.position.value);
            out.hashes.push_back(e.hash);
            out.payloads.push_back(e.payload);
            return e.position.value != stop_at;
        };
        auto r = bulk ? st.read_bulk_from(log_position{from}, limit, cb) : st.read_from(log_position{from}, limit, cb);
        if (!r) out.failure = r.error().code;
        return out;
    };
    auto same = [&](std::uint64_t from, std::size_t limit, std::uint64_t stop_at, std::uint64_t expect_last,
                    std::optional<errc> expect_failure) {
        auto s = store::open(dir_.db());
        ASSERT_TRUE(s.has_value());
        const auto plain = read(**s, false, from, limit, stop_at);
        const auto bulk = read(**s, true, from, limit, stop_at);
        ASSERT_FALSE(plain.positions.empty());
        EXPECT_EQ(plain.positions.back(), expect_last) << from << " " << limit << " " << stop_at;
        EXPECT_EQ(plain.failure, expect_failure);
        EXPECT_EQ(bulk.positions, plain.positions) << from << " " << limit << " " << stop_at;
        EXPECT_EQ(bulk.hashes, plain.hashes);
        EXPECT_EQ(bulk.payloads, plain.payloads);
        EXPECT_EQ(bulk.failure, plain.failure);
    };
    const std::uint64_t last = total + extra;
    same(1, SIZE_MAX, 0, last, std::nullopt);
    same(300, 700, 0, 999, std::nullopt);
    same(1, SIZE_MAX, 768, 768, std::nullopt);  // the end of the third chunk
    same(1, SIZE_MAX, 769, 769, std::nullopt);
    same(1, 257, 0, 257, std::nullopt);

    // Damage the codec refuses, at a chunk's first event and in the middle of a later one.
    for (std::uint64_t bad : {std::uint64_t{769}, std::uint64_t{1'500}}) {
        std::string original;
        with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
            ASSERT_TRUE(db.Get({}, log, be64(bad), &original).ok());
            ASSERT_TRUE(db.Put({}, log, be64(bad), "not an envelope").ok());
        });
        same(1, SIZE_MAX, 0, bad - 1, errc::corrupt);
        same(bad - 10, SIZE_MAX, 0, bad - 1, errc::corrupt);
        with_raw_log(dir_.db(), [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
            ASSERT_TRUE(db.Put({}, log, be64(bad), original).ok());
        });
    }
}

}  // namespace
}  // namespace roster::eventstore
