#include "roster/api/wire_requests.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "roster/api/json_input.hpp"

namespace roster::api::wire {
namespace json = boost::json;
using namespace roster::domain;

namespace {

// The one way every body parser ends: the reader's first failure or an unknown field, else the command.
template <class T>
parsed<T> finish(json_reader& in, T&& value) {
    if (auto bad = in.finish()) return std::move(*bad);
    return std::forward<T>(value);
}

std::optional<principal> read_principal(json_reader& in, std::string_view key) {
    const auto* obj = in.required_object(key);
    if (!obj) return std::nullopt;
    json_reader p(*obj, in.field_name(key) + ".");
    auto op = p.optional_bool("operator");
    auto aud = p.optional_bool("auditor");
    auto svc = p.optional_string("service");
    auto user = p.optional_string("user_id");
    if (auto bad = p.finish()) {
        in.fail(key, bad->detail);
        return std::nullopt;
    }
    const int given = (op.value_or(false) ? 1 : 0) + (aud.value_or(false) ? 1 : 0) + (svc ? 1 : 0) + (user ? 1 : 0);
    if (given != 1) {
        in.fail(key,
                "principal must be exactly one of {\"operator\":true}, {\"auditor\":true}, {\"service\":\"name\"}, "
                "{\"user_id\":\"...\"}.");
        return std::nullopt;
    }
    if (op.value_or(false)) return operator_principal{};
    if (aud.value_or(false)) return auditor_principal{};
    if (svc) return service_principal{*svc};
    return user_principal{user_id{*user}};
}

// {reason?}: lock and unlock read the same body.
parsed<std::string> read_reason(const json::object& body) {
    json_reader in(body);
    auto reason = in.optional_string("reason");
    return finish(in, reason.value_or(""));
}

}  // namespace

parsed<why> take_why(json::object& body) {
    json::object mine;
    for (std::string_view key : {"reason", "reference"})
        if (auto it = body.find(key); it != body.end()) {
            mine[key] = std::move(it->value());
            body.erase(it);
        }
    // The same reader as every field, so a wrong type answers like any other field's.
    json_reader in(mine);
    auto reason = in.optional_string("reason");
    auto reference = in.optional_string("reference");
    return finish(in, why{reason.value_or(""), reference.value_or("")});
}

parsed<why> read_why(std::string_view body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return why{};
    return take_why(v.as_object());
}

role_set read_roles(json_reader& in, std::string_view key, bool required) {
    const auto* obj = required ? in.required_object(key) : in.optional_object(key);
    role_set out;
    if (!obj) return out;
    for (const auto& [portal_name, names] : *obj) {
        const auto field = in.field_name(key) + "." + std::string(portal_name);
        auto p = parse_portal(portal_name);
        if (!p) {
            in.fail(key, "Unknown portal '" + std::string(portal_name) + "' in " + field +
                             " (portals: support, impact, learning).");
            return {};
        }
        if (!names.is_array()) {
            in.fail(key, field + " must be an array of role names.");
            return {};
        }
        for (const auto& n : names.as_array()) {
            auto r = n.is_string() ? parse_role(*p, std::string_view(n.as_string())) : std::nullopt;
            if (!r) {
                in.fail(key, "Unknown role in " + field +
                                 " (the catalog: support:admin|contributor|viewer, "
                                 "impact:admin|member, learning:admin|learner).");
                return {};
            }
            out.insert(*r);
        }
    }
    return out;
}

parsed<open_account> parse_open_account(const json::object& body, const account_id& generated) {
    json_reader in(body);
    auto id = in.optional_string("id");
    auto name = in.required_string("name");
    auto kind_text = in.required_string("kind");
    auto kind = parse_account_kind(kind_text);
    if (in.ok() && !kind) in.fail("kind", "kind must be 'customer' or 'partner'.");
    if (auto bad = in.finish()) return std::move(*bad);
    return open_account{id ? account_id{*id} : generated, std::move(name), *kind};
}

parsed<link_partner> parse_link_partner(const json::object& body, const account_id& customer) {
    json_reader in(body);
    auto partner = in.required_string("partner_id");
    return finish(in, link_partner{customer, account_id{std::move(partner)}});
}

parsed<issue_token> parse_issue_token(const json::object& body, const token_id& id, std::string secret_sha256_hex,
                                      timestamp now) {
    json_reader in(body);
    auto subject = read_principal(in, "principal");
    auto expires_in = in.optional_int64("expires_in");
    if (in.ok() && expires_in && (*expires_in < token_expires_in_min || *expires_in > token_expires_in_max))
        in.fail("expires_in", "expires_in must be " + std::to_string(token_expires_in_min) + " to " +
                                  std::to_string(token_expires_in_max) + " seconds (400 days).");
    if (auto bad = in.finish()) return std::move(*bad);
    issue_token cmd{id, std::move(*subject), std::move(secret_sha256_hex)};
    if (expires_in) cmd.expires_at = now + std::chrono::seconds(*expires_in);
    return cmd;
}

parsed<revoke_token> parse_revoke_token(const token_id& id) { return revoke_token{id}; }

parsed<rotate_token> parse_rotate_token(const json::object& body, const token_id& id, std::string secret_sha256_hex) {
    json_reader in(body);
    return finish(in, rotate_token{id, std::move(secret_sha256_hex)});
}

parsed<create_user> parse_create_user(const json::object& body, const account_id& account, const user_id& new_user,
                                      const invitation_request& invitation) {
    json_reader in(body);
    auto email_text = in.required_string("email");
    auto name = in.required_string("name");
    auto roles = read_roles(in, "roles", false);
    auto invite = in.optional_bool("invite").value_or(true);
    if (auto bad = in.finish()) return std::move(*bad);
    create_user cmd{account, new_user, std::move(email_text), std::move(name), roles, std::nullopt};
    if (invite) cmd.invitation = invitation;
    return cmd;
}

parsed<add_member> parse_add_member(const json::object& body, const account_id& account) {
    json_reader in(body);
    auto uid = in.optional_string("user_id");
    auto mail = in.optional_string("email");
    auto roles = read_roles(in, "roles", false);
    if (in.ok() && (uid.has_value() == mail.has_value())) in.fail("user_id", "Give exactly one of user_id or email.");
    if (auto bad = in.finish()) return std::move(*bad);
    add_member cmd{account, {}, roles};
    if (uid)
        cmd.who = user_id{std::move(*uid)};
    else
        cmd.who = std::move(*mail);
    return cmd;
}

parsed<change_roles> parse_change_roles(const json::object& body, const account_id& account, const user_id& user) {
    json_reader in(body);
    auto grant = read_roles(in, "grant", false);
    auto revoke = read_roles(in, "revoke", false);
    return finish(in, change_roles{account, user, grant, revoke});
}

parsed<remove_all_roles> parse_remove_all_roles(const account_id& account, const user_id& user) {
    return remove_all_roles{account, user};
}

parsed<with_reason<lock_user>> parse_lock_user(const json::object& body, const user_id& user) {
    auto reason = read_reason(body);
    if (!reason) return reason.error();
    return with_reason<lock_user>{lock_user{user}, std::move(*reason)};
}

parsed<with_reason<unlock_user>> parse_unlock_user(const json::object& body, const user_id& user) {
    auto reason = read_reason(body);
    if (!reason) return reason.error();
    return with_reason<unlock_user>{unlock_user{user}, std::move(*reason)};
}

parsed<update_profile> parse_update_profile(const json::object& body, const user_id& user) {
    json_reader in(body);
    auto name = in.optional_string("name");
    auto email = in.optional_string("email");
    return finish(in, update_profile{user, std::move(name), std::move(email)});
}

parsed<remove_member> parse_remove_member(const account_id& account, const user_id& user) {
    return remove_member{account, user};
}

parsed<invite_user> parse_invite_user(const account_id& account, const user_id& user,
                                      const invitation_request& invitation) {
    return invite_user{account, user, invitation};
}

parsed<accept_invitation> parse_accept_invitation(const json::object& body, secret_hasher hash) {
    json_reader in(body);
    auto secret = in.required_string("secret");
    if (auto bad = in.finish()) return std::move(*bad);
    return accept_invitation{hash(secret)};
}

parsed<save_contacts> parse_save_contacts(const json::object& body, const account_id& account) {
    // Every member is a role, so there is no json_reader: unknown keys are unknown roles.
    std::vector<contact_assignment> assignments;
    for (const auto& [key, value] : body) {
        auto r = parse_contact_role(key);
        if (!r) return bad_request("unknown_contact_role", "Unknown contact role '" + std::string(key) + "'.");
        if (!value.is_null() && !value.is_string())
            return bad_request("invalid_field_type", "'" + std::string(key) + "' must be a user id or null.");
        assignments.push_back({*r, value.is_null() ? user_id{} : user_id{std::string(value.as_string())}});
    }
    return save_contacts{account, std::move(assignments)};
}

parsed<hand_over_contact> parse_hand_over_contact(const json::object& body, const account_id& account,
                                                  std::string_view role) {
    json_reader in(body);
    auto to = in.required_string("to_user_id");
    if (auto bad = in.finish()) return std::move(*bad);
    auto r = parse_contact_role(role);
    if (!r) return make_problem(404, "contact_role_not_found", "Unknown contact role.");
    return hand_over_contact{account, *r, user_id{std::move(to)}};
}

parsed<set_watchlist> parse_set_watchlist(const json::object& body, const account_id& account) {
    json_reader in(body);
    const auto* subs = in.required_array("subscriptions");
    std::vector<watch_subscription> list;
    if (subs) {
        for (std::size_t i = 0; i < subs->size() && in.ok(); ++i) {
            const auto& item = (*subs)[i];
            const auto field = "subscriptions[" + std::to_string(i) + "]";
            if (!item.is_object()) {
                in.fail("subscriptions", field + " must be an object.");
                break;
            }
            json_reader sub(item.as_object(), in.field_name(field) + ".");
            auto uid = sub.required_string("user_id");
            auto topics = sub.required_string_array("topics");
            watch_subscription ws{user_id{uid}, {}};
            for (const auto& t : topics) {
                auto parsed_topic = parse_topic(t);
                if (!parsed_topic) {
                    sub.fail("topics", "Unknown topic '" + t + "' (outage, maintenance, security, release).");
                    break;
                }
                ws.topics.push_back(*parsed_topic);
            }
            if (auto bad = sub.finish()) {
                in.fail("subscriptions", bad->detail);
                break;
            }
            list.push_back(std::move(ws));
        }
    }
    return finish(in, set_watchlist{account, std::move(list)});
}

parsed<backup_request> parse_backup_request(const json::object& body) {
    json_reader in(body);
    auto to = in.required_string("to");
    return finish(in, backup_request{std::move(to)});
}

std::optional<std::string> webhook_url_problem(std::string_view url) {
    auto u = boost::urls::parse_uri(url);
    if (!u) return "url must be an absolute http or https URL.";
    if (u->scheme_id() != boost::urls::scheme::http && u->scheme_id() != boost::urls::scheme::https)
        return "url must be an http or https URL.";
    if (u->has_userinfo()) return "url must not carry user info (the request is signed instead).";
    if (u->has_fragment()) return "url must not have a fragment.";
    if (u->encoded_host().empty()) return "url must name a host.";
    if (url.size() > 2048) return "url takes at most 2048 bytes.";
    return std::nullopt;
}

namespace {

std::optional<std::vector<account_id>> read_webhook_accounts(json_reader& in) {
    auto list = in.optional_string_array("accounts");
    if (!list) return std::nullopt;
    std::vector<account_id> out;
    for (auto& a : *list) out.emplace_back(std::move(a));
    return out;
}

void check_webhook_url(json_reader& in, const std::optional<std::string>& url) {
    if (!in.ok() || !url) return;
    if (auto why = webhook_url_problem(*url)) in.fail("url", *why);
}

}  // namespace

parsed<register_webhook> parse_register_webhook(const json::object& body, const webhook_id& id,
                                                std::string secret_sha256_hex) {
    json_reader in(body);
    std::optional<std::string> url = in.required_string("url");
    auto accounts = read_webhook_accounts(in);
    auto types = in.optional_string_array("types");
    auto description = in.optional_string("description");
    check_webhook_url(in, url);
    if (auto bad = in.finish()) return std::move(*bad);
    webhook_settings settings{std::move(*url), accounts.value_or(std::vector<account_id>{}),
                              types.value_or(std::vector<std::string>{}), description.value_or(""), true};
    return register_webhook{id, std::move(settings), std::move(secret_sha256_hex)};
}

parsed<change_webhook> parse_change_webhook(const json::object& body, const webhook_id& id) {
    json_reader in(body);
    auto url = in.optional_string("url");
    auto accounts = read_webhook_accounts(in);
    auto types = in.optional_string_array("types");
    auto description = in.optional_string("description");
    auto enabled = in.optional_bool("enabled");
    check_webhook_url(in, url);
    return finish(
        in, change_webhook{id, std::move(url), std::move(accounts), std::move(types), std::move(description), enabled});
}

parsed<remove_webhook> parse_remove_webhook(const webhook_id& id) { return remove_webhook{id}; }

parsed<std::optional<std::vector<std::uint64_t>>> parse_webhook_replay(const json::object& body) {
    json_reader in(body);
    const auto* list = in.optional_array("positions");
    std::optional<std::vector<std::uint64_t>> positions;
    if (list) {
        positions.emplace();
        if (list->size() > 10'000) in.fail("positions", "At most 10000 positions at once.");
        for (const auto& v : *list) {
            if (!in.ok()) break;
            if (!v.is_int64() || v.get_int64() < 1) {
                in.fail("positions", "positions must be log positions (integers from 1).");
                break;
            }
            positions->push_back(static_cast<std::uint64_t>(v.get_int64()));
        }
    }
    return finish(in, std::move(positions));
}

}  // namespace roster::api::wire
