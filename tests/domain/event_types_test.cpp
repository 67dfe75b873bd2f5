// The domain's one table of event type strings: one distinct name per alternative of
// domain::event, in variant order, and the lookups built on it.
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "roster/domain/events.hpp"

namespace roster::domain {
namespace {

// The table is usable at compile time: a routing table or a static_assert may index it.
static_assert(event_type_names.size() == std::variant_size_v<event>);
static_assert(event_type_index("user_created") == 2);
static_assert(!event_type_index("no_such_event"));

template <std::size_t... I>
void each_alternative_names_itself(std::index_sequence<I...>) {
    (
        [] {
            using T = std::variant_alternative_t<I, event>;
            EXPECT_EQ(event_type_names[I], T::type_name) << "alternative " << I;
            EXPECT_EQ(event_type_index(T::type_name), I) << T::type_name;
        }(),
        ...);
}

TEST(event_types, the_table_follows_the_variant_order) {
    each_alternative_names_itself(std::make_index_sequence<std::variant_size_v<event>>{});
}

TEST(event_types, names_are_distinct_snake_case_and_stable) {
    std::set<std::string_view> seen;
    for (auto name : event_type_names) {
        EXPECT_TRUE(seen.insert(name).second) << name;
        EXPECT_FALSE(name.empty());
        for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
    }
    // Stored in the log and shown on the wire: an existing name never changes.
    EXPECT_EQ(event_type_names.front(), "account_opened");
    EXPECT_EQ(event_type_names[18], "access_denied");
    EXPECT_EQ(event_type_names[19], "signing_key_rotated");
    EXPECT_EQ(event_type_names[20], "token_rotated");
    EXPECT_EQ(event_type_names[21], "profile_updated");
}

TEST(event_types, type_name_reads_the_table) {
    EXPECT_EQ(type_name(event{user_locked{user_id{"u"}}}), "user_locked");
    EXPECT_EQ(type_name(event{access_denied{}}), "access_denied");
    EXPECT_EQ(type_name(event{user_created{user_id{"u"}, *email::parse("a@b.c"), "n", account_id{"a"}}}),
              "user_created");
}

TEST(event_types, unknown_names_have_no_index) {
    EXPECT_FALSE(event_type_index(""));
    EXPECT_FALSE(event_type_index("User_Locked"));
    EXPECT_FALSE(event_type_index("user_locked "));
}

}  // namespace
}  // namespace roster::domain
