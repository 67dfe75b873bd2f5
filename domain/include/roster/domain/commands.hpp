// Commands: what an actor asks the domain to do, named as imperatives. Plain values built by
// the HTTP layer (or tests) and handed to `decide`; safe to copy between threads.
//
// New ids (account, user, invitation, token) and secrets' hashes are chosen by the caller:
// the domain has no RNG.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "roster/domain/events.hpp"
#include "roster/domain/types.hpp"

namespace roster::domain {

// SPEC §1: invitations expire after 7 days unless the caller says otherwise.
inline constexpr std::chrono::microseconds default_invitation_validity = std::chrono::hours(24 * 7);

struct invitation_request {
    invitation_id id;
    std::string secret_sha256_hex;        // lower-case hex of SHA-256(secret); the secret never enters the domain
    std::optional<timestamp> expires_at;  // nullopt = now + default_invitation_validity
    bool operator==(const invitation_request&) const = default;
};

struct open_account {
    account_id id;  // [a-z0-9-]{1,64}
    std::string name;
    account_kind kind{};
    bool operator==(const open_account&) const = default;
};

struct link_partner {
    account_id customer;
    account_id partner;
    bool operator==(const link_partner&) const = default;
};

// Unified creation: profile + employee membership + roles in every portal, in one command.
struct create_user {
    account_id account;  // becomes the employer
    user_id new_user;
    std::string email;  // raw text; normalized by email::parse
    std::string name;
    role_set roles;
    std::optional<invitation_request> invitation;
    bool operator==(const create_user&) const = default;
};

// Third-party membership for a linked partner's employee, found by id or by (raw) email.
struct add_member {
    account_id account;
    std::variant<user_id, std::string> who;
    role_set roles;
    bool operator==(const add_member&) const = default;
};

struct change_roles {
    account_id account;
    user_id user;
    role_set grant;
    role_set revoke;
    bool operator==(const change_roles&) const = default;
};

struct remove_all_roles {
    account_id account;
    user_id user;
    bool operator==(const remove_all_roles&) const = default;
};

struct lock_user {
    user_id user;
    bool operator==(const lock_user&) const = default;
};

struct unlock_user {
    user_id user;
    bool operator==(const unlock_user&) const = default;
};

struct remove_member {
    account_id account;
    user_id user;
    bool operator==(const remove_member&) const = default;
};

struct invite_user {
    account_id account;
    user_id user;
    invitation_request invitation;
    bool operator==(const invite_user&) const = default;
};

// Authorized by possession of the secret: `decide` ignores the actor for this command.
struct accept_invitation {
    std::string secret_sha256_hex;
    bool operator==(const accept_invitation&) const = default;
};

// Atomic save of any subset of contact roles; an empty user clears the role.
struct save_contacts {
    account_id account;
    std::vector<contact_assignment> assignments;
    bool operator==(const save_contacts&) const = default;
};

struct hand_over_contact {
    account_id account;
    contact_role role{};
    user_id to;
    bool operator==(const hand_over_contact&) const = default;
};

// Replaces the whole watchlist; topics are normalized (sorted, de-duplicated) and entries
// without topics dropped.
struct set_watchlist {
    account_id account;
    std::vector<watch_subscription> subscriptions;
    bool operator==(const set_watchlist&) const = default;
};

struct issue_token {
    token_id token;
    principal subject;
    std::string secret_sha256_hex;
    // When the token stops authenticating; nullopt = never. The caller computes it from its
    // clock (the route: now + expires_in), so replaying the command gives the same event.
    std::optional<timestamp> expires_at{};
    bool operator==(const issue_token&) const = default;
};

struct revoke_token {
    token_id token;
    bool operator==(const revoke_token&) const = default;
};

// A new secret for the same token id, principal and expiry; the old secret stops working once
// the token_rotated event is durable (no grace period).
struct rotate_token {
    token_id token;
    std::string secret_sha256_hex;
    bool operator==(const rotate_token&) const = default;
};

// Changes the fields of a profile that are set (a profile is one person, shown alike in every
// account). Fields equal to the current values are no change; nothing to change appends nothing.
struct update_profile {
    user_id user;
    std::optional<std::string> name;   // raw text; checked by valid_name
    std::optional<std::string> email;  // raw text; normalized by email::parse
    bool operator==(const update_profile&) const = default;
};

// Operator only. The URL is checked by the HTTP layer (scheme, no user info, no fragment); the
// domain checks lengths, ids and type names, and sorts the filters.
struct register_webhook {
    webhook_id webhook;
    webhook_settings settings;
    std::string secret_sha256_hex;
    bool operator==(const register_webhook&) const = default;
};

// Changes the fields that are set; equal values are no change, and no change appends nothing.
struct change_webhook {
    webhook_id webhook;
    std::optional<std::string> url;
    std::optional<std::vector<account_id>> accounts;
    std::optional<std::vector<std::string>> types;
    std::optional<std::string> description;
    std::optional<bool> enabled;
    bool operator==(const change_webhook&) const = default;
};

struct remove_webhook {
    webhook_id webhook;
    bool operator==(const remove_webhook&) const = default;
};

using command = std::variant<open_account, link_partner, create_user, add_member, change_roles, remove_all_roles,
                             lock_user, unlock_user, remove_member, invite_user, accept_invitation, save_contacts,
                             hand_over_contact, set_watchlist, issue_token, revoke_token, rotate_token, update_profile,
                             register_webhook, change_webhook, remove_webhook>;

// The command's stable name ("change_roles", ...), as recorded in access_denied.action.
std::string_view command_name(const command&);
// The account a command is scoped to, if any.
std::optional<account_id> account_of(const command&);

// Who acts (the token's principal, already authenticated).
using actor = principal;

}  // namespace roster::domain
