// The export writes JSON Lines straight into its buffer (replay/src/event_json_writer.cpp); the
// bytes must stay those of boost::json::serialize(event_json(e)), which reviewers and
// replay/verify_pack.py hold.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "../eventstore/test_util.hpp"
#include "roster/eventstore/checkpoint.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/export.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::replay {
namespace {

using namespace roster::domain;

// The line as it was made before the writer: the value, serialized (no hidden controls in these
// samples beyond C0, which both escape the same way before jsonl_row's own escaping).
std::string value_line(const eventstore::recorded_event& e, std::optional<std::string_view> envelope) {
    auto object = event_json(e);
    if (envelope)
        object["envelope"] = eventstore::base64_encode(
            std::span(reinterpret_cast<const std::uint8_t*>(envelope->data()), envelope->size()));
    return boost::json::serialize(object) + "\n";
}

std::vector<event> samples() {
    auto all = eventstore::testing::all_event_samples();
    const timestamp t{std::chrono::microseconds(1'699'999'999'000'001)};
    // Repeated dynamic keys: the object keeps the first place and the last value.
    all.push_back(contacts_saved{account_id("a"),
                                 {{contact_role::security, user_id("u-1"), user_id("u-0")},
                                  {contact_role::primary_support, user_id{}, std::nullopt},
                                  {contact_role::security, user_id("u-2"), user_id{}},
                                  {contact_role::primary_support, user_id("u-3"), user_id("u-4")}}});
    all.push_back(contacts_saved{account_id("a"), {{contact_role::security, user_id("u-1")}}});
    all.push_back(watchlist_changed{account_id("a"), {}, {}});
    all.push_back(watchlist_changed{account_id("a"),
                                    {{user_id("u-1"), {}}},
                                    {{user_id("u-1"), {topic::outage}, {}},
                                     {user_id("u-2"), {}, {topic::release}},
                                     {user_id("u-1"), {topic::security}, {topic::outage, topic::release}}}});
    all.push_back(access_denied{operator_principal{}, "GET /v1/x", account_id{}, "nope", {}, 429, 7, t, t});
    all.push_back(token_issued{token_id("t"), auditor_principal{}, "x", {}});
    all.push_back(token_issued{token_id("t"), operator_principal{}, "x", timestamp{std::chrono::microseconds(-1)}});
    all.push_back(token_rotated{token_id("t"), "x", user_id{}});
    all.push_back(token_revoked{token_id("t"), user_id{}});
    all.push_back(profile_updated{user_id("u"), std::nullopt, text_change{"a@x.io", "b@x.io"}, {}});
    all.push_back(profile_updated{user_id("u"), std::nullopt, std::nullopt, {}});
    all.push_back(member_added{account_id("a"), user_id("u"), membership_type::employee, std::nullopt});
    all.push_back(invitation_issued{invitation_id("i"), user_id("u"), account_id("a"), "h", t, invitation_id{}});
    all.push_back(user_locked{user_id("u"), {}});
    // Text that needs escaping: quotes, backslashes, C0 controls, UTF-8 and bytes that are not.
    all.push_back(account_opened{account_id("q\"\\/"), "tab\there\nnl \x01\x1f\b\f\r\x0b é 😀 \xff \xe2\x80",
                                 account_kind::customer});
    return all;
}

TEST(event_json_writer, writes_the_bytes_of_the_serialized_value_for_every_event_type) {
    const auto events = samples();
    std::vector<bool> seen(std::variant_size_v<event>);
    std::uint64_t position = 1;
    for (const auto& payload : events) {
        seen[payload.index()] = true;
        for (int shape = 0; shape < 4; ++shape) {
            eventstore::recorded_event e;
            e.position = eventstore::log_position{position++};
            e.stream = "account-acme";
            e.version = eventstore::stream_version{position * 3};
            e.type = std::string(type_name(payload));
            e.payload = payload;
            e.prev_hash[0] = 0x0f, e.hash[31] = 0xf0;
            // shape 0: the least an envelope holds; then everything, a user actor with and without
            // a label, odd times.
            if (shape == 0) {
                e.recorded_at = timestamp{};
            } else {
                e.recorded_at = timestamp{std::chrono::microseconds(shape == 1   ? 1'700'000'123'456'789
                                                                    : shape == 2 ? -86'400'000'001
                                                                                 : 253'402'300'799'999'999)};
                e.meta.actor = {shape == 3 ? "service:x" : "user:u-1", "tok_1", "10.0.0.1:5"};
                e.meta.request_id = "req-1";
                e.meta.correlation_id = "corr\"1";
                e.meta.causation_id = "cause-1";
                e.meta.reason = "because\\ \u00e9";
                e.meta.reference = "CHG-1";
                e.meta.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
                if (shape != 2)
                    e.meta.labels = {{user_id("u-2"), "Bob", "bob@x.io"}, {user_id("u-1"), "Ann \"A\"", "ann@x.io"}};
            }
            const std::string stored = "\x01\x02stored envelope bytes \xff";
            for (auto envelope : {std::optional<std::string_view>{}, std::optional<std::string_view>{stored}}) {
                const auto expected = value_line(e, envelope);
                EXPECT_EQ(jsonl_row(e, envelope), expected) << e.type << " shape " << shape;
                std::string out = "prefix{";
                append_jsonl_row(out, e, envelope);
                EXPECT_EQ(out, "prefix{" + expected) << e.type;
            }
        }
    }
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "no sample of event type " << i;
}

TEST(event_json_writer, rfc3339_appends_the_formatted_text) {
    for (std::int64_t us : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1'700'000'123'456'789},
                            std::int64_t{-62'135'596'800'000'000}, std::int64_t{253'402'300'799'999'999},
                            std::int64_t{253'402'300'800'000'000}, std::int64_t{-62'135'596'800'000'001}}) {
        const timestamp t{std::chrono::microseconds(us)};
        std::string out = "x";
        append_rfc3339(out, t);
        EXPECT_EQ(out, "x" + format_rfc3339(t)) << us;
    }
}

}  // namespace
}  // namespace roster::replay
