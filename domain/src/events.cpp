#include "roster/domain/events.hpp"

#include <type_traits>

namespace roster::domain {
namespace {

template <class... Fs>
struct overloaded : Fs... {
    using Fs::operator()...;
};
// Spelled out for clang 14 (the fuzz build), which lacks aggregate deduction (P1816).
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace

std::string_view type_name(const event& e) {
    return std::visit(
        overloaded{
            [](const account_opened&) { return std::string_view("account_opened"); },
            [](const partner_linked&) { return std::string_view("partner_linked"); },
            [](const user_created&) { return std::string_view("user_created"); },
            [](const member_added&) { return std::string_view("member_added"); },
            [](const roles_granted&) { return std::string_view("roles_granted"); },
            [](const roles_revoked&) { return std::string_view("roles_revoked"); },
            [](const all_roles_removed&) { return std::string_view("all_roles_removed"); },
            [](const user_locked&) { return std::string_view("user_locked"); },
            [](const user_unlocked&) { return std::string_view("user_unlocked"); },
            [](const invitation_issued&) { return std::string_view("invitation_issued"); },
            [](const invitation_accepted&) { return std::string_view("invitation_accepted"); },
            [](const member_removed&) { return std::string_view("member_removed"); },
            [](const profile_retired&) { return std::string_view("profile_retired"); },
            [](const contacts_saved&) { return std::string_view("contacts_saved"); },
            [](const contact_handed_over&) { return std::string_view("contact_handed_over"); },
            [](const watchlist_changed&) { return std::string_view("watchlist_changed"); },
            [](const token_issued&) { return std::string_view("token_issued"); },
            [](const token_revoked&) { return std::string_view("token_revoked"); },
            [](const access_denied&) { return std::string_view("access_denied"); },
        },
        e);
}

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

std::optional<account_id> account_of(const event& e) {
    return std::visit(
        [](const auto& x) -> std::optional<account_id> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, partner_linked>) return x.customer;
            else if constexpr (std::is_same_v<T, user_created>) return x.employer;
            else if constexpr (std::is_same_v<T, access_denied>) {
                if (x.account.empty()) return std::nullopt;
                return x.account;
            } else if constexpr (requires { x.account; }) return x.account;
            else return std::nullopt;
        },
        e);
}

std::optional<user_id> user_of(const event& e) {
    return std::visit(
        [](const auto& x) -> std::optional<user_id> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, contact_handed_over>) return x.from;
            else if constexpr (std::is_same_v<T, access_denied>) {
                if (auto* u = std::get_if<user_principal>(&x.subject)) return u->user;
                return std::nullopt;
            } else if constexpr (requires { x.user; }) return x.user;
            else return std::nullopt;
        },
        e);
}

}  // namespace roster::domain
