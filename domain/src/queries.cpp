#include "roster/domain/queries.hpp"

#include <algorithm>
#include <set>

#include "authz.hpp"

namespace roster::domain {

using namespace detail;

bool is_operator(const actor& who) { return std::holds_alternative<operator_principal>(who); }
bool is_auditor(const actor& who) { return std::holds_alternative<auditor_principal>(who); }

role_set roles_of(const state& s, const actor& who, const account_id& account) {
    const auto* up = std::get_if<user_principal>(&who);
    if (!up) return {};
    const membership* m = s.member(account, up->user);
    return m ? m->roles : role_set{};
}

result<email_lookup> lookup_email(const state& s, const actor& who, const account_id& account,
                                  std::string_view raw_email) {
    if (auto ok = authorize_read(s, who, read_kind::email_lookup, account); !ok) return ok.error();
    auto address = email::parse(raw_email);
    if (!address) return bad_input(codes::invalid_email, "The email address is not valid.");
    email_lookup out;
    const user_record* u = s.user_by_email(*address);
    if (!u) return out;
    out.exists = true;
    out.member_of_account = s.member(account, u->id) != nullptr;
    role_set seen;
    auto consider = [&](const account_id& a) {
        const membership* m = s.member(a, u->id);
        if (!m) return;
        // Operator sees every account; an admin only those they are a member of.
        const auto* me = std::get_if<user_principal>(&who);
        if (is_operator(who) || (me && s.member(a, me->user))) seen = seen | m->roles;
    };
    consider(u->employer);
    for (const auto& a : u->third_party) consider(a);
    out.portals = portals_of(seen);
    return out;
}

std::string_view to_string(access_reason r) {
    switch (r) {
        case access_reason::none: return "";
        case access_reason::locked: return "locked";
        case access_reason::not_member: return "not_member";
        case access_reason::no_role: return "no_role";
        case access_reason::removed: return "removed";
    }
    return "";
}

registration_status registration_of(registration reg, bool invitation_issued) {
    if (reg == registration::registered) return registration_status::registered;
    return invitation_issued ? registration_status::invited : registration_status::not_invited;
}

std::string_view to_string(registration_status r) {
    switch (r) {
        case registration_status::invited: return "invited";
        case registration_status::registered: return "registered";
        case registration_status::not_invited: return "not_invited";
    }
    return "";
}

std::optional<registration_status> parse_registration_status(std::string_view s) {
    for (std::size_t i = 0; i < registration_status_count; ++i)
        if (to_string(static_cast<registration_status>(i)) == s) return static_cast<registration_status>(i);
    return std::nullopt;
}

access_result access_decision(const state& s, const user_id& user, const account_id& account, portal p) {
    auto deny = [](access_reason r, std::string message) {
        access_result out;
        out.reason = r;
        out.message = std::move(message);
        return out;
    };
    const user_record* u = s.user(user);
    const account_record* acc = s.account(account);
    const bool removed_here = acc && acc->removed.contains(user) && !acc->member(user);
    if (u && (u->retired || removed_here)) return deny(access_reason::removed, "You were removed from this Account.");
    if (u && u->locked()) return deny(access_reason::locked, "Your user is locked.");
    const membership* m = acc && u ? acc->member(user) : nullptr;
    if (!m) return deny(access_reason::not_member, "You are not a member of an Account");
    const role_set in_portal = roles_in(m->roles, p);
    if (in_portal.empty())
        return deny(access_reason::no_role, "You do not have a role in the " + std::string(to_string(p)) + " portal.");
    access_result out;
    out.allowed = true;
    out.roles = in_portal;
    return out;
}

std::vector<user_id> recipients(const state& s, const account_id& account, topic t) {
    const account_record* acc = s.account(account);
    if (!acc) return {};
    std::set<user_id> out;
    auto add = [&](const user_id& u) {
        if (u.empty() || !acc->member(u)) return;
        const user_record* rec = s.user(u);
        if (rec && !rec->retired && !rec->locked()) out.insert(u);
    };
    for (const auto& [u, topics] : acc->watchlist)
        if (std::binary_search(topics.begin(), topics.end(), t)) add(u);
    if (t == topic::outage)
        for (const auto& holder : acc->contacts) add(holder);
    if (t == topic::security) add(acc->contact(contact_role::security));
    return {out.begin(), out.end()};
}

std::vector<contact_warning> contact_health(const state& s, const account_id& account) {
    std::vector<contact_warning> out;
    const account_record* acc = s.account(account);
    if (!acc) return out;
    if (acc->contact(contact_role::primary_support).empty() || acc->contact(contact_role::secondary_support).empty())
        out.push_back({"fewer_than_two_support_contacts",
                       std::nullopt,
                       {},
                       "Fewer than two support contacts (primary and secondary) are set."});
    if (acc->contact(contact_role::security).empty())
        out.push_back({"no_security_contact", std::nullopt, {}, "No security contact is set."});
    for (contact_role r : all_contact_roles) {
        const user_id& holder = acc->contact(r);
        if (holder.empty()) continue;
        if (const user_record* u = s.user(holder); u && u->locked())
            out.push_back(
                {"contact_locked", r, holder, "The " + std::string(to_string(r)) + " contact is locked; reassign it."});
    }
    return out;
}

result<removal_impact> removal_preview(const state& s, const actor& who, const account_id& account,
                                       const user_id& user) {
    if (is_auditor(who) || std::holds_alternative<service_principal>(who))
        return make_error(error_kind::forbidden, codes::read_only_principal,
                          "Auditor and service principals cannot change anything.");
    if (auto me = acting_user(s, who); !me) return me.error();
    auto acc = visible_account(s, who, account);
    if (!acc) return acc.error();
    auto mine = require_admin(s, who, **acc);
    if (!mine) return mine.error();
    const membership* m = (*acc)->member(user);
    const user_record* u = s.user(user);
    if (!m || !u) return not_found(codes::member_not_found, "No such member in this account.");

    removal_impact out;
    out.roles_revoked = m->roles;
    out.missing_portals = missing_admin_portals(*mine, m->roles);
    if (auto held = (*acc)->contact_roles_of(user); !held.empty())
        out.blockers.push_back(blocker{"key_contact", account, user, {}, std::move(held)});
    out.accounts_removed_from.push_back(removed_membership{account, m->type, m->roles, false});
    if (m->type == membership_type::employee) {
        out.profile_retired = true;
        for (const auto& other : u->third_party) {
            const account_record* o = s.account(other);
            const membership* om = o ? o->member(user) : nullptr;
            if (!om) continue;
            out.accounts_removed_from.push_back(removed_membership{other, om->type, om->roles, true});
            if (auto held = o->contact_roles_of(user); !held.empty())
                out.blockers.push_back(blocker{"key_contact", other, user, {}, std::move(held)});
        }
    }
    return out;
}

std::optional<authenticated> authenticate(const state& s, std::string_view token_secret_sha256_hex, timestamp now) {
    auto it = s.token_by_secret.find(std::string(token_secret_sha256_hex));
    if (it == s.token_by_secret.end()) return std::nullopt;
    const token_record* t = s.token(it->second);
    if (!t || t->revoked || t->secret_sha256_hex != token_secret_sha256_hex || t->expired(now)) return std::nullopt;
    if (const auto* up = std::get_if<user_principal>(&t->subject)) {
        const user_record* u = s.user(up->user);
        if (!u || u->retired || u->locked()) return std::nullopt;
    }
    return authenticated{t->subject, t->id};
}

result<void> authorize_read(const state& s, const actor& who, read_kind what, const account_id& account,
                            const user_id& user) {
    auto me = acting_user(s, who);
    if (!me) return me.error();
    const bool op = is_operator(who);
    const bool aud = is_auditor(who);
    const bool svc = std::holds_alternative<service_principal>(who);
    auto not_allowed = [] {
        return make_error(error_kind::forbidden, codes::not_allowed, std::string(no_access_detail));
    };
    // Account-scoped reads: 404 before 403 so that invisible accounts stay invisible.
    auto scoped = [&](bool auditor_ok, bool member_ok, bool support_admin_only) -> result<void> {
        if (svc || (aud && !auditor_ok)) {
            if (!s.account(account)) return not_found(codes::account_not_found, "No such account.");
            return not_allowed();
        }
        auto acc = visible_account(s, who, account);
        if (!acc) return acc.error();
        if (op || aud || member_ok) return {};
        auto mine = require_admin(s, who, **acc);
        if (!mine) return mine.error();
        if (support_admin_only && !is_admin_in(*mine, portal::support)) return missing_portals_error({portal::support});
        return {};
    };
    switch (what) {
        case read_kind::account:
        case read_kind::contacts: return scoped(true, true, false);
        case read_kind::user_list:
        case read_kind::account_history: return scoped(true, false, false);
        case read_kind::email_lookup:
        case read_kind::removal_preview: return scoped(false, false, false);
        case read_kind::watchlist: return scoped(true, false, true);
        case read_kind::recipients: return scoped(false, false, true);
        case read_kind::user_profile: {
            const bool self = me && *me && (*me)->id == user;
            if (self) {
                if (auto acc = visible_account(s, who, account); !acc) return acc.error();
                return {};
            }
            if (auto r = scoped(true, false, false); !r) return r;
            // Only people of this account (current or removed members) are visible through it,
            // exactly like every other route: a user of another account is "no such user".
            const account_record* acc = s.account(account);
            if (!s.user(user) || !acc || (!acc->member(user) && !acc->removed.contains(user)))
                return not_found(codes::user_not_found, "No such user in this account.");
            return {};
        }
        case read_kind::access:
            if (op || svc) return {};
            return not_allowed();
        case read_kind::events:
            if (op || aud) return {};
            return not_allowed();
        case read_kind::user_history: {
            const user_record* u = s.user(user);
            if (!u) return not_found(codes::user_not_found, "No such user.");
            if (op || aud) return {};
            if (svc) return not_allowed();
            const auto& mine = std::get<user_principal>(who).user;
            if (const membership* m = s.member(u->employer, mine); m && is_admin_anywhere(m->roles)) return {};
            bool visible = s.member(u->employer, mine) != nullptr;
            for (const auto& a : u->third_party) visible = visible || s.member(a, mine) != nullptr;
            if (!visible) return not_found(codes::user_not_found, "No such user.");
            return not_admin_error();
        }
    }
    return not_allowed();
}

}  // namespace roster::domain
