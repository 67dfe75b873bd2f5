#include "roster/domain/types.hpp"

#include <algorithm>
#include <cctype>

namespace roster::domain {
namespace {

template <class Enum, std::size_t N>
std::optional<Enum> parse_from(const std::array<std::string_view, N>& names, std::string_view text) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == text) return static_cast<Enum>(i);
    return std::nullopt;
}

constexpr std::array<std::string_view, 2> account_kind_names{"customer", "partner"};
constexpr std::array<std::string_view, 3> portal_names{"support", "impact", "learning"};
constexpr std::array<std::string_view, role_count> role_qualified_names{
    "support:admin", "support:contributor", "support:viewer",  "impact:admin",
    "impact:member", "learning:admin",      "learning:learner"};
constexpr std::array<std::string_view, role_count> role_short_names{"admin",  "contributor", "viewer", "admin",
                                                                    "member", "admin",       "learner"};
constexpr std::array<portal, role_count> role_portals{portal::support, portal::support, portal::support,
                                                      portal::impact,  portal::impact,  portal::learning,
                                                      portal::learning};
constexpr std::array<std::string_view, contact_role_count> contact_role_names{
    "primary_customer_admin", "primary_partner_contact", "primary_business",
    "secondary_business",     "primary_support",         "secondary_support",
    "primary_technical",      "secondary_technical",     "security"};
constexpr std::array<std::string_view, topic_count> topic_names{"outage", "maintenance", "security", "release"};
constexpr std::array<std::string_view, 2> membership_type_names{"employee", "third_party"};
constexpr std::array<std::string_view, 2> user_status_names{"active", "locked"};
constexpr std::array<std::string_view, 2> registration_names{"invited", "registered"};

bool is_local_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos;
}

bool is_domain_label_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

}  // namespace

std::optional<email> email::parse(std::string_view raw) {
    auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!raw.empty() && is_space(raw.front())) raw.remove_prefix(1);
    while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
    if (raw.empty() || raw.size() > 254) return std::nullopt;

    std::string lowered(raw);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

    const auto at = lowered.find('@');
    if (at == std::string::npos || lowered.find('@', at + 1) != std::string::npos) return std::nullopt;
    std::string_view local(lowered.data(), at);
    std::string_view domain_part(lowered.data() + at + 1, lowered.size() - at - 1);
    if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
        local.find("..") != std::string_view::npos || !std::all_of(local.begin(), local.end(), is_local_char))
        return std::nullopt;
    // The domain needs at least two labels, each 1..63 characters, no leading/trailing hyphen.
    if (domain_part.find('.') == std::string_view::npos) return std::nullopt;
    std::size_t start = 0;
    while (start <= domain_part.size()) {
        auto end = domain_part.find('.', start);
        if (end == std::string_view::npos) end = domain_part.size();
        auto label = domain_part.substr(start, end - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !std::all_of(label.begin(), label.end(), is_domain_label_char))
            return std::nullopt;
        start = end + 1;
    }
    return email(std::move(lowered));
}

std::string_view to_string(account_kind k) { return account_kind_names.at(static_cast<std::size_t>(k)); }
std::string_view to_string(portal p) { return portal_names.at(static_cast<std::size_t>(p)); }
std::string_view to_string(role r) { return role_qualified_names.at(static_cast<std::size_t>(r)); }
std::string_view role_name(role r) { return role_short_names.at(static_cast<std::size_t>(r)); }
std::string_view to_string(contact_role r) { return contact_role_names.at(static_cast<std::size_t>(r)); }
std::string_view to_string(topic t) { return topic_names.at(static_cast<std::size_t>(t)); }
std::string_view to_string(membership_type t) { return membership_type_names.at(static_cast<std::size_t>(t)); }
std::string_view to_string(user_status s) { return user_status_names.at(static_cast<std::size_t>(s)); }
std::string_view to_string(registration r) { return registration_names.at(static_cast<std::size_t>(r)); }

std::optional<account_kind> parse_account_kind(std::string_view s) {
    return parse_from<account_kind>(account_kind_names, s);
}
std::optional<portal> parse_portal(std::string_view s) { return parse_from<portal>(portal_names, s); }
std::optional<role> parse_role(std::string_view s) { return parse_from<role>(role_qualified_names, s); }
std::optional<contact_role> parse_contact_role(std::string_view s) {
    return parse_from<contact_role>(contact_role_names, s);
}
std::optional<topic> parse_topic(std::string_view s) { return parse_from<topic>(topic_names, s); }

std::optional<role> parse_role(portal p, std::string_view name) {
    for (std::size_t i = 0; i < role_count; ++i)
        if (role_portals[i] == p && role_short_names[i] == name) return static_cast<role>(i);
    return std::nullopt;
}

std::string principal_label(const principal& p) {
    if (std::holds_alternative<operator_principal>(p)) return "operator";
    if (std::holds_alternative<auditor_principal>(p)) return "auditor";
    if (auto* s = std::get_if<service_principal>(&p)) return "service:" + s->name;
    return "user:" + std::get<user_principal>(p).user.value;
}

std::optional<principal> principal_from_label(std::string_view label) {
    constexpr std::string_view service = "service:", user = "user:";
    if (label == "operator") return operator_principal{};
    if (label == "auditor") return auditor_principal{};
    if (label.starts_with(service) && is_well_formed_id(label.substr(service.size())))
        return service_principal{std::string(label.substr(service.size()))};
    if (label.starts_with(user) && is_well_formed_id(label.substr(user.size())))
        return user_principal{user_id{std::string(label.substr(user.size()))}};
    return std::nullopt;
}

portal portal_of(role r) { return role_portals.at(static_cast<std::size_t>(r)); }

role_set roles_in(role_set s, portal p) {
    role_set out;
    for (std::size_t i = 0; i < role_count; ++i) {
        auto r = static_cast<role>(i);
        if (s.contains(r) && role_portals[i] == p) out.insert(r);
    }
    return out;
}

role admin_role(portal p) {
    switch (p) {
        case portal::support: return role::support_admin;
        case portal::impact: return role::impact_admin;
        case portal::learning: return role::learning_admin;
    }
    return role::support_admin;
}

bool satisfies(role_set held, role required) {
    return held.contains(required) || held.contains(admin_role(portal_of(required)));
}

bool is_admin_in(role_set s, portal p) { return s.contains(admin_role(p)); }

bool is_admin_anywhere(role_set s) {
    return std::any_of(all_portals.begin(), all_portals.end(), [&](portal p) { return is_admin_in(s, p); });
}

std::vector<portal> portals_of(role_set s) {
    std::vector<portal> out;
    for (portal p : all_portals)
        if (!roles_in(s, p).empty()) out.push_back(p);
    return out;
}

role required_role(contact_role c) {
    switch (c) {
        case contact_role::primary_customer_admin:
        case contact_role::primary_partner_contact: return role::support_admin;
        default: return role::support_contributor;
    }
}

bool applies_to(contact_role c, account_kind k) {
    if (c == contact_role::primary_customer_admin) return k == account_kind::customer;
    if (c == contact_role::primary_partner_contact) return k == account_kind::partner;
    return true;
}

bool is_primary_admin_contact(contact_role c) {
    return c == contact_role::primary_customer_admin || c == contact_role::primary_partner_contact;
}

std::optional<contact_role> paired_contact_role(contact_role c) {
    switch (c) {
        case contact_role::primary_business: return contact_role::secondary_business;
        case contact_role::secondary_business: return contact_role::primary_business;
        case contact_role::primary_support: return contact_role::secondary_support;
        case contact_role::secondary_support: return contact_role::primary_support;
        case contact_role::primary_technical: return contact_role::secondary_technical;
        case contact_role::secondary_technical: return contact_role::primary_technical;
        default: return std::nullopt;
    }
}

}  // namespace roster::domain
