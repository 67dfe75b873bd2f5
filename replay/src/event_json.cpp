#include "roster/replay/event_json.hpp"

#include <boost/json/array.hpp>
#include <type_traits>

#include "roster/domain/overloaded.hpp"
#include "roster/replay/rfc3339.hpp"

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

json::array ids_json(const std::vector<account_id>& ids) {
    json::array out;
    for (const auto& a : ids) out.emplace_back(a.value);
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
                          [](const operator_principal&) {
                              return json::object{{"operator", true}};
                          },
                          [](const auditor_principal&) {
                              return json::object{{"auditor", true}};
                          },
                          [](const service_principal& s) {
                              return json::object{{"service", s.name}};
                          },
                          [](const user_principal& u) {
                              return json::object{{"user_id", u.user.value}};
                          },
                      },
                      p);
}

namespace {

// {"before": ..., "after": ...} of a role change, added to `o` when recorded (older events have none).
json::object with_change(json::object o, const std::optional<role_change>& c) {
    if (c) {
        o["before"] = json::object{{"roles", roles_json(c->before)}};
        o["after"] = json::object{{"roles", roles_json(c->after)}};
    }
    return o;
}

// The accounts a user fact names (older events: none, and no member is shown).
json::object with_accounts(json::object o, const std::vector<account_id>& accounts) {
    if (!accounts.empty()) o["accounts"] = ids_json(accounts);
    return o;
}

// {"before": {field: before}, "after": {field: after}} of a profile fact whose type fixes both.
json::object with_status_change(json::object o, std::string_view field, json::value before, json::value after) {
    o["before"] = json::object{{field, std::move(before)}};
    o["after"] = json::object{{field, std::move(after)}};
    return o;
}

json::object webhook_settings_json(const webhook_settings& w) {
    json::array types;
    for (const auto& t : w.types) types.emplace_back(t);
    return json::object{{"url", w.url},
                        {"accounts", ids_json(w.accounts)},
                        {"types", std::move(types)},
                        {"description", w.description},
                        {"enabled", w.enabled}};
}

}  // namespace

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
                return with_change(
                    json::object{{"account", x.account.value}, {"user", x.user.value}, {"type", to_string(x.type)}},
                    x.change);
            },
            [](const roles_granted& x) {
                return with_change(
                    json::object{{"account", x.account.value}, {"user", x.user.value}, {"roles", roles_json(x.roles)}},
                    x.change);
            },
            [](const roles_revoked& x) {
                return with_change(
                    json::object{{"account", x.account.value}, {"user", x.user.value}, {"roles", roles_json(x.roles)}},
                    x.change);
            },
            [](const all_roles_removed& x) {
                return with_change(
                    json::object{{"account", x.account.value}, {"user", x.user.value}, {"roles", roles_json(x.roles)}},
                    x.change);
            },
            // decide() appends these only when the state changes, so the type alone fixes the state
            // before and after (in older events too); it is spelled out so a reader need not know
            // that. The why is the envelope's reason.
            [](const user_locked& x) {
                return with_status_change(with_accounts(json::object{{"user", x.user.value}}, x.accounts), "status",
                                          "active", "locked");
            },
            [](const user_unlocked& x) {
                return with_status_change(with_accounts(json::object{{"user", x.user.value}}, x.accounts), "status",
                                          "locked", "active");
            },
            [](const invitation_issued& x) {
                return json::object{{"invitation", x.invitation.value},
                                    {"user", x.user.value},
                                    {"account", x.account.value},
                                    {"expires_at", format_rfc3339(x.expires_at)},
                                    {"replaces", optional_id(x.replaces.value)}};
            },
            [](const invitation_accepted& x) {
                return with_status_change(
                    with_accounts(json::object{{"invitation", x.invitation.value}, {"user", x.user.value}}, x.accounts),
                    "registration", "invited", "registered");
            },
            [](const member_removed& x) {
                return with_change(json::object{{"account", x.account.value},
                                                {"user", x.user.value},
                                                {"type", to_string(x.type)},
                                                {"roles", roles_json(x.roles)},
                                                {"cascade", x.cascade}},
                                   x.change);
            },
            [](const profile_retired& x) {
                return with_status_change(
                    with_accounts(json::object{{"user", x.user.value}, {"email", x.address.str()}}, x.accounts),
                    "removed", false, true);
            },
            [](const contacts_saved& x) {
                json::object contacts, before;
                bool recorded = false;
                for (const auto& a : x.assignments) {
                    contacts[to_string(a.role)] = optional_id(a.user.value);
                    if (a.previous) {
                        recorded = true;
                        before[to_string(a.role)] = optional_id(a.previous->value);
                    }
                }
                json::object o{{"account", x.account.value}, {"contacts", contacts}};
                if (recorded) {
                    o["before"] = json::object{{"contacts", std::move(before)}};
                    o["after"] = json::object{{"contacts", std::move(contacts)}};
                }
                return o;
            },
            [](const contact_handed_over& x) {
                const auto role = to_string(x.role);
                return json::object{{"account", x.account.value},
                                    {"role", role},
                                    {"from", x.from.value},
                                    {"to", x.to.value},
                                    {"before", json::object{{"contacts", json::object{{role, x.from.value}}}}},
                                    {"after", json::object{{"contacts", json::object{{role, x.to.value}}}}}};
            },
            [](const watchlist_changed& x) {
                json::array subs;
                for (const auto& s : x.subscriptions)
                    subs.emplace_back(json::object{{"user_id", s.user.value}, {"topics", topics_json(s.topics)}});
                json::object o{{"account", x.account.value}, {"subscriptions", std::move(subs)}};
                if (!x.changes.empty()) {
                    // Only the users whose entry changed; [] = not on the watchlist.
                    json::object before, after;
                    for (const auto& c : x.changes) {
                        before[c.user.value] = topics_json(c.before);
                        after[c.user.value] = topics_json(c.after);
                    }
                    o["before"] = json::object{{"watchlist", std::move(before)}};
                    o["after"] = json::object{{"watchlist", std::move(after)}};
                }
                return o;
            },
            [](const token_issued& x) {
                // Never the secret's hash: the log's readers (auditors, exports) need not hold it.
                return json::object{
                    {"token_id", x.token.value},
                    {"principal", principal_json(x.subject)},
                    {"expires_at",
                     x.expires_at == timestamp{} ? json::value(nullptr) : json::value(format_rfc3339(x.expires_at))}};
            },
            [](const token_rotated& x) {
                json::object o{{"token_id", x.token.value}};
                if (!x.user.empty()) o["user"] = x.user.value;
                return o;
            },
            [](const token_revoked& x) {
                json::object o{{"token_id", x.token.value}};
                if (!x.user.empty()) o["user"] = x.user.value;
                return o;
            },
            [](const access_denied& x) {
                json::object o{{"principal", principal_json(x.subject)},  {"action", x.action},
                               {"account", optional_id(x.account.value)}, {"code", x.code},
                               {"target", optional_id(x.target)},         {"count", x.count}};
                // Older records (before refusals were coalesced) carry neither.
                if (x.status != 0) o["status"] = x.status;
                if (x.first_at != timestamp{}) {
                    o["first_at"] = format_rfc3339(x.first_at);
                    o["last_at"] = format_rfc3339(x.last_at);
                }
                return o;
            },
            [](const profile_updated& x) {
                json::object before, after;
                for (auto [field, change] : {std::pair{"name", &x.name}, std::pair{"email", &x.email}})
                    if (*change) {
                        before[field] = (*change)->before;
                        after[field] = (*change)->after;
                    }
                auto o = with_accounts(json::object{{"user", x.user.value}}, x.accounts);
                o["before"] = std::move(before);
                o["after"] = std::move(after);
                return o;
            },
            [](const webhook_registered& x) {
                // The secret's hash is left out like a token's: it is nobody's business.
                return json::object{{"webhook_id", x.webhook.value}, {"settings", webhook_settings_json(x.settings)}};
            },
            [](const webhook_changed& x) {
                return json::object{{"webhook_id", x.webhook.value},
                                    {"before", webhook_settings_json(x.before)},
                                    {"after", webhook_settings_json(x.after)}};
            },
            [](const webhook_removed& x) {
                return json::object{{"webhook_id", x.webhook.value}, {"before", webhook_settings_json(x.before)}};
            },
            [](const signing_key_rotated& x) {
                return json::object{{"old_verifier_key", x.old_verifier_key},
                                    {"new_verifier_key", x.new_verifier_key},
                                    {"tree_size", x.tree_size},
                                    {"statement", x.statement}};
            },
        },
        e);
}

json::array labels_json(const std::vector<user_label>& labels) {
    json::array out;
    for (const auto& l : labels)
        out.emplace_back(json::object{{"user", l.user.value}, {"name", l.name}, {"email", l.email}});
    return out;
}

json::object event_json(const eventstore::recorded_event& e) {
    auto text_or_null = [](const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); };
    json::object actor{{"principal", e.meta.actor.principal},
                       {"token_id", text_or_null(e.meta.actor.token_id)},
                       {"address", text_or_null(e.meta.actor.address)}};
    // The acting user's name and email as they were, when recorded (labels_of puts it first).
    const auto who = domain::principal_from_label(e.meta.actor.principal);
    if (const auto* u = who ? std::get_if<domain::user_principal>(&*who) : nullptr)
        for (const auto& l : e.meta.labels)
            if (l.user == u->user) {
                actor["name"] = l.name;
                actor["email"] = l.email;
                break;
            }
    json::object out{
        {"position", e.position.value},
        {"stream", e.stream},
        {"version", e.version.value},
        {"type", e.type},
        {"recorded_at", format_rfc3339(e.recorded_at)},
        {"actor", std::move(actor)},
        {"request_id", text_or_null(e.meta.request_id)},
        {"correlation_id", text_or_null(e.meta.correlation_id)},
        {"causation_id", text_or_null(e.meta.causation_id)},
        {"reason", text_or_null(e.meta.reason)},
        {"reference", text_or_null(e.meta.reference)},
        {"traceparent", text_or_null(e.meta.traceparent)},
        {"data", event_data_json(e.payload)},
        {"prev_hash", eventstore::to_hex(e.prev_hash)},
        {"hash", eventstore::to_hex(e.hash)},
    };
    // Older events carry no labels: the key is left out rather than shown empty.
    if (!e.meta.labels.empty()) out["labels"] = labels_json(e.meta.labels);
    return out;
}

}  // namespace roster::replay
