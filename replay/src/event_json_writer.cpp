// The export's JSON Lines writer: the bytes boost::json::serialize(event_json(e)) gives, written
// straight into the output buffer. Building a boost::json::object per event (and a string per
// member) cost the export most of its time in malloc and free; this writes each member once.
// event_json.cpp remains the shape of record: tests/replay/event_json_writer_test.cpp compares
// the two byte for byte over every event type, so a change to one without the other fails there.
#include "event_json_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "roster/domain/overloaded.hpp"
#include "roster/eventstore/checkpoint.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::replay::detail {
namespace {

using namespace roster::domain;

// Boost.JSON's escaping (serializer.ipp): '"' and '\\', \b \t \n \f \r, other C0 controls as
// \u00xx in lower-case hex; every other byte, UTF-8 or not, unchanged.
bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// s between quotes, in one write; the caller knows it needs no escape.
void quoted_plain(std::string& out, std::string_view s) {
    const auto at = out.size();
    out.resize(at + s.size() + 2);
    char* p = out.data() + at;
    p[0] = '"';
    std::memcpy(p + 1, s.data(), s.size());
    p[s.size() + 1] = '"';
}

void quoted(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    // Nearly every value (ids, names, hashes) needs no escape.
    if (std::none_of(s.begin(), s.end(), [](unsigned char c) { return needs_escape(c); })) return quoted_plain(out, s);
    out.push_back('"');
    std::size_t run = 0;  // s[run, i) needs no escape and is not yet in `out`
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!needs_escape(c)) continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        out.push_back('\\');
        switch (c) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '\b': out.push_back('b'); break;
            case '\t': out.push_back('t'); break;
            case '\n': out.push_back('n'); break;
            case '\f': out.push_back('f'); break;
            case '\r': out.push_back('r'); break;
            default:
                out += "u00";
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xF]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

void number(std::string& out, std::uint64_t v) {
    char buf[20];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void boolean(std::string& out, bool v) { out += v ? "true" : "false"; }

// Members are written in order; `key` puts the comma unless the member opens its object. Keys
// are the fixed names of event_json; `dynamic_key` is for data (user ids, role names).
template <std::size_t N>
void key(std::string& out, const char (&k)[N]) {
    if (out.back() != '{') out.push_back(',');
    out.push_back('"');
    out.append(k, N - 1);
    out.append("\":", 2);
}

void dynamic_key(std::string& out, std::string_view k) {
    if (out.back() != '{') out.push_back(',');
    quoted(out, k);
    out.push_back(':');
}

// An array element: the comma unless it is the first.
void element(std::string& out) {
    if (out.back() != '[') out.push_back(',');
}

// event_json's optional_id and text_or_null: null for the empty string.
void text_or_null(std::string& out, const std::string& s) {
    if (s.empty())
        out += "null";
    else
        quoted(out, s);
}

void hex_hash(std::string& out, const eventstore::hash256& h) {
    static constexpr char digits[] = "0123456789abcdef";
    char buf[2 * 32 + 2];
    buf[0] = buf[sizeof buf - 1] = '"';
    for (std::size_t i = 0; i < h.size(); ++i) {
        buf[1 + 2 * i] = digits[h[i] >> 4];
        buf[2 + 2 * i] = digits[h[i] & 0xF];
    }
    out.append(buf, sizeof buf);
}

void timestamp_text(std::string& out, timestamp t) {
    out.push_back('"');
    append_rfc3339(out, t);
    out.push_back('"');
}

void ids(std::string& out, const std::vector<account_id>& v) {
    out.push_back('[');
    for (const auto& a : v) element(out), quoted(out, a.value);
    out.push_back(']');
}

void topics(std::string& out, const std::vector<topic>& v) {
    out.push_back('[');
    for (auto t : v) element(out), quoted(out, to_string(t));
    out.push_back(']');
}

void roles(std::string& out, role_set set) {
    out.push_back('{');
    for (auto p : all_portals) {
        dynamic_key(out, to_string(p));
        out.push_back('[');
        for (std::size_t i = 0; i < role_count; ++i) {
            auto r = static_cast<role>(i);
            if (portal_of(r) == p && set.contains(r)) element(out), quoted(out, role_name(r));
        }
        out.push_back(']');
    }
    out.push_back('}');
}

void principal_object(std::string& out, const principal& p) {
    out.push_back('{');
    std::visit(overloaded{
                   [&](const operator_principal&) { key(out, "operator"), boolean(out, true); },
                   [&](const auditor_principal&) { key(out, "auditor"), boolean(out, true); },
                   [&](const service_principal& s) { key(out, "service"), quoted(out, s.name); },
                   [&](const user_principal& u) { key(out, "user_id"), quoted(out, u.user.value); },
               },
               p);
    out.push_back('}');
}

// with_change: the roles before and after, when recorded.
void change(std::string& out, const std::optional<role_change>& c) {
    if (!c) return;
    key(out, "before"), out += "{", key(out, "roles"), roles(out, c->before), out += "}";
    key(out, "after"), out += "{", key(out, "roles"), roles(out, c->after), out += "}";
}

void accounts(std::string& out, const std::vector<account_id>& v) {
    if (!v.empty()) key(out, "accounts"), ids(out, v);
}

// with_status_change for the facts whose type fixes both values.
void status_change(std::string& out, std::string_view field, std::string_view before, std::string_view after) {
    key(out, "before"), out += "{", dynamic_key(out, field), quoted(out, before), out += "}";
    key(out, "after"), out += "{", dynamic_key(out, field), quoted(out, after), out += "}";
}

void webhook_settings_object(std::string& out, const webhook_settings& w) {
    out.push_back('{');
    key(out, "url"), quoted(out, w.url);
    key(out, "accounts"), ids(out, w.accounts);
    key(out, "types"), out += "[";
    for (const auto& t : w.types) element(out), quoted(out, t);
    out += "]";
    key(out, "description"), quoted(out, w.description);
    key(out, "enabled"), boolean(out, w.enabled);
    out.push_back('}');
}

// event_json assigns dynamic keys with operator[], which keeps a repeated key where it first
// appeared with the value assigned last. For n entries keyed by key_of(i): the index whose value
// each distinct key shows, in the order the keys first appeared.
template <class KeyOf>
std::vector<std::size_t> shown_entries(std::size_t n, KeyOf key_of) {
    std::vector<std::size_t> shown;
    std::unordered_map<std::string_view, std::size_t> slot;  // key -> its place in `shown`
    for (std::size_t i = 0; i < n; ++i) {
        auto [it, fresh] = slot.try_emplace(key_of(i), shown.size());
        if (fresh)
            shown.push_back(i);
        else
            shown[it->second] = i;
    }
    return shown;
}

// The `data` member, event_data_json's shape: one overload per event type.
struct data_writer {
    std::string& out;

    void operator()(const account_opened& x) {
        key(out, "account"), quoted(out, x.account.value);
        key(out, "name"), quoted(out, x.name);
        key(out, "kind"), quoted(out, to_string(x.kind));
    }
    void operator()(const partner_linked& x) {
        key(out, "customer"), quoted(out, x.customer.value);
        key(out, "partner"), quoted(out, x.partner.value);
    }
    void operator()(const user_created& x) {
        key(out, "user"), quoted(out, x.user.value);
        key(out, "email"), quoted(out, x.address.str());
        key(out, "name"), quoted(out, x.name);
        key(out, "employer"), quoted(out, x.employer.value);
    }
    void operator()(const member_added& x) {
        key(out, "account"), quoted(out, x.account.value);
        key(out, "user"), quoted(out, x.user.value);
        key(out, "type"), quoted(out, to_string(x.type));
        change(out, x.change);
    }
    template <class Roles>
    void roles_fact(const Roles& x) {
        key(out, "account"), quoted(out, x.account.value);
        key(out, "user"), quoted(out, x.user.value);
        key(out, "roles"), roles(out, x.roles);
        change(out, x.change);
    }
    void operator()(const roles_granted& x) { roles_fact(x); }
    void operator()(const roles_revoked& x) { roles_fact(x); }
    void operator()(const all_roles_removed& x) { roles_fact(x); }
    void operator()(const user_locked& x) {
        key(out, "user"), quoted(out, x.user.value);
        accounts(out, x.accounts);
        status_change(out, "status", "active", "locked");
    }
    void operator()(const user_unlocked& x) {
        key(out, "user"), quoted(out, x.user.value);
        accounts(out, x.accounts);
        status_change(out, "status", "locked", "active");
    }
    void operator()(const invitation_issued& x) {
        key(out, "invitation"), quoted(out, x.invitation.value);
        key(out, "user"), quoted(out, x.user.value);
        key(out, "account"), quoted(out, x.account.value);
        key(out, "expires_at"), timestamp_text(out, x.expires_at);
        key(out, "replaces"), text_or_null(out, x.replaces.value);
    }
    void operator()(const invitation_accepted& x) {
        key(out, "invitation"), quoted(out, x.invitation.value);
        key(out, "user"), quoted(out, x.user.value);
        accounts(out, x.accounts);
        status_change(out, "registration", "invited", "registered");
    }
    void operator()(const member_removed& x) {
        key(out, "account"), quoted(out, x.account.value);
        key(out, "user"), quoted(out, x.user.value);
        key(out, "type"), quoted(out, to_string(x.type));
        key(out, "roles"), roles(out, x.roles);
        key(out, "cascade"), boolean(out, x.cascade);
        change(out, x.change);
    }
    void operator()(const profile_retired& x) {
        key(out, "user"), quoted(out, x.user.value);
        key(out, "email"), quoted(out, x.address.str());
        accounts(out, x.accounts);
        key(out, "before"), out += "{", key(out, "removed"), boolean(out, false), out += "}";
        key(out, "after"), out += "{", key(out, "removed"), boolean(out, true), out += "}";
    }
    void operator()(const contacts_saved& x) {
        const auto& a = x.assignments;
        const auto contacts = shown_entries(a.size(), [&](std::size_t i) { return to_string(a[i].role); });
        std::vector<std::size_t> previous;  // the assignments that recorded the holder before
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a[i].previous) previous.push_back(i);
        const auto before =
            shown_entries(previous.size(), [&](std::size_t i) { return to_string(a[previous[i]].role); });
        auto contacts_object = [&] {
            out += "{";
            for (auto i : contacts) dynamic_key(out, to_string(a[i].role)), text_or_null(out, a[i].user.value);
            out += "}";
        };
        key(out, "account"), quoted(out, x.account.value);
        key(out, "contacts"), contacts_object();
        if (previous.empty()) return;
        key(out, "before"), out += "{", key(out, "contacts"), out += "{";
        for (auto j : before) {
            const auto& p = a[previous[j]];
            dynamic_key(out, to_string(p.role)), text_or_null(out, p.previous->value);
        }
        out += "}}";
        key(out, "after"), out += "{", key(out, "contacts"), contacts_object(), out += "}";
    }
    void operator()(const contact_handed_over& x) {
        const auto role = to_string(x.role);
        key(out, "account"), quoted(out, x.account.value);
        key(out, "role"), quoted(out, role);
        key(out, "from"), quoted(out, x.from.value);
        key(out, "to"), quoted(out, x.to.value);
        key(out, "before"), out += "{", key(out, "contacts"), out += "{", dynamic_key(out, role),
            quoted(out, x.from.value), out += "}}";
        key(out, "after"), out += "{", key(out, "contacts"), out += "{", dynamic_key(out, role),
            quoted(out, x.to.value), out += "}}";
    }
    void operator()(const watchlist_changed& x) {
        key(out, "account"), quoted(out, x.account.value);
        key(out, "subscriptions"), out += "[";
        for (const auto& s : x.subscriptions) {
            element(out), out += "{";
            key(out, "user_id"), quoted(out, s.user.value);
            key(out, "topics"), topics(out, s.topics);
            out += "}";
        }
        out += "]";
        if (x.changes.empty()) return;
        // Only the users whose entry changed; [] = not on the watchlist.
        const auto& c = x.changes;
        const auto shown = shown_entries(c.size(), [&](std::size_t i) { return std::string_view(c[i].user.value); });
        key(out, "before"), out += "{", key(out, "watchlist"), out += "{";
        for (auto i : shown) dynamic_key(out, c[i].user.value), topics(out, c[i].before);
        out += "}}";
        key(out, "after"), out += "{", key(out, "watchlist"), out += "{";
        for (auto i : shown) dynamic_key(out, c[i].user.value), topics(out, c[i].after);
        out += "}}";
    }
    void operator()(const token_issued& x) {
        key(out, "token_id"), quoted(out, x.token.value);
        key(out, "principal"), principal_object(out, x.subject);
        key(out, "expires_at");
        if (x.expires_at == timestamp{})
            out += "null";
        else
            timestamp_text(out, x.expires_at);
    }
    void operator()(const token_rotated& x) {
        key(out, "token_id"), quoted(out, x.token.value);
        if (!x.user.empty()) key(out, "user"), quoted(out, x.user.value);
    }
    void operator()(const token_revoked& x) {
        key(out, "token_id"), quoted(out, x.token.value);
        if (!x.user.empty()) key(out, "user"), quoted(out, x.user.value);
    }
    void operator()(const access_denied& x) {
        key(out, "principal"), principal_object(out, x.subject);
        key(out, "action"), quoted(out, x.action);
        key(out, "account"), text_or_null(out, x.account.value);
        key(out, "code"), quoted(out, x.code);
        key(out, "target"), text_or_null(out, x.target);
        key(out, "count"), number(out, x.count);
        if (x.status != 0) key(out, "status"), number(out, x.status);
        if (x.first_at != timestamp{}) {
            key(out, "first_at"), timestamp_text(out, x.first_at);
            key(out, "last_at"), timestamp_text(out, x.last_at);
        }
    }
    void operator()(const profile_updated& x) {
        key(out, "user"), quoted(out, x.user.value);
        accounts(out, x.accounts);
        for (bool after : {false, true}) {
            dynamic_key(out, after ? "after" : "before"), out += "{";
            for (auto [field, change] : {std::pair{"name", &x.name}, std::pair{"email", &x.email}})
                if (*change) dynamic_key(out, field), quoted(out, after ? (*change)->after : (*change)->before);
            out += "}";
        }
    }
    void operator()(const webhook_registered& x) {
        key(out, "webhook_id"), quoted(out, x.webhook.value);
        key(out, "settings"), webhook_settings_object(out, x.settings);
    }
    void operator()(const webhook_changed& x) {
        key(out, "webhook_id"), quoted(out, x.webhook.value);
        key(out, "before"), webhook_settings_object(out, x.before);
        key(out, "after"), webhook_settings_object(out, x.after);
    }
    void operator()(const webhook_removed& x) {
        key(out, "webhook_id"), quoted(out, x.webhook.value);
        key(out, "before"), webhook_settings_object(out, x.before);
    }
    void operator()(const signing_key_rotated& x) {
        key(out, "old_verifier_key"), quoted(out, x.old_verifier_key);
        key(out, "new_verifier_key"), quoted(out, x.new_verifier_key);
        key(out, "tree_size"), number(out, x.tree_size);
        key(out, "statement"), quoted(out, x.statement);
    }
};

}  // namespace

void append_event_json(std::string& out, const eventstore::recorded_event& e,
                       std::optional<std::string_view> envelope) {
    out += "{";
    key(out, "position"), number(out, e.position.value);
    key(out, "stream"), quoted(out, e.stream);
    key(out, "version"), number(out, e.version.value);
    key(out, "type"), quoted(out, e.type);
    key(out, "recorded_at"), timestamp_text(out, e.recorded_at);
    key(out, "actor"), out += "{";
    key(out, "principal"), quoted(out, e.meta.actor.principal);
    key(out, "token_id"), text_or_null(out, e.meta.actor.token_id);
    key(out, "address"), text_or_null(out, e.meta.actor.address);
    constexpr std::string_view user_prefix = "user:";
    if (std::string_view p = e.meta.actor.principal; p.starts_with(user_prefix))
        for (const auto& l : e.meta.labels)
            if (l.user.value == p.substr(user_prefix.size())) {
                key(out, "name"), quoted(out, l.name);
                key(out, "email"), quoted(out, l.email);
                break;
            }
    out += "}";
    key(out, "request_id"), text_or_null(out, e.meta.request_id);
    key(out, "correlation_id"), text_or_null(out, e.meta.correlation_id);
    key(out, "causation_id"), text_or_null(out, e.meta.causation_id);
    key(out, "reason"), text_or_null(out, e.meta.reason);
    key(out, "reference"), text_or_null(out, e.meta.reference);
    key(out, "traceparent"), text_or_null(out, e.meta.traceparent);
    key(out, "data"), out += "{";
    std::visit(data_writer{out}, e.payload);
    out += "}";
    key(out, "prev_hash"), hex_hash(out, e.prev_hash);
    key(out, "hash"), hex_hash(out, e.hash);
    if (!e.meta.labels.empty()) {
        key(out, "labels"), out += "[";
        for (const auto& l : e.meta.labels) {
            element(out), out += "{";
            key(out, "user"), quoted(out, l.user.value);
            key(out, "name"), quoted(out, l.name);
            key(out, "email"), quoted(out, l.email);
            out += "}";
        }
        out += "]";
    }
    if (envelope) {
        key(out, "envelope");
        out += '"';
        out += eventstore::base64_encode(
            std::span(reinterpret_cast<const std::uint8_t*>(envelope->data()), envelope->size()));
        out += '"';
    }
    out += "}";
}

}  // namespace roster::replay::detail
