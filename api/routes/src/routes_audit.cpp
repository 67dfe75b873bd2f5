// Audit: chain verification and the streamed export (SPEC §3 "Verify", "Export").
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/api/domain_problem.hpp"
#include "roster/replay/export.hpp"
#include "roster/replay/log_range.hpp"
#include "roster/replay/verify.hpp"
#include "routes_common.hpp"

namespace roster::api {

using namespace roster::domain;

bool allowed_audit_read(service& svc, const caller& who, const responder& reply) {
    auto ok = svc.reads.read(
        [&](const projections::read_view& v) { return authorize_read(v.state, who.actor, read_kind::events); });
    if (!ok) reply(problem_from(ok.error()).to_response());
    return static_cast<bool>(ok);
}

response export_response(const eventstore::store& store, replay::export_format format, eventstore::log_position from,
                         eventstore::log_position to, std::optional<std::string> account, bool include_envelope) {
    response r;
    r.status = 200;
    const bool csv = format == replay::export_format::csv;
    r.content_type = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
    const char* suffix = csv ? "csv" : format == replay::export_format::ocsf ? "ocsf.jsonl" : "jsonl";
    r.headers.emplace_back("Content-Disposition", std::string("attachment; filename=\"roster-events.") + suffix + "\"");
    auto reader = std::make_shared<replay::export_reader>(store, format, from, to);
    if (account) reader->filter_account(std::move(*account));
    reader->include_envelope(include_envelope);
    r.stream = [reader](std::string& out) {
        auto more = reader->next(out);
        // Throwing truncates the chunked transfer: a client never mistakes a failed export for a
        // complete one.
        if (!more) throw std::runtime_error("export failed: " + more.error().message);
        return *more;
    };
    return r;
}

void add_audit_routes(router& routes, service& svc) {
    routes.add(
        "GET", "/v1/audit/verify",
        route_doc::of("Verify the event hash chain")
            .returns(200, "ChainVerification")
            .in_tag("audit")
            .describe("Auditor and operator. Walks the whole chain: {ok, checked, first_bad_position} (+ message when "
                      "broken), and the head it walked to: head_position, head_hash (hex). Takes about a second per "
                      "million events."),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who || !allowed_audit_read(svc, *who, reply)) return;
            // The head first, so head_hash is the hash of the last position verified.
            const auto head = svc.store.head();
            auto body = boost::json::parse(
                            replay::verify_report_json(svc.store.verify(eventstore::log_position{1}, head.position)))
                            .as_object();
            body["head_position"] = head.position.value;
            body["head_hash"] = eventstore::to_hex(head.hash);
            reply(json_response(200, body));
        });
    routes.add(
        "GET", "/v1/audit/export",
        route_doc::of("Export events as JSON Lines, CSV or OCSF (streamed)")
            .returns(200, "ExportJsonLines", "application/x-ndjson")
            .returns(200, "ExportCsv", "text/csv")
            .in_tag("audit")
            .param(query_param("format", "jsonl (default), csv, or ocsf (OCSF 1.1.0 JSON Lines for SIEMs)"))
            .param(query_param(
                "since",
                "From this log position or RFC 3339 time, inclusive (see \"Positions and cursors\" in the README)"))
            .param(query_param("until", "Up to this log position or RFC 3339 time (inclusive)"))
            .param(query_param("account", "Only events concerning this account (the same events as its history)"))
            .param(query_param("include",
                               "envelope: each JSON Lines object also carries `envelope`, base64 of "
                               "the stored Cap'n Proto bytes the hash chain covers (eventstore/README.md)"))
            .describe(
                "Auditor and operator. Chunked transfer, constant server memory. JSON Lines: one event "
                "object per line (as /v1/events: hash, prev_hash, correlation_id, causation_id, reason, "
                "reference, traceparent, labels, data with before/after). CSV (RFC 4180, CRLF): position,recorded_at,"
                "stream,version,type,actor,token_id,address,request_id,reason,data,correlation_id,"
                "causation_id,reference,prev_hash,hash,labels,traceparent (data and labels as JSON). OCSF "
                "(application/x-ndjson): one OCSF 1.1.0 object per line, Account Change (class_uid 3001) for "
                "user_created, member_added, roles_granted, roles_revoked, all_roles_removed, user_locked, "
                "user_unlocked, member_removed, profile_retired, API Activity (6003, status Failure) for "
                "access_denied; other event types have no line (metadata.sequence is the log position, "
                "metadata.uid the event's hash; see the README). The range ends at "
                "the head as of the request; a truncated transfer (no final chunk) means the export failed."),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who || !allowed_audit_read(svc, *who, reply)) return;
            auto format = replay::parse_export_format(ctx.query.get("format").value_or("jsonl"));
            if (!format)
                return void(reply(
                    query_problem("invalid_query", "format", "format must be jsonl, csv or ocsf.").to_response()));
            eventstore::log_position from{1}, to = svc.store.head().position;
            if (auto since = ctx.query.get("since"); since && !since->empty()) {
                auto p = replay::parse_log_point(*since);
                if (!p)
                    return void(reply(
                        query_problem("invalid_query", "since", "since must be a log position or an RFC 3339 time.")
                            .to_response()));
                from = replay::first_position_since(svc.store, *p);
            }
            if (auto until = ctx.query.get("until"); until && !until->empty()) {
                auto p = replay::parse_log_point(*until);
                if (!p)
                    return void(reply(
                        query_problem("invalid_query", "until", "until must be a log position or an RFC 3339 time.")
                            .to_response()));
                to = std::min(to, replay::last_position_until(svc.store, *p));
            }
            std::optional<std::string> account;
            if (auto a = ctx.query.get("account"); a && !a->empty()) account = std::string(*a);
            bool envelope = false;
            if (auto include = ctx.query.get("include"); include && !include->empty()) {
                if (*include != "envelope" || *format != replay::export_format::jsonl)
                    return void(reply(query_problem("invalid_query", "include",
                                                    "include=envelope is the one option, for format=jsonl.")
                                          .to_response()));
                envelope = true;
            }
            reply(export_response(svc.store, *format, from, to, std::move(account), envelope));
        });
}

}  // namespace roster::api
