#include "roster/replay/event_json.hpp"

#include <boost/json/array.hpp>
#include <type_traits>

#include "roster/replay/rfc3339.hpp"
#include "roster/domain/overloaded.hpp"

namespace roster::replay {
namespace json = boost::json;
using namespace roster::domain;

namespace {

json::value optional_id(const std::string& id) { return id.empty() ? json::value(nullptr) : json::value(id); }

json::array topics_json(const std::vector<topic>& topics) {
    json::array out;
    for (auto t : topics) out.emplace_back(to_string(t));
    return out;
}

}  // namespace

json::object roles_json(role_set roles) {
    json::object out;
    for (auto p : all_portals) {
        json::array names;
        for (std::size_t i = 0; i < role_count; ++i) {
            auto r = static_cast<role>(i);
            if (portal_of(r) == p && roles.contains(r)) names.emplace_back(role_name(r));
        }
        out[to_string(p)] = std::move(names);
    }
    return out;
}

json::object principal_json(const principal& p) {
    return std::visit(overloaded{
                          [](const operator_principal&) { return json::object{{"operator", true}}; },
                          [](const auditor_principal&) { return json::object{{"auditor", true}}; },
                          [](const service_principal& s) { return json::object{{"service", s.name}}; },
                          [](const user_principal& u) { return json::object{{"user_id", u.user.value}}; },
                      },
                      p);
}

json::object event_data_json(const event& e) {
    return std::visit(
        overloaded{
            [](const account_opened& x) {
                return json::object{{"account", x.account.value}, {"name", x.name}, {"kind", to_string(x.kind)}};
            },
            [](const partner_linked& x) {
                return json::object{{"customer", x.customer.value}, {"partner", x.partner.value}};
            },
            [](const user_created& x) {
                return json::object{{"user", x.user.value},
                                    {"email", x.address.str()},
                                    {"name", x.name},
                                    {"employer", x.employer.value}};
            },
            [](const member_added& x) {
                return json::object{{"account", x.account.value}, {"user", x.user.value}, {"type", to_string(x.type)}};
            },
            [](const roles_granted& x) {
                return json::object{{"account", x.account.value}, {"user", x.user.value}, {"roles", roles_json(x.roles)}};
            },
            [](const roles_revoked& x) {
                return json::object{{"account", x.account.value}, {"user", x.user.value}, {"roles", roles_json(x.roles)}};
            },
            [](const all_roles_removed& x) {
                return json::object{{"account", x.account.value}, {"user", x.user.value}, {"roles", roles_json(x.roles)}};
            },
            [](const user_locked& x) { return json::object{{"user", x.user.value}}; },
            [](const user_unlocked& x) { return json::object{{"user", x.user.value}}; },
            [](const invitation_issued& x) {
                return json::object{{"invitation", x.invitation.value},
                                    {"user", x.user.value},
                                    {"account", x.account.value},
                                    {"expires_at", format_rfc3339(x.expires_at)},
                                    {"replaces", optional_id(x.replaces.value)}};
            },
            [](const invitation_accepted& x) {
                return json::object{{"invitation", x.invitation.value}, {"user", x.user.value}};
            },
            [](const member_removed& x) {
                return json::object{{"account", x.account.value}, {"user", x.user.value}, {"type", to_string(x.type)},
                                    {"roles", roles_json(x.roles)},   {"cascade", x.cascade}};
            },
            [](const profile_retired& x) {
                return json::object{{"user", x.user.value}, {"email", x.address.str()}};
            },
            [](const contacts_saved& x) {
                json::object contacts;
                for (const auto& a : x.assignments) contacts[to_string(a.role)] = optional_id(a.user.value);
                return json::object{{"account", x.account.value}, {"contacts", std::move(contacts)}};
            },
            [](const contact_handed_over& x) {
                return json::object{{"account", x.account.value},
                                    {"role", to_string(x.role)},
                                    {"from", x.from.value},
                                    {"to", x.to.value}};
            },
            [](const watchlist_changed& x) {
                json::array subs;
                for (const auto& s : x.subscriptions)
                    subs.emplace_back(json::object{{"user_id", s.user.value}, {"topics", topics_json(s.topics)}});
                return json::object{{"account", x.account.value}, {"subscriptions", std::move(subs)}};
            },
            [](const token_issued& x) {
                return json::object{{"token_id", x.token.value}, {"principal", principal_json(x.subject)}};
            },
            [](const token_revoked& x) { return json::object{{"token_id", x.token.value}}; },
            [](const access_denied& x) {
                json::object o{{"principal", principal_json(x.subject)},
                               {"action", x.action},
                               {"account", optional_id(x.account.value)},
                               {"code", x.code},
                               {"target", optional_id(x.target)},
                               {"count", x.count}};
                // Older records (before refusals were coalesced) carry neither.
                if (x.status != 0) o["status"] = x.status;
                if (x.first_at != timestamp{}) {
                    o["first_at"] = format_rfc3339(x.first_at);
                    o["last_at"] = format_rfc3339(x.last_at);
                }
                return o;
            },
        },
        e);
}

json::object event_json(const eventstore::recorded_event& e) {
    auto text_or_null = [](const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); };
    return json::object{
        {"position", e.position.value},
        {"stream", e.stream},
        {"version", e.version.value},
        {"type", e.type},
        {"recorded_at", format_rfc3339(e.recorded_at)},
        {"actor", json::object{{"principal", e.meta.actor.principal},
                               {"token_id", text_or_null(e.meta.actor.token_id)},
                               {"address", text_or_null(e.meta.actor.address)}}},
        {"request_id", text_or_null(e.meta.request_id)},
        {"correlation_id", text_or_null(e.meta.correlation_id)},
        {"causation_id", text_or_null(e.meta.causation_id)},
        {"reason", text_or_null(e.meta.reason)},
        {"data", event_data_json(e.payload)},
        {"prev_hash", eventstore::to_hex(e.prev_hash)},
        {"hash", eventstore::to_hex(e.hash)},
    };
}

}  // namespace roster::replay
