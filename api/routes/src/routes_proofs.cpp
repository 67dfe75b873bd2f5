// Signed checkpoints and Merkle proofs (issue 13, item 6). Hashes are base64 (RFC 4648, padded),
// as the checkpoint's root line is, so a client needs one decoder. Proofs are only given up to
// the latest signed checkpoint: a proof against an unsigned tree size proves nothing to an outsider.
#include <charconv>
#include <cstdio>

#include <boost/json/array.hpp>

#include "roster/api/checkpointer.hpp"
#include "roster/api/domain_problem.hpp"
#include "roster/api/proof_routes.hpp"
#include "routes_common.hpp"

namespace roster::api {
using namespace roster::domain;
namespace es = roster::eventstore;

namespace {

response field_problem(std::string code, std::string field, std::string detail) {
    auto p = bad_request(std::move(code), std::move(detail));
    p.extra["field"] = std::move(field);
    return p.to_response();
}

std::string b64(const es::hash256& h) { return es::base64_encode(h); }

boost::json::array b64_all(const std::vector<es::hash256>& hashes) {
    boost::json::array out;
    for (const auto& h : hashes) out.emplace_back(b64(h));
    return out;
}

// A positive decimal query parameter; nullopt (and the 400 sent) when present but malformed,
// `fallback` when absent.
std::optional<std::uint64_t> count_param(const request_context& ctx, const char* name,
                                         std::optional<std::uint64_t> fallback, const responder& reply) {
    auto v = ctx.query.get(name);
    if (!v || v->empty()) {
        if (!fallback) reply(field_problem("invalid_query", name, std::string(name) + " is required."));
        return fallback;
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size() || n == 0) {
        reply(field_problem("invalid_query", name, std::string(name) + " must be a positive integer."));
        return std::nullopt;
    }
    return n;
}

std::optional<signed_checkpoint> latest_or_404(checkpointer& cp, const responder& reply) {
    auto latest = cp.latest();
    if (!latest)
        reply(make_problem(404, "no_checkpoint",
                           "No checkpoint has been signed yet (the log is empty or the first one is due).")
                  .to_response());
    return latest;
}

response beyond(std::string field, std::uint64_t asked, std::uint64_t signed_size) {
    return field_problem("beyond_checkpoint", std::move(field),
                         "Tree size " + std::to_string(asked) + " is beyond the latest signed checkpoint (" +
                             std::to_string(signed_size) + "); fetch a newer checkpoint.");
}

response storage_problem(const es::error& e) {
    return make_problem(503, "storage_unavailable", "The proof could not be read: " + e.message).to_response();
}

}  // namespace

void add_proof_routes(router& routes, service& svc, checkpointer& checkpoints) {
    routes.add("GET", "/v1/audit/checkpoint",
               route_doc::of("The latest signed checkpoint of the log's Merkle tree")
                   .returns(200, "SignedCheckpoint", "text/plain")
                   .in_tag("audit")
                   .responds({200, 404})
                   .describe("Auditor and operator. A C2SP tlog-checkpoint in a C2SP signed note (Ed25519), as "
                             "text/plain: origin, tree size, base64 RFC 9162 root, a 'timestamp <unix microseconds>' "
                             "extension line, a blank line, the signature line. 404 no_checkpoint before the first. "
                             "On a read replica: the latest leader checkpoint it verified (signature with the leader's "
                             "key, root equal to its own log's at that size), byte for byte as the leader signed it."),
               [&svc, &checkpoints](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who || !allowed_audit_read(svc, *who, reply)) return;
                   auto latest = latest_or_404(checkpoints, reply);
                   if (!latest) return;
                   response r;
                   r.content_type = "text/plain; charset=utf-8";
                   r.body = std::move(latest->note);
                   reply(std::move(r));
               });
    routes.add(
        "GET", "/v1/audit/proof/inclusion",
        route_doc::of("Inclusion proof of one event in a signed tree")
            .returns(200, "InclusionProof")
            .in_tag("audit")
            .responds({200, 404})
            .param(query_param("position", "Log position of the event (leaf index + 1)", true, "integer"))
            .param(query_param("tree_size", "Tree size of a signed checkpoint (default: the latest)", false, "integer"))
            .describe("Auditor and operator. RFC 9162 §2.1.3 audit path: {position, leaf_index, tree_size, "
                      "leaf_hash, hashes, root}, hashes base64, nearest sibling first. The leaf is "
                      "SHA-256(0x00 || the event's stored envelope bytes). 400 beyond_checkpoint when "
                      "tree_size is past the latest signed checkpoint. A read replica computes it from its own "
                      "log, up to the checkpoint it verified."),
        [&svc, &checkpoints](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who || !allowed_audit_read(svc, *who, reply)) return;
            auto position = count_param(ctx, "position", std::nullopt, reply);
            if (!position) return;
            auto latest = latest_or_404(checkpoints, reply);
            if (!latest) return;
            auto n = count_param(ctx, "tree_size", latest->body.size, reply);
            if (!n) return;
            if (*n > latest->body.size) return void(reply(beyond("tree_size", *n, latest->body.size)));
            if (*position > *n)
                return void(reply(field_problem("invalid_query", "position",
                                                "position must be at most tree_size (" + std::to_string(*n) + ").")));
            api::stored_subtrees source(svc.store);
            auto leaf = source.subtree(0, *position - 1);
            if (!leaf) return void(reply(storage_problem(leaf.error())));
            auto path = es::inclusion_proof(*position - 1, *n, source);
            if (!path) return void(reply(storage_problem(path.error())));
            auto root = es::root(*n, source);
            if (!root) return void(reply(storage_problem(root.error())));
            reply(json_response(200, {{"position", *position},
                                      {"leaf_index", *position - 1},
                                      {"tree_size", *n},
                                      {"leaf_hash", b64(*leaf)},
                                      {"hashes", b64_all(*path)},
                                      {"root", b64(*root)}}));
        });
    routes.add("GET", "/v1/audit/proof/consistency",
               route_doc::of("Consistency proof between two signed tree sizes")
                   .returns(200, "ConsistencyProof")
                   .in_tag("audit")
                   .responds({200, 404})
                   .param(query_param("from", "The older tree size", true, "integer"))
                   .param(query_param("to", "The newer tree size (default: the latest checkpoint)", false, "integer"))
                   .describe("Auditor and operator. RFC 9162 §2.1.4 proof that the tree of size `to` extends the "
                             "one of size `from`: {from, to, hashes, from_root, to_root}, hashes base64 (empty when "
                             "from = to). 400 beyond_checkpoint when `to` is past the latest signed checkpoint."),
               [&svc, &checkpoints](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who || !allowed_audit_read(svc, *who, reply)) return;
                   auto from = count_param(ctx, "from", std::nullopt, reply);
                   if (!from) return;
                   auto latest = latest_or_404(checkpoints, reply);
                   if (!latest) return;
                   auto to = count_param(ctx, "to", latest->body.size, reply);
                   if (!to) return;
                   if (*to > latest->body.size) return void(reply(beyond("to", *to, latest->body.size)));
                   if (*from > *to)
                       return void(reply(field_problem("invalid_query", "from",
                                                       "from must be at most to (" + std::to_string(*to) + ").")));
                   api::stored_subtrees source(svc.store);
                   auto proof = es::consistency_proof(*from, *to, source);
                   if (!proof) return void(reply(storage_problem(proof.error())));
                   auto from_root = es::root(*from, source);
                   if (!from_root) return void(reply(storage_problem(from_root.error())));
                   auto to_root = es::root(*to, source);
                   if (!to_root) return void(reply(storage_problem(to_root.error())));
                   reply(json_response(200, {{"from", *from},
                                             {"to", *to},
                                             {"hashes", b64_all(*proof)},
                                             {"from_root", b64(*from_root)},
                                             {"to_root", b64(*to_root)}}));
               });
    routes.add("GET", "/v1/audit/public-key",
               route_doc::of("The key checkpoints are signed with")
                   .returns(200, "PublicKey")
                   .in_tag("audit")
                   .responds({200, 404})
                   .describe("Auditor and operator. {verifier_key, name, key_id, algorithm, public_key}: verifier_key "
                             "is the C2SP signed-note verifier string '<name>+<key id hex>+<base64(0x01 || key)>' "
                             "(what a witness pins), public_key the raw 32-byte Ed25519 key in base64. On a read "
                             "replica: the leader's key that verified the checkpoint it serves (404 no_checkpoint "
                             "before the first)."),
               [&svc, &checkpoints](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who || !allowed_audit_read(svc, *who, reply)) return;
                   const auto key = checkpoints.verifier();  // a copy: a rotation may replace it meanwhile
                   if (!key)
                       return void(reply(make_problem(404, "no_checkpoint",
                                                      "This read replica has not verified a leader checkpoint yet, "
                                                      "so it knows no leader key.")
                                             .to_response()));
                   char id[9];
                   std::snprintf(id, sizeof id, "%08x", key->key_id);
                   reply(json_response(200, {{"verifier_key", key->to_string()},
                                             {"name", key->name},
                                             {"key_id", std::string(id)},
                                             {"algorithm", "Ed25519"},
                                             {"public_key", es::base64_encode(key->public_key)}}));
               });
    add_evidence_routes(routes, svc, checkpoints);
}

}  // namespace roster::api
