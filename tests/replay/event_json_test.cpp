#include "roster/replay/event_json.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace roster::replay {
namespace {

using namespace roster::domain;
namespace json = boost::json;

TEST(event_json, renders_envelope_and_data) {
    eventstore::recorded_event e;
    e.position = eventstore::log_position{7};
    e.stream = "account-acme";
    e.version = eventstore::stream_version{3};
    e.type = "roles_granted";
    e.recorded_at = timestamp{std::chrono::microseconds{1'700'000'000'000'001}};
    e.meta.actor = {"user:u1", "tok1", "127.0.0.1"};
    e.meta.request_id = "req-1";
    e.payload =
        roles_granted{account_id{"acme"}, user_id{"u2"}, role_set::of({role::support_admin, role::learning_learner})};
    e.hash[0] = 0xab;

    auto o = event_json(e);
    EXPECT_EQ(o.at("position").as_uint64(), 7u);
    EXPECT_EQ(o.at("stream").as_string(), "account-acme");
    EXPECT_EQ(o.at("recorded_at").as_string(), "2023-11-14T22:13:20.000001Z");
    EXPECT_EQ(o.at("actor").at("principal").as_string(), "user:u1");
    EXPECT_TRUE(o.at("reason").is_null());
    EXPECT_EQ(std::string(o.at("hash").as_string()).substr(0, 4), "ab00");
    EXPECT_EQ(o.at("prev_hash").as_string(), std::string(64, '0'));
    const auto& roles = o.at("data").at("roles").as_object();
    EXPECT_EQ(json::serialize(roles), R"({"support":["admin"],"impact":[],"learning":["learner"]})");
}

TEST(event_json, never_shows_secret_hashes) {
    auto inv = event_data_json(invitation_issued{invitation_id{"i1"}, user_id{"u1"}, account_id{"acme"}, "deadbeef",
                                                 timestamp{}, invitation_id{}});
    auto tok = event_data_json(token_issued{token_id{"t1"}, user_principal{user_id{"u1"}}, "cafebabe"});
    EXPECT_EQ(json::serialize(inv).find("deadbeef"), std::string::npos);
    EXPECT_EQ(json::serialize(tok).find("cafebabe"), std::string::npos);
    EXPECT_EQ(tok.at("principal").at("user_id").as_string(), "u1");
    EXPECT_TRUE(inv.at("replaces").is_null());
    EXPECT_TRUE(tok.at("expires_at").is_null());  // never expires
    auto rotated = event_data_json(token_rotated{token_id{"t1"}, "f00dcafe", user_id{"u1"}});
    EXPECT_EQ(json::serialize(rotated), R"({"token_id":"t1","user":"u1"})");
    auto expiring = event_data_json(
        token_issued{token_id{"t2"}, auditor_principal{}, "cafebabe", timestamp(std::chrono::seconds(1'800'000'000))});
    EXPECT_EQ(expiring.at("expires_at").as_string(), "2027-01-15T08:00:00.000000Z");
}

TEST(event_json, every_event_type_has_data) {
    const std::vector<event> events{
        account_opened{account_id{"a"}, "A", account_kind::partner},
        partner_linked{account_id{"c"}, account_id{"p"}},
        contacts_saved{account_id{"a"},
                       {{contact_role::security, user_id{"u"}}, {contact_role::secondary_support, user_id{}}}},
        watchlist_changed{account_id{"a"}, {{user_id{"u"}, {topic::outage, topic::release}}}},
        access_denied{auditor_principal{}, "change_roles", account_id{}, "forbidden", {}, 0, 1, {}, {}},
        signing_key_rotated{"o+00000001+AQ==", "o+00000002+AQ==", 3, "statement\n"},
        profile_updated{user_id{"u"}, text_change{"Ann", "Anne"}, std::nullopt},
    };
    for (const auto& ev : events) EXPECT_FALSE(event_data_json(ev).empty()) << type_name(ev);
    auto saved = event_data_json(events[2]);
    EXPECT_EQ(saved.at("contacts").at("security").as_string(), "u");
    EXPECT_TRUE(saved.at("contacts").at("secondary_support").is_null());
    EXPECT_EQ(json::serialize(event_data_json(events[3]).at("subscriptions")),
              R"([{"user_id":"u","topics":["outage","release"]}])");
    auto updated = event_data_json(events.back());
    EXPECT_EQ(json::serialize(updated.at("before")), R"({"name":"Ann"})");
    EXPECT_EQ(json::serialize(updated.at("after")), R"({"name":"Anne"})");
}

}  // namespace
}  // namespace roster::replay
