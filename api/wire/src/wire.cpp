#include "roster/api/wire.hpp"

#include <boost/json/parse.hpp>

#include "roster/replay/event_json.hpp"

namespace roster::api::wire {
namespace json = boost::json;
using namespace roster::domain;

namespace {
json::array ids(const std::set<account_id>& s) {
    json::array out;
    for (const auto& a : s) out.emplace_back(a.value);
    return out;
}
}  // namespace

json::object account(const account_record& a, domain::account_version version) {
    return json::object{{"id", a.id.value},
                        {"name", a.name},
                        {"kind", to_string(a.kind)},
                        {"version", version.value},
                        {"partners", ids(a.partners)},
                        {"customers", ids(a.customers)}};
}

namespace {

// A user object's fields, from whichever projection holds them: the one field list of the wire user.
struct user_fields {
    std::string_view id, email, name, employer, status, registration, type;
    role_set roles;
    bool removed = false;
};

void write_members(json_writer& w, const user_fields& u) {
    w.member("id", u.id)
        .member("email", u.email)
        .member("name", u.name)
        .member("employer", u.employer)
        .member("status", u.status)
        .member("registration", u.registration)
        .member("type", u.type)
        .key("roles");
    write_roles(w, u.roles);
    w.member("removed", u.removed);
}

user_fields fields_of(const state& s, const user_record& u, const account_id& in_account) {
    const auto* m = s.member(in_account, u.id);
    const bool employee = u.employer == in_account;
    return {u.id.value,
            u.address.str(),
            u.name,
            u.employer.value,
            m ? to_string(u.status) : std::string_view("removed"),
            to_string(registration_of(u.reg, u.invitation_issued)),
            m ? to_string(m->type) : to_string(employee ? membership_type::employee : membership_type::third_party),
            m ? m->roles : role_set{},
            m == nullptr};
}

// The role names `roles` holds in portal `p`, as an array.
void write_role_names(json_writer& w, portal p, role_set roles) {
    w.begin_array();
    for (std::size_t i = 0; i < role_count; ++i) {
        const auto r = static_cast<role>(i);
        if (portal_of(r) == p && roles.contains(r)) w.value(role_name(r));
    }
    w.end_array();
}

}  // namespace

json::object user(const state& s, const user_record& u, const account_id& in_account) {
    // The answers that need the user as a value (commands', contacts) parse what the writer
    // writes, so that the fields are listed once.
    std::string text;
    json_writer w(text);
    w.begin_object();
    write_members(w, fields_of(s, u, in_account));
    w.end_object();
    return json::parse(text).as_object();
}

void write_roles(json_writer& w, role_set roles) {
    w.begin_object();
    for (auto p : all_portals) {
        w.key(to_string(p));
        write_role_names(w, p, roles);
    }
    w.end_object();
}

void write_user(json_writer& w, const projections::directory_entry& e) {
    const auto& p = *e.profile;
    w.begin_object();
    write_members(
        w,
        {p.id.value, p.email, p.name, p.employer.value, e.removed ? std::string_view("removed") : to_string(p.status),
         to_string(registration_of(p.registration, p.invitation_issued)), to_string(e.type), e.roles, e.removed});
    w.end_object();
}

void write_user_members(json_writer& w, const state& s, const user_record& u, const account_id& in_account) {
    write_members(w, fields_of(s, u, in_account));
}

void write_roles_in_portal(json_writer& w, portal p, role_set roles) {
    w.begin_object().key(to_string(p));
    write_role_names(w, p, roles);
    w.end_object();
}

json::array portals(const std::vector<portal>& ps) {
    json::array out;
    for (auto p : ps) out.emplace_back(to_string(p));
    return out;
}

json::object removed_membership(const account_id& account, membership_type type, role_set roles, bool cascade) {
    return json::object{{"account", account.value},
                        {"type", to_string(type)},
                        {"roles", replay::roles_json(roles)},
                        {"cascade", cascade}};
}

json::object contacts(const state& s, const account_record& a, domain::account_version version) {
    json::object roles;
    for (auto r : all_contact_roles) {
        if (!applies_to(r, a.kind)) continue;
        const auto& holder = a.contact(r);
        const auto* u = holder.empty() ? nullptr : s.user(holder);
        roles[to_string(r)] = u ? json::value(user(s, *u, a.id)) : json::value(nullptr);
    }
    return json::object{
        {"contacts", std::move(roles)}, {"warnings", contact_warnings(s, a.id)}, {"version", version.value}};
}

json::array contact_warnings(const state& s, const account_id& a) {
    json::array warnings;
    for (const auto& w : contact_health(s, a)) {
        json::object o{{"code", w.code}, {"message", w.message}};
        if (w.role) o["role"] = to_string(*w.role);
        if (!w.user.empty()) o["user"] = w.user.value;
        warnings.emplace_back(std::move(o));
    }
    return warnings;
}

json::object account_stats(const state& s, const account_record& a, const projections::directory_stats& stats,
                           std::uint64_t position) {
    json::object users{{"active", stats.active},   {"locked", stats.locked},         {"removed", stats.removed},
                       {"invited", stats.invited}, {"registered", stats.registered}, {"not_invited", stats.not_invited},
                       {"total", stats.total()}};
    json::object portals;
    for (std::size_t i = 0; i < all_portals.size(); ++i) {
        json::object roles;
        for (std::size_t r = 0; r < role_count; ++r)
            if (portal_of(static_cast<role>(r)) == all_portals[i])
                roles[role_name(static_cast<role>(r))] = stats.role_holders[r];
        portals[to_string(all_portals[i])] =
            json::object{{"users", stats.portal_users[i]}, {"roles", std::move(roles)}};
    }
    // The contact roles an account must have filled: its primary admin contact (SPEC: never
    // cleared once set) and those whose absence is a health warning (support pair, security).
    json::array missing;
    std::size_t filled = 0;
    for (auto r : all_contact_roles) {
        const bool required = is_primary_admin_contact(r) || r == contact_role::primary_support ||
                              r == contact_role::secondary_support || r == contact_role::security;
        if (!required || !applies_to(r, a.kind)) continue;
        if (a.contact(r).empty())
            missing.emplace_back(to_string(r));
        else
            ++filled;
    }
    json::object contacts{{"required_roles_filled", filled},
                          {"required_roles_missing", std::move(missing)},
                          {"warnings", contact_warnings(s, a.id)}};
    return json::object{{"account", a.id.value},
                        {"position", position},
                        {"users", std::move(users)},
                        {"portals", std::move(portals)},
                        {"contacts", std::move(contacts)}};
}

json::object watchlist(const account_record& a, domain::account_version version) {
    json::array subs;
    for (const auto& [u, topics] : a.watchlist) {
        json::array ts;
        for (auto t : topics) ts.emplace_back(to_string(t));
        subs.emplace_back(json::object{{"user_id", u.value}, {"topics", std::move(ts)}});
    }
    return json::object{{"subscriptions", std::move(subs)}, {"version", version.value}};
}

}  // namespace roster::api::wire
