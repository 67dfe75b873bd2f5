// GET /v1/stream: authorizes like any route (problem+json answers), then hands the connection
// to the live stream; and POST /v1/stream/tickets, the browser's way in (see stream_tickets.hpp).
#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>

#include <boost/json/array.hpp>

#include "roster/api/domain_problem.hpp"
#include "roster/api/http_commands.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/live_stream.hpp"
#include "roster/api/request_meta.hpp"
#include "roster/api/resource_routes.hpp"
#include "roster/api/secrets.hpp"
#include "roster/api/stream_tickets.hpp"
#include "roster/domain/queries.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::api {

namespace json = boost::json;

namespace {

// Who may open the stream: an auditor or the operator; with `account`, an admin of it too.
domain::result<void> may_read_stream(const projections::read_view& v, const domain::actor& who,
                                     const std::optional<std::string>& account) {
    if (account)
        return domain::authorize_read(v.state, who, domain::read_kind::account_history, domain::account_id{*account});
    return domain::authorize_read(v.state, who, domain::read_kind::events);
}

domain::result<void> authorize_stream(service& svc, const caller& who, const std::optional<std::string>& account) {
    return svc.reads.read([&](const projections::read_view& v) { return may_read_stream(v, who.actor, account); });
}

// The same two questions an open stream's session asks again (live_stream.hpp): does the token
// still authenticate, and may its principal still read this stream.
live_access_check stream_access(service& svc, std::string token_sha256_hex, std::optional<std::string> account) {
    return [&svc, token = std::move(token_sha256_hex), account = std::move(account)](eventstore::log_position at) {
        const auto now = svc.now();
        return svc.reads.read([&](const projections::read_view& v) {
            if (v.position < at) return live_access::not_yet;
            auto found = domain::authenticate(v.state, token, now);
            if (!found) return live_access::unauthenticated;
            return may_read_stream(v, found->subject, account) ? live_access::allowed : live_access::forbidden;
        });
    };
}

void refuse_unauthenticated(const responder& reply, std::string code, std::string detail) {
    auto p = make_problem(401, std::move(code), std::move(detail));
    p.headers.emplace_back("WWW-Authenticate", "Bearer");
    reply(p.to_response());
}

// The caller of a stream request: the principal of its Authorization header or, for browsers
// (whose WebSocket API sets no headers), of its `ticket`. A ticket is used up here, whatever
// the rest of the request turns out to be; the token that asked for it is authenticated again
// now, so a revocation or a lock since the ticket was issued counts. nullopt after answering.
std::optional<caller> stream_caller(service& svc, stream_tickets& tickets, const request_context& ctx,
                                    const responder& reply, std::optional<std::string>& ticket_account,
                                    std::string& token_sha256_hex) {
    auto ticket = ctx.query.get("ticket");
    if (!ticket) {
        auto who = authenticate(svc, ctx, reply);
        // authenticate() found the header's bearer token, so it is there.
        if (who) token_sha256_hex = sha256_hex(*bearer_token(ctx.header("authorization")));
        return who;
    }
    if (ctx.header("authorization")) {
        auto p = bad_request("two_credentials", "Send either an Authorization header or a ticket, not both.");
        p.extra["field"] = "ticket";
        reply(p.to_response());
        return std::nullopt;
    }
    auto grant = tickets.redeem(*ticket, stream_tickets::clock::now());
    if (!grant) {
        refuse_unauthenticated(reply, "invalid_stream_ticket",
                               "The stream ticket is unknown, expired or already used; ask for a new one with POST "
                               "/v1/stream/tickets.");
        return std::nullopt;
    }
    auto found = svc.reads.read([&, now = svc.now()](const projections::read_view& v) {
        return domain::authenticate(v.state, grant->token_sha256_hex, now);
    });
    if (!found) {
        refuse_unauthenticated(reply, "unauthenticated",
                               "The token that asked for this ticket is revoked, or its user is locked or removed.");
        return std::nullopt;
    }
    if (svc.limits)
        if (auto wait = svc.limits->refusals_spent(domain::principal_label(found->subject))) {
            reply(too_many_requests(*wait, "Too many refused requests").to_response());
            return std::nullopt;
        }
    if (!grant->account.empty()) ticket_account = grant->account;
    token_sha256_hex = grant->token_sha256_hex;
    return caller{found->subject, found->token.value};
}

void add_ticket_route(router& routes, service& svc, stream_tickets& tickets) {
    routes.add(
        "POST", "/v1/stream/tickets",
        route_doc::of("A single-use ticket that opens the live stream")
            .answered_by_replica()  // for this server's own /v1/stream; nothing goes in the log
            .request("StreamTicketRequest")
            .returns(201, "StreamTicket")
            .with_location()
            .in_tag("audit")
            .json_body()
            .responds({201, 400, 401, 403, 404, 503})
            .describe("For browsers, whose WebSocket API cannot send an Authorization header. Body `{}` or "
                      "`{\"account\": \"a\"}`; allowed to whoever may open GET /v1/stream (with that account). "
                      "Answers `{ticket, expires_at}`: open `GET /v1/stream?ticket=<ticket>` (same `from`, `types`, "
                      "`format`; "
                      "`account` defaults to the ticket's) within " +
                      std::to_string(tickets.options().ttl.count()) +
                      " ms. A ticket opens the stream once, as the principal whose token asked for it, judged when "
                      "it is used (a token revoked or a user locked since is refused). Why not the token in the "
                      "URL: URLs end up in logs, browser history and Referer headers; a ticket there is worthless "
                      "once used or expired. 503 `stream_tickets_exhausted` (with Retry-After) while too many "
                      "unexpired tickets are held (--stream-ticket-bytes)."),
        [&svc, &tickets](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            auto body = parse_json_object_body(ctx, /*allow_empty=*/true);
            if (!body) return void(reply(body.error().to_response()));
            json_reader in(*body);
            auto account = in.optional_string("account");
            if (auto bad = in.finish()) return void(reply(bad->to_response()));
            // The refusal guard (which sees this answer) names a refusal's account from the path
            // or the query, as GET /v1/stream has it; here it came in the body.
            if (account && !ctx.query.get("account")) ctx.query.add("account", *account);
            // Refused now rather than when the browser connects, where it could not read why.
            if (auto allowed = authorize_stream(svc, *who, account); !allowed)
                return void(reply(problem_from(allowed.error()).to_response()));
            // authenticate() found the header's bearer token, so it is there.
            auto token = bearer_token(ctx.header("authorization"));
            auto issued = tickets.issue({sha256_hex(*token), account.value_or("")}, stream_tickets::clock::now());
            if (!issued) {
                const auto wait = std::chrono::ceil<std::chrono::seconds>(issued.error());
                auto p = make_problem(
                    503, "stream_tickets_exhausted",
                    "Too many unexpired stream tickets are held; retry after " + std::to_string(wait.count()) + " s.");
                p.headers.emplace_back("Retry-After", std::to_string(wait.count()));
                return void(reply(p.to_response()));
            }
            const auto expires_at =
                svc.now() + std::chrono::duration_cast<domain::timestamp::duration>(tickets.options().ttl);
            // The stream it opens; the ticket is already in the body, and single-use.
            auto r = created_at(json_response(201, json::object{{"ticket", issued->ticket},
                                                                {"expires_at", replay::format_rfc3339(expires_at)}}),
                                "/v1/stream?ticket=" + issued->ticket);
            r.headers.emplace_back("Cache-Control", "no-store");  // a secret, if a short-lived one
            reply(std::move(r));
        });
}

}  // namespace

void add_stream_routes(router& routes, service& svc, live_hub& hub, stream_tickets& tickets) {
    add_ticket_route(routes, svc, tickets);
    routes.add(
        "GET", "/v1/stream",
        route_doc::of("Live events over WebSocket")
            .in_tag("audit")
            .param(query_param("from",
                               "Start at this log position, inclusive (see \"Positions and cursors\" in the "
                               "README): catch-up from the log, then live; absent: live only",
                               false, "integer"))
            .param(query_param("account", "Only events concerning this account; required for account admins"))
            .param(query_param("types", "Comma-separated event types; absent: all"))
            .param(query_param("format",
                               "json (default): each message the JSON of a GET /v1/events entry; ocsf: the OCSF "
                               "1.1.0 object of the event, as in GET /v1/audit/export?format=ocsf (event types "
                               "without an OCSF class send nothing)"))
            .param(query_param("ticket",
                               "A ticket from POST /v1/stream/tickets instead of the Authorization header (browsers); "
                               "single use"))
            .responds({101, 400, 401, 403, 404, 426})
            .describe("Auditor, operator, or an admin of `account`; authenticated by the Authorization header or, "
                      "from a browser, by `ticket`. One text message per event, the JSON of a "
                      "GET /v1/events entry (format=ocsf: its OCSF object). A subscriber that falls behind (more "
                      "events or bytes waiting for it than "
                      "--live-queue-events / --live-queue-bytes allow, or the server's --live-total-bytes for all "
                      "subscribers reached) is closed (code 1008) with 'last_position=N; next_from=N+1' in the close "
                      "reason; reconnect with from=<next_from>. Pings every 20 s. Access is judged again while "
                      "the stream is open: after any event that can withdraw it (a token revoked or rotated, a "
                      "user locked, removed or retired, roles taken; nothing from that event on is sent before "
                      "the answer) and at every ping interval (expiry). Withdrawn: closed with code 4401 (the "
                      "token no longer authenticates) or 4403 (its principal may no longer read this stream)."),
        [&svc, &hub, &tickets](request_context& ctx, responder reply) {
            std::optional<std::string> ticket_account;
            std::string token_sha256_hex;
            auto who = stream_caller(svc, tickets, ctx, reply, ticket_account, token_sha256_hex);
            if (!who) return;
            std::optional<std::string> account;
            if (auto a = ctx.query.get("account")) account = std::string(*a);
            if (ticket_account && account && *account != *ticket_account) {
                auto p = bad_request("ticket_account_mismatch", "The ticket was issued for another account.");
                p.extra["field"] = "account";
                return void(reply(p.to_response()));
            }
            if (!account) account = ticket_account;
            if (auto allowed = authorize_stream(svc, *who, account); !allowed)
                return void(reply(problem_from(allowed.error()).to_response()));

            live_filter filter;
            if (account) filter.account = *account;
            if (auto format = ctx.query.get("format"); format && *format != "json") {
                if (*format != "ocsf")
                    return void(
                        reply(query_problem("invalid_query", "format", "format must be json or ocsf.").to_response()));
                filter.format = live_format::ocsf;
            }
            if (auto types = ctx.query.get("types")) {
                const auto& known = event_type_names();
                std::string_view rest = *types;
                while (!rest.empty()) {
                    auto comma = rest.find(',');
                    auto name = rest.substr(0, comma);
                    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
                    if (std::find(known.begin(), known.end(), name) == known.end()) {
                        auto p = query_problem("unknown_event_type", "types",
                                               "'" + std::string(name) + "' is not an event type.");
                        p.extra["known_types"] = json::array(known.begin(), known.end());
                        return void(reply(p.to_response()));
                    }
                    filter.types.emplace_back(name);
                }
            }
            std::optional<eventstore::log_position> from;
            if (auto raw = ctx.query.get("from")) {
                std::uint64_t v = 0;
                auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
                if (raw->empty() || ec != std::errc{} || end != raw->data() + raw->size())
                    return void(reply(
                        query_problem("invalid_query", "from", "from must be a non-negative integer.").to_response()));
                // from=N starts at N, as on /v1/events and the export; head + 1 is the next event
                // to be recorded, where a subscriber that had seen everything resumes.
                if (const auto head = svc.store.head().position; v > head.value + 1) {
                    auto p = query_problem("from_beyond_head", "from",
                                           "from is after the next position of the log (head + 1).");
                    p.extra["head"] = head.value;
                    return void(reply(p.to_response()));
                }
                // The live session counts from the last position the subscriber already has.
                from = eventstore::log_position{v == 0 ? 0 : v - 1};
            }
            response r;
            r.upgrade = make_live_upgrade(hub, svc.log, std::move(filter), from, ctx.request_id,
                                          stream_access(svc, std::move(token_sha256_hex), std::move(account)));
            reply(std::move(r));
        });
}

}  // namespace roster::api
