// Every alternative of domain::event, iterated at compile time, reaches every reader of the log:
// the codec, the state fold, the directory, the history index, the live stream's filter and the
// JSON wire form. A new event type that one of them ignores fails here (or does not compile),
// instead of silently vanishing from a history page or a types= filter.
#include <gtest/gtest.h>

#include <algorithm>
#include <type_traits>
#include <utility>

#include "roster/api/live_hub.hpp"
#include "roster/domain/events.hpp"
#include "roster/domain/state.hpp"
#include "roster/eventstore/codec.hpp"
#include "roster/projections/directory.hpp"
#include "roster/projections/history_index.hpp"
#include "roster/replay/event_json.hpp"

namespace roster::projections {
namespace {

using namespace roster::domain;

// One value per event type. Most are default-constructible; those that are not (an email has
// no empty value) are spelled out. A new type that is neither stops the build here.
template <class T>
T sample() {
    if constexpr (std::is_same_v<T, user_created>) {
        return T{user_id{"ada"}, *email::parse("ada@acme.com"), "Ada", account_id{"acme"}};
    } else if constexpr (std::is_same_v<T, profile_retired>) {
        return T{user_id{"ada"}, *email::parse("ada@acme.com")};
    } else {
        static_assert(std::is_default_constructible_v<T>, "a new event type: give it a sample here");
        return T{};
    }
}

eventstore::recorded_event record(std::uint64_t position, event e) {
    eventstore::recorded_event r;
    r.position = eventstore::log_position{position};
    r.stream = stream_of(e);
    r.type = std::string(type_name(e));
    r.payload = std::move(e);
    r.meta.actor.principal = "operator";
    return r;
}

template <std::size_t I>
void check_event_type() {
    using T = std::variant_alternative_t<I, event>;
    const std::string_view name = event_type_names[I];
    SCOPED_TRACE(std::string(name));
    const event e = sample<T>();
    ASSERT_EQ(e.index(), I);
    EXPECT_EQ(type_name(e), name);
    EXPECT_EQ(event_type_index(name), I);

    // The log: it encodes and decodes to the same value.
    auto decoded = eventstore::decode_event(eventstore::encode_event(e));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, e);

    // The folds: the state and the directory take it (the directory's visitor is exhaustive, so
    // an unknown type would not have compiled).
    state s;
    apply(s, e);
    directory dir;
    dir.apply(e);

    // The history index: the type filter knows the name and a filtered page finds the event.
    const auto position = std::uint64_t{I} + 1;
    const auto r = record(position, e);
    const auto bit = event_type_bit(name);
    ASSERT_TRUE(bit);
    EXPECT_EQ(*bit, event_type_mask{1} << I);
    history_index history;
    history.add(r, s);
    history_page_request only_this{history_subject::actor,          "operator", eventstore::log_position{1},
                                   eventstore::log_position::max(), *bit,       10};
    EXPECT_EQ(history.page(only_this).value(),
              std::vector<eventstore::log_position>{eventstore::log_position{position}});
    only_this.types = all_event_types & ~*bit;
    EXPECT_TRUE(history.page(only_this).value().empty());

    // The live stream: types= accepts the name and the filter lets the event through.
    const auto& known = api::event_type_names();
    EXPECT_TRUE(std::find(known.begin(), known.end(), name) != known.end()) << "types= would refuse it";
    EXPECT_TRUE((api::live_filter{std::nullopt, {std::string(name)}}.matches(r)));
    EXPECT_FALSE((api::live_filter{std::nullopt, {"no_such_event"}}.matches(r)));

    // The wire: the event renders with its type and business fields.
    const auto json = replay::event_json(r);
    EXPECT_EQ(json.at("type").as_string(), name);
    EXPECT_FALSE(json.at("data").as_object().empty());
}

template <std::size_t... I>
void check_every_event_type(std::index_sequence<I...>) {
    (check_event_type<I>(), ...);
}

TEST(every_event_type, reaches_the_codec_the_folds_the_history_the_live_filter_and_the_wire) {
    check_every_event_type(std::make_index_sequence<std::variant_size_v<event>>{});
}

TEST(every_event_type, the_live_filter_and_the_history_know_no_other_names) {
    EXPECT_EQ(api::event_type_names().size(), std::variant_size_v<event>);
    EXPECT_FALSE(event_type_bit("no_such_event"));
}

}  // namespace
}  // namespace roster::projections
