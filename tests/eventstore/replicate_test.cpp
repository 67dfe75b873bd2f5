// store::append_replicated: a read replica's log is byte-identical to its source, and every kind
// of bad input is refused with nothing written.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace roster::eventstore {
namespace {

using testing::temp_dir;

std::unique_ptr<store> open_at(const std::filesystem::path& p) {
    auto s = store::open(p);
    EXPECT_TRUE(s.has_value());
    return std::move(*s);
}

std::vector<std::string> raw_of(const store& s, std::uint64_t from = 1) {
    std::vector<std::string> out;
    auto r = s.read_raw_from(from, 1'000'000, [&](std::uint64_t, std::string_view v) {
        out.emplace_back(v);
        return true;
    });
    EXPECT_TRUE(r.has_value());
    return out;
}

TEST(ReplicateTest, ReplicatedLogIsByteIdenticalAndBadInputIsRefused) {
    temp_dir leader_dir, replica_dir;
    auto leader = open_at(leader_dir.db());
    for (auto& e : testing::all_event_samples()) ASSERT_TRUE(leader->append(testing::one(e)).has_value());
    ASSERT_TRUE(
        leader->append(testing::batch_of({testing::ev(testing::locked("u1")), testing::ev(testing::locked("u1"))}))
            .has_value());
    const auto source = raw_of(*leader);
    ASSERT_GT(source.size(), 4u);

    auto replica = open_at(replica_dir.db());
    std::vector<log_position> notified;
    auto sub = replica->subscribe([&](log_position p) { notified.push_back(p); });

    // Each kind of bad input: nothing written, head unchanged.
    auto refused = [&](const std::vector<std::string>& in, errc expected) {
        const auto before = replica->head();
        auto r = replica->append_replicated(in);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, expected) << r.error().message;
        EXPECT_EQ(replica->head().position, before.position);
        EXPECT_EQ(replica->head().hash, before.hash);
    };
    refused({source[1]}, errc::corrupt);                                      // a gap: position 2 first
    refused({source[0], source[2]}, errc::corrupt);                           // a gap inside the batch
    refused({source[0], source[1], std::string("garbage!")}, errc::corrupt);  // not an envelope
    {
        auto tampered = source[0];
        tampered[tampered.size() / 2] ^= 0x01;  // a payload byte: the hash no longer recomputes
        refused({tampered}, errc::corrupt);
    }
    EXPECT_EQ(replica->head().position.value, 0u);
    EXPECT_TRUE(notified.empty());

    // In two batches, the second starting where the first ended.
    const std::vector<std::string> first(source.begin(), source.begin() + 3), rest(source.begin() + 3, source.end());
    auto a = replica->append_replicated(first);
    ASSERT_TRUE(a.has_value()) << a.error().message;
    EXPECT_EQ(a->position.value, 3u);
    refused({source[1]}, errc::corrupt);  // a position already held
    {
        // A whole, well-chained envelope of another log (same position, another history).
        temp_dir other_dir;
        auto other = open_at(other_dir.db());
        for (int i = 0; i < 4; ++i) ASSERT_TRUE(other->append(testing::one(testing::opened("x" + std::to_string(i)))));
        refused({raw_of(*other, 4)[0]}, errc::corrupt);
    }
    auto b = replica->append_replicated(rest);
    ASSERT_TRUE(b.has_value()) << b.error().message;
    ASSERT_EQ(notified.size(), 2u);
    EXPECT_EQ(notified.back(), leader->head().position);

    EXPECT_EQ(replica->head().position, leader->head().position);
    EXPECT_EQ(replica->head().hash, leader->head().hash);
    EXPECT_EQ(raw_of(*replica), source);
    EXPECT_EQ(replica->stream_version("user-u1").value, leader->stream_version("user-u1").value);
    EXPECT_TRUE(replica->verify().ok);
    std::vector<recorded_event> from_stream;
    ASSERT_TRUE(replica->read_stream("user-u1", domain::stream_version{1}, 10, [&](const recorded_event& e) {
        from_stream.push_back(e);
        return true;
    }));
    EXPECT_EQ(from_stream.size(), 2u);

    // Reopened: the head survives (it was written in the same batch).
    sub.reset();
    const auto head = replica->head();
    replica.reset();
    replica = open_at(replica_dir.db());
    EXPECT_EQ(replica->head().hash, head.hash);
    EXPECT_TRUE(replica->verify().ok);
}

}  // namespace
}  // namespace roster::eventstore
