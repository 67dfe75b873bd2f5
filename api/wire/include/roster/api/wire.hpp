// Explicit wire types, response side: how domain state looks in JSON (SPEC §5 objects). The
// request side (bodies and path ids into commands) is roster/api/wire_requests.hpp.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include "roster/api/json_input.hpp"
#include "roster/api/json_writer.hpp"
#include "roster/api/problem.hpp"
#include "roster/domain/positions.hpp"
#include "roster/domain/queries.hpp"
#include "roster/domain/state.hpp"
#include "roster/projections/directory.hpp"

namespace roster::api::wire {

// account: {id, name, kind, version, partners, customers}
boost::json::object account(const domain::account_record& a, domain::account_version version);
// user: {id, email, name, employer, status, registration, type, roles, removed} as seen in `in_account`.
// status: active, locked or removed (removed = not a current member here, `removed` says the same);
// registration: registered, invited (an invitation was issued, not accepted) or not_invited.
boost::json::object user(const domain::state& s, const domain::user_record& u, const domain::account_id& in_account);
// The same user objects written straight into an answer (user() is what they write, parsed): the
// hot read routes (search page, profile) build no DOM. write_user writes a directory row (the
// same object as user() for the same person and account); write_user_members writes the members
// only, so a route can add its own before closing the object.
void write_user(json_writer& w, const projections::directory_entry& e);
void write_user_members(json_writer& w, const domain::state& s, const domain::user_record& u,
                        const domain::account_id& in_account);
// replay::roles_json written into `w`: {"<portal>": ["<role>", ...], ...} for every portal.
void write_roles(json_writer& w, domain::role_set roles);
// contacts view: {contacts:{role: user|null}, warnings:[...], version}
boost::json::object contacts(const domain::state& s, const domain::account_record& a, domain::account_version version);
// contact health warnings: [{code, message, role?, user?}] (domain::contact_health)
boost::json::array contact_warnings(const domain::state& s, const domain::account_id& a);
// account stats: {account, position, users:{active, locked, removed, invited, registered, not_invited, total},
// portals:{portal:{users, roles:{role: n}}}, contacts:{required_roles_filled, required_roles_missing, warnings}}
boost::json::object account_stats(const domain::state& s, const domain::account_record& a,
                                  const projections::directory_stats& stats, std::uint64_t position);
// {subscriptions:[{user_id, topics}], version}
boost::json::object watchlist(const domain::account_record& a, domain::account_version version);
boost::json::array portals(const std::vector<domain::portal>& ps);
// The roles one portal holds, in the one notation roles are written in: {"<portal>": ["<role>", ...]}.
void write_roles_in_portal(json_writer& w, domain::portal p, domain::role_set roles);
// One membership a removal takes away: {account, type, roles, cascade} (preview and DELETE answer).
boost::json::object removed_membership(const domain::account_id& account, domain::membership_type type,
                                       domain::role_set roles, bool cascade);

// A domain enum parsed from a query parameter; 400 `invalid_query` naming the parameter.
template <class T>
boost::system::result<std::optional<T>, problem> query_enum(const name_values& query, std::string_view name,
                                                            std::optional<T> (*parse)(std::string_view)) {
    auto v = query.get(name);
    if (!v || v->empty()) return std::optional<T>{};
    if (auto parsed = parse(*v)) return std::optional<T>{*parsed};
    return query_problem("invalid_query", std::string(name),
                         "Query parameter '" + std::string(name) + "' has an unknown value.");
}

}  // namespace roster::api::wire
