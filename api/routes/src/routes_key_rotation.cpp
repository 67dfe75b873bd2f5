// Signing-key rotation (issue 13, item 6: "key rotation is an event signed by the old key").
// The order of a rotation is what makes a kill -9 at any step recoverable (rosterd's start
// reconciles the key files with the log, see reconcile_signing_key):
//   1. a new key is written beside the current one (`<key>.next-<id>`, 0600, exclusive);
//   2. a statement naming both keys is signed by the old key and the new one;
//   3. a signing_key_rotated event carrying it is appended: from here the log says "new key";
//   4. the key files are renamed (old to `.retired-<id>`, new to the key path), fsynced;
//   5. the checkpointer signs with the new key, and signs a checkpoint with it at once.
#include <cstdio>
#include <future>
#include <mutex>

#include <boost/json/array.hpp>

#include "roster/api/checkpointer.hpp"
#include "roster/api/domain_problem.hpp"
#include "roster/api/proof_routes.hpp"
#include "roster/api/request_meta.hpp"
#include "roster/api/wire_requests.hpp"
#include "roster/domain/errors.hpp"
#include "roster/domain/events.hpp"
#include "roster/domain/text.hpp"
#include "roster/replay/key_rotation.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace es = roster::eventstore;

namespace {

// The list of statements is one page; a verifier refuses a longer chain anyway.
constexpr std::size_t max_listed_bytes = 8 * 1024 * 1024;

response unavailable(std::string detail) {
    return make_problem(503, "key_rotation_failed", std::move(detail)).to_response();
}

struct rotation_state {
    service& svc;
    checkpointer& checkpoints;
    key_rotation_options options;
    std::mutex one_at_a_time;  // two rotations must not both start from the same old key
};

// Runs off the I/O threads (it waits for the writer, fsyncs and waits for the checkpointer).
void rotate(rotation_state& st, const caller& who, eventstore::event_metadata meta, const responder& reply) {
    std::lock_guard lock(st.one_at_a_time);
    const auto& origin = st.options.origin;
    const auto old_key = st.checkpoints.key();
    auto next = es::signing_key::generate(origin);
    if (!next) return void(reply(unavailable("generating a key failed: " + next.error().message)));
    const auto next_path = next_key_path(st.options.key_path, next->key_id());
    if (auto r = next->save(next_path); !r)
        return void(reply(unavailable("writing the new key failed: " + r.error().message)));
    const auto discard = [&] {
        std::error_code ec;
        std::filesystem::remove(next_path, ec);
    };
    replay::rotation_statement statement{origin, old_key->verifier(), next->verifier(),
                                         st.svc.store.head().position.value};
    auto note = replay::sign_rotation_statement(statement, *old_key, *next);
    if (!note) {
        discard();
        return void(reply(unavailable("signing the rotation statement failed: " + note.error().message)));
    }
    if (st.options.crash_at) st.options.crash_at("key_rotation_before_event");

    domain::signing_key_rotated event{statement.old_key.to_string(), statement.new_key.to_string(), statement.tree_size,
                                      *note};
    command_request request;
    request.actor = who.actor;
    request.meta = std::move(meta);
    request.record = domain::event(event);
    // Shared: the writer thread may still be inside set_value when this thread wakes and returns.
    auto done = std::make_shared<std::promise<command_result>>();
    auto durable = done->get_future();
    request.done = [done](command_result r) { done->set_value(std::move(r)); };
    st.svc.writer.submit(std::move(request));
    auto result = durable.get();
    if (!std::holds_alternative<outcome::accepted>(result)) {
        // Nothing was appended: the log still names the old key, which keeps signing.
        discard();
        return void(reply(unavailable("the rotation event was not recorded: " + describe(result))));
    }
    if (st.options.crash_at) st.options.crash_at("key_rotation_after_event");

    if (auto r = install_next_key(st.options.key_path, origin, statement.new_key.key_id); !r) {
        st.svc.log.error("key_rotation_install_failed", {{"error", r.error().message}});
        return void(reply(unavailable("the rotation is recorded but installing the key file failed (" +
                                      r.error().message + "); restart rosterd to finish it")));
    }
    const std::uint32_t new_id = next->key_id();
    const bool signed_now = st.checkpoints.rotate_to(std::move(*next));
    st.svc.log.info("signing_key_rotated",
                    {{"old_verifier_key", event.old_verifier_key}, {"new_verifier_key", event.new_verifier_key}});
    char id[9];
    std::snprintf(id, sizeof id, "%08x", new_id);
    auto latest = st.checkpoints.latest();
    // A rotation has no URL of its own: it is listed, in log order, by the GET of the same path.
    reply(created_at(json_response(201, {{"verifier_key", event.new_verifier_key},
                                         {"previous_verifier_key", event.old_verifier_key},
                                         {"key_id", std::string(id)},
                                         {"tree_size", event.tree_size},
                                         {"statement", event.statement},
                                         {"checkpoint_signed", signed_now},
                                         {"checkpoint_size", signed_now && latest ? latest->body.size : 0}}),
                     "/v1/audit/signing-key/rotations"));
}

}  // namespace

void add_key_rotation_routes(router& routes, service& svc, checkpointer& checkpoints, key_rotation_options options) {
    auto st = std::make_shared<rotation_state>(svc, checkpoints, std::move(options));
    routes.add(
        "POST", "/v1/audit/signing-key/rotations",
        command_doc(
            route_doc::of("Rotate the checkpoint signing key")
                .request("CommandWhy", false)
                .returns(201, "KeyRotated")
                .with_location()
                .in_tag("audit")
                .describe("Operator only. Generates a new Ed25519 key (named after the log origin), records a "
                          "signing_key_rotated event whose statement (a C2SP signed note: 'roster signing-key "
                          "rotation v1', origin, 'old <key>', 'new <key>', 'tree <size>') is signed by the old key "
                          "and the new one, then installs the new key (the old one is kept as "
                          "<key>.retired-<id>) and signs a checkpoint with it. 201 {verifier_key, "
                          "previous_verifier_key, key_id, tree_size, statement, checkpoint_signed, checkpoint_size}; "
                          "503 key_rotation_failed when nothing changed or the install must be finished by a restart.")
                .json_body()
                .responds({201})),
        [st](request_context& ctx, responder reply) {
            auto cmd = begin_json_command(st->svc, ctx, reply, /*allow_empty_body=*/true);
            if (!cmd) return;
            if (!cmd->body.empty())
                return void(
                    reply(bad_request("unknown_field", "This command takes only reason and reference.").to_response()));
            if (!std::holds_alternative<domain::operator_principal>(cmd->who.actor))
                return void(
                    reply(problem_from(domain::make_error(domain::error_kind::forbidden, domain::codes::operator_only,
                                                          std::string(domain::no_access_detail)))
                              .to_response()));
            auto why = wire::read_why(ctx.body);
            if (!why) return void(reply(why.error().to_response()));
            auto reason = domain::valid_reason(why->reason);
            if (!reason) return void(reply(problem_from(reason.error()).to_response()));
            auto reference = domain::valid_reference(why->reference);
            if (!reference) return void(reply(problem_from(reference.error()).to_response()));
            eventstore::event_metadata meta;
            meta.actor = {domain::principal_label(cmd->who.actor), cmd->who.token_id, ctx.client_address};
            meta.request_id = ctx.request_id;
            meta.correlation_id = ctx.request_id;
            meta.reason = std::move(*reason);
            meta.reference = std::move(*reference);
            meta.traceparent = std::string(valid_traceparent(ctx.header("traceparent")).value_or(""));
            auto work = [st, who = cmd->who, meta = std::move(meta), reply]() mutable {
                rotate(*st, who, std::move(meta), reply);
            };
            if (!st->svc.run_slow_read) return work();
            if (!st->svc.run_slow_read(domain::principal_label(cmd->who.actor), std::move(work)))
                reply(too_many_requests(std::chrono::seconds(1), "Too many slow requests").to_response());
        });

    routes.add(
        "GET", "/v1/audit/signing-key/rotations",
        route_doc::of("The signing key rotations, in log order")
            .answered_by_leader()
            .returns(200, "KeyRotationList")
            .in_tag("audit")
            .describe("Auditor and operator. {rotations: [{position, recorded_at, old_verifier_key, "
                      "new_verifier_key, tree_size, statement}]} in log order: from any key it held before, "
                      "a verifier walks the statements (each signed by the key before it) to the key that "
                      "signs checkpoints now (rosterctl witness does)."),
        [st](request_context& ctx, responder reply) {
            auto who = authenticate(st->svc, ctx, reply);
            if (!who || !allowed_audit_read(st->svc, *who, reply)) return;
            boost::json::array rotations;
            std::size_t bytes = 0;
            bool too_many = false;
            auto r = st->svc.store.read_stream(
                domain::signing_key_stream, domain::stream_version{1}, replay::max_rotation_statements + 1,
                [&](const es::recorded_event& e) {
                    const auto* x = std::get_if<domain::signing_key_rotated>(&e.payload);
                    if (!x) return true;
                    bytes += x->statement.size() + x->old_verifier_key.size() + x->new_verifier_key.size();
                    if (rotations.size() == replay::max_rotation_statements || bytes > max_listed_bytes)
                        return !(too_many = true);
                    rotations.emplace_back(boost::json::object{{"position", e.position.value},
                                                               {"old_verifier_key", x->old_verifier_key},
                                                               {"new_verifier_key", x->new_verifier_key},
                                                               {"tree_size", x->tree_size},
                                                               {"statement", x->statement}});
                    return true;
                });
            if (!r) return void(reply(service_unavailable(r.error().message).to_response()));
            if (too_many)
                return void(reply(
                    make_problem(507, "too_many_rotations", "More rotations than one answer holds.").to_response()));
            reply(json_response(200, {{"rotations", std::move(rotations)}}));
        });
}

}  // namespace roster::api
