#include "roster/api/service.hpp"

#include <openssl/evp.h>

#include <boost/json/serialize.hpp>
#include <charconv>
#include <stdexcept>

#include "roster/api/domain_problem.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/request_meta.hpp"
#include "roster/domain/queries.hpp"
#include "roster/domain/text.hpp"

namespace roster::api {

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (unsigned i = 0; i < size; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0xf]);
    }
    return out;
}


std::optional<caller> authenticate(service& svc, const request_context& ctx, const responder& reply) {
    auto unauthorized = [&](std::string detail) {
        auto p = make_problem(401, "unauthenticated", "Unauthorized", std::move(detail));
        p.headers.emplace_back("WWW-Authenticate", "Bearer");
        reply(p.to_response());
        return std::nullopt;
    };
    auto token = bearer_token(ctx.header("authorization"));
    if (!token) return unauthorized("An 'Authorization: Bearer <token>' header is required.");
    auto hash = sha256_hex(*token);
    auto found = svc.reads.read([&](const projections::read_view& v) { return domain::authenticate(v.state, hash); });
    if (!found) return unauthorized("The token is unknown, revoked, or its user is locked or removed.");
    if (svc.limits)
        if (auto wait = svc.limits->refusals_spent(domain::principal_label(found->subject))) {
            reply(too_many_requests(*wait, "Too many refused requests").to_response());
            return std::nullopt;
        }
    return caller{found->subject, found->token.value};
}

problem too_many_requests(std::chrono::seconds wait, std::string_view what) {
    auto p = make_problem(429, "rate_limited", "Too Many Requests",
                          std::string(what) + " from this principal; retry after " + std::to_string(wait.count()) + " s.");
    p.headers.emplace_back("Retry-After", std::to_string(wait.count()));
    p.extra["retry_after_seconds"] = wait.count();
    return p;
}

std::optional<json_command> begin_json_command(service& svc, const request_context& ctx, const responder& reply,
                                               bool allow_empty_body) {
    auto who = authenticate(svc, ctx, reply);
    if (!who) return std::nullopt;
    auto body = parse_json_object_body(ctx, allow_empty_body);
    if (!body) {
        reply(body.error().to_response());
        return std::nullopt;
    }
    return json_command{std::move(*who), std::move(*body)};
}

response json_with_etag(unsigned status, const boost::json::object& body, std::uint64_t etag_version) {
    auto r = json_response(status, body);
    r.headers.emplace_back("ETag", "\"" + std::to_string(etag_version) + "\"");
    return r;
}

boost::system::result<std::optional<std::uint64_t>, problem> if_match_version(const request_context& ctx) {
    auto header = ctx.header("if-match");
    if (!header) return std::optional<std::uint64_t>{};
    std::string_view v = *header;
    if (v.starts_with("W/")) v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    std::uint64_t version = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (v.empty() || ec != std::errc{} || end != v.data() + v.size())
        return bad_request("invalid_if_match", "If-Match must be an ETag this server issued, e.g. \"12\".");
    return std::optional<std::uint64_t>{version};
}

namespace {

std::optional<std::string> sane_header(const request_context& ctx, std::string_view name) {
    auto v = ctx.header(name);
    if (v && is_sane_request_id(*v)) return std::string(*v);
    return std::nullopt;
}

bool is_sane_idempotency_key(std::string_view key) {
    if (key.empty() || key.size() > 255) return false;
    for (unsigned char c : key)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

}  // namespace

command_options if_match_on(std::string stream, std::string reason) {
    command_options o;
    o.if_match_stream = std::move(stream);
    o.reason = std::move(reason);
    return o;
}

void submit_command(service& svc, const request_context& ctx, const responder& reply, const caller& who,
                    domain::command cmd, std::function<response(const decided_view&)> render,
                    command_options options) {
    if (svc.limits)
        if (auto wait = svc.limits->take_command(domain::principal_label(who.actor),
                                                 std::holds_alternative<domain::operator_principal>(who.actor))) {
            reply(too_many_requests(*wait, "Too many commands").to_response());
            return;
        }
    auto reason = domain::valid_reason(options.reason);
    if (!reason) return void(reply(problem_from(reason.error()).to_response()));
    command_request request;
    request.command = std::move(cmd);
    request.actor = who.actor;
    request.meta.actor = {domain::principal_label(who.actor), who.token_id, ctx.client_address};
    request.meta.request_id = ctx.request_id;
    request.meta.correlation_id = sane_header(ctx, "x-correlation-id").value_or(ctx.request_id);
    request.meta.causation_id = sane_header(ctx, "x-causation-id").value_or("");
    request.meta.reason = std::move(*reason);
    if (!options.actor_label.empty()) request.meta.actor.principal = options.actor_label;

    if (auto key = ctx.header("idempotency-key")) {
        if (!is_sane_idempotency_key(*key)) {
            reply(bad_request("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters.")
                      .to_response());
            return;
        }
        // Keys are per principal: two clients choosing the same key never see each other's outcome.
        request.idempotency_key = request.meta.actor.principal + '\x1f' + std::string(*key);
        const auto path = std::string_view(ctx.target).substr(0, ctx.target.find('?'));
        request.fingerprint = sha256_hex(ctx.method + ' ' + std::string(path) + '\n' + ctx.body);
    }

    auto expected = if_match_version(ctx);
    if (!expected) {
        reply(expected.error().to_response());
        return;
    }
    if (*expected) {
        if (options.if_match_stream.empty()) {
            reply(bad_request("if_match_not_supported", "This command does not take If-Match.").to_response());
            return;
        }
        request.if_match = std::pair{options.if_match_stream, **expected};
    }

    request.render = std::move(render);
    request.done = [reply, reveal = std::move(options.reveal_once)](response r) {
        bool replayed = false;
        for (const auto& [k, v] : r.headers)
            if (k == "Idempotent-Replayed") replayed = true;
        if (reveal && !replayed && r.status / 100 == 2) reveal(r);
        reply(std::move(r));
    };
    svc.writer.submit(std::move(request));
}

}  // namespace roster::api
