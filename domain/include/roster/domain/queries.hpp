// Read-side questions answered straight from the write model, and the authorization rules for
// reads. Pure functions; safe to call concurrently on a state that nobody mutates meanwhile.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/domain/commands.hpp"
#include "roster/domain/errors.hpp"
#include "roster/domain/state.hpp"

namespace roster::domain {

// ---- Instant verification (SPEC §1) ----
struct email_lookup {
    bool exists = false;
    bool member_of_account = false;
    // Portals where the profile has roles, counting only accounts the caller can see.
    std::vector<portal> portals;
    bool operator==(const email_lookup&) const = default;
};
// Admins of `account` (or the operator) only; never names or counts another company's accounts.
result<email_lookup> lookup_email(const state& s, const actor& who, const account_id& account,
                                  std::string_view raw_email);

// ---- Registration as lists and answers show it (SPEC §5 user object) ----
// `registration` in the state only tells registered from not; whether an invitation was ever
// issued tells an invited person from one created with invite:false and never invited.
enum class registration_status : std::uint8_t { invited, registered, not_invited };
inline constexpr std::size_t registration_status_count = 3;
registration_status registration_of(registration reg, bool invitation_issued);
std::string_view to_string(registration_status);
std::optional<registration_status> parse_registration_status(std::string_view);

// ---- Access decision (used by the portals) ----
enum class access_reason : std::uint8_t { none, locked, not_member, no_role, removed };
std::string_view to_string(access_reason);  // "" for none
struct access_result {
    bool allowed = false;
    role_set roles;  // the user's roles in that portal (empty when denied)
    access_reason reason = access_reason::none;
    std::string message;  // empty when allowed
    bool operator==(const access_result&) const = default;
};
// Precedence: removed (retired or removed from the account) > locked > not_member > no_role.
access_result access_decision(const state& s, const user_id& user, const account_id& account, portal p);

// ---- Notifications ----
// Watchlist subscribers of `t` ∪ key contacts (all of them for `outage`, the `security` contact for
// `security`), de-duplicated, sorted, without locked, retired or non-member users.
std::vector<user_id> recipients(const state& s, const account_id& account, topic t);

struct contact_warning {
    // "fewer_than_two_support_contacts", "no_security_contact", "contact_locked"
    std::string code;
    std::optional<contact_role> role;  // for contact_locked
    user_id user;                      // for contact_locked
    std::string message;
    bool operator==(const contact_warning&) const = default;
};
std::vector<contact_warning> contact_health(const state& s, const account_id& account);

// ---- Removal preview ----
struct removed_membership {
    account_id account;
    membership_type type{};
    role_set roles;
    bool cascade = false;
    bool operator==(const removed_membership&) const = default;
};
struct removal_impact {
    role_set roles_revoked;  // in the account asked about; split per portal with roles_in()
    std::vector<removed_membership> accounts_removed_from;  // this account first, then cascades by id
    bool profile_retired = false;
    std::vector<blocker> blockers;        // non-empty: remove_member answers 409 with exactly these
    std::vector<portal> missing_portals;  // non-empty: remove_member answers 403 with exactly these
    bool operator==(const removal_impact&) const = default;
};
// Exactly what remove_member would do for the same (state, actor). Fails only when the caller
// may not see the account or member (404), has no admin rights there (403 not_admin), or is
// not authenticated.
result<removal_impact> removal_preview(const state& s, const actor& who, const account_id& account,
                                       const user_id& user);

// ---- Tokens ----
struct authenticated {
    principal subject;
    token_id token;
    bool operator==(const authenticated&) const = default;
};
// The principal of an unrevoked, unexpired (at `now`) token presented with its current secret
// whose user (if any) exists, is not retired and not locked.
std::optional<authenticated> authenticate(const state& s, std::string_view token_secret_sha256_hex, timestamp now);

// ---- Authorization of reads (SPEC §5 "who" column) ----
enum class read_kind : std::uint8_t {
    account,          // GET /v1/accounts/{a}: member, operator, auditor
    user_list,        // GET .../users: admin of {a}, operator, auditor
    user_profile,     // GET .../users/{u}: admin of {a}, the user, operator, auditor
    email_lookup,     // GET /v1/users/lookup: admin of {a}, operator
    removal_preview,  // GET .../removal: admin of {a}, operator
    contacts,         // GET .../contacts: member, operator, auditor
    watchlist,        // GET .../watchlist: support:admin, operator, auditor
    recipients,       // GET .../recipients: support:admin, operator
    access,           // GET /v1/access: operator, service principals
    events,           // GET /v1/events, audit verify/export: auditor, operator
    account_history,  // GET .../history, WebSocket stream with account: admin of {a}, auditor, operator
    user_history,     // GET /v1/users/{u}/history: admin of the user's employer, auditor, operator
};
// ok, or the refusal the HTTP layer must answer: 401 (actor's user locked/retired/unknown),
// 404 (account or user the actor may not see), 403 (visible but not allowed; non-admins get
// the exact no_access_detail).
result<void> authorize_read(const state& s, const actor& who, read_kind what, const account_id& account = {},
                            const user_id& user = {});

// Convenience for the common questions.
bool is_operator(const actor& who);
bool is_auditor(const actor& who);
// The roles of the actor's user in `account` (empty for non-users and non-members).
role_set roles_of(const state& s, const actor& who, const account_id& account);

}  // namespace roster::domain
