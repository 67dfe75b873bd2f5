#include <set>

#include <gtest/gtest.h>

#include "roster/eventstore/codec.hpp"
#include "test_util.hpp"

namespace roster::eventstore {
namespace {

using testing::all_event_samples;

TEST(Codec, SamplesCoverEveryEventType) {
    std::set<std::size_t> kinds;
    for (const auto& e : all_event_samples()) kinds.insert(e.index());
    EXPECT_EQ(kinds.size(), std::variant_size_v<domain::event>);
}

TEST(Codec, RoundTripsEveryEventTypeWithAllFields) {
    for (const auto& e : all_event_samples()) {
        SCOPED_TRACE(std::string(domain::type_name(e)));
        const auto bytes = encode_event(e);
        ASSERT_FALSE(bytes.empty());
        auto back = decode_event(bytes);
        ASSERT_TRUE(back.has_value()) << back.error().message;
        EXPECT_EQ(*back, e);
        EXPECT_EQ(domain::type_name(*back), domain::type_name(e));
    }
}

TEST(Codec, RoundTripsEveryPrincipalKind) {
    const std::vector<domain::principal> principals{domain::operator_principal{}, domain::auditor_principal{},
                                                    domain::service_principal{"billing"},
                                                    domain::user_principal{domain::user_id("u-42")}};
    for (const auto& p : principals) {
        const domain::event e =
            domain::access_denied{p,
                                  "POST /v1/users/{u}/lock",
                                  domain::account_id(),
                                  "forbidden",
                                  "usr_1",
                                  403,
                                  7,
                                  domain::timestamp(std::chrono::microseconds(1'700'000'000'000'000)),
                                  domain::timestamp(std::chrono::microseconds(1'700'000'004'000'000))};
        auto back = decode_event(encode_event(e));
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(*back, e);
    }
}

TEST(Codec, EmptyCollectionsAndStringsRoundTrip) {
    const domain::event e = domain::contacts_saved{domain::account_id("a"), {}};
    auto back = decode_event(encode_event(e));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, e);
    const domain::event w = domain::watchlist_changed{domain::account_id("a"), {{domain::user_id("u"), {}}}};
    auto back_w = decode_event(encode_event(w));
    ASSERT_TRUE(back_w.has_value());
    EXPECT_EQ(*back_w, w);
}

TEST(Codec, EncodingIsDeterministicAndDistinguishesEvents) {
    const auto samples = all_event_samples();
    std::set<std::string> seen;
    for (const auto& e : samples) {
        EXPECT_EQ(encode_event(e), encode_event(e));
        seen.insert(encode_event(e));
    }
    EXPECT_EQ(seen.size(), samples.size());
}

TEST(Codec, UndecodableEmailIsCorrupt) {
    const domain::event e = domain::user_created{domain::user_id("u-1"), testing::mail("ann@example.com"), "Ann",
                                                 domain::account_id("acme")};
    auto bytes = encode_event(e);
    const auto at = bytes.find("ann@example.com");
    ASSERT_NE(at, std::string::npos);
    bytes[at + 3] = '#';  // same length, so the message layout stays valid: only the email is bad
    auto back = decode_event(bytes);
    ASSERT_FALSE(back.has_value());
    EXPECT_EQ(back.error().code, errc::corrupt);
}

TEST(Codec, OutOfRangeOrdinalIsCorrupt) {
    auto with_kind = [](std::uint8_t k) {
        return encode_event(
            domain::account_opened{domain::account_id("acme"), "Acme", static_cast<domain::account_kind>(k)});
    };
    // The kind byte is where the encodings of two kinds differ (same size: canonical form keeps
    // the data word because the text pointers follow it).
    auto partner = with_kind(1);
    const auto other = with_kind(2);
    ASSERT_EQ(partner.size(), other.size());
    std::size_t at = 0;
    while (at < partner.size() && partner[at] == other[at]) ++at;
    ASSERT_LT(at, partner.size());
    ASSERT_TRUE(decode_event(partner).has_value());
    partner[at] = 7;
    auto back = decode_event(partner);
    ASSERT_FALSE(back.has_value());
    EXPECT_EQ(back.error().code, errc::corrupt);
    EXPECT_FALSE(decode_event(other).has_value());  // 2 is not an account kind either
}

TEST(Codec, GarbageIsCorruptNotACrash) {
    EXPECT_EQ(decode_event("").error().code, errc::corrupt);
    EXPECT_EQ(decode_event("abc").error().code, errc::corrupt);
    EXPECT_EQ(decode_event(std::string(64, '\xff')).error().code, errc::corrupt);
    auto bytes = encode_event(all_event_samples()[2]);
    bytes.resize(16);  // pointers now run past the end of the message
    EXPECT_FALSE(decode_event(bytes).has_value());
}

// Found by fuzz_event_decoder (tests/fuzz/regressions/fuzz_event_decoder/): a list of zero-sized
// structs costs 8 bytes whatever its element count, and Cap'n Proto's default traversal limit let
// it claim millions of elements. The event decoded into millions of subscriptions and its own
// encoding was then too large to decode. The decoder's limit now follows the payload size (with a
// floor for legitimately all-default lists, tested below).
TEST(Codec, ListOfZeroSizedStructsCannotAmplifyAPayload) {
    auto word = [](std::uint64_t w) {
        std::string out(8, '\0');
        for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(w >> (8 * i));
        return out;
    };
    const std::uint64_t count = 3'000'000;
    const std::string bytes = word(0x0001'0001'0000'0000)    // root: Payload, 1 data word, 1 pointer
                              + word(15)                     // union tag: watchlistChanged
                              + word(0x0002'0000'0000'0000)  // -> WatchlistChanged, 2 pointers
                              + word(0)                      // account: null
                              + word(0x0000'0007'0000'0001)  // subscriptions: composite list, 0 words
                              + word(count << 2);            // tag: `count` elements of 0 words
    auto back = decode_event(bytes);
    ASSERT_FALSE(back.has_value());
    EXPECT_EQ(back.error().code, errc::corrupt);
}

TEST(Codec, LargeListsStillRoundTrip) {
    domain::watchlist_changed w{domain::account_id("a"), {}};
    for (int i = 0; i < 20'000; ++i) w.subscriptions.push_back({domain::user_id(), {}});
    w.subscriptions.push_back({domain::user_id("u"), {domain::topic::outage}});
    // All-default elements encode as zero-sized structs, a few bytes for the whole list.
    domain::contacts_saved c{domain::account_id("a"), {}};
    for (int i = 0; i < 20'000; ++i)
        c.assignments.push_back({domain::contact_role::primary_customer_admin, domain::user_id()});
    for (const domain::event& e : {domain::event(w), domain::event(c)}) {
        auto back = decode_event(encode_event(e));
        ASSERT_TRUE(back.has_value()) << back.error().message;
        EXPECT_EQ(*back, e);
    }
}

}  // namespace
}  // namespace roster::eventstore
