#include "roster/api/http_commands.hpp"
#include "roster/api/wire_requests.hpp"

#include <charconv>
#include <memory>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/api/domain_problem.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/request_meta.hpp"
#include "roster/domain/overloaded.hpp"
#include "roster/domain/queries.hpp"
#include "roster/domain/text.hpp"

namespace roster::api {
namespace json = boost::json;
using domain::overloaded;

namespace {

// The bytes kept with an idempotency key: the whole response, so a retry is answered exactly
// as the first attempt was.
std::string serialize_response(const response& r) {
    json::array headers;
    for (const auto& [k, v] : r.headers) headers.emplace_back(json::array{json::string(k), json::string(v)});
    return json::serialize(json::object{
        {"status", r.status}, {"content_type", r.content_type}, {"headers", std::move(headers)}, {"body", r.body}});
}

std::optional<response> parse_response(std::string_view bytes) {
    boost::system::error_code ec;
    auto v = json::parse(bytes, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    response r;
    auto* status = o.if_contains("status");
    auto* type = o.if_contains("content_type");
    auto* body = o.if_contains("body");
    auto* headers = o.if_contains("headers");
    if (!status || !(status->is_int64() || status->is_uint64()) || !type || !type->is_string() || !body ||
        !body->is_string() || !headers || !headers->is_array())
        return std::nullopt;
    r.status = static_cast<unsigned>(status->to_number<std::uint64_t>());
    r.content_type = std::string(type->as_string());
    r.body = std::string(body->as_string());
    for (const auto& h : headers->as_array()) {
        if (!h.is_array() || h.as_array().size() != 2 || !h.as_array()[0].is_string() || !h.as_array()[1].is_string())
            return std::nullopt;
        r.headers.emplace_back(std::string(h.as_array()[0].as_string()), std::string(h.as_array()[1].as_string()));
    }
    return r;
}

problem precondition_failed(const outcome::version_mismatch& m) {
    auto p = make_problem(412, "version_mismatch",
                          m.actual == 0 ? "The resource does not exist (If-Match " +
                                              (m.expected == 0 ? std::string("*") : std::to_string(m.expected)) + ")."
                                        : "The resource changed since it was read (If-Match " +
                                              (m.expected == 0 ? std::string("*") : std::to_string(m.expected)) +
                                              ", now " + std::to_string(m.actual) + "); read it again and retry.");
    p.extra["stream"] = m.stream;
    p.extra["current_version"] = m.actual;
    return p;
}

// The answer to a command's result. `first` is the response `render` built for this very
// request (a replay has only the bytes kept with its key).
response answer_of(command_result result, std::optional<response>& first, const std::string& request_id) {
    return std::visit(
        overloaded{
            [&](outcome::accepted& a) -> response {
                if (!a.replayed && first) return std::move(*first);
                auto original = parse_response(a.bytes);
                if (!original) return internal_error(request_id).to_response();
                if (a.replayed) original->headers.emplace_back("Idempotent-Replayed", "true");
                return std::move(*original);
            },
            [](outcome::refused& r) { return problem_from(r.error).to_response(); },
            [](outcome::version_mismatch& m) { return precondition_failed(m).to_response(); },
            [](outcome::idempotency_key_reused&) {
                return make_problem(422, "idempotency_key_reused",
                                    "This Idempotency-Key was already used with a different request.")
                    .to_response();
            },
            [](outcome::unavailable& u) { return service_unavailable(std::move(u.detail)).to_response(); },
            [&](outcome::failed&) { return internal_error(request_id).to_response(); },
        },
        result);
}

}  // namespace

std::optional<caller> authenticate(service& svc, const request_context& ctx, const responder& reply) {
    auto unauthorized = [&](std::string detail) {
        auto p = make_problem(401, "unauthenticated", std::move(detail));
        p.headers.emplace_back("WWW-Authenticate", "Bearer");
        reply(p.to_response());
        return std::nullopt;
    };
    auto token = bearer_token(ctx.header("authorization"));
    if (!token) return unauthorized("An 'Authorization: Bearer <token>' header is required.");
    auto hash = sha256_hex(*token);
    const auto now = svc.now();
    auto found =
        svc.reads.read([&](const projections::read_view& v) { return domain::authenticate(v.state, hash, now); });
    // One answer for every reason, expiry included: which one is not the bearer's to learn.
    if (!found) return unauthorized("The token is unknown, revoked, or its user is locked or removed.");
    if (svc.limits)
        if (auto wait = svc.limits->refusals_spent(domain::principal_label(found->subject))) {
            reply(too_many_requests(*wait, "Too many refused requests").to_response());
            return std::nullopt;
        }
    return caller{found->subject, found->token.value};
}

problem too_many_requests(std::chrono::seconds wait, std::string_view what) {
    auto p =
        make_problem(429, "rate_limited",
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
    // reason and reference belong to every command; submit_command reads them from ctx.body.
    if (auto why = wire::take_why(*body); !why) {
        reply(why.error().to_response());
        return std::nullopt;
    }
    return json_command{std::move(*who), std::move(*body)};
}

namespace {
response with_etag(response r, std::uint64_t etag_version) {
    r.headers.emplace_back("ETag", "\"" + std::to_string(etag_version) + "\"");
    return r;
}
response with_etag(unsigned status, const boost::json::object& body, std::uint64_t etag_version) {
    return with_etag(json_response(status, body), etag_version);
}
}  // namespace

response json_with_etag(unsigned status, const boost::json::object& body, domain::account_version etag_version) {
    return with_etag(status, body, etag_version.value);
}
response json_with_etag(unsigned status, const boost::json::object& body, domain::user_version etag_version) {
    return with_etag(status, body, etag_version.value);
}

response json_with_etag(unsigned status, const boost::json::object& body, domain::member_version etag_version) {
    return with_etag(status, body, etag_version.value);
}

response json_text_with_etag(unsigned status, std::string json_text, domain::account_version etag_version) {
    return with_etag(json_text_response(status, std::move(json_text)), etag_version.value);
}

response json_text_with_etag(unsigned status, std::string json_text, domain::member_version etag_version) {
    return with_etag(json_text_response(status, std::move(json_text)), etag_version.value);
}

response member_response(unsigned status, const boost::json::object& body, const domain::state& s,
                         const domain::account_id& a, const domain::user_id& u) {
    const auto version = domain::member_version_of(s, a, u);
    if (!version) return make_problem(404, "user_not_found", "No such user in this account.").to_response();
    return json_with_etag(status, body, *version);
}

namespace {

// One element of an ETag list: `"12"` (or a bare 12) is 12; W/ only where `weak_ok`.
std::optional<std::uint64_t> our_tag(std::string_view v, bool weak_ok) {
    if (v.starts_with("W/")) {
        if (!weak_ok) return std::nullopt;
        v.remove_prefix(2);
    }
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) return std::nullopt;
    return n;
}

std::string_view trim_ows(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// Calls `f` with each non-empty element of a comma list (RFC 9110 §5.6.1); false if `f` does.
template <class F>
bool each_element(std::string_view list, F&& f) {
    while (true) {
        const auto comma = list.find(',');
        if (const auto item = trim_ows(list.substr(0, comma)); !item.empty() && !f(item)) return false;
        if (comma == std::string_view::npos) return true;
        list.remove_prefix(comma + 1);
    }
}

constexpr std::size_t max_if_match_tags = 32;

}  // namespace

void not_modified_if_none_match(const request_context& ctx, response& r) {
    if (r.status != 200 || (ctx.method != "GET" && ctx.method != "HEAD")) return;
    const auto header = ctx.header("if-none-match");
    if (!header) return;
    std::optional<std::uint64_t> etag;
    for (const auto& [k, v] : r.headers)
        if (k == "ETag") etag = our_tag(v, false);
    if (!etag) return;
    // Weak comparison (§13.1.2): W/"12" matches "12". A malformed header matches nothing.
    bool match = trim_ows(*header) == "*";
    if (!match)
        each_element(*header, [&](std::string_view item) {
            match = our_tag(item, true) == etag;
            return !match;
        });
    if (!match) return;
    r.status = 304;
    r.body.clear();
    r.content_type.clear();
}

response created_at(response r, std::string path) {
    // Kept in the serialized response, so an idempotent replay carries it too. Only on a 201:
    // a render that found nothing to point at answers something else.
    if (r.status == 201) r.headers.emplace_back("Location", std::move(path));
    return r;
}

boost::system::result<std::optional<if_match_tags>, problem> if_match_header(const request_context& ctx) {
    auto header = ctx.header("if-match");
    if (!header) return std::optional<if_match_tags>{};
    auto invalid = [](std::string detail) {
        auto p = bad_request("invalid_if_match", std::move(detail));
        p.extra["field"] = "If-Match";
        return p;
    };
    if_match_tags out;
    if (trim_ows(*header) == "*") return std::optional<if_match_tags>{std::move(out)};
    std::string why;
    const bool ok = each_element(*header, [&](std::string_view item) {
        if (item.starts_with("W/")) {
            why =
                "If-Match compares ETags strongly, so a weak tag (W/...) never matches; send the ETag as given, "
                "e.g. \"12\".";
            return false;
        }
        const auto tag = our_tag(item, false);
        if (!tag) {
            why = "If-Match must be * or a list of ETags this server issued, e.g. \"12\".";
            return false;
        }
        if (out.tags.size() == max_if_match_tags) {
            why = "If-Match takes at most " + std::to_string(max_if_match_tags) + " ETags.";
            return false;
        }
        out.tags.push_back(*tag);
        return true;
    });
    if (!ok) return invalid(std::move(why));
    if (out.tags.empty()) return invalid("If-Match must be * or a list of ETags this server issued, e.g. \"12\".");
    return std::optional<if_match_tags>{std::move(out)};
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

route_doc command_doc(route_doc doc) {
    if (!doc.description.empty() && doc.description.back() != ' ') doc.description += ' ';
    doc.header("Idempotency-Key");
    doc.description +=
        "The JSON body (an empty one for routes without a body) may also carry `reason` (at most 1000 bytes) and "
        "`reference` (e.g. a change ticket, at most 200 bytes): one line of visible UTF-8 each, recorded with every "
        "event the command appends and shown in history and exports; 400 invalid_reason / invalid_reference otherwise.";
    return doc;
}

namespace {
command_options if_match_on_resource(if_match_resource resource, std::string reason) {
    command_options o;
    o.if_match = std::move(resource);
    o.reason = std::move(reason);
    return o;
}
}  // namespace

command_options if_match_on(const domain::account_id& a, std::string reason) {
    return if_match_on_resource(stream_resource{domain::account_stream(a)}, std::move(reason));
}
command_options if_match_on(const domain::account_id& a, const domain::user_id& u, std::string reason) {
    return if_match_on_resource(member_resource{a, u}, std::move(reason));
}
command_options if_match_on(const domain::user_id& u, std::string reason) {
    return if_match_on_resource(user_resource{u}, std::move(reason));
}

void submit_command(service& svc, const request_context& ctx, const responder& reply, const caller& who,
                    domain::command cmd, std::function<response(const decided_view&)> render, command_options options) {
    if (svc.limits)
        if (auto wait = svc.limits->take_command(domain::principal_label(who.actor),
                                                 std::holds_alternative<domain::operator_principal>(who.actor))) {
            reply(too_many_requests(*wait, "Too many commands").to_response());
            return;
        }
    auto why = wire::read_why(ctx.body);
    if (!why) return void(reply(why.error().to_response()));
    // A route that parsed the reason itself (lock, unlock) passes it; otherwise the body's.
    auto reason = domain::valid_reason(options.reason.empty() ? why->reason : options.reason);
    if (!reason) return void(reply(problem_from(reason.error()).to_response()));
    auto reference = domain::valid_reference(why->reference);
    if (!reference) return void(reply(problem_from(reference.error()).to_response()));
    command_request request;
    request.command = std::move(cmd);
    request.actor = who.actor;
    request.meta.actor = {domain::principal_label(who.actor), who.token_id, ctx.client_address};
    request.meta.request_id = ctx.request_id;
    request.meta.correlation_id = sane_header(ctx, "x-correlation-id").value_or(ctx.request_id);
    request.meta.causation_id = sane_header(ctx, "x-causation-id").value_or("");
    request.meta.reason = std::move(*reason);
    request.meta.reference = std::move(*reference);
    request.meta.traceparent = std::string(valid_traceparent(ctx.header("traceparent")).value_or(""));
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

    auto expected = if_match_header(ctx);
    if (!expected) {
        reply(expected.error().to_response());
        return;
    }
    if (*expected) {
        if (!options.if_match) {
            auto p = bad_request("if_match_not_supported", "This command does not take If-Match.");
            p.extra["field"] = "If-Match";
            reply(p.to_response());
            return;
        }
        request.if_match = if_match_condition{*options.if_match, std::move((*expected)->tags)};
    }

    // render and done both run on the writer thread, one after the other, so `first` needs no lock.
    auto first = std::make_shared<std::optional<response>>();
    request.render = [render = std::move(render), first](const decided_view& v) {
        *first = render(v);
        return serialize_response(**first);
    };
    request.done = [reply, first, request_id = ctx.request_id,
                    reveal = std::move(options.reveal_once)](command_result result) {
        const bool replayed =
            std::holds_alternative<outcome::accepted>(result) && std::get<outcome::accepted>(result).replayed;
        auto r = answer_of(std::move(result), *first, request_id);
        if (reveal && !replayed && r.status / 100 == 2) reveal(r);
        reply(std::move(r));
    };
    svc.writer.submit(std::move(request));
}

}  // namespace roster::api
