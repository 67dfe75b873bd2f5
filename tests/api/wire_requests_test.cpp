// The request wire types on their own: each parse_<command> accepts a valid body and refuses a
// missing or mistyped field with the problem code the route answered before they existed.
#include "roster/api/wire_requests.hpp"

#include <functional>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace roster::api::wire {
namespace {

using namespace roster::domain;
using json_object = boost::json::object;

json_object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

const account_id acc{"acc-1"};
const user_id usr{"usr_1"};
const invitation_request fresh_invitation{invitation_id{"inv_1"}, "ab12", std::nullopt};
const timestamp t0{std::chrono::seconds(1'800'000'000)};

std::string fake_hash(std::string_view secret) { return "hash(" + std::string(secret) + ")"; }

// One parser run on one body: "" when it accepts, else the refusal's status and code.
struct outcome {
    unsigned status = 0;
    std::string code;
    std::string field;
};

template <class T>
outcome of(const parsed<T>& r) {
    if (r) return {};
    // result::error() returns a copy: keep one alive while iterating its `extra`.
    const auto error = r.error();
    outcome o{error.status, error.code, {}};
    if (auto it = error.extra.find("field"); it != error.extra.end() && it->value().is_string())
        o.field = std::string(it->value().as_string());
    return o;
}

using runner = std::function<outcome(const json_object&)>;

const std::map<std::string, runner>& parsers() {
    static const std::map<std::string, runner> all{
        {"open_account", [](const json_object& b) { return of(parse_open_account(b, account_id{"acc-gen"})); }},
        {"link_partner", [](const json_object& b) { return of(parse_link_partner(b, acc)); }},
        {"issue_token", [](const json_object& b) { return of(parse_issue_token(b, token_id{"tok_1"}, "h", t0)); }},
        {"rotate_token", [](const json_object& b) { return of(parse_rotate_token(b, token_id{"tok_1"}, "h")); }},
        {"create_user", [](const json_object& b) { return of(parse_create_user(b, acc, usr, fresh_invitation)); }},
        {"add_member", [](const json_object& b) { return of(parse_add_member(b, acc)); }},
        {"change_roles", [](const json_object& b) { return of(parse_change_roles(b, acc, usr)); }},
        {"lock_user", [](const json_object& b) { return of(parse_lock_user(b, usr)); }},
        {"unlock_user", [](const json_object& b) { return of(parse_unlock_user(b, usr)); }},
        {"update_profile", [](const json_object& b) { return of(parse_update_profile(b, usr)); }},
        {"accept_invitation", [](const json_object& b) { return of(parse_accept_invitation(b, &fake_hash)); }},
        {"save_contacts", [](const json_object& b) { return of(parse_save_contacts(b, acc)); }},
        {"hand_over_contact", [](const json_object& b) { return of(parse_hand_over_contact(b, acc, "security")); }},
        {"set_watchlist", [](const json_object& b) { return of(parse_set_watchlist(b, acc)); }},
        {"backup_request", [](const json_object& b) { return of(parse_backup_request(b)); }},
        {"register_webhook",
         [](const json_object& b) { return of(parse_register_webhook(b, webhook_id{"whk_1"}, "h")); }},
        {"change_webhook", [](const json_object& b) { return of(parse_change_webhook(b, webhook_id{"whk_1"})); }},
        {"webhook_replay", [](const json_object& b) { return of(parse_webhook_replay(b)); }},
    };
    return all;
}

struct body_case {
    const char* parser;
    const char* body;
    const char* code;  // "" = accepted
    const char* field = "";
};

const body_case cases[] = {
    {"open_account", R"({"name":"Acme","kind":"customer"})", ""},
    {"open_account", R"({"id":"acme","name":"Acme","kind":"partner"})", ""},
    {"open_account", R"({"kind":"customer"})", "missing_field", "name"},
    {"open_account", R"({"name":"Acme","kind":"vendor"})", "invalid_field", "kind"},
    {"open_account", R"({"name":7,"kind":"customer"})", "invalid_field_type", "name"},
    {"open_account", R"({"name":"Acme","kind":"customer","extra":1})", "unknown_field", "extra"},
    {"link_partner", R"({"partner_id":"p-1"})", ""},
    {"link_partner", R"({})", "missing_field", "partner_id"},
    {"link_partner", R"({"partner_id":null})", "missing_field", "partner_id"},  // null is absent
    {"link_partner", R"({"partner_id":5})", "invalid_field_type", "partner_id"},
    {"issue_token", R"({"principal":{"operator":true}})", ""},
    {"issue_token", R"({"principal":{"user_id":"usr_1"}})", ""},
    {"issue_token", R"({})", "missing_field", "principal"},
    {"issue_token", R"({"principal":{}})", "invalid_field", "principal"},
    {"issue_token", R"({"principal":{"service":"a","auditor":true}})", "invalid_field", "principal"},
    {"issue_token", R"({"principal":{"operator":"yes"}})", "invalid_field", "principal"},
    {"issue_token", R"({"principal":"operator"})", "invalid_field_type", "principal"},
    {"issue_token", R"({"principal":{"operator":true},"expires_in":60})", ""},
    {"issue_token", R"({"principal":{"operator":true},"expires_in":34560000})", ""},
    {"issue_token", R"({"principal":{"operator":true},"expires_in":59})", "invalid_field", "expires_in"},
    {"issue_token", R"({"principal":{"operator":true},"expires_in":34560001})", "invalid_field", "expires_in"},
    {"issue_token", R"({"principal":{"operator":true},"expires_in":"1h"})", "invalid_field_type", "expires_in"},
    {"rotate_token", R"({})", ""},
    {"rotate_token", R"({"grace_seconds":60})", "unknown_field", "grace_seconds"},
    {"create_user", R"({"email":"a@example.com","name":"Ada","roles":{"support":["admin"]}})", ""},
    {"create_user", R"({"email":"a@example.com","name":"Ada","invite":false})", ""},
    {"create_user", R"({"name":"Ada"})", "missing_field", "email"},
    {"create_user", R"({"email":"a@example.com","name":"Ada","roles":{"sales":["admin"]}})", "invalid_field", "roles"},
    {"create_user", R"({"email":"a@example.com","name":"Ada","roles":{"support":["god"]}})", "invalid_field", "roles"},
    {"create_user", R"({"email":"a@example.com","name":"Ada","roles":{"support":"admin"}})", "invalid_field", "roles"},
    {"create_user", R"({"email":"a@example.com","name":"Ada","invite":"no"})", "invalid_field_type", "invite"},
    {"add_member", R"({"user_id":"usr_2","roles":{"impact":["member"]}})", ""},
    {"add_member", R"({"email":"b@example.com"})", ""},
    {"add_member", R"({})", "invalid_field", "user_id"},
    {"add_member", R"({"user_id":"usr_2","email":"b@example.com"})", "invalid_field", "user_id"},
    {"add_member", R"({"email":3})", "invalid_field_type", "email"},
    {"change_roles", R"({"grant":{"support":["viewer"]},"revoke":{"learning":["learner"]}})", ""},
    {"change_roles", R"({})", ""},
    {"change_roles", R"({"grant":["support:viewer"]})", "invalid_field_type", "grant"},
    {"change_roles", R"({"revoke":{"learning":["admin","x"]}})", "invalid_field", "revoke"},
    {"change_roles", R"({"grants":{}})", "unknown_field", "grants"},
    {"lock_user", R"({})", ""},
    {"lock_user", R"({"reason":"left"})", ""},
    {"lock_user", R"({"reason":1})", "invalid_field_type", "reason"},
    {"unlock_user", R"({"reason":"back"})", ""},
    {"unlock_user", R"({"why":"back"})", "unknown_field", "why"},
    {"update_profile", R"({"name":"Ann","email":"ann@example.com"})", ""},
    {"update_profile", R"({})", ""},
    {"update_profile", R"({"name":["Ann"]})", "invalid_field_type", "name"},
    {"update_profile", R"({"employer":"acme"})", "unknown_field", "employer"},
    {"accept_invitation", R"({"secret":"ris_x"})", ""},
    {"accept_invitation", R"({})", "missing_field", "secret"},
    {"accept_invitation", R"({"secret":["ris_x"]})", "invalid_field_type", "secret"},
    {"save_contacts", R"({"security":"usr_1","primary_business":null})", ""},
    {"save_contacts", R"({})", ""},
    {"save_contacts", R"({"ceo":"usr_1"})", "unknown_contact_role"},
    {"save_contacts", R"({"security":7})", "invalid_field_type"},
    {"hand_over_contact", R"({"to_user_id":"usr_2"})", ""},
    {"hand_over_contact", R"({})", "missing_field", "to_user_id"},
    {"hand_over_contact", R"({"to_user_id":"usr_2","from":"x"})", "unknown_field", "from"},
    {"set_watchlist", R"({"subscriptions":[{"user_id":"usr_1","topics":["outage","security"]}]})", ""},
    {"set_watchlist", R"({"subscriptions":[]})", ""},
    {"set_watchlist", R"({})", "missing_field", "subscriptions"},
    {"set_watchlist", R"({"subscriptions":{}})", "invalid_field_type", "subscriptions"},
    {"set_watchlist", R"({"subscriptions":[1]})", "invalid_field", "subscriptions"},
    {"set_watchlist", R"({"subscriptions":[{"user_id":"usr_1","topics":["gossip"]}]})", "invalid_field",
     "subscriptions"},
    {"set_watchlist", R"({"subscriptions":[{"user_id":"usr_1"}]})", "invalid_field", "subscriptions"},
    {"backup_request", R"({"to":"/backups/one"})", ""},
    {"backup_request", R"({"to":1})", "invalid_field_type", "to"},
    {"backup_request", R"({})", "missing_field", "to"},
    {"register_webhook", R"({"url":"https://hooks.example.com/r?x=1"})", ""},
    {"register_webhook", R"({"url":"http://127.0.0.1:8081","accounts":["acme"],"types":["user_locked"]})", ""},
    {"register_webhook", R"({})", "missing_field", "url"},
    {"register_webhook", R"({"url":"ftp://example.com/"})", "invalid_field", "url"},
    {"register_webhook", R"({"url":"https://u:p@example.com/"})", "invalid_field", "url"},
    {"register_webhook", R"({"url":"https://example.com/#f"})", "invalid_field", "url"},
    {"register_webhook", R"({"url":"example.com/hook"})", "invalid_field", "url"},
    {"register_webhook", R"({"url":"https://example.com/","accounts":"acme"})", "invalid_field_type", "accounts"},
    {"register_webhook", R"({"url":"https://example.com/","secret":"mine"})", "unknown_field", "secret"},
    {"change_webhook", R"({})", ""},
    {"change_webhook", R"({"enabled":false,"types":[]})", ""},
    {"change_webhook", R"({"url":"mailto:a@example.com"})", "invalid_field", "url"},
    {"change_webhook", R"({"enabled":"no"})", "invalid_field_type", "enabled"},
    {"webhook_replay", R"({})", ""},
    {"webhook_replay", R"({"positions":[3,4]})", ""},
    {"webhook_replay", R"({"positions":[0]})", "invalid_field", "positions"},
    {"webhook_replay", R"({"positions":["3"]})", "invalid_field", "positions"},
};

TEST(wire_requests, accept_valid_bodies_and_refuse_bad_fields_with_the_routes_codes) {
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(c.parser) + " " + c.body);
        const auto& run = parsers().at(c.parser);
        auto got = run(obj(c.body));
        EXPECT_EQ(got.code, c.code);
        if (*c.code) {
            EXPECT_EQ(got.status, 400u);
            EXPECT_EQ(got.field, c.field);
        }
    }
}

TEST(wire_requests, every_body_parser_has_cases_both_ways) {
    for (const auto& [name, run] : parsers()) {
        bool accepted = false, refused = false;
        for (const auto& c : cases)
            if (c.parser == name) (*c.code ? refused : accepted) = true;
        EXPECT_TRUE(accepted && refused) << name;
    }
}

TEST(wire_requests, build_the_command_the_route_submitted) {
    auto open = parse_open_account(obj(R"({"name":"Acme","kind":"partner"})"), account_id{"acc-gen"});
    ASSERT_TRUE(open);
    EXPECT_EQ(*open, (open_account{account_id{"acc-gen"}, "Acme", account_kind::partner}));
    auto named = parse_open_account(obj(R"({"id":"acme","name":"Acme","kind":"customer"})"), account_id{"acc-gen"});
    ASSERT_TRUE(named);
    EXPECT_EQ(named->id, account_id{"acme"});

    auto user = parse_create_user(obj(R"({"email":"a@example.com","name":"Ada","roles":{"support":["admin"]}})"), acc,
                                  usr, fresh_invitation);
    ASSERT_TRUE(user);
    EXPECT_TRUE(user->roles.contains(*parse_role("support:admin")));
    EXPECT_EQ(user->invitation, fresh_invitation);
    auto uninvited =
        parse_create_user(obj(R"({"email":"a@example.com","name":"Ada","invite":false})"), acc, usr, fresh_invitation);
    ASSERT_TRUE(uninvited);
    EXPECT_FALSE(uninvited->invitation.has_value());

    auto member = parse_add_member(obj(R"({"email":"b@example.com"})"), acc);
    ASSERT_TRUE(member);
    EXPECT_EQ(std::get<std::string>(member->who), "b@example.com");

    auto token = parse_issue_token(obj(R"({"principal":{"service":"billing"}})"), token_id{"tok_1"}, "h", t0);
    ASSERT_TRUE(token);
    EXPECT_EQ(token->subject, principal{service_principal{"billing"}});
    EXPECT_EQ(token->secret_sha256_hex, "h");
    EXPECT_FALSE(token->expires_at.has_value()) << "no expires_in: never expires";
    auto expiring =
        parse_issue_token(obj(R"({"principal":{"auditor":true},"expires_in":3600})"), token_id{"tok_1"}, "h", t0);
    ASSERT_TRUE(expiring);
    EXPECT_EQ(expiring->expires_at, t0 + std::chrono::seconds(3600));
    for (const char* bad : {R"({"principal":{"auditor":true},"expires_in":59})",
                            R"({"principal":{"auditor":true},"expires_in":34560001})",
                            R"({"principal":{"auditor":true},"expires_in":"60"})"}) {
        auto r = parse_issue_token(obj(bad), token_id{"tok_1"}, "h", t0);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().status, 400u) << bad;
    }
    auto rotation = parse_rotate_token(obj("{}"), token_id{"tok_1"}, "h2");
    ASSERT_TRUE(rotation);
    EXPECT_EQ(rotation->token, token_id{"tok_1"});
    EXPECT_EQ(rotation->secret_sha256_hex, "h2");
    EXPECT_FALSE(parse_rotate_token(obj(R"({"grace_seconds":60})"), token_id{"tok_1"}, "h2"));

    auto lock = parse_lock_user(obj(R"({"reason":"left"})"), usr);
    ASSERT_TRUE(lock);
    EXPECT_EQ(lock->command.user, usr);
    EXPECT_EQ(lock->reason, "left");

    auto profile = parse_update_profile(obj(R"({"name":"Ann"})"), usr);
    ASSERT_TRUE(profile);
    EXPECT_EQ(profile->name, "Ann");
    EXPECT_FALSE(profile->email);
    EXPECT_FALSE(parse_update_profile(obj(R"({"name":1})"), usr));
    EXPECT_FALSE(parse_update_profile(obj(R"({"nickname":"A"})"), usr));

    auto accept = parse_accept_invitation(obj(R"({"secret":"ris_x"})"), &fake_hash);
    ASSERT_TRUE(accept);
    EXPECT_EQ(accept->secret_sha256_hex, "hash(ris_x)");

    auto contacts = parse_save_contacts(obj(R"({"security":null})"), acc);
    ASSERT_TRUE(contacts);
    ASSERT_EQ(contacts->assignments.size(), 1u);
    EXPECT_TRUE(contacts->assignments[0].user.empty());

    auto watch = parse_set_watchlist(obj(R"({"subscriptions":[{"user_id":"usr_1","topics":["release"]}]})"), acc);
    ASSERT_TRUE(watch);
    ASSERT_EQ(watch->subscriptions.size(), 1u);
    EXPECT_EQ(watch->subscriptions[0].topics, std::vector<topic>{topic::release});
}

TEST(wire_requests, hand_over_judges_the_body_before_the_role) {
    auto bad_role = parse_hand_over_contact(obj(R"({"to_user_id":"usr_2"})"), acc, "ceo");
    ASSERT_FALSE(bad_role);
    EXPECT_EQ(bad_role.error().status, 404u);
    EXPECT_EQ(bad_role.error().code, "contact_role_not_found");
    auto both_bad = parse_hand_over_contact(obj(R"({})"), acc, "ceo");
    ASSERT_FALSE(both_bad);
    EXPECT_EQ(both_bad.error().status, 400u);
    EXPECT_EQ(both_bad.error().code, "missing_field");
}

TEST(wire_requests, bodiless_commands_take_the_path_ids) {
    EXPECT_EQ(*parse_revoke_token(token_id{"tok_1"}), revoke_token{token_id{"tok_1"}});
    EXPECT_EQ(*parse_remove_all_roles(acc, usr), (remove_all_roles{acc, usr}));
    EXPECT_EQ(*parse_remove_member(acc, usr), (remove_member{acc, usr}));
    EXPECT_EQ(*parse_invite_user(acc, usr, fresh_invitation), (invite_user{acc, usr, fresh_invitation}));
}

}  // namespace
}  // namespace roster::api::wire
