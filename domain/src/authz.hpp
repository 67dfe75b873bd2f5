// Internal authorization helpers shared by decide.cpp and queries.cpp.
#pragma once

#include <string>
#include <vector>

#include "roster/domain/commands.hpp"
#include "roster/domain/errors.hpp"
#include "roster/domain/overloaded.hpp"
#include "roster/domain/state.hpp"

namespace roster::domain::detail {

using domain::overloaded;
// The user behind a user principal, refused (401) when unknown, retired or locked: their tokens
// no longer work, so nothing they send can be acted on. nullptr for non-user principals.
result<const user_record*> acting_user(const state& s, const actor& who);

// The account as the actor may see it: operator and auditor see every account, a user only
// the accounts they are a member of; everything else is 404 so ids never leak.
result<const account_record*> visible_account(const state& s, const actor& who, const account_id& a);

// The actor's roles in `acc` if they are an admin of any portal there (operator: every role);
// otherwise 403 with the exact non-admin detail.
result<role_set> require_admin(const state& s, const actor& who, const account_record& acc);

// Portals touched by `touched` where `actor_roles` has no admin role, in catalog order.
std::vector<portal> missing_admin_portals(role_set actor_roles, role_set touched);

domain_error not_admin_error();
domain_error missing_portals_error(std::vector<portal> missing);
domain_error not_found(std::string_view code, std::string detail);
domain_error conflict(std::string_view code, std::string detail);
domain_error bad_input(std::string_view code, std::string detail);

bool is_hex_sha256(std::string_view s);
bool is_valid_id(std::string_view s);  // [A-Za-z0-9_-]{1,128}

}  // namespace roster::domain::detail
