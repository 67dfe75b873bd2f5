// Shared fixtures of the event-store tests: temporary directories and sample events.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "roster/domain/events.hpp"
#include "roster/eventstore/store.hpp"
#include "temp_dir.hpp"

namespace roster::eventstore::testing {

// A fresh temporary directory; the store goes in db().
class temp_dir : public test_support::temp_dir {
public:
    temp_dir() : test_support::temp_dir("roster-es") {}
    std::filesystem::path db() const { return path() / "db"; }
};

inline domain::email mail(const std::string& s) { return *domain::email::parse(s); }

inline domain::event locked(const std::string& user) { return domain::user_locked{domain::user_id(user)}; }
inline domain::event opened(const std::string& account) {
    return domain::account_opened{domain::account_id(account), "Name of " + account, domain::account_kind::customer};
}

// `version`: the stream version the caller numbered the event with (new_event::version).
inline new_event ev(domain::event e, std::optional<std::uint64_t> version = std::nullopt) {
    new_event n{std::move(e), std::nullopt, {}};
    if (version) n.version = domain::stream_version{*version};
    n.meta.actor = {"operator", "tok-1", "127.0.0.1"};
    n.meta.request_id = "req-1";
    return n;
}

inline append_batch batch_of(std::vector<new_event> events, std::string key = {}, std::string fingerprint = {},
                             std::string outcome = {}) {
    append_batch b;
    b.events = std::move(events);
    b.idempotency_key = std::move(key);
    b.fingerprint = std::move(fingerprint);
    b.outcome = std::move(outcome);
    return b;
}

inline append_batch one(domain::event e, std::optional<std::uint64_t> version = std::nullopt) {
    std::vector<new_event> v;
    v.push_back(ev(std::move(e), version));
    return batch_of(std::move(v));
}

// One instance of every domain event type, every field set to a non-default value.
inline std::vector<domain::event> all_event_samples() {
    using namespace roster::domain;
    const timestamp t{std::chrono::microseconds(1'700'000'123'456'789)};
    return {
        account_opened{account_id("acme"), "Acme Corp", account_kind::partner},
        partner_linked{account_id("cust-1"), account_id("partner-9")},
        user_created{user_id("u-1"), mail("Ann.Smith@Example.COM"), "Ann Smith", account_id("acme")},
        // An all-zero role change must still read back as recorded (present, not absent).
        member_added{account_id("cust-1"), user_id("u-1"), membership_type::third_party, role_change{}},
        roles_granted{account_id("acme"), user_id("u-1"), role_set::of({role::support_admin, role::learning_learner}),
                      role_change{role_set::of({role::impact_member}),
                                  role_set::of({role::impact_member, role::support_admin, role::learning_learner})}},
        roles_revoked{account_id("acme"), user_id("u-2"), role_set::of({role::impact_member, role::support_viewer}),
                      role_change{role_set::of({role::impact_member, role::support_viewer, role::learning_admin}),
                                  role_set::of({role::learning_admin})}},
        all_roles_removed{account_id("acme"), user_id("u-3"), role_set::of({role::impact_admin, role::learning_admin}),
                          role_change{role_set::of({role::impact_admin, role::learning_admin}), {}}},
        user_locked{user_id("u-4"), {account_id("acme"), account_id("cust-1")}},
        user_unlocked{user_id("u-5"), {account_id("acme")}},
        invitation_issued{invitation_id("inv-2"), user_id("u-1"), account_id("acme"),
                          "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", t,
                          invitation_id("inv-1")},
        invitation_accepted{invitation_id("inv-2"), user_id("u-1"), {account_id("acme")}},
        member_removed{account_id("cust-1"), user_id("u-1"), membership_type::third_party,
                       role_set::of({role::support_contributor}), true,
                       role_change{role_set::of({role::support_contributor}), {}}},
        profile_retired{user_id("u-1"), mail("ann.smith@example.com"), {account_id("acme"), account_id("cust-1")}},
        contacts_saved{account_id("acme"),
                       {{contact_role::security, user_id("u-7"), user_id("u-6")},
                        {contact_role::secondary_technical, user_id("u-8"), user_id{}}}},
        contact_handed_over{account_id("acme"), contact_role::primary_partner_contact, user_id("u-7"), user_id("u-8")},
        watchlist_changed{account_id("acme"),
                          {{user_id("u-1"), {topic::maintenance, topic::release}}, {user_id("u-2"), {topic::security}}},
                          {{user_id("u-1"), {topic::maintenance}, {topic::maintenance, topic::release}},
                           {user_id("u-3"), {topic::security}, {}}}},
        token_issued{token_id("t-1"), user_principal{user_id("u-9")},
                     "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                     timestamp(std::chrono::seconds(1'800'000'000))},
        token_revoked{token_id("t-1"), user_id("u-9")},
        access_denied{service_principal{"portal-support"},
                      "change_roles",
                      account_id("acme"),
                      "forbidden",
                      "usr_9",
                      403,
                      2,
                      {},
                      {}},
        signing_key_rotated{"roster.local/log+0a1b2c3d+AQ==", "roster.local/log+4e5f6a7b+AQ==", 42,
                            "roster signing-key rotation v1\n"},
        token_rotated{token_id("t-1"), "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
                      user_id("u-9")},
        profile_updated{user_id("u-1"),
                        text_change{"Ann Smith", "Ann Jones"},
                        text_change{"ann.smith@example.com", "ann.jones@example.com"},
                        {account_id("acme"), account_id("cust-1")}},
        webhook_registered{
            webhook_id("whk_1"),
            webhook_settings{
                "https://hooks.example.com/r?k=1", {account_id("acme")}, {"member_added", "user_locked"}, "ops", true},
            "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"},
        webhook_changed{webhook_id("whk_1"),
                        webhook_settings{"https://hooks.example.com/r", {}, {"user_locked"}, "", true},
                        webhook_settings{"http://127.0.0.1:9/x", {account_id("a"), account_id("b")}, {}, "d", false}},
        webhook_removed{webhook_id("whk_1"), webhook_settings{"http://127.0.0.1:9/x", {}, {}, "", false}},
    };
}

}  // namespace roster::eventstore::testing
