// libFuzzer target: JSON command bodies. The input is a request body; it goes through
// parse_json_object_body (as every command route does) and, when that accepts it, through every
// request wire type (roster/api/wire_requests.hpp): the very parse_<command> functions the command
// routes call, with fixed path ids, so nothing here can drift from what rosterd serves.
// Invariants: no crash and no exception; every refusal is a 400/415 problem (404
// contact_role_not_found for a hand-over's unknown role, and only then) whose document is strict
// JSON; an accepted body yields a command carrying the path ids it was given.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "roster/api/json_input.hpp"
#include "roster/api/wire_requests.hpp"

namespace {

using namespace roster;
using api::problem;
namespace wire = api::wire;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_json_command: %s\n", what);
    std::abort();
}

// A code, and a document that is strict JSON.
void check_document(const problem& p) {
    if (p.code.empty()) fail("a problem without a code");
    const auto r = p.to_response();
    boost::system::error_code ec;
    (void)boost::json::parse(r.body, ec);
    if (ec) fail("a problem document that is not valid JSON");
}

void check_problem(const problem& p, bool media_type_allowed = false) {
    if (p.status != 400 && !(media_type_allowed && p.status == 415)) fail("a refusal that is not 400/415");
    check_document(p);
}

// The path ids of the fuzzed requests (the router hands over non-empty decoded segments).
const domain::account_id account{"acc-fuzz"};
const domain::user_id user{"usr_fuzz"};
const domain::account_id generated{"acc-generated"};
const domain::token_id token{"tok_fuzz"};
const domain::webhook_id webhook{"whk_fuzz"};
const domain::timestamp now{std::chrono::seconds(1'800'000'000)};
const domain::invitation_request invitation{domain::invitation_id{"inv_fuzz"}, "00", std::nullopt};

// The server passes sha256_hex; any function of the secret does here (the fuzz build has no OpenSSL).
std::string hash(std::string_view secret) { return "h" + std::to_string(secret.size()); }

// A refusal must be a proper problem; an acceptance must satisfy `accepted`.
template <class T, class Check>
void judge(const wire::parsed<T>& r, Check accepted) {
    if (!r) return check_problem(r.error());
    if (!accepted(*r)) fail("an accepted body built a command that lost its path ids");
}

void run_every_parser(const boost::json::object& body) {
    judge(wire::parse_open_account(body, generated), [](const domain::open_account& c) { return !c.id.empty(); });
    judge(wire::parse_link_partner(body, account), [](const domain::link_partner& c) { return c.customer == account; });
    judge(wire::parse_issue_token(body, token, "00", now), [](const domain::issue_token& c) {
        // An expiry, when given, is within the bounds the parser promises.
        return c.token == token &&
               (!c.expires_at || (*c.expires_at >= now + std::chrono::seconds(wire::token_expires_in_min) &&
                                  *c.expires_at <= now + std::chrono::seconds(wire::token_expires_in_max)));
    });
    judge(wire::parse_rotate_token(body, token, "00"), [](const domain::rotate_token& c) { return c.token == token; });
    judge(wire::parse_create_user(body, account, user, invitation), [](const domain::create_user& c) {
        return c.account == account && c.new_user == user && (!c.invitation || *c.invitation == invitation);
    });
    judge(wire::parse_add_member(body, account), [](const domain::add_member& c) { return c.account == account; });
    judge(wire::parse_change_roles(body, account, user),
          [](const domain::change_roles& c) { return c.account == account && c.user == user; });
    judge(wire::parse_lock_user(body, user), [](const auto& c) { return c.command.user == user; });
    judge(wire::parse_unlock_user(body, user), [](const auto& c) { return c.command.user == user; });
    judge(wire::parse_update_profile(body, user), [](const domain::update_profile& c) { return c.user == user; });
    judge(wire::parse_accept_invitation(body, &hash),
          [](const domain::accept_invitation& c) { return !c.secret_sha256_hex.empty(); });
    judge(wire::parse_save_contacts(body, account),
          [](const domain::save_contacts& c) { return c.account == account; });
    judge(wire::parse_hand_over_contact(body, account, "security"),
          [](const domain::hand_over_contact& c) { return c.account == account; });
    judge(wire::parse_set_watchlist(body, account),
          [](const domain::set_watchlist& c) { return c.account == account; });
    judge(wire::parse_backup_request(body), [](const wire::backup_request&) { return true; });
    // An accepted URL is one the parser itself accepts again (http/https, a host, no user info or fragment).
    judge(wire::parse_register_webhook(body, webhook, "00"), [](const domain::register_webhook& c) {
        return c.webhook == webhook && !wire::webhook_url_problem(c.settings.url);
    });
    judge(wire::parse_change_webhook(body, webhook), [](const domain::change_webhook& c) {
        return c.webhook == webhook && (!c.url || !wire::webhook_url_problem(*c.url));
    });
    judge(wire::parse_webhook_replay(body), [](const auto&) { return true; });

    // An unknown {role}: the body is judged first (400), else 404 contact_role_not_found.
    if (auto r = wire::parse_hand_over_contact(body, account, "nobody"); r) {
        fail("a hand-over to an unknown role was accepted");
    } else if (r.error().status == 404) {
        if (r.error().code != "contact_role_not_found") fail("a 404 that is not contact_role_not_found");
        check_document(r.error());
    } else {
        check_problem(r.error());
    }
}

// The json_reader accessors no route uses yet, so that they are not first exercised by a client.
void other_accessors(const boost::json::object& body) {
    api::json_reader in(body, "x.");
    (void)in.required_bool("b");
    (void)in.required_int64("n");
    (void)in.optional_int64("m");
    (void)in.optional_object("o");
    (void)in.optional_array("a");
    (void)in.required_string_array("s");
    (void)in.optional_string_array("t");
    in.ignore("ignored");
    if (auto bad = in.finish()) check_problem(*bad);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    api::request_context ctx;
    ctx.method = "POST";
    ctx.target = "/v1/fuzz";
    ctx.headers.add("content-type", size % 2 ? "application/json" : "Application/JSON ; charset=utf-8");
    ctx.body.assign(reinterpret_cast<const char*>(data), size);  // a std::string, as the server's

    // Lock and unlock take an empty body as {}; the other command routes do not.
    auto parsed = api::parse_json_object_body(ctx, size % 3 == 0);
    if (!parsed) {
        check_problem(parsed.error(), true);
        return 0;
    }
    run_every_parser(*parsed);
    other_accessors(*parsed);
    return 0;
}
