// Domain refusals as values. Owned by whoever receives them; plain values, safe to copy
// between threads.
//
// `kind` maps 1:1 to an HTTP status (SPEC §5); `code` is the stable machine code shown in the
// problem body; `detail` is for humans; `blockers` and `missing_portals` carry the data SPEC §1
// asks the refusal to name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "roster/domain/types.hpp"

namespace roster::domain {

enum class error_kind : std::uint8_t { bad_input, unauthenticated, forbidden, not_found, conflict, gone };

std::string_view to_string(error_kind);  // "bad_input", ...
int http_status(error_kind);             // 400, 401, 403, 404, 409, 410

// Stable error codes. Never rename one: clients branch on them.
namespace codes {
// 400
inline constexpr std::string_view invalid_email = "invalid_email";
inline constexpr std::string_view invalid_id = "invalid_id";
inline constexpr std::string_view invalid_name = "invalid_name";
inline constexpr std::string_view invalid_reason = "invalid_reason";
inline constexpr std::string_view invalid_reference = "invalid_reference";
inline constexpr std::string_view invalid_secret_hash = "invalid_secret_hash";
inline constexpr std::string_view invalid_expiry = "invalid_expiry";
inline constexpr std::string_view invalid_roles = "invalid_roles";
inline constexpr std::string_view invalid_contacts = "invalid_contacts";
inline constexpr std::string_view contact_role_not_applicable = "contact_role_not_applicable";
inline constexpr std::string_view invalid_watchlist = "invalid_watchlist";
inline constexpr std::string_view invalid_principal = "invalid_principal";
inline constexpr std::string_view invalid_webhook = "invalid_webhook";
// 401
inline constexpr std::string_view unauthenticated = "unauthenticated";
// 403
inline constexpr std::string_view not_admin = "not_admin";
inline constexpr std::string_view missing_portal_admin = "missing_portal_admin";
inline constexpr std::string_view read_only_principal = "read_only_principal";
inline constexpr std::string_view operator_only = "operator_only";
inline constexpr std::string_view not_allowed = "not_allowed";
// 404
inline constexpr std::string_view account_not_found = "account_not_found";
inline constexpr std::string_view user_not_found = "user_not_found";
inline constexpr std::string_view member_not_found = "member_not_found";
inline constexpr std::string_view token_not_found = "token_not_found";
inline constexpr std::string_view invitation_not_found = "invitation_not_found";
inline constexpr std::string_view webhook_not_found = "webhook_not_found";
// 409
inline constexpr std::string_view account_exists = "account_exists";
inline constexpr std::string_view account_kind_mismatch = "account_kind_mismatch";
inline constexpr std::string_view user_exists = "user_exists";
inline constexpr std::string_view email_in_use = "email_in_use";
inline constexpr std::string_view already_member = "already_member";
inline constexpr std::string_view not_linked_partner_employee = "not_linked_partner_employee";
inline constexpr std::string_view key_contact_blocks_removal = "key_contact_blocks_removal";
inline constexpr std::string_view contact_role_required = "contact_role_required";
inline constexpr std::string_view contact_not_eligible = "contact_not_eligible";
inline constexpr std::string_view primary_equals_secondary = "primary_equals_secondary";
inline constexpr std::string_view primary_admin_contact_required = "primary_admin_contact_required";
inline constexpr std::string_view not_contact_holder = "not_contact_holder";
inline constexpr std::string_view watchlist_user_not_member = "watchlist_user_not_member";
inline constexpr std::string_view already_registered = "already_registered";
inline constexpr std::string_view invitation_exists = "invitation_exists";
inline constexpr std::string_view token_exists = "token_exists";
inline constexpr std::string_view token_revoked = "token_revoked";
inline constexpr std::string_view token_expired = "token_expired";
inline constexpr std::string_view webhook_exists = "webhook_exists";
// 410
inline constexpr std::string_view invitation_expired = "invitation_expired";
inline constexpr std::string_view invitation_used = "invitation_used";
inline constexpr std::string_view invitation_revoked = "invitation_revoked";
inline constexpr std::string_view deactivate_removed = "deactivate_removed";
}  // namespace codes

// The exact detail SPEC §1/§5 prescribes for members without admin rights.
inline constexpr std::string_view no_access_detail = "You do not have access to this feature.";

// Why a rule refused: something in `account` must change first.
struct blocker {
    // "key_contact": `user` holds `contact_roles` in `account` (reassign them first).
    // "ineligible_contact": `user` cannot hold `contact_roles` (not an active member with `roles`).
    std::string kind;
    account_id account;
    user_id user;
    role_set roles;                           // access roles involved (e.g. the required role)
    std::vector<contact_role> contact_roles;  // catalog order
    bool operator==(const blocker&) const = default;
};

struct domain_error {
    error_kind kind{};
    std::string code;
    std::string detail;
    std::vector<blocker> blockers;
    std::vector<portal> missing_portals;  // catalog order
    bool operator==(const domain_error&) const = default;
};

template <class T>
using result = boost::system::result<T, domain_error>;

domain_error make_error(error_kind kind, std::string_view code, std::string detail);

// Found by ADL when boost::system::result::value() is called on an error: that is a bug, so it throws.
[[noreturn]] void throw_exception_from_error(const domain_error& e, const boost::source_location& loc);
}  // namespace roster::domain
