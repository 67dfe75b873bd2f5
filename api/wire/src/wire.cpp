#include "roster/api/wire.hpp"

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

json::object user(const state& s, const user_record& u, const account_id& in_account) {
    const auto* m = s.member(in_account, u.id);
    const bool employee = u.employer == in_account;
    return json::object{
        {"id", u.id.value},
        {"email", u.address.str()},
        {"name", u.name},
        {"employer", u.employer.value},
        {"status", to_string(u.status)},
        {"registration", to_string(u.reg)},
        {"type",
         m ? to_string(m->type) : to_string(employee ? membership_type::employee : membership_type::third_party)},
        {"roles", replay::roles_json(m ? m->roles : role_set{})},
        {"removed", m == nullptr},
    };
}

json::object user(const projections::directory_entry& e) {
    const auto& p = *e.profile;
    return json::object{
        {"id", p.id.value},
        {"email", p.email},
        {"name", p.name},
        {"employer", p.employer.value},
        {"status", to_string(p.status)},
        {"registration", to_string(p.registration)},
        {"type", to_string(e.type)},
        {"roles", replay::roles_json(e.roles)},
        {"removed", e.removed},
    };
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
    json::array warnings;
    for (const auto& w : contact_health(s, a.id)) {
        json::object o{{"code", w.code}, {"message", w.message}};
        if (w.role) o["role"] = to_string(*w.role);
        if (!w.user.empty()) o["user"] = w.user.value;
        warnings.emplace_back(std::move(o));
    }
    return json::object{{"contacts", std::move(roles)}, {"warnings", std::move(warnings)}, {"version", version.value}};
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
