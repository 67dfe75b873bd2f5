#include "roster/domain/state.hpp"

#include <algorithm>
#include <type_traits>

namespace roster::domain {

const membership* account_record::member(const user_id& u) const {
    auto it = members.find(u);
    return it == members.end() ? nullptr : &it->second;
}

std::vector<contact_role> account_record::contact_roles_of(const user_id& u) const {
    std::vector<contact_role> out;
    if (u.empty()) return out;
    for (contact_role c : all_contact_roles)
        if (contact(c) == u) out.push_back(c);
    return out;
}

const account_record* state::account(const account_id& a) const {
    auto it = accounts.find(a);
    return it == accounts.end() ? nullptr : &it->second;
}

const user_record* state::user(const user_id& u) const {
    auto it = users.find(u);
    return it == users.end() ? nullptr : &it->second;
}

const user_record* state::user_by_email(const email& e) const {
    auto it = email_index.find(e.str());
    return it == email_index.end() ? nullptr : user(it->second);
}

const invitation_record* state::invitation(const invitation_id& i) const {
    auto it = invitations.find(i);
    return it == invitations.end() ? nullptr : &it->second;
}

const token_record* state::token(const token_id& t) const {
    auto it = tokens.find(t);
    return it == tokens.end() ? nullptr : &it->second;
}

const webhook_record* state::webhook(const webhook_id& w) const {
    auto it = webhooks.find(w);
    return it == webhooks.end() ? nullptr : &it->second;
}

const membership* state::member(const account_id& a, const user_id& u) const {
    const account_record* acc = account(a);
    return acc ? acc->member(u) : nullptr;
}

namespace {

template <class Map, class Key>
auto* find_mut(Map& m, const Key& k) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
}

void revoke_invitation(state& s, const invitation_id& id) {
    if (id.empty()) return;
    if (auto* inv = find_mut(s.invitations, id); inv && inv->status == invitation_status::open) {
        inv->status = invitation_status::revoked;
        if (auto* u = find_mut(s.users, inv->user); u && u->open_invitation == id) u->open_invitation = {};
    }
}

// One operator() per event type and no template fallback: std::visit refuses to compile
// once an event type has no overload here.
struct applier {
    state& s;
    member_version at;  // the position of the event being folded

    // What /v1/accounts/{a}/users/{u} shows changed with this event: the membership's part.
    void touch(account_record& acc, const user_id& u) {
        if (auto* m = find_mut(acc.members, u)) m->changed = at;
    }
    // The profile's part, shown in every account of the user.
    void touch(const user_id& u) {
        if (auto* rec = find_mut(s.users, u)) rec->changed = at;
    }

    void operator()(const account_opened& e) {
        auto& acc = s.accounts[e.account];
        acc.id = e.account;
        acc.name = e.name;
        acc.kind = e.kind;
    }
    void operator()(const partner_linked& e) {
        auto* c = find_mut(s.accounts, e.customer);
        auto* p = find_mut(s.accounts, e.partner);
        if (!c || !p) return;
        c->partners.insert(e.partner);
        p->customers.insert(e.customer);
    }
    void operator()(const user_created& e) {
        s.users.insert_or_assign(e.user, user_record{.id = e.user,
                                                     .address = e.address,
                                                     .name = e.name,
                                                     .employer = e.employer,
                                                     .status = user_status::active,
                                                     .reg = registration::invited,
                                                     .retired = false,
                                                     .third_party = {},
                                                     .open_invitation = {},
                                                     .changed = at});
        s.email_index[e.address.str()] = e.user;
    }
    void operator()(const member_added& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc) return;
        acc->members[e.user] = membership{e.type, {}, at};
        acc->removed.erase(e.user);
        acc->removed_at.erase(e.user);
        if (e.type == membership_type::third_party)
            if (auto* u = find_mut(s.users, e.user)) u->third_party.insert(e.account);
    }
    void operator()(const roles_granted& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc) return;
        if (auto* m = find_mut(acc->members, e.user)) m->roles = m->roles | e.roles;
        touch(*acc, e.user);
    }
    void operator()(const roles_revoked& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc) return;
        if (auto* m = find_mut(acc->members, e.user)) m->roles = m->roles.minus(e.roles);
        touch(*acc, e.user);
    }
    void operator()(const all_roles_removed& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc) return;
        if (auto* m = find_mut(acc->members, e.user)) m->roles = {};
        touch(*acc, e.user);
    }
    void operator()(const user_locked& e) {
        if (auto* u = find_mut(s.users, e.user)) u->status = user_status::locked;
        touch(e.user);
    }
    void operator()(const user_unlocked& e) {
        if (auto* u = find_mut(s.users, e.user)) u->status = user_status::active;
        touch(e.user);
    }
    void operator()(const invitation_issued& e) {
        revoke_invitation(s, e.replaces);
        if (auto* u = find_mut(s.users, e.user)) revoke_invitation(s, u->open_invitation);
        auto& inv = s.invitations[e.invitation];
        inv.id = e.invitation;
        inv.user = e.user;
        inv.account = e.account;
        inv.secret_sha256_hex = e.secret_sha256_hex;
        inv.expires_at = e.expires_at;
        inv.status = invitation_status::open;
        s.invitation_by_secret[e.secret_sha256_hex] = e.invitation;
        if (auto* u = find_mut(s.users, e.user)) {
            u->open_invitation = e.invitation;
            u->invitation_issued = true;
        }
        touch(e.user);
    }
    void operator()(const invitation_accepted& e) {
        if (auto* inv = find_mut(s.invitations, e.invitation)) inv->status = invitation_status::used;
        if (auto* u = find_mut(s.users, e.user)) {
            u->reg = registration::registered;
            if (u->open_invitation == e.invitation) u->open_invitation = {};
        }
        touch(e.user);
    }
    void operator()(const member_removed& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc) return;
        acc->members.erase(e.user);
        acc->removed.insert(e.user);
        acc->removed_at[e.user] = at;
        acc->watchlist.erase(e.user);
        // Removal is refused while the user holds a contact role; clearing here keeps the fold
        // total should a log ever say otherwise.
        for (auto& c : acc->contacts)
            if (c == e.user) c = {};
        if (auto* u = find_mut(s.users, e.user)) {
            u->third_party.erase(e.account);
            // The open invitation is shown in every account of the user.
            if (auto* inv = find_mut(s.invitations, u->open_invitation); inv && inv->account == e.account) {
                revoke_invitation(s, u->open_invitation);
                u->changed = at;
            }
        }
    }
    void operator()(const profile_retired& e) {
        auto* u = find_mut(s.users, e.user);
        if (!u) return;
        u->retired = true;
        u->changed = at;
        revoke_invitation(s, u->open_invitation);
        if (auto it = s.email_index.find(e.address.str()); it != s.email_index.end() && it->second == e.user)
            s.email_index.erase(it);
    }
    void operator()(const contacts_saved& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc) return;
        // A user's view in the account lists their contact roles: the old and new holders change.
        for (const auto& a : e.assignments)
            if (static_cast<std::size_t>(a.role) < contact_role_count) {
                auto& holder = acc->contacts[static_cast<std::size_t>(a.role)];
                touch(*acc, holder);
                holder = a.user;
                touch(*acc, holder);
            }
    }
    void operator()(const contact_handed_over& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc || static_cast<std::size_t>(e.role) >= contact_role_count) return;
        auto& holder = acc->contacts[static_cast<std::size_t>(e.role)];
        touch(*acc, holder);
        holder = e.to;
        touch(*acc, holder);
    }
    void operator()(const watchlist_changed& e) {
        auto* acc = find_mut(s.accounts, e.account);
        if (!acc) return;
        acc->watchlist.clear();
        for (const auto& sub : e.subscriptions)
            if (!sub.topics.empty()) acc->watchlist[sub.user] = sub.topics;
    }
    void operator()(const token_issued& e) {
        auto& t = s.tokens[e.token];
        t.id = e.token;
        t.subject = e.subject;
        t.secret_sha256_hex = e.secret_sha256_hex;
        t.revoked = false;
        t.expires_at = e.expires_at;
        s.token_by_secret[e.secret_sha256_hex] = e.token;
    }
    void operator()(const token_revoked& e) {
        if (auto* t = find_mut(s.tokens, e.token)) t->revoked = true;
    }
    void operator()(const token_rotated& e) {
        auto* t = find_mut(s.tokens, e.token);
        if (!t) return;
        t->secret_sha256_hex = e.secret_sha256_hex;
        ++t->rotations;
        s.token_by_secret[e.secret_sha256_hex] = e.token;
    }
    void operator()(const profile_updated& e) {
        auto* u = find_mut(s.users, e.user);
        if (!u) return;
        if (e.name) u->name = e.name->after;
        if (e.email)
            if (auto address = email::parse(e.email->after)) {
                if (auto it = s.email_index.find(u->address.str()); it != s.email_index.end() && it->second == e.user)
                    s.email_index.erase(it);
                u->address = *address;
                if (!u->retired) s.email_index[address->str()] = e.user;
            }
        u->changed = at;
    }
    void operator()(const access_denied&) {}
    void operator()(const signing_key_rotated&) {}
    void operator()(const webhook_registered& e) {
        s.webhooks[e.webhook] = webhook_record{e.webhook, e.settings, e.secret_sha256_hex, log_position{at.value}};
    }
    void operator()(const webhook_changed& e) {
        if (auto* w = find_mut(s.webhooks, e.webhook)) w->settings = e.after;
    }
    void operator()(const webhook_removed& e) {
        if (auto* w = find_mut(s.webhooks, e.webhook)) w->removed = true;
    }
};

}  // namespace

void apply(state& s, const event& e) { apply(s, e, s.folded.next()); }

void apply(state& s, const event& e, log_position at) {
    s.folded = at;
    std::visit(applier{s, member_version{at}}, e);
}

std::optional<member_version> member_version_of(const state& s, const account_id& a, const user_id& u) {
    const user_record* rec = s.user(u);
    const account_record* acc = s.account(a);
    if (!rec || !acc) return std::nullopt;
    if (const membership* m = acc->member(u)) return std::max(rec->changed, m->changed);
    if (auto it = acc->removed_at.find(u); it != acc->removed_at.end()) return std::max(rec->changed, it->second);
    // Removed before removals were stamped cannot happen (the stamp is folded, not stored), but a
    // state built by hand may lack it: the profile's stamp is then the best known.
    if (acc->removed.contains(u)) return rec->changed;
    return std::nullopt;
}

void apply_all(state& s, const std::vector<event>& events) {
    for (const auto& e : events) apply(s, e);
}

std::vector<user_label> labels_of(const state& s, const principal& actor, const event& e) {
    std::vector<user_label> out;
    auto add = [&](const user_id& u) {
        const user_record* rec = s.user(u);
        if (!rec || std::any_of(out.begin(), out.end(), [&](const user_label& l) { return l.user == u; })) return;
        out.push_back(user_label{u, rec->name, rec->address.str()});
    };
    if (const auto* up = std::get_if<user_principal>(&actor)) add(up->user);
    for (const auto& u : concerned(e).users) add(u);
    return out;
}

}  // namespace roster::domain
