#include "roster/domain/events.hpp"
#include "roster/domain/overloaded.hpp"

#include <algorithm>

namespace roster::domain {
std::string_view type_name(const event& e) { return event_type_names[e.index()]; }

std::string account_stream(const account_id& a) { return "account-" + a.value; }
std::string user_stream(const user_id& u) { return "user-" + u.value; }
std::string token_stream(const token_id& t) { return "token-" + t.value; }
std::string webhook_stream(const webhook_id& w) { return "webhook-" + w.value; }

std::string stream_of(const event& e) {
    return std::visit(overloaded{
                          [](const account_opened& x) { return account_stream(x.account); },
                          [](const partner_linked& x) { return account_stream(x.customer); },
                          [](const user_created& x) { return user_stream(x.user); },
                          [](const member_added& x) { return account_stream(x.account); },
                          [](const roles_granted& x) { return account_stream(x.account); },
                          [](const roles_revoked& x) { return account_stream(x.account); },
                          [](const all_roles_removed& x) { return account_stream(x.account); },
                          [](const user_locked& x) { return user_stream(x.user); },
                          [](const user_unlocked& x) { return user_stream(x.user); },
                          [](const invitation_issued& x) { return user_stream(x.user); },
                          [](const invitation_accepted& x) { return user_stream(x.user); },
                          [](const member_removed& x) { return account_stream(x.account); },
                          [](const profile_retired& x) { return user_stream(x.user); },
                          [](const contacts_saved& x) { return account_stream(x.account); },
                          [](const contact_handed_over& x) { return account_stream(x.account); },
                          [](const watchlist_changed& x) { return account_stream(x.account); },
                          [](const token_issued& x) { return token_stream(x.token); },
                          [](const token_revoked& x) { return token_stream(x.token); },
                          [](const access_denied&) { return std::string(security_stream); },
                          [](const signing_key_rotated&) { return std::string(signing_key_stream); },
                          [](const token_rotated& x) { return token_stream(x.token); },
                          [](const profile_updated& x) { return user_stream(x.user); },
                          [](const webhook_registered& x) { return webhook_stream(x.webhook); },
                          [](const webhook_changed& x) { return webhook_stream(x.webhook); },
                          [](const webhook_removed& x) { return webhook_stream(x.webhook); },
                      },
                      e);
}

namespace {

struct collector {
    concerned_parties out;
    void account(const account_id& a) {
        if (!a.empty() && std::find(out.accounts.begin(), out.accounts.end(), a) == out.accounts.end())
            out.accounts.push_back(a);
    }
    void accounts(const std::vector<account_id>& as) {
        for (const auto& a : as) account(a);
    }
    void user(const user_id& u) {
        if (!u.empty() && std::find(out.users.begin(), out.users.end(), u) == out.users.end()) out.users.push_back(u);
    }
};

}  // namespace

// One entry per event type (no generic fallback), so a new event type must say which
// accounts and users it concerns before it compiles: history and the live filter depend on it.
concerned_parties concerned(const event& e) {
    collector c;
    std::visit(overloaded{
                   [&](const account_opened& x) { c.account(x.account); },
                   [&](const partner_linked& x) {
                       c.account(x.customer);
                       c.account(x.partner);
                   },
                   [&](const user_created& x) {
                       c.account(x.employer);
                       c.user(x.user);
                   },
                   [&](const member_added& x) {
                       c.account(x.account);
                       c.user(x.user);
                   },
                   [&](const roles_granted& x) {
                       c.account(x.account);
                       c.user(x.user);
                   },
                   [&](const roles_revoked& x) {
                       c.account(x.account);
                       c.user(x.user);
                   },
                   [&](const all_roles_removed& x) {
                       c.account(x.account);
                       c.user(x.user);
                   },
                   [&](const user_locked& x) {
                       c.accounts(x.accounts);
                       c.user(x.user);
                   },
                   [&](const user_unlocked& x) {
                       c.accounts(x.accounts);
                       c.user(x.user);
                   },
                   [&](const invitation_issued& x) {
                       c.account(x.account);
                       c.user(x.user);
                   },
                   [&](const invitation_accepted& x) {
                       c.accounts(x.accounts);
                       c.user(x.user);
                   },
                   [&](const member_removed& x) {
                       c.account(x.account);
                       c.user(x.user);
                   },
                   [&](const profile_retired& x) {
                       c.accounts(x.accounts);
                       c.user(x.user);
                   },
                   [&](const contacts_saved& x) {
                       c.account(x.account);
                       for (const auto& a : x.assignments) {
                           if (a.previous) c.user(*a.previous);
                           c.user(a.user);
                       }
                   },
                   [&](const contact_handed_over& x) {
                       c.account(x.account);
                       c.user(x.from);
                       c.user(x.to);
                   },
                   [&](const watchlist_changed& x) {
                       c.account(x.account);
                       for (const auto& ch : x.changes) c.user(ch.user);
                       if (x.changes.empty())
                           for (const auto& s : x.subscriptions) c.user(s.user);
                   },
                   [&](const token_issued& x) {
                       if (auto* u = std::get_if<user_principal>(&x.subject)) c.user(u->user);
                   },
                   [&](const token_revoked& x) { c.user(x.user); },
                   [&](const access_denied& x) {
                       c.account(x.account);
                       if (auto* u = std::get_if<user_principal>(&x.subject)) c.user(u->user);
                   },
                   [](const signing_key_rotated&) {},
                   [&](const token_rotated& x) { c.user(x.user); },
                   [&](const profile_updated& x) {
                       c.accounts(x.accounts);
                       c.user(x.user);
                   },
                   [](const webhook_registered&) {},
                   [](const webhook_changed&) {},
                   [](const webhook_removed&) {},
               },
               e);
    return std::move(c.out);
}

bool concerns_account(const event& e, std::string_view account) {
    const auto parties = concerned(e);
    return std::any_of(parties.accounts.begin(), parties.accounts.end(),
                       [&](const account_id& a) { return a.value == account; });
}

}  // namespace roster::domain
