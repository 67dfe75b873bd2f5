#include "roster/domain/commands.hpp"

#include <type_traits>

namespace roster::domain {

std::string_view command_name(const command& c) {
    static constexpr std::string_view names[] = {
        "open_account",     "link_partner", "create_user",   "add_member",         "change_roles",  "remove_all_roles",
        "lock_user",        "unlock_user",  "remove_member", "invite_user",        "accept_invitation",
        "save_contacts",    "hand_over_contact", "set_watchlist", "issue_token",   "revoke_token"};
    static_assert(std::size(names) == std::variant_size_v<command>);
    return names[c.index()];
}

std::optional<account_id> account_of(const command& c) {
    return std::visit(
        [](const auto& x) -> std::optional<account_id> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, open_account>) return x.id;
            else if constexpr (std::is_same_v<T, link_partner>) return x.customer;
            else if constexpr (requires { x.account; }) return x.account;
            else return std::nullopt;
        },
        c);
}

}  // namespace roster::domain
