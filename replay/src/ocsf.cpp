#include "roster/replay/ocsf.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>

#include "roster/domain/overloaded.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/rfc3339.hpp"

#ifndef ROSTER_VERSION
#error "ROSTER_VERSION names the product version in metadata.product"
#endif

namespace roster::replay {
namespace json = boost::json;
using namespace roster::domain;

namespace {

constexpr std::array mapped_types{
    user_created::type_name,      member_added::type_name,  roles_granted::type_name, roles_revoked::type_name,
    all_roles_removed::type_name, user_locked::type_name,   user_unlocked::type_name, member_removed::type_name,
    profile_retired::type_name,   access_denied::type_name,
};

std::int64_t epoch_ms(timestamp t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Account Change's activities (OCSF 1.1.0), by id.
struct activity {
    int id;
    std::string_view name;
};
constexpr activity create{1, "Create"}, enable{2, "Enable"}, remove{6, "Delete"}, attach_policy{7, "Attach Policy"},
    detach_policy{8, "Detach Policy"}, lock{9, "Lock"};

// The user an account change is about, named as the event's labels recorded them.
json::object target_user(const eventstore::recorded_event& e, const user_id& user) {
    json::object u{{"uid", user.value}, {"type_id", 1}, {"type", "User"}};
    for (const auto& l : e.meta.labels)
        if (l.user == user) {
            if (!l.name.empty()) u["name"] = l.name;
            if (!l.email.empty()) u["email_addr"] = l.email;
            break;
        }
    return u;
}

json::object with_org(json::object user, const account_id& account) {
    if (!account.value.empty()) user["org"] = json::object{{"uid", account.value}};
    return user;
}

// "support:admin, learning:learner": OCSF's policy is one object, a role set may hold several roles.
std::string role_list(role_set roles) {
    std::string out;
    for (std::size_t i = 0; i < role_count; ++i) {
        auto r = static_cast<role>(i);
        if (!roles.contains(r)) continue;
        if (!out.empty()) out += ", ";
        out += to_string(r);
    }
    return out;
}

json::object policy_of(role_set roles) {
    return json::object{{"name", role_list(roles)}, {"desc", "Roster roles (portal:role)"}};
}

// The principal as an OCSF actor. user_type: 1 User, 2 Admin, 3 System, 99 Other.
json::object actor_of(const eventstore::recorded_event& e, const principal& p) {
    json::object user = std::visit(
        overloaded{
            [](const operator_principal&) {
                return json::object{{"uid", "operator"}, {"name", "operator"}, {"type_id", 2}, {"type", "Admin"}};
            },
            [](const auditor_principal&) {
                return json::object{{"uid", "auditor"}, {"name", "auditor"}, {"type_id", 99}, {"type", "Auditor"}};
            },
            [](const service_principal& s) {
                return json::object{{"uid", "service:" + s.name}, {"name", s.name}, {"type_id", 3}, {"type", "System"}};
            },
            [&](const user_principal& u) { return target_user(e, u.user); },
        },
        p);
    return json::object{{"user", std::move(user)}};
}

// The envelope names its actor by label ("user:u1", "operator", ...); older or internal events may
// name none.
std::optional<json::object> actor_of_label(const eventstore::recorded_event& e) {
    std::string_view label = e.meta.actor.principal;
    if (label.empty()) return std::nullopt;
    if (auto who = principal_from_label(label)) return actor_of(e, *who);
    return json::object{{"user", json::object{{"uid", label}, {"type_id", 99}, {"type", "Other"}}}};
}

// "203.0.113.7:5123" or "::1:5123" (the server records address:port) as {ip, port}.
json::object endpoint_of(std::string_view address) {
    json::object out;
    if (address.empty()) return out;
    const auto colon = address.rfind(':');
    std::uint16_t port = 0;
    if (colon != std::string_view::npos) {
        auto digits = address.substr(colon + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (ec == std::errc{} && end == digits.data() + digits.size() && !digits.empty()) {
            out["ip"] = address.substr(0, colon);
            out["port"] = port;
            return out;
        }
    }
    out["ip"] = address;
    return out;
}

void set_if(json::object& o, std::string_view key, const std::string& value) {
    if (!value.empty()) o[key] = value;
}

// What every mapped event carries: class, activity, time, metadata, unmapped.
json::object base(const eventstore::recorded_event& e, int class_uid, std::string_view class_name, int category_uid,
                  std::string_view category_name, activity a, int severity_id, std::string_view severity) {
    json::object metadata{
        {"version", ocsf_schema_version},
        {"product", json::object{{"name", "Roster"}, {"vendor_name", "Roster"}, {"version", ROSTER_VERSION}}},
        {"uid", eventstore::to_hex(e.hash)},
        {"sequence", e.position.value},
        {"original_time", format_rfc3339(e.recorded_at)},
        {"logged_time", epoch_ms(e.recorded_at)},
        {"event_code", e.type},
        {"log_name", "roster-events"},
    };
    set_if(metadata, "correlation_uid", e.meta.correlation_id);
    json::object unmapped{{"stream", e.stream},
                          {"version", e.version.value},
                          {"prev_hash", eventstore::to_hex(e.prev_hash)},
                          {"data", event_data_json(e.payload)}};
    set_if(unmapped, "request_id", e.meta.request_id);
    set_if(unmapped, "causation_id", e.meta.causation_id);
    set_if(unmapped, "reason", e.meta.reason);
    set_if(unmapped, "reference", e.meta.reference);
    set_if(unmapped, "traceparent", e.meta.traceparent);
    set_if(unmapped, "token_id", e.meta.actor.token_id);
    json::object o{
        {"class_uid", class_uid},
        {"class_name", class_name},
        {"category_uid", category_uid},
        {"category_name", category_name},
        {"activity_id", a.id},
        {"activity_name", a.name},
        {"type_uid", static_cast<std::int64_t>(class_uid) * 100 + a.id},
        {"type_name", std::string(class_name) + ": " + std::string(a.name)},
        {"severity_id", severity_id},
        {"severity", severity},
        {"time", epoch_ms(e.recorded_at)},
        {"metadata", std::move(metadata)},
    };
    if (auto actor = actor_of_label(e)) o["actor"] = std::move(*actor);
    if (auto src = endpoint_of(e.meta.actor.address); !src.empty()) o["src_endpoint"] = std::move(src);
    o["unmapped"] = std::move(unmapped);
    return o;
}

json::object account_change(const eventstore::recorded_event& e, activity a, json::object user) {
    auto o = base(e, 3001, "Account Change", 3, "Identity & Access Management", a, 1, "Informational");
    o["user"] = std::move(user);
    // Only what happened is recorded: a refused change is an access_denied, mapped apart.
    o["status_id"] = 1;
    o["status"] = "Success";
    return o;
}

activity api_activity_of(std::string_view action) {
    const auto method = action.substr(0, action.find(' '));
    if (method.size() == action.size()) return {99, "Other"};  // an older record: a command name
    if (method == "POST") return {1, "Create"};
    if (method == "GET" || method == "HEAD") return {2, "Read"};
    if (method == "PUT" || method == "PATCH") return {3, "Update"};
    if (method == "DELETE") return {4, "Delete"};
    return {99, "Other"};
}

json::object refusal(const eventstore::recorded_event& e, const access_denied& x) {
    auto o = base(e, 6003, "API Activity", 6, "Application Activity", api_activity_of(x.action), 2, "Low");
    // The refused principal is the event's subject; the envelope's actor says the same for
    // current records, but the subject is what the refusal is about.
    o["actor"] = actor_of(e, x.subject);
    json::object api{{"operation", x.action}, {"service", json::object{{"name", "Roster"}}}};
    if (!e.meta.request_id.empty()) api["request"] = json::object{{"uid", e.meta.request_id}};
    o["api"] = std::move(api);
    // Required by the class; empty when the refusal recorded no address.
    if (!o.contains("src_endpoint")) o["src_endpoint"] = json::object{};
    json::array resources;
    if (!x.account.value.empty()) resources.emplace_back(json::object{{"uid", x.account.value}, {"type", "account"}});
    if (!x.target.empty()) resources.emplace_back(json::object{{"uid", x.target}});
    if (!resources.empty()) o["resources"] = std::move(resources);
    o["status_id"] = 2;
    o["status"] = "Failure";
    o["status_code"] = x.code;
    if (x.status != 0) o["status_detail"] = "HTTP " + std::to_string(x.status);
    o["count"] = x.count;
    if (x.first_at != timestamp{}) {
        o["start_time"] = epoch_ms(x.first_at);
        o["end_time"] = epoch_ms(x.last_at);
    }
    return o;
}

}  // namespace

bool ocsf_maps(std::string_view event_type) {
    return std::find(mapped_types.begin(), mapped_types.end(), event_type) != mapped_types.end();
}

std::optional<json::object> ocsf_event(const eventstore::recorded_event& e) {
    using out = std::optional<json::object>;
    return std::visit(
        [&](const auto& x) -> out {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, user_created>) {
                auto user = with_org(target_user(e, x.user), x.employer);
                if (!user.contains("name") && !x.name.empty()) user["name"] = x.name;
                if (!user.contains("email_addr")) user["email_addr"] = x.address.str();
                return account_change(e, create, std::move(user));
            } else if constexpr (std::is_same_v<T, member_added>) {
                return account_change(e, create, with_org(target_user(e, x.user), x.account));
            } else if constexpr (std::is_same_v<T, roles_granted>) {
                auto o = account_change(e, attach_policy, with_org(target_user(e, x.user), x.account));
                o["policy"] = policy_of(x.roles);
                return o;
            } else if constexpr (std::is_same_v<T, roles_revoked> || std::is_same_v<T, all_roles_removed>) {
                auto o = account_change(e, detach_policy, with_org(target_user(e, x.user), x.account));
                o["policy"] = policy_of(x.roles);
                return o;
            } else if constexpr (std::is_same_v<T, user_locked>) {
                return account_change(e, lock, target_user(e, x.user));
            } else if constexpr (std::is_same_v<T, user_unlocked>) {
                return account_change(e, enable, target_user(e, x.user));
            } else if constexpr (std::is_same_v<T, member_removed>) {
                return account_change(e, remove, with_org(target_user(e, x.user), x.account));
            } else if constexpr (std::is_same_v<T, profile_retired>) {
                auto user = target_user(e, x.user);
                if (!user.contains("email_addr")) user["email_addr"] = x.address.str();
                return account_change(e, remove, std::move(user));
            } else if constexpr (std::is_same_v<T, access_denied>) {
                return refusal(e, x);
            } else if constexpr (std::is_same_v<T, account_opened> || std::is_same_v<T, partner_linked> ||
                                 std::is_same_v<T, invitation_issued> || std::is_same_v<T, invitation_accepted> ||
                                 std::is_same_v<T, contacts_saved> || std::is_same_v<T, contact_handed_over> ||
                                 std::is_same_v<T, watchlist_changed> || std::is_same_v<T, profile_updated> ||
                                 std::is_same_v<T, token_issued> || std::is_same_v<T, token_rotated> ||
                                 std::is_same_v<T, token_revoked> || std::is_same_v<T, signing_key_rotated> ||
                                 std::is_same_v<T, webhook_registered> || std::is_same_v<T, webhook_changed> ||
                                 std::is_same_v<T, webhook_removed>) {
                return std::nullopt;  // why each: ocsf.hpp
            } else {
                static_assert(unhandled_event<T>, "a new event type needs an OCSF decision");
            }
        },
        e.payload);
}

}  // namespace roster::replay
