#include "authz.hpp"

#include <algorithm>

namespace roster::domain::detail {

result<const user_record*> acting_user(const state& s, const actor& who) {
    const auto* up = std::get_if<user_principal>(&who);
    if (!up) return static_cast<const user_record*>(nullptr);
    const user_record* u = s.user(up->user);
    if (!u || u->retired || u->locked())
        return make_error(error_kind::unauthenticated, codes::unauthenticated,
                          "The credentials are not valid (unknown, locked or removed user).");
    return u;
}

result<const account_record*> visible_account(const state& s, const actor& who, const account_id& a) {
    const account_record* acc = s.account(a);
    auto missing = [] { return not_found(codes::account_not_found, "No such account."); };
    if (!acc) return missing();
    if (std::holds_alternative<operator_principal>(who) || std::holds_alternative<auditor_principal>(who)) return acc;
    if (const auto* up = std::get_if<user_principal>(&who))
        if (acc->member(up->user)) return acc;
    return missing();
}

result<role_set> require_admin(const state&, const actor& who, const account_record& acc) {
    if (std::holds_alternative<operator_principal>(who)) return all_roles;
    if (const auto* up = std::get_if<user_principal>(&who))
        if (const membership* m = acc.member(up->user); m && is_admin_anywhere(m->roles)) return m->roles;
    return not_admin_error();
}

std::vector<portal> missing_admin_portals(role_set actor_roles, role_set touched) {
    std::vector<portal> out;
    for (portal p : all_portals)
        if (!roles_in(touched, p).empty() && !is_admin_in(actor_roles, p)) out.push_back(p);
    return out;
}

domain_error not_admin_error() {
    return make_error(error_kind::forbidden, codes::not_admin, std::string(no_access_detail));
}

domain_error missing_portals_error(std::vector<portal> missing) {
    std::string detail = "This needs admin rights in every portal it touches; missing:";
    for (std::size_t i = 0; i < missing.size(); ++i) {
        detail += i ? ", " : " ";
        detail += to_string(missing[i]);
    }
    detail += '.';
    auto e = make_error(error_kind::forbidden, codes::missing_portal_admin, std::move(detail));
    e.missing_portals = std::move(missing);
    return e;
}

domain_error not_found(std::string_view code, std::string detail) {
    return make_error(error_kind::not_found, code, std::move(detail));
}
domain_error conflict(std::string_view code, std::string detail) {
    return make_error(error_kind::conflict, code, std::move(detail));
}
domain_error bad_input(std::string_view code, std::string detail) {
    return make_error(error_kind::bad_input, code, std::move(detail));
}

bool is_hex_sha256(std::string_view s) {
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_valid_id(std::string_view s) {
    return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

}  // namespace roster::domain::detail

namespace roster::domain {
bool is_well_formed_id(std::string_view s) { return detail::is_valid_id(s); }
}  // namespace roster::domain
