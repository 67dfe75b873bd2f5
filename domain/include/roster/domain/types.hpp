// Vocabulary types of the Roster domain: ids, portals, roles, contact roles, topics.
// Pure values: no I/O, no clock, no RNG. Safe to share between threads when not mutated.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace roster::domain {

// Strong string ids: an account id cannot be passed where a user id is expected.
template <class Tag>
struct strong_id {
    std::string value;

    strong_id() = default;
    explicit strong_id(std::string v) : value(std::move(v)) {}
    const std::string& str() const noexcept { return value; }
    bool empty() const noexcept { return value.empty(); }
    auto operator<=>(const strong_id&) const = default;
};

using account_id = strong_id<struct account_id_tag>;
using user_id = strong_id<struct user_id_tag>;
using token_id = strong_id<struct token_id_tag>;
using invitation_id = strong_id<struct invitation_id_tag>;
using webhook_id = strong_id<struct webhook_id_tag>;

// Microseconds since the Unix epoch, UTC. The domain never reads a clock: time is an input.
using timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// A normalized email: trimmed and lower-cased. Only `parse` creates one, so every
// `email` in the system is comparable byte-for-byte.
class email {
public:
    static std::optional<email> parse(std::string_view raw);
    const std::string& str() const noexcept { return value_; }
    auto operator<=>(const email&) const = default;

private:
    explicit email(std::string v) : value_(std::move(v)) {}
    std::string value_;
};

enum class account_kind : std::uint8_t { customer, partner };

enum class portal : std::uint8_t { support, impact, learning };
inline constexpr std::array<portal, 3> all_portals{portal::support, portal::impact, portal::learning};

// The role catalog. Ordinals are stable (they are stored); append only.
enum class role : std::uint8_t {
    support_admin,
    support_contributor,
    support_viewer,
    impact_admin,
    impact_member,
    learning_admin,
    learning_learner,
};
inline constexpr std::size_t role_count = 7;

// A set of catalog roles, across portals. Cheap to copy and compare.
class role_set {
public:
    constexpr role_set() = default;
    constexpr explicit role_set(std::uint16_t bits) : bits_(bits) {}
    static constexpr role_set of(std::initializer_list<role> roles) {
        role_set s;
        for (role r : roles) s.insert(r);
        return s;
    }
    constexpr void insert(role r) { bits_ |= bit(r); }
    constexpr void erase(role r) { bits_ &= static_cast<std::uint16_t>(~bit(r)); }
    constexpr bool contains(role r) const { return (bits_ & bit(r)) != 0; }
    constexpr bool empty() const { return bits_ == 0; }
    constexpr std::uint16_t bits() const { return bits_; }
    constexpr role_set operator|(role_set o) const { return role_set(bits_ | o.bits_); }
    constexpr role_set operator&(role_set o) const { return role_set(bits_ & o.bits_); }
    constexpr role_set minus(role_set o) const { return role_set(bits_ & static_cast<std::uint16_t>(~o.bits_)); }
    constexpr bool operator==(const role_set&) const = default;

private:
    static constexpr std::uint16_t bit(role r) { return static_cast<std::uint16_t>(1u << static_cast<unsigned>(r)); }
    std::uint16_t bits_ = 0;
};

// Key-contact roles. Ordinals are stable (stored); append only.
enum class contact_role : std::uint8_t {
    primary_customer_admin,
    primary_partner_contact,
    primary_business,
    secondary_business,
    primary_support,
    secondary_support,
    primary_technical,
    secondary_technical,
    security,
};
inline constexpr std::size_t contact_role_count = 9;

// Watchlist topics. Ordinals are stable (stored); append only.
enum class topic : std::uint8_t { outage, maintenance, security, release };
inline constexpr std::size_t topic_count = 4;

enum class membership_type : std::uint8_t { employee, third_party };
enum class user_status : std::uint8_t { active, locked };
enum class registration : std::uint8_t { invited, registered };

// Who acts. `token` is recorded in the event envelope, not here.
struct operator_principal {
    bool operator==(const operator_principal&) const = default;
};
struct auditor_principal {
    bool operator==(const auditor_principal&) const = default;
};
struct service_principal {
    std::string name;
    bool operator==(const service_principal&) const = default;
};
struct user_principal {
    user_id user;
    bool operator==(const user_principal&) const = default;
};
using principal = std::variant<operator_principal, auditor_principal, service_principal, user_principal>;

// Text forms used on the wire and in logs ("support:admin", "primary_support", ...).
std::string_view to_string(account_kind);
std::string_view to_string(portal);
std::string_view to_string(role);  // "support:admin"
std::string_view role_name(role);  // "admin" (without the portal)
std::string_view to_string(contact_role);
std::string_view to_string(topic);
std::string_view to_string(membership_type);
std::string_view to_string(user_status);
std::string_view to_string(registration);

// "operator", "auditor", "service:<name>", "user:<id>": how a principal is named in the log.
std::string principal_label(const principal& p);
// Its inverse: the principal `label` names, or nullopt when it names none (an unknown form, or an
// id or service name that is not well formed, which no principal of ours has).
std::optional<principal> principal_from_label(std::string_view label);

// Whether `s` has the shape of an id of ours ([A-Za-z0-9_-]{1,128}), e.g. before text a caller
// named goes on record: ids that are not well formed are never stored.
bool is_well_formed_id(std::string_view s);

std::optional<account_kind> parse_account_kind(std::string_view);
std::optional<portal> parse_portal(std::string_view);
std::optional<role> parse_role(std::string_view qualified);       // "support:admin"
std::optional<role> parse_role(portal p, std::string_view name);  // (support, "admin")
std::optional<contact_role> parse_contact_role(std::string_view);
std::optional<topic> parse_topic(std::string_view);

portal portal_of(role);
// The roles of `s` that belong to portal `p`.
role_set roles_in(role_set s, portal p);

// --- Authorization vocabulary (added by the domain issue; additions only) ---

// The `admin` role of a portal.
role admin_role(portal p);
// Within one portal `admin` satisfies any requirement for the lesser roles of that portal.
bool satisfies(role_set held, role required);
// True when `s` holds the admin role of `p`.
bool is_admin_in(role_set s, portal p);
// True when `s` holds the admin role of any portal.
bool is_admin_anywhere(role_set s);
// The portals in which `s` holds at least one role, in catalog order.
std::vector<portal> portals_of(role_set s);
// Every role of the catalog.
inline constexpr role_set all_roles{static_cast<std::uint16_t>((1u << role_count) - 1)};

// SPEC §1 key-contact table: the access role a contact role requires.
role required_role(contact_role);
// Whether the contact role exists on an account of that kind.
bool applies_to(contact_role, account_kind);
// `primary_customer_admin` / `primary_partner_contact`: replaceable, never clearable.
bool is_primary_admin_contact(contact_role);
// The other half of a primary/secondary pair (primary_business <-> secondary_business, ...).
std::optional<contact_role> paired_contact_role(contact_role);
inline constexpr std::array<contact_role, contact_role_count> all_contact_roles{
    contact_role::primary_customer_admin, contact_role::primary_partner_contact, contact_role::primary_business,
    contact_role::secondary_business,     contact_role::primary_support,         contact_role::secondary_support,
    contact_role::primary_technical,      contact_role::secondary_technical,     contact_role::security};
inline constexpr std::array<topic, topic_count> all_topics{topic::outage, topic::maintenance, topic::security,
                                                           topic::release};

}  // namespace roster::domain

// Ids are keys of the write model's hash maps.
template <class Tag>
struct std::hash<roster::domain::strong_id<Tag>> {
    std::size_t operator()(const roster::domain::strong_id<Tag>& id) const noexcept {
        return std::hash<std::string>{}(id.value);
    }
};
