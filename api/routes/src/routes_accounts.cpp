// Accounts, partner links, access decisions and the event log listing (tokens: routes_tokens.cpp).
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "roster/api/domain_problem.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/request_meta.hpp"
#include "roster/api/resource_routes.hpp"
#include "roster/api/secrets.hpp"
#include "roster/api/service.hpp"
#include "roster/api/wire.hpp"
#include "roster/api/wire_requests.hpp"
#include "roster/replay/event_json.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace json = boost::json;
using namespace roster::domain;

namespace {

std::optional<std::uint64_t> query_u64(const request_context& ctx, std::string_view name, const responder& reply) {
    auto v = ctx.query.get(name);
    if (!v || v->empty()) return std::uint64_t{0};
    std::uint64_t out = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc{} || end != v->data() + v->size()) {
        reply(query_problem("invalid_query", std::string(name),
                            "Query parameter '" + std::string(name) + "' must be a non-negative integer.")
                  .to_response());
        return std::nullopt;
    }
    return out;
}

}  // namespace

void add_account_routes(router& routes, service& svc) {
    routes.add("POST", "/v1/accounts",
               command_doc(route_doc::of("Open an account")
                               .request("OpenAccount")
                               .request_example_json(R"({"id": "acme", "name": "Acme Corp", "kind": "customer"})")
                               .returns(201, "Account")
                               .with_etag()
                               .with_location()
                               .in_tag("accounts")
                               .json_body()
                               .responds({201})
                               .describe("Operator only.")),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);
                   if (!req) return;
                   const auto* who = &req->who;
                   const auto* body = &req->body;
                   auto cmd = wire::parse_open_account(*body, account_id{"acc-" + random_hex(8)});
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   const account_id account = cmd->id;
                   submit_command(svc, ctx, reply, *who, std::move(*cmd), [account](const decided_view& v) {
                       return created_at(
                           json_with_etag(201, wire::account(*v.state.account(account), v.version_of(account)),
                                          v.version_of(account)),
                           "/v1/accounts/" + account.value);
                   });
               });

    routes.add(
        "GET", "/v1/accounts",
        route_doc::of("List the accounts")
            .returns(200, "AccountList")
            .in_tag("accounts")
            .param(query_param("limit",
                               "Page size, 1 to 500 (default 100); above 500 is 400 invalid_query with field limit. "
                               "A page also ends once its accounts take --page-bytes (default 4 MiB) of JSON",
                               false, "integer"))
            .param(query_param("cursor", "next_cursor of the previous page"))
            .param(as_of_param())
            .describe("Operator and auditor. Answer: {accounts: [{id, name, kind, version, partners, customers}], "
                      "next_cursor}, ordered by id; next_cursor (pass it as cursor) is null on the last page."),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            const auto page = page_limit(ctx);
            if (!page) return void(reply(page.error().to_response()));
            const std::size_t limit = *page;
            // Account ids are [a-z0-9-]{1,64}.
            const auto cursor =
                page_cursor(ctx, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
            if (!cursor) return void(reply(cursor.error().to_response()));
            const std::string& after = *cursor;
            const auto actor = who->actor;
            const auto page_bytes = svc.page_bytes;
            answer_read(
                svc, ctx, reply, *who,
                [actor](const state&) -> domain::result<void> {
                    if (is_operator(actor) || is_auditor(actor)) return {};
                    return make_error(error_kind::forbidden, codes::not_allowed, std::string(no_access_detail));
                },
                [after, limit, page_bytes](const projections::read_view& v) {
                    // The accounts are a hash map: one pass keeps the `limit` + 1 smallest ids after
                    // the cursor (a heap would save little; accounts number in the thousands).
                    std::vector<const account_record*> rows;
                    for (const auto& [id, record] : v.state.accounts)
                        if (id.value > after) rows.push_back(&record);
                    return id_page("accounts", std::move(rows), limit, page_bytes,
                                   [&](const account_record& a) { return wire::account(a, v.version_of(a.id)); });
                });
        });

    routes.add("GET", "/v1/accounts/{a}",
               route_doc::of("Get an account")
                   .returns(200, "Account")
                   .with_etag()
                   .in_tag("accounts")
                   .param(path_param("a", "Account id"))
                   .describe("Members, operator, auditor. ETag = account version.")
                   .param(as_of_param()),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   answer_read(
                       svc, ctx, reply, *who,
                       [=](const state& s) { return authorize_read(s, who->actor, read_kind::account, a); },
                       [=](const projections::read_view& v) {
                           const auto version = v.version_of(a);
                           return json_with_etag(200, wire::account(*v.state.account(a), version), version);
                       });
               });

    routes.add("POST", "/v1/accounts/{a}/partners",
               command_doc(route_doc::of("Link a partner account to a customer account")
                               .request("LinkPartner")
                               .returns(200, "Account")
                               .with_etag()
                               .header("If-Match")
                               .in_tag("accounts")
                               .json_body()
                               .param(path_param("a", "Customer account id"))),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);
                   if (!req) return;
                   const auto* who = &req->who;
                   const auto* body = &req->body;
                   account_id a{std::string(ctx.param("a"))};
                   auto cmd = wire::parse_link_partner(*body, a);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(
                       svc, ctx, reply, *who, std::move(*cmd),
                       [a](const decided_view& v) {
                           const auto version = v.version_of(a);
                           return json_with_etag(200, wire::account(*v.state.account(a), version), version);
                       },
                       if_match_on(a));
               });

    routes.add(
        "GET", "/v1/access",
        route_doc::of("Access decision for (user, account, portal)")
            .returns(200, "AccessDecision")
            .in_tag("access")
            .param(query_param("user", "User id", true))
            .param(query_param("account", "Account id", true))
            .param(query_param("portal", "support, impact or learning", true))
            .param(as_of_param())
            .describe("Operator and service principals. Answer: {allowed, roles, reason, message}; roles in the one "
                      "notation roles are written in, keyed by the portal asked: {\"support\": [\"member\"]} "
                      "({\"support\": []} when denied)."),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            auto user = ctx.query.get("user");
            auto account = ctx.query.get("account");
            auto portal_text = ctx.query.get("portal");
            if (!user || !account || !portal_text) {
                const char* missing = !user ? "user" : !account ? "account" : "portal";
                return void(reply(
                    query_problem("missing_query", missing, "user, account and portal are required.").to_response()));
            }
            auto p = parse_portal(*portal_text);
            if (!p)
                return void(
                    reply(query_problem("invalid_query", "portal", "portal must be support, impact or learning.")
                              .to_response()));
            answer_read(
                svc, ctx, reply, *who, [=](const state& s) { return authorize_read(s, who->actor, read_kind::access); },
                [=](const projections::read_view& v) {
                    auto d =
                        access_decision(v.state, user_id{std::string(*user)}, account_id{std::string(*account)}, *p);
                    std::string body;
                    body.reserve(160);
                    json_writer w(body);
                    w.begin_object().member("allowed", d.allowed).key("roles");
                    wire::write_roles_in_portal(w, *p, d.roles);
                    if (d.allowed)
                        w.key("reason").null().key("message").null();
                    else
                        w.member("reason", to_string(d.reason)).member("message", d.message);
                    w.end_object();
                    return json_text_response(200, std::move(body));
                });
        });

    routes.add("GET", "/v1/events",
               route_doc::of("Events in log order")
                   .returns(200, "EventPage")
                   .in_tag("audit")
                   .param(query_param("from", "Inclusive start (default 1), README \"Positions and cursors\"", false,
                                      "integer"))
                   .param(query_param("limit",
                                      "At most this many (default 100, max 1000); fewer once the page's "
                                      "events take --page-bytes (default 4 MiB) of JSON",
                                      false, "integer"))
                   .param(query_param("stream", "Only this stream"))
                   .param(query_param("type", "Only this event type"))
                   .param(query_param("account", "Only events concerning this account"))
                   .describe("Auditor and operator. Positions are integers below 2^53, safe as JSON numbers. "
                             "Answer: {events, next_from, head}. A page ends after `limit` events or once its events "
                             "take --page-bytes (default 4 MiB) of JSON, whichever comes first (always at least one "
                             "event); either way next_from (pass it as from) continues it, null at the head."),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   auto denied = svc.reads.read([&](const projections::read_view& v) {
                       return authorize_read(v.state, who->actor, read_kind::events);
                   });
                   if (!denied) return void(reply(problem_from(denied.error()).to_response()));
                   auto from = query_u64(ctx, "from", reply);
                   if (!from) return;
                   auto limit = query_u64(ctx, "limit", reply);
                   if (!limit) return;
                   const std::size_t max_rows = *limit == 0 ? 100 : std::min<std::uint64_t>(*limit, 1000);
                   auto stream = ctx.query.get("stream");
                   auto type = ctx.query.get("type");
                   auto account = ctx.query.get("account");
                   // Serialized as it goes and cut at svc.page_bytes: `limit` events of ~1 MB each
                   // would otherwise be held twice (JSON tree and text) per concurrent request.
                   std::string events = "[";
                   std::size_t rows = 0;
                   eventstore::log_position last;
                   // Filters scan forward; the scan is bounded so a rare filter cannot pin a thread.
                   std::size_t scanned = 0;
                   constexpr std::size_t max_scanned = 100'000;
                   auto r = svc.store.read_from(std::max(eventstore::log_position{*from}, eventstore::log_position{1}),
                                                SIZE_MAX, [&](const eventstore::recorded_event& e) {
                                                    last = e.position;
                                                    if (++scanned > max_scanned) return false;
                                                    if (stream && e.stream != *stream) return true;
                                                    if (type && e.type != *type) return true;
                                                    if (account && !domain::concerns_account(e.payload, *account))
                                                        return true;
                                                    if (rows++ > 0) events.push_back(',');
                                                    events += json::serialize(replay::event_json(e));
                                                    return rows < max_rows && events.size() < svc.page_bytes;
                                                });
                   if (!r) return void(reply(service_unavailable(r.error().message).to_response()));
                   events.push_back(']');
                   const auto head = svc.store.head().position;
                   response page;
                   page.status = 200;
                   page.content_type = "application/json";
                   page.body = "{\"events\":" + std::move(events) + ",\"next_from\":" +
                               (last < head ? std::to_string(last.next().value) : std::string("null")) +
                               ",\"head\":" + std::to_string(head.value) + "}";
                   reply(std::move(page));
               });

    add_me_routes(routes, svc);
}

}  // namespace roster::api
