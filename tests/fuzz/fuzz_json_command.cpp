// libFuzzer target: JSON command bodies. The input is a request body; it goes through
// parse_json_object_body (as every command route does) and, when that accepts it, through the
// field reading of each command route of api/src/routes_*.cpp. The route handlers themselves
// need a whole service to run, so their reading is mirrored here call for call; what they call
// that is reachable without one (wire::read_roles, the domain parsers) is the real thing.
// Invariants: no crash and no exception; every refusal is a 400/415 problem whose document is
// strict JSON.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "roster/api/json_input.hpp"
#include "roster/domain/types.hpp"
#include "wire.hpp"

namespace {

using namespace roster;
using api::json_reader;
using api::problem;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_json_command: %s\n", what);
    std::abort();
}

void check_problem(const problem& p, bool media_type_allowed = false) {
    if (p.status != 400 && !(media_type_allowed && p.status == 415)) fail("a refusal that is not 400/415");
    if (p.code.empty()) fail("a problem without a code");
    const auto r = p.to_response();
    boost::system::error_code ec;
    (void)boost::json::parse(r.body, ec);
    if (ec) fail("a problem document that is not valid JSON");
}

// Every handler ends with `if (auto bad = in.finish()) reply(bad)`.
void finish(json_reader& in) {
    if (auto bad = in.finish()) check_problem(*bad);
}

// POST /v1/tokens: read_principal of routes_accounts.cpp.
void read_principal(json_reader& in, std::string_view key) {
    const auto* obj = in.required_object(key);
    if (!obj) return;
    json_reader p(*obj, in.field_name(key) + ".");
    auto op = p.optional_bool("operator");
    auto aud = p.optional_bool("auditor");
    auto svc = p.optional_string("service");
    auto user = p.optional_string("user_id");
    if (auto bad = p.finish()) return in.fail(key, bad->detail);
    const int given = (op.value_or(false) ? 1 : 0) + (aud.value_or(false) ? 1 : 0) + (svc ? 1 : 0) + (user ? 1 : 0);
    if (given != 1) in.fail(key, "principal must be exactly one of ...");
}

void open_account(const boost::json::object& body) {  // POST /v1/accounts
    json_reader in(body);
    (void)in.optional_string("id");
    (void)in.required_string("name");
    auto kind_text = in.required_string("kind");
    auto kind = domain::parse_account_kind(kind_text);
    if (in.ok() && !kind) in.fail("kind", "kind must be 'customer' or 'partner'.");
    finish(in);
}

void one_string(const boost::json::object& body, std::string_view key) {  // partners, handover, accept, backup
    json_reader in(body);
    (void)in.required_string(key);
    finish(in);
}

void issue_token(const boost::json::object& body) {  // POST /v1/tokens
    json_reader in(body);
    read_principal(in, "principal");
    finish(in);
}

void create_user(const boost::json::object& body) {  // POST /v1/accounts/{a}/users
    json_reader in(body);
    auto email_text = in.required_string("email");
    (void)in.required_string("name");
    (void)api::wire::read_roles(in, "roles", false);
    (void)in.optional_bool("invite").value_or(true);
    finish(in);
    (void)domain::email::parse(email_text);  // what decide() does with it
}

void add_member(const boost::json::object& body) {  // POST /v1/accounts/{a}/members
    json_reader in(body);
    auto uid = in.optional_string("user_id");
    auto mail = in.optional_string("email");
    (void)api::wire::read_roles(in, "roles", false);
    if (in.ok() && (uid.has_value() == mail.has_value())) in.fail("user_id", "Give exactly one of user_id or email.");
    finish(in);
    if (mail) (void)domain::email::parse(*mail);
}

void change_roles(const boost::json::object& body) {  // POST /v1/accounts/{a}/users/{u}/roles
    json_reader in(body);
    (void)api::wire::read_roles(in, "grant", false);
    (void)api::wire::read_roles(in, "revoke", false);
    finish(in);
}

void lock_user(const boost::json::object& body) {  // POST /v1/users/{u}/lock|unlock
    json_reader in(body);
    (void)in.optional_string("reason");
    finish(in);
}

void save_contacts(const boost::json::object& body) {  // PUT /v1/accounts/{a}/contacts
    for (const auto& [key, value] : body) {
        if (!domain::parse_contact_role(key))
            return check_problem(api::bad_request("unknown_contact_role", "Unknown contact role '" + std::string(key) + "'."));
        if (!value.is_null() && !value.is_string())
            return check_problem(api::bad_request("invalid_field_type", "'" + std::string(key) + "' must be a user id or null."));
    }
}

void set_watchlist(const boost::json::object& body) {  // PUT /v1/accounts/{a}/watchlist
    json_reader in(body);
    const auto* subs = in.required_array("subscriptions");
    if (subs) {
        for (std::size_t i = 0; i < subs->size() && in.ok(); ++i) {
            const auto& item = (*subs)[i];
            const auto field = "subscriptions[" + std::to_string(i) + "]";
            if (!item.is_object()) {
                in.fail("subscriptions", field + " must be an object.");
                break;
            }
            json_reader sub(item.as_object(), in.field_name(field) + ".");
            (void)sub.required_string("user_id");
            auto topics = sub.required_string_array("topics");
            for (const auto& t : topics) {
                if (!domain::parse_topic(t)) {
                    sub.fail("topics", "Unknown topic '" + t + "' (outage, maintenance, security, release).");
                    break;
                }
            }
            if (auto bad = sub.finish()) {
                in.fail("subscriptions", bad->detail);
                break;
            }
        }
    }
    finish(in);
}

void echo(const boost::json::object& body) {  // POST /test/echo (system_routes.cpp)
    json_reader in(body);
    (void)in.required_string("name");
    (void)in.optional_int64("count");
    (void)in.optional_string_array("tags");
    finish(in);
}

// The accessors no route uses yet, so that they are not first exercised by a client.
void other_accessors(const boost::json::object& body) {
    json_reader in(body, "x.");
    (void)in.required_bool("b");
    (void)in.required_int64("n");
    (void)in.optional_int64("m");
    (void)in.optional_object("o");
    (void)in.optional_array("a");
    (void)in.required_string_array("s");
    in.ignore("ignored");
    finish(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    api::request_context ctx;
    ctx.method = "POST";
    ctx.target = "/v1/fuzz";
    ctx.headers.add("content-type", size % 2 ? "application/json" : "Application/JSON ; charset=utf-8");
    ctx.body.assign(reinterpret_cast<const char*>(data), size);  // a std::string, as the server's

    auto parsed = api::parse_json_object_body(ctx, size % 3 == 0);
    if (!parsed) {
        check_problem(parsed.error(), true);
        return 0;
    }
    const auto& body = *parsed;
    open_account(body);
    one_string(body, "partner_id");
    one_string(body, "to_user_id");
    one_string(body, "secret");
    one_string(body, "to");
    issue_token(body);
    create_user(body);
    add_member(body);
    change_roles(body);
    lock_user(body);
    save_contacts(body);
    set_watchlist(body);
    echo(body);
    other_accessors(body);
    return 0;
}
