// Domain events: one plain struct per fact, named in the past tense.
// They carry business data; who/when/why (actor, time, request ids, reason, reference, the
// labels of the people named) lives in the event envelope of the store. Every struct is a
// value: copyable, comparable.
//
// An event tells its whole story by itself (issue 13): it names every account and user it
// concerns (`concerned` reads them from the event alone, so history, the live stream, /v1/events
// and export agree without a second source) and the value before and after what it changed.
// Those fields were added later: events written before them have the lists empty and the
// optionals unset, and then mean exactly what they meant when written (see `concerned`).
//
// Adding a field or an event type is fine; renaming the type string of an existing event
// or changing a field's meaning is not (old events must decode and mean the same forever).
// Each struct names its own type string (`type_name`), so a new event cannot join the
// variant without one; event_type_names below is generated from them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "roster/domain/positions.hpp"
#include "roster/domain/types.hpp"

namespace roster::domain {

// A membership's roles before and after one event. Unset in events written before it was
// recorded; a role_set of zero bits is a real "no roles", so presence needs the optional.
struct role_change {
    role_set before;
    role_set after;
    bool operator==(const role_change&) const = default;
};

struct account_opened {
    static constexpr std::string_view type_name = "account_opened";
    account_id account;
    std::string name;
    account_kind kind{};
    bool operator==(const account_opened&) const = default;
};

// A partner account is linked to a customer account it serves.
struct partner_linked {
    static constexpr std::string_view type_name = "partner_linked";
    account_id customer;
    account_id partner;
    bool operator==(const partner_linked&) const = default;
};

// A new profile (status active, registration invited). Its employee membership and roles
// are separate facts (member_added, roles_granted) appended in the same command.
struct user_created {
    static constexpr std::string_view type_name = "user_created";
    user_id user;
    email address;
    std::string name;
    account_id employer;
    bool operator==(const user_created&) const = default;
};

struct member_added {
    static constexpr std::string_view type_name = "member_added";
    account_id account;
    user_id user;
    membership_type type{};
    std::optional<role_change> change{};  // always {none, none}: the roles follow in roles_granted
    bool operator==(const member_added&) const = default;
};

struct roles_granted {
    static constexpr std::string_view type_name = "roles_granted";
    account_id account;
    user_id user;
    role_set roles;                       // only the roles newly granted
    std::optional<role_change> change{};  // the membership's roles before and after
    bool operator==(const roles_granted&) const = default;
};

struct roles_revoked {
    static constexpr std::string_view type_name = "roles_revoked";
    account_id account;
    user_id user;
    role_set roles;                       // only the roles actually revoked
    std::optional<role_change> change{};  // the membership's roles before and after
    bool operator==(const roles_revoked&) const = default;
};

// "Remove all access roles": the membership stays, with no roles.
struct all_roles_removed {
    static constexpr std::string_view type_name = "all_roles_removed";
    account_id account;
    user_id user;
    role_set roles;                       // what was held before
    std::optional<role_change> change{};  // the membership's roles before and after
    bool operator==(const all_roles_removed&) const = default;
};

struct user_locked {
    static constexpr std::string_view type_name = "user_locked";
    user_id user;
    std::vector<account_id> accounts{};  // the user's accounts then: employer, then third-party ones
    bool operator==(const user_locked&) const = default;
};

struct user_unlocked {
    static constexpr std::string_view type_name = "user_unlocked";
    user_id user;
    std::vector<account_id> accounts{};  // the user's accounts then: employer, then third-party ones
    bool operator==(const user_unlocked&) const = default;
};

// Only the SHA-256 of the secret is ever kept (hex, lower case).
struct invitation_issued {
    static constexpr std::string_view type_name = "invitation_issued";
    invitation_id invitation;
    user_id user;
    account_id account;
    std::string secret_sha256_hex;
    timestamp expires_at{};
    invitation_id replaces;  // empty when there was no open invitation
    bool operator==(const invitation_issued&) const = default;
};

struct invitation_accepted {
    static constexpr std::string_view type_name = "invitation_accepted";
    invitation_id invitation;
    user_id user;
    std::vector<account_id> accounts{};  // the user's accounts then: employer, then third-party ones
    bool operator==(const invitation_accepted&) const = default;
};

// The membership is gone with all its roles. `cascade` marks a third-party membership
// removed because the user's employer removed them (SPEC §1 removal rule 4).
struct member_removed {
    static constexpr std::string_view type_name = "member_removed";
    account_id account;
    user_id user;
    membership_type type{};
    role_set roles;  // roles revoked by the removal
    bool cascade = false;
    std::optional<role_change> change{};  // {roles held, none}
    bool operator==(const member_removed&) const = default;
};

// The profile is permanently retired and its email freed for a new profile.
struct profile_retired {
    static constexpr std::string_view type_name = "profile_retired";
    user_id user;
    email address;
    std::vector<account_id> accounts{};  // the user's accounts just before: employer, then third-party ones
    bool operator==(const profile_retired&) const = default;
};

struct contact_assignment {
    contact_role role{};
    user_id user;  // empty = cleared (never allowed for the primary admin contact)
    // The holder before (empty = unassigned); unset in commands and in older events.
    std::optional<user_id> previous{};
    bool operator==(const contact_assignment&) const = default;
};

// The atomic "Save" of the contacts flyout: only the roles that changed.
struct contacts_saved {
    static constexpr std::string_view type_name = "contacts_saved";
    account_id account;
    std::vector<contact_assignment> assignments;
    bool operator==(const contacts_saved&) const = default;
};

// Self-service: the current holder gives the role to another eligible member.
struct contact_handed_over {
    static constexpr std::string_view type_name = "contact_handed_over";
    account_id account;
    contact_role role{};
    user_id from;
    user_id to;
    bool operator==(const contact_handed_over&) const = default;
};

struct watch_subscription {
    user_id user;
    std::vector<topic> topics;  // sorted, no duplicates
    bool operator==(const watch_subscription&) const = default;
};

// One user's watchlist entry before and after a change (empty topics = not on the watchlist).
struct watch_change {
    user_id user;
    std::vector<topic> before;
    std::vector<topic> after;
    bool operator==(const watch_change&) const = default;
};

// The account's whole watchlist after the change (replacement, not a delta).
struct watchlist_changed {
    static constexpr std::string_view type_name = "watchlist_changed";
    account_id account;
    std::vector<watch_subscription> subscriptions;  // sorted by user id
    std::vector<watch_change> changes{};            // only the users whose entry changed, sorted; empty in older events
    bool operator==(const watchlist_changed&) const = default;
};

// Only the SHA-256 of the token secret is kept (hex, lower case).
struct token_issued {
    static constexpr std::string_view type_name = "token_issued";
    token_id token;
    principal subject;
    std::string secret_sha256_hex;
    timestamp expires_at{};  // zero = never expires (and in older events)
    bool operator==(const token_issued&) const = default;
};

struct token_revoked {
    static constexpr std::string_view type_name = "token_revoked";
    token_id token;
    user_id user{};  // the token's user when it is a user's token; empty otherwise and in older events
    bool operator==(const token_revoked&) const = default;
};

// The token's secret was replaced: only the new hash authenticates from here on.
struct token_rotated {
    static constexpr std::string_view type_name = "token_rotated";
    token_id token;
    std::string secret_sha256_hex;
    user_id user{};  // the token's user when it is a user's token; empty otherwise
    bool operator==(const token_rotated&) const = default;
};

// A security event: refused requests of one principal on one route. Refusals of the same
// principal and route within a short window are coalesced into one record with their count, so
// the record is complete without letting a caller flood the log.
struct access_denied {
    static constexpr std::string_view type_name = "access_denied";
    principal subject;
    std::string action;        // the request refused, "METHOD /route/{template}" (older events: a command name)
    account_id account;        // the account concerned; empty when none
    std::string code;          // the problem code of the (first) refusal, e.g. "not_admin"
    std::string target;        // the user, token or role the request named; empty when none
    std::uint16_t status = 0;  // HTTP status of the (first) refusal: 401, 403, 404 or 429 (0 in older events)
    std::uint64_t count = 1;   // refusals this record stands for
    timestamp first_at{};      // the first and last refusal it counts (zero in older events)
    timestamp last_at{};
    bool operator==(const access_denied&) const = default;
};

// The log's checkpoint signing key was replaced (issue 13, item 6). The domain only records the
// strings: `statement` is a C2SP signed note that names both keys and is signed by the old key
// (and by the new one, proving possession), so a verifier holding the old key can trust the new
// one. rosterd checks it before appending; whoever reads it checks it again.
struct signing_key_rotated {
    static constexpr std::string_view type_name = "signing_key_rotated";
    std::string old_verifier_key;  // "<name>+<hex key id>+<base64 key>"
    std::string new_verifier_key;
    std::uint64_t tree_size = 0;  // events in the log when the statement was made
    std::string statement;        // the signed note
    bool operator==(const signing_key_rotated&) const = default;
};

// One text field of a profile before and after a change.
struct text_change {
    std::string before;
    std::string after;
    bool operator==(const text_change&) const = default;
};

// Profile fields changed (update_profile): only those that changed are set, each with its
// value before and after. The email is the normalized address.
struct profile_updated {
    static constexpr std::string_view type_name = "profile_updated";
    user_id user;
    std::optional<text_change> name{};
    std::optional<text_change> email{};
    std::vector<account_id> accounts{};  // the user's accounts then: employer, then third-party ones
    bool operator==(const profile_updated&) const = default;
};

// What a webhook endpoint receives (issue 17, item 3): the URL and the filters. Empty filters
// match everything; `types` are event type strings (event_type_names).
struct webhook_settings {
    std::string url;
    std::vector<account_id> accounts;  // sorted, no duplicates
    std::vector<std::string> types;    // sorted, no duplicates
    std::string description;
    bool enabled = true;
    bool operator==(const webhook_settings&) const = default;
};

// An endpoint was registered by the operator. The log is exported to reviewers, so it holds only
// the SHA-256 of the signing secret (lower-case hex), never the secret.
struct webhook_registered {
    static constexpr std::string_view type_name = "webhook_registered";
    webhook_id webhook;
    webhook_settings settings;
    std::string secret_sha256_hex;
    bool operator==(const webhook_registered&) const = default;
};

struct webhook_changed {
    static constexpr std::string_view type_name = "webhook_changed";
    webhook_id webhook;
    webhook_settings before;
    webhook_settings after;
    bool operator==(const webhook_changed&) const = default;
};

struct webhook_removed {
    static constexpr std::string_view type_name = "webhook_removed";
    webhook_id webhook;
    webhook_settings before;  // what it was, so the event tells its story alone
    bool operator==(const webhook_removed&) const = default;
};

using event = std::variant<account_opened, partner_linked, user_created, member_added, roles_granted, roles_revoked,
                           all_roles_removed, user_locked, user_unlocked, invitation_issued, invitation_accepted,
                           member_removed, profile_retired, contacts_saved, contact_handed_over, watchlist_changed,
                           token_issued, token_revoked, access_denied, signing_key_rotated, token_rotated,
                           profile_updated, webhook_registered, webhook_changed, webhook_removed>;

namespace detail {

template <std::size_t... I>
constexpr std::array<std::string_view, sizeof...(I)> event_type_names_of(std::index_sequence<I...>) {
    return {std::variant_alternative_t<I, event>::type_name...};
}

template <std::size_t N>
constexpr bool names_are_distinct_and_set(const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i].empty()) return false;
        for (std::size_t j = i + 1; j < N; ++j)
            if (names[i] == names[j]) return false;
    }
    return true;
}

}  // namespace detail

// The one table of event type strings, indexed by the variant index of `event`. The history
// index, the live stream's types= filter, rosterctl and the store all read it, so a new event
// type is known everywhere once its struct is in the variant.
inline constexpr std::array<std::string_view, std::variant_size_v<event>> event_type_names =
    detail::event_type_names_of(std::make_index_sequence<std::variant_size_v<event>>{});
// A copied type_name would make two alternatives indistinguishable in the log and on the wire.
static_assert(detail::names_are_distinct_and_set(event_type_names), "every event type needs its own type_name");

// The variant index of the event type called `name`; nullopt for a name no event has.
constexpr std::optional<std::size_t> event_type_index(std::string_view name) {
    for (std::size_t i = 0; i < event_type_names.size(); ++i)
        if (event_type_names[i] == name) return i;
    return std::nullopt;
}

// The stable type string of an event ("user_created", ...), as stored and shown on the wire.
std::string_view type_name(const event&);

// For the last branch of an `if constexpr` chain over event types: a type that no branch
// names fails to compile (`else static_assert(unhandled_event<T>)`) instead of being ignored.
template <class>
inline constexpr bool unhandled_event = false;

// The stream (aggregate) an event belongs to. Stream ids:
//   "account-<account id>"  account-scoped facts (memberships, roles, contacts, watchlist, links)
//   "user-<user id>"        profile facts (created, locked, invitation, retired)
//   "token-<token id>"      token facts
//   "security"              access_denied
//   "webhook-<webhook id>"  webhook endpoint facts (operator configuration; they concern nobody)
//   "signing-key"           signing_key_rotated (its own stream, so listing the rotations reads
//                           only them, not every refusal)
std::string stream_of(const event&);
std::string account_stream(const account_id&);
std::string user_stream(const user_id&);
std::string token_stream(const token_id&);
inline constexpr std::string_view security_stream = "security";
inline constexpr std::string_view signing_key_stream = "signing-key";

// The one place per kind where an untyped version (what the store or a view reports for a stream
// name) becomes a typed one: the stream's name and the version's kind come from the same id, so
// "the version of account a" cannot be a user's. `Reader` is anything with
// `stream_version(std::string_view) -> stream_version` (the store, a decided view).
template <class Reader>
account_version version_of(const Reader& r, const account_id& a) {
    return account_version{r.stream_version(account_stream(a)).value};
}
template <class Reader>
user_version version_of(const Reader& r, const user_id& u) {
    return user_version{r.stream_version(user_stream(u)).value};
}
template <class Reader>
token_version version_of(const Reader& r, const token_id& t) {
    return token_version{r.stream_version(token_stream(t)).value};
}
template <class Reader>
security_version security_version_of(const Reader& r) {
    return security_version{r.stream_version(security_stream).value};
}

// Every account and every user an event concerns, each once, in order of first mention. The
// one source of the account= and user filters: the history index, the live stream, /v1/events
// and the export all call it, so they agree by construction. It reads the event alone.
//   - user facts (user_locked, user_unlocked, invitation_accepted, profile_retired) name the
//     accounts the user belonged to then (decided from the state by `decide`); events written
//     before that field existed name no account, as they did then;
//   - user_created: the employer; partner_linked: both accounts; contacts: the previous and
//     the new holders; watchlist: every user whose entry changed (older events, without the
//     before values: the new holders and the listed subscribers);
//   - token facts name the token's user (token_revoked: only when recorded);
//   - access_denied: its account when set, and the refused principal when it is a user.
//   - signing_key_rotated and webhook facts: nobody (the operator's configuration; an account
//     filter names what is delivered, not who the event is about).
struct concerned_parties {
    std::vector<account_id> accounts;
    std::vector<user_id> users;
    bool operator==(const concerned_parties&) const = default;
};
concerned_parties concerned(const event&);
// The account= filter of the live stream, /v1/events and export: concerned(e) names `account`.
bool concerns_account(const event& e, std::string_view account);

// A person as shown to a reviewer: the name and email a user had when an event was recorded
// (stored in the envelope, see domain::labels_of in state.hpp).
struct user_label {
    user_id user;
    std::string name;
    std::string email;
    bool operator==(const user_label&) const = default;
};

}  // namespace roster::domain
