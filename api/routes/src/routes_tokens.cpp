// API tokens: issue (with an optional expiry), list, get, rotate, revoke (issue 14, item 5).
// Only SHA-256 hashes of secrets are stored; a secret is shown once, in the answer that made it.
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "roster/api/domain_problem.hpp"
#include "roster/api/resource_routes.hpp"
#include "roster/api/secrets.hpp"
#include "roster/api/service.hpp"
#include "roster/api/wire_requests.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/rfc3339.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace json = boost::json;
using namespace roster::domain;

namespace {

enum class token_status : std::uint8_t { active, expired, revoked };

token_status status_of(const token_record& t, timestamp now) {
    if (t.revoked) return token_status::revoked;
    return t.expired(now) ? token_status::expired : token_status::active;
}

std::string_view to_string(token_status s) {
    switch (s) {
        case token_status::active: return "active";
        case token_status::expired: return "expired";
        case token_status::revoked: return "revoked";
    }
    return "active";
}

// One list entry: never the secret nor its hash.
json::object token_json(const token_record& t, timestamp now) {
    return json::object{{"token_id", t.id.value},
                        {"principal", replay::principal_json(t.subject)},
                        {"status", to_string(status_of(t, now))},
                        {"issued_at", time_or_null(t.issued_at)},
                        {"issued_by", t.issued_by.empty() ? json::value(nullptr) : json::value(t.issued_by)},
                        {"expires_at", time_or_null(t.expires_at)},
                        {"revoked_at", time_or_null(t.revoked_at)},
                        {"rotated_at", time_or_null(t.rotated_at)},
                        {"rotations", t.rotations}};
}

// Operator and auditor see every token, a user only their own; service principals none.
bool sees_all(const actor& who) { return is_operator(who) || is_auditor(who); }

bool sees(const actor& who, const token_record& t) {
    if (sees_all(who)) return true;
    const auto* me = std::get_if<user_principal>(&who);
    const auto* owner = std::get_if<user_principal>(&t.subject);
    return me && owner && me->user == owner->user;
}

result<void> may_list_tokens(const actor& who) {
    if (sees_all(who) || std::holds_alternative<user_principal>(who)) return {};
    return make_error(error_kind::forbidden, codes::not_allowed, std::string(no_access_detail));
}

// The 201/200 answer of issue and rotation (the secret is spliced in once by reveal_once).
json::object secret_answer(const token_id& id, const principal& subject, timestamp expires_at) {
    return json::object{{"token_id", id.value},
                        {"principal", replay::principal_json(subject)},
                        {"expires_at", time_or_null(expires_at)}};
}

command_options reveal(std::shared_ptr<std::string> secret) {
    command_options options;
    options.reveal_once = [secret = std::move(secret)](response& r) {
        // The stored outcome has no secret; the first answer gets it spliced in.
        auto pos = r.body.rfind('}');
        if (pos != std::string::npos) r.body.insert(pos, ",\"token\":\"" + *secret + "\"");
    };
    return options;
}

std::shared_ptr<std::string> new_secret() { return std::make_shared<std::string>("rst_" + random_hex(32)); }

}  // namespace

void add_token_routes(router& routes, service& svc) {
    routes.add(
        "POST", "/v1/tokens",
        command_doc(route_doc::of("Issue an API token")
                        .request("IssueToken")
                        .request_example_json(R"({"principal": {"user_id": "usr_0123456789ab"}, "expires_in": 86400})")
                        .returns(201, "TokenIssued")
                        .with_location()
                        .in_tag("tokens")
                        .json_body()
                        .responds({201})
                        .describe("Operator: for any principal; a user: for themself. Body {principal, expires_in?}: "
                                  "expires_in in seconds, 60 to 34560000 (400 days); without it the token never "
                                  "expires. Answer {token_id, principal, expires_at|null, token}: the secret `token` "
                                  "is shown once. An expired token is refused like an unknown one (401).")),
        [&svc](request_context& ctx, responder reply) {
            auto req = begin_json_command(svc, ctx, reply);
            if (!req) return;
            token_id id{"tok_" + random_hex(12)};
            auto secret = new_secret();
            auto cmd = wire::parse_issue_token(req->body, id, sha256_hex(*secret), svc.now());
            if (!cmd) return void(reply(cmd.error().to_response()));
            auto subject = cmd->subject;
            const auto expires_at = cmd->expires_at.value_or(timestamp{});
            submit_command(
                svc, ctx, reply, req->who, std::move(*cmd),
                [id, subject = std::move(subject), expires_at](const decided_view&) {
                    return created_at(json_response(201, secret_answer(id, subject, expires_at)),
                                      "/v1/tokens/" + id.value);
                },
                reveal(std::move(secret)));
        });

    routes.add(
        "GET", "/v1/tokens",
        route_doc::of("List API tokens")
            .returns(200, "TokenPage")
            .in_tag("tokens")
            .param(query_param("status", "Comma list of active, expired, revoked (default active)"))
            .param(query_param("limit",
                               "Page size, 1 to 500 (default 100); above 500 is 400 invalid_query with field limit. "
                               "A page also ends once its tokens take --page-bytes (default 4 MiB) of JSON",
                               false, "integer"))
            .param(query_param("cursor", "next_cursor of the previous page"))
            .describe("Operator and auditor: every token; a user: their own. Answer: {tokens: [{token_id, principal, "
                      "status, issued_at, issued_by, expires_at, revoked_at, rotated_at, rotations}], next_cursor}, "
                      "ordered by token_id; times are RFC 3339 or null (never expires, not revoked, never rotated). "
                      "Never a secret or its hash."),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            const auto page = page_limit(ctx);
            if (!page) return void(reply(page.error().to_response()));
            const std::size_t limit = *page;
            bool wanted[3] = {true, false, false};
            if (auto st = ctx.query.get("status"); st && !st->empty()) {
                std::fill(std::begin(wanted), std::end(wanted), false);
                std::string_view rest = *st;
                while (true) {
                    const auto comma = rest.find(',');
                    const auto part = rest.substr(0, comma);
                    if (part == "active")
                        wanted[0] = true;
                    else if (part == "expired")
                        wanted[1] = true;
                    else if (part == "revoked")
                        wanted[2] = true;
                    else
                        return void(reply(query_problem("invalid_query", "status",
                                                        "status must be a comma list of active, expired and revoked.")
                                              .to_response()));
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
            }
            // Token ids are [A-Za-z0-9_-]{1,64}.
            const auto cursor = page_cursor(
                ctx, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_'; });
            if (!cursor) return void(reply(cursor.error().to_response()));
            const std::string& after = *cursor;
            const auto actor = who->actor;
            const auto page_bytes = svc.page_bytes;
            const auto now = svc.now();
            answer_read(
                svc, ctx, reply, *who, [actor](const state&) { return may_list_tokens(actor); },
                [=](const projections::read_view& v) {
                    // One pass keeps pointers to the visible tokens after the cursor, then the
                    // `limit` + 1 smallest ids: memory is one pointer per token, the page is bounded
                    // by `limit` and page_bytes.
                    std::vector<const token_record*> rows;
                    for (const auto& [id, t] : v.state.tokens)
                        if (id.value > after && wanted[static_cast<int>(status_of(t, now))] && sees(actor, t))
                            rows.push_back(&t);
                    return id_page("tokens", std::move(rows), limit, page_bytes,
                                   [&](const token_record& t) { return token_json(t, now); });
                });
        });

    routes.add("GET", "/v1/tokens/{id}",
               route_doc::of("Get an API token")
                   .returns(200, "Token")
                   .in_tag("tokens")
                   .param(path_param("id", "Token id"))
                   .describe("Operator, auditor, or the token's user. Answer: one entry of GET /v1/tokens; another "
                             "principal's token is 404 token_not_found."),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   token_id id{std::string(ctx.param("id"))};
                   const auto actor = who->actor;
                   const auto now = svc.now();
                   answer_read(
                       svc, ctx, reply, *who, [actor](const state&) { return may_list_tokens(actor); },
                       [=](const projections::read_view& v) {
                           const auto* t = v.state.token(id);
                           if (!t || !sees(actor, *t))
                               return not_found_response(std::string(codes::token_not_found), "No such token.");
                           return json_response(200, token_json(*t, now));
                       });
               });

    routes.add("POST", "/v1/tokens/{id}/rotation",
               command_doc(route_doc::of("Rotate an API token's secret")
                               .request("RotateToken", /*required=*/false)
                               .returns(200, "TokenRotated")
                               .in_tag("tokens")
                               .json_body()
                               .param(path_param("id", "Token id"))
                               .describe("The token's user or the operator. A new secret for the same token id, "
                                         "principal and expiry; the old secret stops working as soon as this answers "
                                         "(there is no grace period: grace_seconds is 400 unknown_field). Answer "
                                         "{token_id, principal, expires_at|null, token}: the new secret `token` is "
                                         "shown once. A revoked or expired token is 409 (token_revoked, "
                                         "token_expired); another principal's token is 404 token_not_found.")),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply, /*allow_empty_body=*/true);
                   if (!req) return;
                   token_id id{std::string(ctx.param("id"))};
                   auto secret = new_secret();
                   auto cmd = wire::parse_rotate_token(req->body, id, sha256_hex(*secret));
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(
                       svc, ctx, reply, req->who, std::move(*cmd),
                       [id](const decided_view& v) {
                           const auto* t = v.state.token(id);
                           return t ? json_response(200, secret_answer(id, t->subject, t->expires_at))
                                    : json_response(200, json::object{{"token_id", id.value}});
                       },
                       reveal(std::move(secret)));
               });

    routes.add("DELETE", "/v1/tokens/{id}",
               command_doc(route_doc::of("Revoke an API token")
                               .returns(200, "TokenRevoked")
                               .in_tag("tokens")
                               .param(path_param("id", "Token id"))),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   token_id id{std::string(ctx.param("id"))};
                   auto cmd = wire::parse_revoke_token(id);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(svc, ctx, reply, *who, *cmd, [id](const decided_view&) {
                       return json_response(200, json::object{{"token_id", id.value}, {"revoked", true}});
                   });
               });
}

}  // namespace roster::api
