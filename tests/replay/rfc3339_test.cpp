#include "roster/replay/rfc3339.hpp"

#include <gtest/gtest.h>

namespace roster::replay {
namespace {

using namespace std::chrono;

domain::timestamp at(int y, unsigned mo, unsigned d, int h, int mi, int s, long long us = 0) {
    return time_point_cast<microseconds>(sys_days{year{y} / month{mo} / day{d}}) + hours{h} + minutes{mi} + seconds{s} +
           microseconds{us};
}

TEST(rfc3339, formats_utc_with_microseconds) {
    EXPECT_EQ(format_rfc3339(at(2026, 3, 1, 9, 5, 7, 42)), "2026-03-01T09:05:07.000042Z");
    EXPECT_EQ(format_rfc3339(domain::timestamp{}), "1970-01-01T00:00:00.000000Z");
}

TEST(rfc3339, parses_zulu_offsets_and_fractions) {
    EXPECT_EQ(parse_rfc3339("2026-03-01T09:05:07Z"), at(2026, 3, 1, 9, 5, 7));
    EXPECT_EQ(parse_rfc3339("2026-03-01t09:05:07.5z"), at(2026, 3, 1, 9, 5, 7, 500000));
    EXPECT_EQ(parse_rfc3339("2026-03-01T09:05:07.123456789Z"), at(2026, 3, 1, 9, 5, 7, 123456));
    EXPECT_EQ(parse_rfc3339("2026-03-01T10:35:07+01:30"), at(2026, 3, 1, 9, 5, 7));
    EXPECT_EQ(parse_rfc3339("2026-02-28T23:00:00-02:00"), at(2026, 3, 1, 1, 0, 0));
}

TEST(rfc3339, round_trips) {
    auto t = at(2031, 12, 31, 23, 59, 59, 999999);
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
}

TEST(rfc3339, rejects_malformed_and_impossible) {
    for (const char* bad : {"", "2026-03-01", "2026-03-01T09:05:07", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
                            "2026-03-01T24:00:00Z", "2026-03-01T09:05:60Z", "2026-03-01T09:05:07.Z",
                            "2026-03-01T09:05:07+0100", "2026-03-01T09:05:07Zjunk", "20x6-03-01T09:05:07Z", "123"})
        EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

}  // namespace
}  // namespace roster::replay
