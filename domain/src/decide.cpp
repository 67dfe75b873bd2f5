#include "roster/domain/decide.hpp"

#include <algorithm>
#include <set>

#include "authz.hpp"
#include "roster/domain/queries.hpp"
#include "roster/domain/text.hpp"

namespace roster::domain {
namespace {

using namespace detail;
using events = std::vector<event>;

bool is_valid_account_id(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

// A contact holder must be an active member of the account holding the required role.
bool eligible_contact(const state& s, const account_record& acc, const user_id& u, contact_role c) {
    const membership* m = acc.member(u);
    const user_record* rec = s.user(u);
    return m && rec && !rec->retired && !rec->locked() && satisfies(m->roles, required_role(c));
}

// A role_set built from raw bits could carry bits past the catalog.
bool catalog_roles(role_set r) { return r.minus(all_roles).empty(); }

// The accounts a user fact concerns: the employer, then the third-party memberships.
std::vector<account_id> accounts_of_user(const user_record& u) {
    std::vector<account_id> out;
    if (!u.employer.empty()) out.push_back(u.employer);
    for (const auto& a : u.third_party)
        if (a != u.employer) out.push_back(a);
    return out;
}

// An endpoint's settings as stored: filters sorted and de-duplicated, every part checked. The
// HTTP layer has parsed the URL already (scheme, host, no user info or fragment); this is
// the rule the log keeps whoever submits the command.
result<webhook_settings> checked_webhook(webhook_settings w) {
    if (!(w.url.starts_with("http://") || w.url.starts_with("https://")) || w.url.size() > 2048)
        return bad_input(codes::invalid_webhook, "The webhook url must be an http or https URL of at most 2048 bytes.");
    if (w.accounts.size() > 100 || w.types.size() > 64)
        return bad_input(codes::invalid_webhook, "A webhook filters on at most 100 accounts and 64 event types.");
    for (const auto& a : w.accounts)
        if (!is_valid_account_id(a.str())) return bad_input(codes::invalid_webhook, "An account id is not valid.");
    for (const auto& t : w.types)
        if (!event_type_index(t)) return bad_input(codes::invalid_webhook, "Unknown event type: " + t + ".");
    if (w.description.size() > 500 ||
        std::any_of(w.description.begin(), w.description.end(), [](char c) { return c >= 0 && c < 0x20; }))
        return bad_input(codes::invalid_webhook, "The description takes at most 500 bytes and no control characters.");
    std::sort(w.accounts.begin(), w.accounts.end());
    w.accounts.erase(std::unique(w.accounts.begin(), w.accounts.end()), w.accounts.end());
    std::sort(w.types.begin(), w.types.end());
    w.types.erase(std::unique(w.types.begin(), w.types.end()), w.types.end());
    return w;
}

blocker ineligible(const account_record& acc, const user_id& u, contact_role c) {
    return blocker{"ineligible_contact", acc.id, u, role_set::of({required_role(c)}), {c}};
}

struct decider {
    const state& s;
    const actor& who;

    struct admin_scope {
        const account_record* account;
        role_set roles;  // the actor's roles in it (every role for the operator)
    };
    // Account `a` as its admin (or the operator) acts on it: 404 when the actor may not see it,
    // 403 when they may but administer no portal of it.
    result<admin_scope> administered(const account_id& a) const {
        auto acc = visible_account(s, who, a);
        if (!acc) return acc.error();
        auto mine = require_admin(s, who, **acc);
        if (!mine) return mine.error();
        return admin_scope{*acc, *mine};
    }
    // `administered`, and the actor may grant `roles` there: all in the catalog, every portal
    // among them administered by the actor.
    result<admin_scope> administered_granting(const account_id& a, role_set roles) const {
        auto scope = administered(a);
        if (!scope) return scope.error();
        if (!catalog_roles(roles)) return bad_input(codes::invalid_roles, "Unknown role.");
        if (auto missing = missing_admin_portals(scope->roles, roles); !missing.empty())
            return missing_portals_error(std::move(missing));
        return scope;
    }
    struct member_scope {
        const account_record* account;
        role_set roles;  // the actor's roles in it
        const membership* member;
    };
    // Member `u` of account `a` as its admin acts on them: `administered`, then 404 when `u` is
    // not a member.
    result<member_scope> administered_member(const account_id& a, const user_id& u) const {
        auto scope = administered(a);
        if (!scope) return scope.error();
        const membership* m = scope->account->member(u);
        if (!m) return not_found(codes::member_not_found, "No such member in this account.");
        return member_scope{scope->account, scope->roles, m};
    }
    timestamp now;

    result<invitation_issued> new_invitation(const invitation_request& req, const user_id& user,
                                             const account_id& account, const invitation_id& replaces) const {
        if (!is_valid_id(req.id.str())) return bad_input(codes::invalid_id, "The invitation id is not valid.");
        if (!is_hex_sha256(req.secret_sha256_hex))
            return bad_input(codes::invalid_secret_hash,
                             "The invitation secret hash must be 64 lower-case hex digits.");
        const timestamp expires = req.expires_at.value_or(now + default_invitation_validity);
        if (expires <= now) return bad_input(codes::invalid_expiry, "The invitation must expire in the future.");
        if (s.invitation(req.id) || s.invitation_by_secret.contains(req.secret_sha256_hex))
            return conflict(codes::invitation_exists, "This invitation id or secret is already in use.");
        return invitation_issued{req.id, user, account, req.secret_sha256_hex, expires, replaces};
    }

    result<events> operator()(const open_account& c) const {
        if (!std::holds_alternative<operator_principal>(who))
            return make_error(error_kind::forbidden, codes::operator_only, std::string(no_access_detail));
        if (!is_valid_account_id(c.id.str()))
            return bad_input(codes::invalid_id, "An account id must match [a-z0-9-]{1,64}.");
        auto name = valid_name(c.name);
        if (!name) return name.error();
        if (s.account(c.id)) return conflict(codes::account_exists, "An account with this id already exists.");
        return events{account_opened{c.id, *name, c.kind}};
    }

    result<events> operator()(const link_partner& c) const {
        if (!std::holds_alternative<operator_principal>(who))
            return make_error(error_kind::forbidden, codes::operator_only, std::string(no_access_detail));
        const account_record* cust = s.account(c.customer);
        const account_record* part = s.account(c.partner);
        if (!cust || !part) return not_found(codes::account_not_found, "No such account.");
        if (cust->kind != account_kind::customer || part->kind != account_kind::partner)
            return conflict(codes::account_kind_mismatch,
                            "Only a partner account can be linked to a customer account.");
        if (cust->partners.contains(c.partner)) return events{};
        return events{partner_linked{c.customer, c.partner}};
    }

    result<events> operator()(const create_user& c) const {
        auto scope = administered_granting(c.account, c.roles);
        if (!scope) return scope.error();
        const auto [acc, mine] = *scope;
        if (!is_valid_id(c.new_user.str())) return bad_input(codes::invalid_id, "The user id is not valid.");
        auto address = email::parse(c.email);
        if (!address) return bad_input(codes::invalid_email, "The email address is not valid.");
        auto name = valid_name(c.name);
        if (!name) return name.error();
        if (s.user(c.new_user)) return conflict(codes::user_exists, "A user with this id already exists.");
        if (const user_record* existing = s.user_by_email(*address)) {
            if (acc->member(existing->id))
                return conflict(codes::already_member, "A user with this email is already a member of this account.");
            return conflict(
                codes::email_in_use,
                "A user with this email already exists; a linked partner's employee is added as a member instead.");
        }
        events out{user_created{c.new_user, *address, *name, c.account},
                   member_added{c.account, c.new_user, membership_type::employee, role_change{}}};
        if (!c.roles.empty()) out.push_back(roles_granted{c.account, c.new_user, c.roles, role_change{{}, c.roles}});
        if (c.invitation) {
            auto inv = new_invitation(*c.invitation, c.new_user, c.account, {});
            if (!inv) return inv.error();
            out.push_back(*inv);
        }
        return out;
    }

    result<events> operator()(const add_member& c) const {
        auto scope = administered_granting(c.account, c.roles);
        if (!scope) return scope.error();
        const auto [acc, mine] = *scope;
        const user_record* u = nullptr;
        if (const auto* id = std::get_if<user_id>(&c.who)) {
            u = s.user(*id);
        } else {
            auto address = email::parse(std::get<std::string>(c.who));
            if (!address) return bad_input(codes::invalid_email, "The email address is not valid.");
            u = s.user_by_email(*address);
        }
        if (!u || u->retired) return not_found(codes::user_not_found, "No such user.");
        if (acc->member(u->id)) return conflict(codes::already_member, "The user is already a member of this account.");
        if (acc->kind != account_kind::customer || !acc->partners.contains(u->employer))
            return conflict(codes::not_linked_partner_employee,
                            "Only employees of a partner linked to this account can be added as third-party members.");
        events out{member_added{c.account, u->id, membership_type::third_party, role_change{}}};
        if (!c.roles.empty()) out.push_back(roles_granted{c.account, u->id, c.roles, role_change{{}, c.roles}});
        return out;
    }

    result<events> operator()(const change_roles& c) const {
        auto scope = administered_member(c.account, c.user);
        if (!scope) return scope.error();
        const auto [acc, mine, m] = *scope;
        if (!catalog_roles(c.grant) || !catalog_roles(c.revoke))
            return bad_input(codes::invalid_roles, "Unknown role.");
        if (auto missing = missing_admin_portals(mine, c.grant | c.revoke); !missing.empty())
            return missing_portals_error(std::move(missing));
        if (!(c.grant & c.revoke).empty())
            return bad_input(codes::invalid_roles, "A role cannot be granted and revoked at once.");
        const role_set after = (m->roles | c.grant).minus(c.revoke);
        blocker b{"key_contact", c.account, c.user, {}, {}};
        for (contact_role r : acc->contact_roles_of(c.user))
            if (!satisfies(after, required_role(r))) {
                b.contact_roles.push_back(r);
                b.roles.insert(required_role(r));
            }
        if (!b.contact_roles.empty()) {
            auto e = conflict(codes::contact_role_required,
                              "The user holds key-contact roles that require this role; reassign them first.");
            e.blockers.push_back(std::move(b));
            return e;
        }
        events out;
        role_set held = m->roles;
        if (auto added = c.grant.minus(held); !added.empty()) {
            out.push_back(roles_granted{c.account, c.user, added, role_change{held, held | added}});
            held = held | added;
        }
        if (auto removed = c.revoke & held; !removed.empty())
            out.push_back(roles_revoked{c.account, c.user, removed, role_change{held, held.minus(removed)}});
        return out;
    }

    result<events> operator()(const remove_all_roles& c) const {
        auto scope = administered_member(c.account, c.user);
        if (!scope) return scope.error();
        const auto [acc, mine, m] = *scope;
        if (auto missing = missing_admin_portals(mine, m->roles); !missing.empty())
            return missing_portals_error(std::move(missing));
        if (m->roles.empty()) return events{};
        if (auto held = acc->contact_roles_of(c.user); !held.empty()) {
            blocker b{"key_contact", c.account, c.user, {}, held};
            for (contact_role r : held) b.roles.insert(required_role(r));
            auto e = conflict(codes::contact_role_required,
                              "The user holds key-contact roles that require access roles; reassign them first.");
            e.blockers.push_back(std::move(b));
            return e;
        }
        return events{all_roles_removed{c.account, c.user, m->roles, role_change{m->roles, {}}}};
    }

    // Employer admins (any portal) or the operator; others get 403 if they can see the user at all.
    result<const user_record*> lock_target(const user_id& id) const {
        const user_record* u = s.user(id);
        if (!u || u->retired) return not_found(codes::user_not_found, "No such user.");
        if (std::holds_alternative<operator_principal>(who)) return u;
        const auto* up = std::get_if<user_principal>(&who);
        if (!up) return not_found(codes::user_not_found, "No such user.");
        if (const membership* m = s.member(u->employer, up->user); m && is_admin_anywhere(m->roles)) return u;
        bool visible = s.member(u->employer, up->user) != nullptr;
        for (const auto& a : u->third_party) visible = visible || s.member(a, up->user) != nullptr;
        if (!visible) return not_found(codes::user_not_found, "No such user.");
        return not_admin_error();
    }

    result<events> operator()(const lock_user& c) const {
        auto u = lock_target(c.user);
        if (!u) return u.error();
        if ((*u)->locked()) return events{};
        return events{user_locked{c.user, accounts_of_user(**u)}};
    }

    result<events> operator()(const unlock_user& c) const {
        auto u = lock_target(c.user);
        if (!u) return u.error();
        if (!(*u)->locked()) return events{};
        return events{user_unlocked{c.user, accounts_of_user(**u)}};
    }

    // Admins of the user's employer and the operator, as for a lock; a user may also change their
    // own name, not their own email (the address is how they are reached and found: changing it
    // is an administrator's act).
    result<events> operator()(const update_profile& c) const {
        const auto* self = std::get_if<user_principal>(&who);
        const bool own = self && self->user == c.user;
        const user_record* u = nullptr;
        if (own && !c.email) {
            u = s.user(c.user);
            if (!u || u->retired) return not_found(codes::user_not_found, "No such user.");
        } else {
            auto target = lock_target(c.user);
            if (!target) return target.error();
            u = *target;
        }
        profile_updated out{c.user, {}, {}, accounts_of_user(*u)};
        if (c.name) {
            auto name = valid_name(*c.name);
            if (!name) return name.error();
            if (*name != u->name) out.name = text_change{u->name, *name};
        }
        if (c.email) {
            auto address = email::parse(*c.email);
            if (!address) return bad_input(codes::invalid_email, "The email address is not valid.");
            if (address->str() != u->address.str()) {
                if (const user_record* other = s.user_by_email(*address); other && other->id != c.user)
                    return conflict(codes::email_in_use, "Another user has this email.");
                out.email = text_change{u->address.str(), address->str()};
            }
        }
        if (!out.name && !out.email) return events{};
        return events{std::move(out)};
    }

    result<events> operator()(const remove_member& c) const {
        auto plan = removal_preview(s, who, c.account, c.user);
        if (!plan) return plan.error();
        if (!plan->missing_portals.empty()) return missing_portals_error(plan->missing_portals);
        if (!plan->blockers.empty()) {
            auto e = conflict(codes::key_contact_blocks_removal,
                              "The user holds key-contact roles; they must be reassigned (by the user themselves in "
                              "the other accounts named) before the removal.");
            e.blockers = plan->blockers;
            return e;
        }
        events out;
        for (const auto& r : plan->accounts_removed_from)
            out.push_back(member_removed{r.account, c.user, r.type, r.roles, r.cascade, role_change{r.roles, {}}});
        if (plan->profile_retired) {
            const user_record* u = s.user(c.user);
            out.push_back(profile_retired{c.user, u->address, accounts_of_user(*u)});
        }
        return out;
    }

    result<events> operator()(const invite_user& c) const {
        auto scope = administered(c.account);
        if (!scope) return scope.error();
        const auto [acc, mine] = *scope;
        const user_record* u = s.user(c.user);
        if (!u || !acc->member(c.user)) return not_found(codes::member_not_found, "No such member in this account.");
        if (u->reg == registration::registered)
            return conflict(codes::already_registered, "The user has already registered.");
        auto inv = new_invitation(c.invitation, c.user, c.account, u->open_invitation);
        if (!inv) return inv.error();
        return events{*inv};
    }

    result<events> operator()(const accept_invitation& c) const {
        if (!is_hex_sha256(c.secret_sha256_hex))
            return bad_input(codes::invalid_secret_hash,
                             "The invitation secret hash must be 64 lower-case hex digits.");
        auto it = s.invitation_by_secret.find(c.secret_sha256_hex);
        if (it == s.invitation_by_secret.end()) return not_found(codes::invitation_not_found, "No such invitation.");
        const invitation_record* inv = s.invitation(it->second);
        if (!inv) return not_found(codes::invitation_not_found, "No such invitation.");
        auto gone = [](std::string_view code, std::string detail) {
            return make_error(error_kind::gone, code, std::move(detail));
        };
        if (inv->status == invitation_status::used)
            return gone(codes::invitation_used, "This invitation was already used.");
        if (inv->status == invitation_status::revoked)
            return gone(codes::invitation_revoked, "This invitation was replaced or withdrawn.");
        if (now >= inv->expires_at) return gone(codes::invitation_expired, "This invitation has expired.");
        const user_record* u = s.user(inv->user);
        if (!u || u->retired || !s.member(inv->account, inv->user))
            return gone(codes::invitation_revoked, "This invitation was replaced or withdrawn.");
        return events{invitation_accepted{inv->id, inv->user, accounts_of_user(*u)}};
    }

    // Contacts and watchlist need `support:admin` (or the operator).
    result<const account_record*> support_admin(const account_id& a) const {
        auto scope = administered(a);
        if (!scope) return scope.error();
        if (!is_admin_in(scope->roles, portal::support)) return missing_portals_error({portal::support});
        return scope->account;
    }

    result<events> operator()(const save_contacts& c) const {
        auto acc_r = support_admin(c.account);
        if (!acc_r) return acc_r.error();
        const account_record& acc = **acc_r;
        std::array<bool, contact_role_count> seen{};
        for (const auto& a : c.assignments) {
            const auto i = static_cast<std::size_t>(a.role);
            if (i >= contact_role_count || seen[i])
                return bad_input(codes::invalid_contacts, "Each contact role may appear once.");
            seen[i] = true;
            if (!applies_to(a.role, acc.kind))
                return bad_input(codes::contact_role_not_applicable,
                                 std::string(to_string(a.role)) + " does not exist on a " +
                                     std::string(to_string(acc.kind)) + " account.");
        }
        auto after = acc.contacts;
        std::vector<contact_assignment> changed;
        std::vector<blocker> ineligibles;
        for (contact_role r : all_contact_roles) {
            auto it = std::find_if(c.assignments.begin(), c.assignments.end(),
                                   [&](const contact_assignment& a) { return a.role == r; });
            if (it == c.assignments.end() || it->user == acc.contact(r)) continue;
            if (it->user.empty() && is_primary_admin_contact(r))
                return conflict(codes::primary_admin_contact_required,
                                "The primary admin contact can be replaced but never cleared.");
            if (!it->user.empty() && !eligible_contact(s, acc, it->user, r))
                ineligibles.push_back(ineligible(acc, it->user, r));
            after[static_cast<std::size_t>(r)] = it->user;
            changed.push_back(contact_assignment{r, it->user, acc.contact(r)});
        }
        if (!ineligibles.empty()) {
            auto e = conflict(codes::contact_not_eligible,
                              "A contact must be an active member of the account holding the required role.");
            e.blockers = std::move(ineligibles);
            return e;
        }
        for (const auto& a : changed)
            if (auto pair = paired_contact_role(a.role);
                pair && !a.user.empty() && after[static_cast<std::size_t>(*pair)] == a.user)
                return conflict(codes::primary_equals_secondary,
                                "A primary contact and its secondary must be different people.");
        if (changed.empty()) return events{};
        return events{contacts_saved{c.account, std::move(changed)}};
    }

    result<events> operator()(const hand_over_contact& c) const {
        auto acc_r = visible_account(s, who, c.account);
        if (!acc_r) return acc_r.error();
        const account_record& acc = **acc_r;
        if (static_cast<std::size_t>(c.role) >= contact_role_count || !applies_to(c.role, acc.kind))
            return bad_input(codes::contact_role_not_applicable, "This contact role does not exist on this account.");
        const user_id& holder = acc.contact(c.role);
        const auto* up = std::get_if<user_principal>(&who);
        const bool is_holder = up && !holder.empty() && up->user == holder;
        bool is_support_admin = std::holds_alternative<operator_principal>(who);
        if (up)
            if (const membership* m = acc.member(up->user)) is_support_admin = is_admin_in(m->roles, portal::support);
        if (!is_holder && !is_support_admin)
            return make_error(error_kind::forbidden, codes::not_contact_holder, std::string(no_access_detail));
        if (holder.empty())
            return conflict(codes::not_contact_holder,
                            "Nobody holds this contact role; assign it by saving the contacts.");
        if (c.to == holder) return events{};
        if (!eligible_contact(s, acc, c.to, c.role)) {
            auto e = conflict(codes::contact_not_eligible,
                              "A contact must be an active member of the account holding the required role.");
            e.blockers.push_back(ineligible(acc, c.to, c.role));
            return e;
        }
        if (auto pair = paired_contact_role(c.role); pair && acc.contact(*pair) == c.to)
            return conflict(codes::primary_equals_secondary,
                            "A primary contact and its secondary must be different people.");
        return events{contact_handed_over{c.account, c.role, holder, c.to}};
    }

    result<events> operator()(const set_watchlist& c) const {
        auto acc_r = support_admin(c.account);
        if (!acc_r) return acc_r.error();
        const account_record& acc = **acc_r;
        std::map<user_id, std::vector<topic>> next;
        for (const auto& sub : c.subscriptions) {
            if (sub.user.empty() || next.contains(sub.user))
                return bad_input(codes::invalid_watchlist, "Each user may appear once in the watchlist.");
            std::vector<topic> topics;
            for (topic t : sub.topics) {
                if (static_cast<std::size_t>(t) >= topic_count)
                    return bad_input(codes::invalid_watchlist, "Unknown topic.");
                topics.push_back(t);
            }
            std::sort(topics.begin(), topics.end());
            topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
            next.emplace(sub.user, std::move(topics));
        }
        for (const auto& [u, topics] : next)
            if (!acc.member(u))
                return conflict(codes::watchlist_user_not_member,
                                "Only members of the account can be on its watchlist.");
        std::erase_if(next, [](const auto& kv) { return kv.second.empty(); });
        if (next == acc.watchlist) return events{};
        watchlist_changed out{c.account, {}, {}};
        // Both maps are sorted by user: one merge finds every entry that differs.
        auto before = acc.watchlist.begin();
        auto now_it = next.begin();
        static const std::vector<topic> none;
        while (before != acc.watchlist.end() || now_it != next.end()) {
            const bool take_before =
                now_it == next.end() || (before != acc.watchlist.end() && before->first < now_it->first);
            const bool take_now =
                before == acc.watchlist.end() || (now_it != next.end() && now_it->first < before->first);
            if (take_before) {
                out.changes.push_back(watch_change{before->first, before->second, none});
                ++before;
            } else if (take_now) {
                out.changes.push_back(watch_change{now_it->first, none, now_it->second});
                ++now_it;
            } else {
                if (before->second != now_it->second)
                    out.changes.push_back(watch_change{before->first, before->second, now_it->second});
                ++before;
                ++now_it;
            }
        }
        for (auto& [u, topics] : next) out.subscriptions.push_back(watch_subscription{u, std::move(topics)});
        return events{std::move(out)};
    }

    result<events> operator()(const issue_token& c) const {
        const auto* up = std::get_if<user_principal>(&who);
        if (!std::holds_alternative<operator_principal>(who)) {
            const auto* subject = std::get_if<user_principal>(&c.subject);
            if (!up || !subject || subject->user != up->user)
                return make_error(error_kind::forbidden, codes::operator_only, std::string(no_access_detail));
        }
        if (!is_valid_id(c.token.str())) return bad_input(codes::invalid_id, "The token id is not valid.");
        if (!is_hex_sha256(c.secret_sha256_hex))
            return bad_input(codes::invalid_secret_hash, "The token secret hash must be 64 lower-case hex digits.");
        if (const auto* svc = std::get_if<service_principal>(&c.subject); svc && !is_valid_id(svc->name))
            return bad_input(codes::invalid_principal, "A service principal needs a name.");
        if (const auto* subject = std::get_if<user_principal>(&c.subject)) {
            const user_record* u = s.user(subject->user);
            if (!u || u->retired) return not_found(codes::user_not_found, "No such user.");
        }
        if (c.expires_at && *c.expires_at <= now)
            return bad_input(codes::invalid_expiry, "The token would expire before it is issued.");
        if (s.token(c.token) || s.token_by_secret.contains(c.secret_sha256_hex))
            return conflict(codes::token_exists, "This token id or secret is already in use.");
        return events{token_issued{c.token, c.subject, c.secret_sha256_hex, c.expires_at.value_or(timestamp{})}};
    }

    result<events> operator()(const rotate_token& c) const {
        const token_record* t = s.token(c.token);
        if (!t) return not_found(codes::token_not_found, "No such token.");
        const auto* subject = std::get_if<user_principal>(&t->subject);
        if (!std::holds_alternative<operator_principal>(who)) {
            const auto* up = std::get_if<user_principal>(&who);
            // As for revocation: another principal's token is reported as unknown.
            if (!up || !subject || subject->user != up->user)
                return not_found(codes::token_not_found, "No such token.");
        }
        if (!is_hex_sha256(c.secret_sha256_hex))
            return bad_input(codes::invalid_secret_hash, "The token secret hash must be 64 lower-case hex digits.");
        if (t->revoked) return conflict(codes::token_revoked, "The token is revoked; issue a new one.");
        if (t->expired(now)) return conflict(codes::token_expired, "The token has expired; issue a new one.");
        if (s.token_by_secret.contains(c.secret_sha256_hex))
            return conflict(codes::token_exists, "This secret is already in use.");
        return events{token_rotated{c.token, c.secret_sha256_hex, subject ? subject->user : user_id{}}};
    }

    result<void> operator_only() const {
        if (std::holds_alternative<operator_principal>(who)) return {};
        return make_error(error_kind::forbidden, codes::operator_only, std::string(no_access_detail));
    }
    // A registered endpoint that is not removed.
    result<const webhook_record*> live_webhook(const webhook_id& id) const {
        const webhook_record* w = s.webhook(id);
        if (!w || w->removed) return not_found(codes::webhook_not_found, "No such webhook.");
        return w;
    }

    result<events> operator()(const register_webhook& c) const {
        if (auto ok = operator_only(); !ok) return ok.error();
        if (!is_valid_id(c.webhook.str())) return bad_input(codes::invalid_id, "The webhook id is not valid.");
        if (!is_hex_sha256(c.secret_sha256_hex))
            return bad_input(codes::invalid_secret_hash, "The webhook secret hash must be 64 lower-case hex digits.");
        auto settings = checked_webhook(c.settings);
        if (!settings) return settings.error();
        if (s.webhook(c.webhook)) return conflict(codes::webhook_exists, "This webhook id is already in use.");
        return events{webhook_registered{c.webhook, std::move(*settings), c.secret_sha256_hex}};
    }

    result<events> operator()(const change_webhook& c) const {
        if (auto ok = operator_only(); !ok) return ok.error();
        auto w = live_webhook(c.webhook);
        if (!w) return w.error();
        webhook_settings after = (*w)->settings;
        if (c.url) after.url = *c.url;
        if (c.accounts) after.accounts = *c.accounts;
        if (c.types) after.types = *c.types;
        if (c.description) after.description = *c.description;
        if (c.enabled) after.enabled = *c.enabled;
        auto settings = checked_webhook(std::move(after));
        if (!settings) return settings.error();
        if (*settings == (*w)->settings) return events{};
        return events{webhook_changed{c.webhook, (*w)->settings, std::move(*settings)}};
    }

    result<events> operator()(const remove_webhook& c) const {
        if (auto ok = operator_only(); !ok) return ok.error();
        auto w = live_webhook(c.webhook);
        if (!w) return w.error();
        return events{webhook_removed{c.webhook, (*w)->settings}};
    }

    result<events> operator()(const revoke_token& c) const {
        const token_record* t = s.token(c.token);
        if (!t) return not_found(codes::token_not_found, "No such token.");
        if (!std::holds_alternative<operator_principal>(who)) {
            const auto* up = std::get_if<user_principal>(&who);
            const auto* subject = std::get_if<user_principal>(&t->subject);
            // Another principal's token is reported as unknown: its id is not the caller's business.
            if (!up || !subject || subject->user != up->user)
                return not_found(codes::token_not_found, "No such token.");
        }
        if (t->revoked) return events{};
        const auto* subject = std::get_if<user_principal>(&t->subject);
        return events{token_revoked{c.token, subject ? subject->user : user_id{}}};
    }
};

}  // namespace

result<std::vector<event>> decide(const state& s, const command& cmd, const actor& who, timestamp now) {
    if (!std::holds_alternative<accept_invitation>(cmd)) {
        if (std::holds_alternative<auditor_principal>(who) || std::holds_alternative<service_principal>(who))
            return make_error(error_kind::forbidden, codes::read_only_principal,
                              "Auditor and service principals cannot change anything.");
        auto u = acting_user(s, who);
        if (!u) return u.error();
    }
    return std::visit(decider{s, who, now}, cmd);
}

domain_error deactivate_gone() {
    return make_error(error_kind::gone, codes::deactivate_removed,
                      "Deactivate no longer exists: lock the user (POST /v1/users/{u}/lock) or remove their access "
                      "roles (DELETE /v1/accounts/{a}/users/{u}/roles).");
}

}  // namespace roster::domain
