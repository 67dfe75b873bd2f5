#include "roster/domain/events.hpp"
#include "roster/domain/overloaded.hpp"

namespace roster::domain {
namespace {

}  // namespace

std::string_view type_name(const event& e) { return event_type_names[e.index()]; }

std::string account_stream(const account_id& a) { return "account-" + a.value; }
std::string user_stream(const user_id& u) { return "user-" + u.value; }
std::string token_stream(const token_id& t) { return "token-" + t.value; }

std::string stream_of(const event& e) {
    return std::visit(
        overloaded{
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
        },
        e);
}

// One entry per event type (no generic fallback), so a new event type must say which
// account and user it concerns before it compiles: history and the live filter depend on it.
std::optional<account_id> account_of(const event& e) {
    using maybe = std::optional<account_id>;
    return std::visit(
        overloaded{
            [](const account_opened& x) -> maybe { return x.account; },
            [](const partner_linked& x) -> maybe { return x.customer; },
            [](const user_created& x) -> maybe { return x.employer; },
            [](const member_added& x) -> maybe { return x.account; },
            [](const roles_granted& x) -> maybe { return x.account; },
            [](const roles_revoked& x) -> maybe { return x.account; },
            [](const all_roles_removed& x) -> maybe { return x.account; },
            [](const user_locked&) -> maybe { return std::nullopt; },
            [](const user_unlocked&) -> maybe { return std::nullopt; },
            [](const invitation_issued& x) -> maybe { return x.account; },
            [](const invitation_accepted&) -> maybe { return std::nullopt; },
            [](const member_removed& x) -> maybe { return x.account; },
            [](const profile_retired&) -> maybe { return std::nullopt; },
            [](const contacts_saved& x) -> maybe { return x.account; },
            [](const contact_handed_over& x) -> maybe { return x.account; },
            [](const watchlist_changed& x) -> maybe { return x.account; },
            [](const token_issued&) -> maybe { return std::nullopt; },
            [](const token_revoked&) -> maybe { return std::nullopt; },
            [](const access_denied& x) -> maybe {
                if (x.account.empty()) return std::nullopt;
                return x.account;
            },
        },
        e);
}

std::optional<user_id> user_of(const event& e) {
    using maybe = std::optional<user_id>;
    return std::visit(
        overloaded{
            [](const account_opened&) -> maybe { return std::nullopt; },
            [](const partner_linked&) -> maybe { return std::nullopt; },
            [](const user_created& x) -> maybe { return x.user; },
            [](const member_added& x) -> maybe { return x.user; },
            [](const roles_granted& x) -> maybe { return x.user; },
            [](const roles_revoked& x) -> maybe { return x.user; },
            [](const all_roles_removed& x) -> maybe { return x.user; },
            [](const user_locked& x) -> maybe { return x.user; },
            [](const user_unlocked& x) -> maybe { return x.user; },
            [](const invitation_issued& x) -> maybe { return x.user; },
            [](const invitation_accepted& x) -> maybe { return x.user; },
            [](const member_removed& x) -> maybe { return x.user; },
            [](const profile_retired& x) -> maybe { return x.user; },
            [](const contacts_saved&) -> maybe { return std::nullopt; },
            [](const contact_handed_over& x) -> maybe { return x.from; },
            [](const watchlist_changed&) -> maybe { return std::nullopt; },
            [](const token_issued&) -> maybe { return std::nullopt; },
            [](const token_revoked&) -> maybe { return std::nullopt; },
            [](const access_denied& x) -> maybe {
                if (auto* u = std::get_if<user_principal>(&x.subject)) return u->user;
                return std::nullopt;
            },
        },
        e);
}

}  // namespace roster::domain
