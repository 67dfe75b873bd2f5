// Positions and stream versions are distinct types: the compiler refuses to mix them, so a user
// stream's version can never be handed out as an account's ETag (the 412 bug class).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>

#include "roster/domain/events.hpp"
#include "roster/domain/positions.hpp"

namespace roster::domain {
namespace {

template <class A, class B>
concept equality_comparable_with_ = requires(const A& a, const B& b) {
    a == b;
};
template <class A, class B>
concept ordered_with = requires(const A& a, const B& b) {
    a < b;
};
template <class A, class B>
concept addable = requires(const A& a, const B& b) {
    a + b;
};

// No implicit way in from a bare number or out to one.
static_assert(!std::is_convertible_v<std::uint64_t, log_position>);
static_assert(!std::is_convertible_v<log_position, std::uint64_t>);
static_assert(!std::is_convertible_v<std::uint64_t, account_version>);
static_assert(!std::is_convertible_v<account_version, std::uint64_t>);
static_assert(std::is_constructible_v<log_position, std::uint64_t>);  // explicitly, yes

// Versions of different kinds of stream neither convert nor construct from each other.
static_assert(!std::is_convertible_v<account_version, user_version>);
static_assert(!std::is_convertible_v<user_version, account_version>);
static_assert(!std::is_constructible_v<account_version, user_version>);
static_assert(!std::is_constructible_v<user_version, token_version>);
static_assert(!std::is_constructible_v<account_version, stream_version>);  // only via version_of
static_assert(!std::is_convertible_v<stream_version, user_version>);
static_assert(!std::is_convertible_v<account_version, stream_version>);

// A position is not a version and a version is not a position.
static_assert(!std::is_constructible_v<log_position, account_version>);
static_assert(!std::is_constructible_v<log_position, stream_version>);
static_assert(!std::is_constructible_v<stream_version, log_position>);
static_assert(!std::is_constructible_v<user_version, log_position>);

// Not comparable across kinds, nor with bare numbers.
static_assert(equality_comparable_with_<account_version, account_version>);
static_assert(ordered_with<log_position, log_position>);
static_assert(!equality_comparable_with_<account_version, user_version>);
static_assert(!equality_comparable_with_<user_version, stream_version>);
static_assert(!equality_comparable_with_<log_position, stream_version>);
static_assert(!equality_comparable_with_<log_position, std::uint64_t>);
static_assert(!equality_comparable_with_<account_version, std::uint64_t>);
static_assert(!ordered_with<account_version, token_version>);
static_assert(!ordered_with<log_position, account_version>);

// No arithmetic: positions and versions only step forward with next().
static_assert(!addable<log_position, account_version>);
static_assert(!addable<log_position, std::uint64_t>);
static_assert(!addable<user_version, int>);

// The typed versions have the size of the number they wrap (they are stored as it).
static_assert(sizeof(log_position) == sizeof(std::uint64_t));
static_assert(sizeof(account_version) == sizeof(std::uint64_t));

// version_of: the stream name and the typed result come from the same id.
struct fake_reader {
    domain::stream_version stream_version(std::string_view s) const {
        if (s == "account-a") return domain::stream_version{3};
        if (s == "user-a") return domain::stream_version{7};
        if (s == "token-a") return domain::stream_version{1};
        if (s == security_stream) return domain::stream_version{9};
        return domain::stream_version{0};
    }
};
static_assert(std::is_same_v<decltype(version_of(fake_reader{}, account_id{})), account_version>);
static_assert(std::is_same_v<decltype(version_of(fake_reader{}, user_id{})), user_version>);
static_assert(std::is_same_v<decltype(version_of(fake_reader{}, token_id{})), token_version>);

TEST(positions, log_position_orders_and_steps) {
    constexpr log_position empty;
    EXPECT_EQ(empty.value, 0u);
    EXPECT_EQ(empty.next(), log_position{1});
    EXPECT_EQ(log_position{5}.prev(), log_position{4});
    EXPECT_EQ(empty.prev(), empty);
    EXPECT_LT(log_position{2}, log_position{10});
    EXPECT_EQ(log_position::max().value, UINT64_MAX);
    std::unordered_set<log_position> seen{log_position{1}, log_position{1}, log_position{2}};
    EXPECT_EQ(seen.size(), 2u);
}

TEST(positions, stream_versions_exist_from_one) {
    EXPECT_FALSE(account_version{}.exists());
    EXPECT_TRUE(account_version{}.next().exists());
    EXPECT_EQ(user_version{4}.next(), user_version{5});
    EXPECT_GT(token_version{2}, token_version{1});
}

TEST(positions, version_of_reads_the_stream_of_that_id) {
    const fake_reader r;
    // Same id text, different kinds: each asks for its own stream.
    EXPECT_EQ(version_of(r, account_id{"a"}), account_version{3});
    EXPECT_EQ(version_of(r, user_id{"a"}), user_version{7});
    EXPECT_EQ(version_of(r, token_id{"a"}), token_version{1});
    EXPECT_EQ(security_version_of(r), security_version{9});
    EXPECT_FALSE(version_of(r, account_id{"nobody"}).exists());
}

}  // namespace
}  // namespace roster::domain
