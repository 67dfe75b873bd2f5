#include "roster/domain/commands.hpp"

#include <type_traits>

namespace roster::domain {

std::string_view command_name(const command& c) {
    static constexpr std::string_view names[] = {
        "open_account",      "link_partner",   "create_user",   "add_member",   "change_roles",      "remove_all_roles",
        "lock_user",         "unlock_user",    "remove_member", "invite_user",  "accept_invitation", "save_contacts",
        "hand_over_contact", "set_watchlist",  "issue_token",   "revoke_token", "rotate_token",      "update_profile",
        "register_webhook",  "change_webhook", "remove_webhook"};
    static_assert(std::size(names) == std::variant_size_v<command>);
    return names[c.index()];
}

namespace {
template <class>
[[maybe_unused]] inline constexpr bool unhandled_command = false;
template <class T, class... Us>
inline constexpr bool one_of = (std::is_same_v<T, Us> || ...);
}  // namespace

// Every command type is named in one branch, so a new command must say which account it
// concerns before it compiles rather than silently concerning none.
std::optional<account_id> account_of(const command& c) {
    return std::visit(
        [](const auto& x) -> std::optional<account_id> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, open_account>)
                return x.id;
            else if constexpr (std::is_same_v<T, link_partner>)
                return x.customer;
            else if constexpr (one_of<T, create_user, add_member, change_roles, remove_all_roles, remove_member,
                                      invite_user, save_contacts, hand_over_contact, set_watchlist>)
                return x.account;
            else if constexpr (one_of<T, lock_user, unlock_user, accept_invitation, issue_token, revoke_token,
                                      rotate_token, update_profile, register_webhook, change_webhook, remove_webhook>)
                return std::nullopt;
            else
                static_assert(unhandled_command<T>, "a new command: say which account it concerns");
        },
        c);
}

}  // namespace roster::domain
