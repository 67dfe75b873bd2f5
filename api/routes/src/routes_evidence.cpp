// Evidence packs (issue 13, item 8): an account's events in a time range as one tar an outsider
// verifies offline (replay/evidence.hpp has the layout). The account's positions come from the
// live read model's history index (the account filter of history, stream and export, decided by
// domain::concerned), so a pack costs point reads of its own events, never a scan of the log.
#include "roster/api/checkpointer.hpp"
#include "roster/api/domain_problem.hpp"
#include "roster/api/proof_routes.hpp"
#include "roster/domain/events.hpp"
#include "roster/replay/evidence.hpp"
#include "roster/replay/key_rotation.hpp"
#include "roster/replay/rfc3339.hpp"
#include "routes_common.hpp"

namespace roster::api {
using namespace roster::domain;
namespace es = roster::eventstore;

namespace {

// How long a pack waits for the checkpointer to sign the head (normally milliseconds: it trails
// the head by a few events; after a restart it may still be catching up).
constexpr std::chrono::seconds sign_timeout{10};

response field_problem(std::string code, std::string field, std::string detail) {
    auto p = bad_request(std::move(code), std::move(detail));
    p.extra["field"] = std::move(field);
    return p.to_response();
}

// An RFC 3339 query parameter: nullopt when absent; false (and the 400 sent) when malformed.
bool time_param(const request_context& ctx, const char* name, std::optional<timestamp>& out, const responder& reply) {
    auto v = ctx.query.get(name);
    if (!v || v->empty()) return true;
    out = replay::parse_rfc3339(*v);
    if (!out) reply(field_problem("invalid_query", name, std::string(name) + " must be an RFC 3339 time."));
    return out.has_value();
}

// The rotation statements that lead to `key`, in log order (the rotations route's `statement`s
// through the one whose new key is `key`; none when `key` is the log's first). Bounded as that
// route is: a verifier refuses a longer chain anyway.
es::result<std::vector<std::string>> rotations_to(const es::store& store, const es::verifier_key& key) {
    constexpr std::size_t max_bytes = 8 * 1024 * 1024;
    const std::string wanted = key.to_string();
    std::vector<std::string> notes;
    std::size_t through = 0, bytes = 0;
    auto r = store.read_stream(signing_key_stream, stream_version{1}, replay::max_rotation_statements + 1,
                               [&](const es::recorded_event& e) {
                                   const auto* x = std::get_if<signing_key_rotated>(&e.payload);
                                   if (!x) return true;
                                   bytes += x->statement.size();
                                   if (notes.size() == replay::max_rotation_statements || bytes > max_bytes)
                                       return false;
                                   notes.push_back(x->statement);
                                   if (x->new_verifier_key == wanted) through = notes.size();
                                   return true;
                               });
    if (!r) return r.error();
    notes.resize(through);
    return notes;
}

}  // namespace

void add_evidence_routes(router& routes, service& svc, checkpointer& checkpoints) {
    routes.add(
        "GET", "/v1/audit/evidence",
        route_doc::of("Evidence pack of one account (a tar an outsider verifies offline)")
            .answered_by_leader()  // its manifest is signed: a replica holds no signing key
            .returns(200, "EvidencePack", "application/x-tar")
            .in_tag("audit")
            .responds({200, 404, 503})
            .param(query_param("account", "Account id", true))
            .param(query_param("since", "RFC 3339 time, inclusive (default: the beginning)"))
            .param(query_param("until", "RFC 3339 time, exclusive (default: the head)"))
            .describe(
                "Auditor and operator. application/x-tar, streamed (chunked): the events concerning the account "
                "in [since, until) (the same selection as its history), each as events/<position>.json (the "
                "export's JSON) and events/<position>.bin (the stored bytes the Merkle leaf hashes), "
                "proofs/<position>.json (inclusion proof against checkpoint.txt, signed for the head as of the "
                "request), public-key.pem, verifier-key.txt, key-rotations.txt (the signed rotation statements, in log "
                "order, through the one that introduced the pack's key), manifest.json and manifest.sig (the "
                "manifest's "
                "SHA-256 signed by the log key: the selection is asserted by that signature), README.md and "
                "verify.py (the offline procedure). 400 with `field` for a bad account or time, or a range of "
                "more than 50000 events (range_too_large); 404 account_not_found; 503 no_checkpoint when no "
                "checkpoint of the head could be signed; 500 history_index_damaged when a stored history index segment "
                "does not "
                "decode. A truncated transfer means the pack failed."),
        [&svc, &checkpoints](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who || !allowed_audit_read(svc, *who, reply)) return;
            auto account = ctx.query.get("account");
            if (!account || account->empty())
                return void(reply(field_problem("invalid_query", "account", "account is required.")));
            std::optional<timestamp> since, until;
            if (!time_param(ctx, "since", since, reply) || !time_param(ctx, "until", until, reply)) return;
            if (since && until && *since >= until)
                return void(reply(field_problem("invalid_query", "until", "until must be after since.")));
            replay::pack_selection selection{std::string(*account), since ? replay::format_rfc3339(*since) : "",
                                             until ? replay::format_rfc3339(*until) : ""};
            // Off the I/O thread: the index walk and the wait for a signature can take a while.
            auto build = [&svc, &checkpoints, reply, selection, since, until, request_id = ctx.request_id]() mutable {
                projections::history_page_request req;
                req.subject = projections::history_subject::account;
                req.id = selection.account;
                req.limit = replay::max_pack_events;
                if (since)
                    req.from_position = svc.store.position_at(*since - std::chrono::microseconds(1))
                                            .value_or(es::log_position{0})
                                            .next();
                // Exclusive: the last event recorded before `until`.
                if (until)
                    req.to_position =
                        svc.store.position_at(*until - std::chrono::microseconds(1)).value_or(es::log_position{0});
                std::optional<response> refused;
                auto positions = svc.reads.read([&](const projections::read_view& v) {
                    std::vector<es::log_position> out;
                    if (!v.state.account(account_id{selection.account}))
                        refused = not_found_response("account_not_found", "No such account.");
                    else if (!v.history)
                        refused = service_unavailable("The history index is not kept on this server.").to_response();
                    else if (req.from_position <= req.to_position) {
                        if (auto page = v.history->page(req))
                            out = std::move(*page);
                        else
                            refused = history_damaged(svc, request_id, page.error()).to_response();
                    }
                    return out;
                });
                if (refused) return void(reply(std::move(*refused)));
                if (positions.size() > replay::max_pack_events)
                    return void(reply(field_problem("range_too_large", "since",
                                                    "More than " + std::to_string(replay::max_pack_events) +
                                                        " events in the range; narrow since/until.")));
                // The head after the index walk: every position found is at or below it. The key is
                // taken first and the checkpoint must open with it, so a rotation in between cannot
                // leave the checkpoint and the manifest signed by different keys (it is retried).
                std::optional<signed_checkpoint> cp;
                std::shared_ptr<const es::signing_key> key;
                for (int attempt = 0; attempt < 3 && !cp; ++attempt) {
                    key = checkpoints.key();
                    cp = checkpoints.sign_through(svc.store.head().position.value, sign_timeout);
                    if (!cp) break;
                    const es::verifier_key k = key->verifier();
                    if (!es::open_checkpoint(cp->note, std::span(&k, 1))) cp.reset();
                }
                if (!cp)
                    return void(reply(
                        make_problem(503, "no_checkpoint", "No checkpoint of the log's head could be signed in time.")
                            .to_response()));
                auto rotations = rotations_to(svc.store, key->verifier());
                if (!rotations) return void(reply(service_unavailable(rotations.error().message).to_response()));
                replay::pack_signer signer{cp->note, cp->body, key->verifier(),
                                           [key](std::string_view text) { return es::sign_note(text, *key); },
                                           std::move(*rotations)};
                auto writer = std::make_shared<replay::evidence_writer>(
                    svc.store, std::make_unique<stored_subtrees>(svc.store), std::move(selection), std::move(positions),
                    std::move(signer), svc.now());
                response r;
                r.status = 200;
                r.content_type = "application/x-tar";
                r.headers.emplace_back("Content-Disposition", "attachment; filename=\"roster-evidence.tar\"");
                r.stream = [writer](std::string& out) {
                    auto more = writer->next(out);
                    // Throwing truncates the chunked transfer: a failed pack never looks complete.
                    if (!more) throw std::runtime_error("evidence pack failed: " + more.error().message);
                    return *more;
                };
                reply(std::move(r));
            };
            if (!svc.run_slow_read) return void(build());
            if (!svc.run_slow_read(domain::principal_label(who->actor), std::move(build)))
                reply(too_many_requests(std::chrono::seconds(1), "Too many slow reads waiting").to_response());
        });
}

}  // namespace roster::api
