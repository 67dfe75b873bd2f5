// The write model: everything `decide` needs to judge a command, folded from events by `apply`.
//
// Owned by the single writer of the service (see domain/README.md): one thread applies events
// and decides commands; it is not synchronized. Readers on other threads need their own copy
// or their own projection. Stream versions are not here (the event store owns them).
//
// Every per-user lookup is a hash-map probe so that deciding a command costs the same with
// 100 or 100,000 users; no decide path scans all users or all accounts.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "roster/domain/events.hpp"
#include "roster/domain/types.hpp"

namespace roster::domain {

struct membership {
    membership_type type{};
    role_set roles;
    member_version changed{};  // last event that changed this membership (added, roles, contact roles)
    bool operator==(const membership&) const = default;
};

struct account_record {
    account_id id;
    std::string name;
    account_kind kind{};
    std::set<account_id> partners;                           // customer: partner accounts linked to it
    std::set<account_id> customers;                          // partner: customer accounts it serves
    std::unordered_map<user_id, membership> members;         // current memberships only
    std::unordered_set<user_id> removed;                     // once members, removed since (access reason `removed`)
    std::unordered_map<user_id, member_version> removed_at;  // the removal of each of `removed`
    std::array<user_id, contact_role_count> contacts{};      // indexed by contact_role; empty = unassigned
    std::map<user_id, std::vector<topic>> watchlist;         // sorted by user; topics sorted, non-empty

    const membership* member(const user_id& u) const;
    const user_id& contact(contact_role r) const { return contacts[static_cast<std::size_t>(r)]; }
    // The contact roles `u` holds here, in catalog order.
    std::vector<contact_role> contact_roles_of(const user_id& u) const;
};

struct user_record {
    user_id id;
    email address;
    std::string name;
    account_id employer;
    user_status status = user_status::active;
    registration reg = registration::invited;
    // An invitation was ever issued (accepted, open, expired or revoked): tells an invited person
    // from one created with invite:false, which `reg` alone cannot (wire `not_invited`).
    bool invitation_issued = false;
    bool retired = false;
    std::set<account_id> third_party;  // accounts where the user is a third-party member
    invitation_id open_invitation;     // empty when none is open
    // The last event that changed what every account shows of this profile (name, status,
    // registration, open invitation): one stamp per user, not one per membership, so a lock
    // costs O(1) whatever the number of accounts (see member_version_of).
    member_version changed{};

    bool locked() const { return status == user_status::locked; }
};

enum class invitation_status : std::uint8_t { open, used, revoked };

struct invitation_record {
    invitation_id id;
    user_id user;
    account_id account;
    std::string secret_sha256_hex;
    timestamp expires_at{};
    invitation_status status = invitation_status::open;
};

struct token_record {
    token_id id;
    principal subject;
    std::string secret_sha256_hex;  // the current secret's; earlier ones stay in token_by_secret
    bool revoked = false;
    timestamp expires_at{};  // zero = never
    // When and by whom, from the events' envelopes: the fold has no clock, so only the read
    // model fills these (projections::read_model); the writer's state leaves them empty.
    timestamp issued_at{};
    std::string issued_by;  // principal label of the issuer
    timestamp revoked_at{};
    timestamp rotated_at{};  // the last rotation; zero = never rotated
    std::uint32_t rotations = 0;

    bool expired(timestamp now) const { return expires_at != timestamp{} && now >= expires_at; }
};

struct webhook_record {
    webhook_id id;
    webhook_settings settings;
    std::string secret_sha256_hex;
    log_position registered_at{};  // deliveries start after this position
    bool removed = false;          // removed endpoints stay, so their id is never reused
};

struct state {
    std::unordered_map<account_id, account_record> accounts;
    std::unordered_map<user_id, user_record> users;        // retired profiles stay (history, `removed`)
    std::unordered_map<std::string, user_id> email_index;  // normalized email -> non-retired profile
    std::unordered_map<invitation_id, invitation_record> invitations;
    std::unordered_map<std::string, invitation_id> invitation_by_secret;
    std::unordered_map<token_id, token_record> tokens;
    // Every secret hash ever issued or rotated in, so an old secret is still attributed to its
    // token (refusal records) and can never be issued again.
    std::unordered_map<std::string, token_id> token_by_secret;
    std::map<webhook_id, webhook_record> webhooks;  // few, listed in id order
    // The position of the last event folded. Every fold of the log starts at position 1 (or at a
    // snapshot that records it) and folds every event, so it is the log position; the single
    // writer's speculative fold numbers the group's events the way the store will.
    log_position folded{};

    const account_record* account(const account_id& a) const;
    const user_record* user(const user_id& u) const;
    // The non-retired profile with that email.
    const user_record* user_by_email(const email& e) const;
    const invitation_record* invitation(const invitation_id& i) const;
    const token_record* token(const token_id& t) const;
    const webhook_record* webhook(const webhook_id& w) const;
    // The membership of `u` in `a`, if current.
    const membership* member(const account_id& a, const user_id& u) const;
};

// The fold. Total: it never fails and never throws for an event `decide` produced; an event
// about an unknown entity (a corrupt or foreign log) is ignored rather than crashing replay.
// Derived effects the events do not spell out, which every projection must mirror:
//   - member_removed also drops the user's watchlist entry in that account and revokes an open
//     invitation issued for that account;
//   - profile_retired frees the email and revokes the user's open invitation;
//   - invitation_issued marks the replaced invitation revoked.
void apply(state& s, const event& e);
// The same fold of the event recorded at `at` (what readers of the log know), so stamps are the
// store's positions even for a state that did not start at position 1.
void apply(state& s, const event& e, log_position at);
// std::apply is found by ADL (event is a std::variant) and would win for non-const arguments;
// these exact overloads keep an unqualified `apply(s, e)` on the fold.
inline void apply(state& s, event& e) { apply(s, static_cast<const event&>(e)); }
inline void apply(state& s, event&& e) { apply(s, static_cast<const event&>(e)); }
// All events of one command, in order.
void apply_all(state& s, const std::vector<event>& events);

// The version of `u` as shown in account `a` (ETag of /v1/accounts/{a}/users/{u}): the later of
// the profile's and the membership's stamps. nullopt when `u` is neither a member of `a` nor
// removed from it (the resource does not exist). O(1).
std::optional<member_version> member_version_of(const state& s, const account_id& a, const user_id& u);

// The labels an event's record carries (stored in its envelope, so rendering it later needs no
// lookup and shows the names as they were): the acting user, then every user `concerned(e)`
// names, each once. Call it with the state right after `e` was applied, so a user_created
// labels its new user. Users `s` does not know are left out.
std::vector<user_label> labels_of(const state& s, const principal& actor, const event& e);

}  // namespace roster::domain
