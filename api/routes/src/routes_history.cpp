// History of an account, a user or an actor (SPEC §3 "History"), served from the live read
// model's history index: a page costs one index walk plus a point read per event returned.
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "roster/api/domain_problem.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/log_range.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace json = boost::json;
using namespace roster::domain;

namespace {

constexpr std::size_t default_limit = 100;
constexpr std::size_t max_limit = 1000;

// The page request from since/until/type/limit/cursor, or a 400 problem.
boost::system::result<projections::history_page_request, problem> page_request(const service& svc,
                                                                               const request_context& ctx) {
    projections::history_page_request r;
    r.limit = default_limit;
    if (auto since = ctx.query.get("since"); since && !since->empty()) {
        auto p = replay::parse_log_point(*since);
        if (!p) return query_problem("invalid_query", "since", "since must be a log position or an RFC 3339 time.");
        r.from_position = replay::first_position_since(svc.store, *p);
    }
    if (auto until = ctx.query.get("until"); until && !until->empty()) {
        auto p = replay::parse_log_point(*until);
        if (!p) return query_problem("invalid_query", "until", "until must be a log position or an RFC 3339 time.");
        r.to_position = replay::last_position_until(svc.store, *p);
    }
    if (auto cursor = ctx.query.get("cursor"); cursor && !cursor->empty()) {
        // The cursor is the position the next page starts at, inclusive, as from= everywhere.
        std::uint64_t at = 0;
        auto [end, ec] = std::from_chars(cursor->data(), cursor->data() + cursor->size(), at);
        if (ec != std::errc{} || end != cursor->data() + cursor->size())
            return query_problem("invalid_cursor", "cursor", "The cursor is not one this server issued.");
        r.from_position = std::max(r.from_position, eventstore::log_position{at});
    }
    if (auto types = ctx.query.get("type"); types && !types->empty()) {
        r.types = 0;
        std::string_view rest = *types;
        while (true) {
            auto comma = rest.find(',');
            auto name = rest.substr(0, comma);
            auto bit = projections::event_type_bit(name);
            if (!bit)
                return query_problem("invalid_query", "type",
                                     "Unknown event type '" + std::string(name) + "' in type.");
            r.types |= *bit;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    if (auto l = ctx.query.get("limit"); l && !l->empty()) {
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
        if (ec != std::errc{} || end != l->data() + l->size() || n == 0 || n > max_limit)
            return query_problem("invalid_query", "limit", "limit must be 1 to 1000.");
        r.limit = n;
    }
    return r;
}

void answer_history(service& svc, const request_context& ctx, const responder& reply,
                    projections::history_subject subject, std::string id, const read_authorizer& authorize) {
    auto req = page_request(svc, ctx);
    if (!req) return void(reply(req.error().to_response()));
    req->subject = subject;
    req->id = std::move(id);
    std::optional<problem> refused;
    bool indexed = true;
    std::optional<eventstore::error> damaged;
    auto positions = svc.reads.read([&](const projections::read_view& v) -> std::vector<eventstore::log_position> {
        if (auto ok = authorize(v.state); !ok) {
            refused = problem_from(ok.error());
            return {};
        }
        if (!v.history) {
            indexed = false;
            return {};
        }
        auto page = v.history->page(*req);
        if (!page) {
            damaged = page.error();
            return {};
        }
        return std::move(*page);
    });
    if (refused) return void(reply(refused->to_response()));
    if (!indexed)
        return void(reply(service_unavailable("The history index is not kept on this server.").to_response()));
    if (damaged) return void(reply(history_damaged(svc, ctx.request_id, *damaged).to_response()));
    bool more = positions.size() > req->limit;
    if (more) positions.resize(req->limit);
    // Serialized as it goes and cut at svc.page_bytes: a page of `limit` events of ~1 MB each
    // would otherwise be held twice (JSON tree and text) per concurrent request.
    std::string body = "{\"events\":[";
    std::size_t taken = 0;
    for (auto p : positions) {
        ++taken;
        auto e = svc.store.read_at(p);
        if (!e) return void(reply(service_unavailable(e.error().message).to_response()));
        if (!*e) continue;
        if (body.back() != '[') body.push_back(',');
        body += json::serialize(replay::event_json(**e));
        if (body.size() >= svc.page_bytes) break;
    }
    if (taken < positions.size()) {
        more = true;
        positions.resize(taken);
    }
    body += "],\"next_cursor\":";
    body += more ? json::serialize(json::value(std::to_string(positions.back().next().value))) : std::string("null");
    body += "}";
    response r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = std::move(body);
    reply(std::move(r));
}

route_doc history_doc(std::string summary, std::string description) {
    return route_doc::of(std::move(summary))
        .returns(200, "HistoryPage")
        .in_tag("audit")
        .param(query_param(
            "since",
            "From this log position or RFC 3339 time, inclusive (see \"Positions and cursors\" in the README)"))
        .param(query_param("until", "Up to this log position or RFC 3339 time (inclusive)"))
        .param(query_param("type", "Only these event types, comma-separated (e.g. roles_granted,roles_revoked)"))
        .param(query_param("limit",
                           "Page size (default 100, max 1000); a page also ends once its events take "
                           "4 MiB of JSON (rosterd --page-bytes), with at least one event",
                           false, "integer"))
        .param(query_param("cursor",
                           "next_cursor of the previous page: the position it starts at, inclusive (see \"Positions "
                           "and cursors\" in the README)"))
        .describe(
            std::move(description) +
            " Answer: {events:[event...], next_cursor}. Events in log order; each carries who (actor), when "
            "(recorded_at), what (type, data), why (reason) and the request_id. A page ends after `limit` events or "
            "once its events take --page-bytes (default 4 MiB) of JSON, whichever comes first (always at least "
            "one event); either way next_cursor continues it, null when nothing follows. 500 history_index_damaged "
            "when a stored history index segment the range spans does not decode (never a page lacking its entries).");
}

}  // namespace

void add_history_routes(router& routes, service& svc) {
    routes.add("GET", "/v1/accounts/{a}/history",
               history_doc("History of an account",
                           "Auditor, operator, admin of {a}. Events that concern the account: its own stream, the "
                           "creation of its employees, access denials in it, and profile facts (lock, unlock, "
                           "registration, retirement) of users who were its employees or third-party members at "
                           "the time.")
                   .param(path_param("a", "Account id")),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   answer_history(svc, ctx, reply, projections::history_subject::account, a.value, [&](const state& s) {
                       return authorize_read(s, who->actor, read_kind::account_history, a);
                   });
               });
    routes.add("GET", "/v1/users/{u}/history",
               history_doc("History of a user",
                           "Auditor, operator, admin of the user's employer. Every event about the user: profile, "
                           "memberships and roles in any account, invitations, contact hand-overs, and denials of "
                           "the user's own attempts.")
                   .param(path_param("u", "User id")),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   user_id u{std::string(ctx.param("u"))};
                   answer_history(svc, ctx, reply, projections::history_subject::user, u.value, [&](const state& s) {
                       return authorize_read(s, who->actor, read_kind::user_history, {}, u);
                   });
               });
    routes.add("GET", "/v1/audit/history",
               history_doc("History of an actor",
                           "Auditor and operator. Every event an actor caused; actor is the principal as recorded "
                           "in the log: operator, auditor, service:<name>, user:<id>, anonymous, system.")
                   .param(query_param("actor", "Principal label, e.g. user:usr_1", true)),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   auto actor = ctx.query.get("actor");
                   if (!actor || actor->empty())
                       return void(reply(query_problem("missing_query", "actor", "actor is required.").to_response()));
                   answer_history(svc, ctx, reply, projections::history_subject::actor, std::string(*actor),
                                  [&](const state& s) { return authorize_read(s, who->actor, read_kind::events); });
               });
}

}  // namespace roster::api
