// Explicit wire types, request side: one parse_<command> per command route, from the strictly
// parsed JSON object body (parse_json_object_body) and the route's decoded path ids to the
// domain command. The routes call these and the JSON command fuzzer runs them, so what is
// fuzzed is what is served. They need no service, store or Beast.
//
// A refusal is the problem the route answers as it is: 400 naming the field (json_reader's codes
// `missing_field`, `invalid_field_type`, `unknown_field`, `invalid_field` for a
// value the parser refuses, e.g. an unknown role), and 404 `contact_role_not_found` for a hand-over's unknown {role}.
// What the domain cannot choose (new ids, secrets and their hashes) comes in from the caller:
// the parsers have no RNG, so they are deterministic under a fuzzer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include "roster/api/json_input.hpp"
#include "roster/api/problem.hpp"
#include "roster/domain/commands.hpp"

namespace roster::api::wire {

template <class T>
using parsed = boost::system::result<T, problem>;

// A command together with the optional free-text reason the route records in the envelope.
template <class Command>
struct with_reason {
    Command command;
    std::string reason;
};

// {reason?, reference?}: the why every command body may carry beside its own fields, recorded
// in the envelope of each event the command appends (not in the command: the domain judges
// what changes, not why). Checked by domain::valid_reason / valid_reference when submitted.
struct why {
    std::string reason;
    std::string reference;
};
// Takes `reason` and `reference` out of `body`, so the command's parse_<command> sees only its
// own fields, and returns them; 400 `invalid_field_type` when one is not a string.
parsed<why> take_why(boost::json::object& body);
// The why of a raw request body, for commands that have no body parser of their own (DELETE
// routes, or a route that parsed before): {} when the body is empty or not a JSON object.
parsed<why> read_why(std::string_view body);

// {"support":["admin"], ...} → role_set. Unknown portals or roles are 400 `invalid_field`
// naming the field; the reader records the failure and the returned set is empty.
domain::role_set read_roles(json_reader& in, std::string_view key, bool required);

// POST /v1/accounts {id?, name, kind}. `generated` is the id used when the body has none.
parsed<domain::open_account> parse_open_account(const boost::json::object& body, const domain::account_id& generated);

// POST /v1/accounts/{a}/partners {partner_id}.
parsed<domain::link_partner> parse_link_partner(const boost::json::object& body, const domain::account_id& customer);

// POST /v1/tokens {principal: {operator:true} | {auditor:true} | {service} | {user_id},
// expires_in?}, for a token `id` whose secret hashes to `secret_sha256_hex`. expires_in is in
// seconds, token_expires_in_min..max (else 400 invalid_field); the token then expires at
// `now` + expires_in. Without it the token never expires.
inline constexpr std::int64_t token_expires_in_min = 60;
inline constexpr std::int64_t token_expires_in_max = 400LL * 24 * 3600;  // 400 days
parsed<domain::issue_token> parse_issue_token(const boost::json::object& body, const domain::token_id& id,
                                              std::string secret_sha256_hex, domain::timestamp now);

// DELETE /v1/tokens/{id} (no body).
parsed<domain::revoke_token> parse_revoke_token(const domain::token_id& id);

// POST /v1/tokens/{id}/rotation {} (reason and reference only, taken out before), for a new
// secret hashing to `secret_sha256_hex`. There is no grace period: any other field, e.g.
// grace_seconds, is 400 unknown_field.
parsed<domain::rotate_token> parse_rotate_token(const boost::json::object& body, const domain::token_id& id,
                                                std::string secret_sha256_hex);

// POST /v1/accounts/{a}/users {email, name, roles?, invite? = true}. `invitation` is attached
// unless the body says invite:false (the route reveals its secret only then).
parsed<domain::create_user> parse_create_user(const boost::json::object& body, const domain::account_id& account,
                                              const domain::user_id& new_user,
                                              const domain::invitation_request& invitation);

// POST /v1/accounts/{a}/members {user_id | email, roles?}: exactly one of user_id and email.
parsed<domain::add_member> parse_add_member(const boost::json::object& body, const domain::account_id& account);

// POST /v1/accounts/{a}/users/{u}/roles {grant?, revoke?}.
parsed<domain::change_roles> parse_change_roles(const boost::json::object& body, const domain::account_id& account,
                                                const domain::user_id& user);

// DELETE /v1/accounts/{a}/users/{u}/roles (no body).
parsed<domain::remove_all_roles> parse_remove_all_roles(const domain::account_id& account, const domain::user_id& user);

// POST /v1/users/{u}/lock and /unlock {reason?} (an empty body is {}).
parsed<with_reason<domain::lock_user>> parse_lock_user(const boost::json::object& body, const domain::user_id& user);
parsed<with_reason<domain::unlock_user>> parse_unlock_user(const boost::json::object& body,
                                                           const domain::user_id& user);

// PATCH /v1/users/{u} {name?, email?}: the fields to change (JSON merge patch of the profile).
parsed<domain::update_profile> parse_update_profile(const boost::json::object& body, const domain::user_id& user);

// DELETE /v1/accounts/{a}/users/{u} (no body).
parsed<domain::remove_member> parse_remove_member(const domain::account_id& account, const domain::user_id& user);

// POST /v1/accounts/{a}/users/{u}/invitation (no body), with a fresh `invitation`.
parsed<domain::invite_user> parse_invite_user(const domain::account_id& account, const domain::user_id& user,
                                              const domain::invitation_request& invitation);

// POST /v1/invitations/accept {secret}. Only the secret's hash enters the domain: `hash` is
// sha256_hex in the server (a parameter so this library needs no OpenSSL).
using secret_hasher = std::string (*)(std::string_view);
parsed<domain::accept_invitation> parse_accept_invitation(const boost::json::object& body, secret_hasher hash);

// PUT /v1/accounts/{a}/contacts {role: user_id | null, ...}: 400 `unknown_contact_role` or
// `invalid_field_type` for the first bad member.
parsed<domain::save_contacts> parse_save_contacts(const boost::json::object& body, const domain::account_id& account);

// POST /v1/accounts/{a}/contacts/{role}/handover {to_user_id}. The body is judged first (400),
// then {role} (404 `contact_role_not_found`).
parsed<domain::hand_over_contact> parse_hand_over_contact(const boost::json::object& body,
                                                          const domain::account_id& account, std::string_view role);

// PUT /v1/accounts/{a}/watchlist {subscriptions:[{user_id, topics:[...]}]}.
parsed<domain::set_watchlist> parse_set_watchlist(const boost::json::object& body, const domain::account_id& account);

// POST /v1/admin/backup {to}: not a domain command, the destination as given (checked later by
// replay::check_backup_destination).
struct backup_request {
    std::string to;
};
parsed<backup_request> parse_backup_request(const boost::json::object& body);

// Webhook endpoints (operator only, issue 17 item 3). `url` must be http:// or https://, parsed
// as a URI (Boost.URL) with a host, without user info or fragment: 400 invalid_field, field url.
// {url, accounts?, types?, description?}; the secret is chosen by the route.
parsed<domain::register_webhook> parse_register_webhook(const boost::json::object& body, const domain::webhook_id& id,
                                                        std::string secret_sha256_hex);
// {url?, accounts?, types?, description?, enabled?}
parsed<domain::change_webhook> parse_change_webhook(const boost::json::object& body, const domain::webhook_id& id);
parsed<domain::remove_webhook> parse_remove_webhook(const domain::webhook_id& id);
// The refusal of a webhook URL, nullopt when it is acceptable.
std::optional<std::string> webhook_url_problem(std::string_view url);
// {positions?: [position, ...]} of a dead-letter replay: nullopt = every dead letter.
parsed<std::optional<std::vector<std::uint64_t>>> parse_webhook_replay(const boost::json::object& body);

}  // namespace roster::api::wire
