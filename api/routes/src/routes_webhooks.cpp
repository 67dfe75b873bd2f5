// Webhook endpoints, operator only: register (the secret is shown once), list, get with its
// delivery status, change, remove, and the dead letters with their replay. Every change is an
// event through the writer; the secret itself is kept in the store's meta space, never in the log.
#include <boost/json/array.hpp>

#include "roster/api/http_commands.hpp"
#include "roster/api/secrets.hpp"
#include "roster/api/service.hpp"
#include "roster/api/webhook_routes.hpp"
#include "roster/api/webhooks.hpp"
#include "roster/api/wire_requests.hpp"
#include "roster/replay/rfc3339.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace json = boost::json;
using namespace roster::domain;

namespace {

json::object status_json(const webhook_status& s) {
    return json::object{{"running", s.running},
                        {"cursor", s.cursor},
                        {"lag", s.lag},
                        {"last_attempt_at", time_or_null(s.last_attempt_at)},
                        {"last_status", s.last_status == 0 ? json::value(nullptr) : json::value(s.last_status)},
                        {"last_error", s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error)},
                        {"delivered", s.delivered},
                        {"failed_attempts", s.failed_attempts},
                        {"dead_letters", s.dead_letters}};
}

json::object webhook_json(const webhook_record& w) {
    json::array accounts, types;
    for (const auto& a : w.settings.accounts) accounts.emplace_back(a.value);
    for (const auto& t : w.settings.types) types.emplace_back(t);
    return json::object{{"webhook_id", w.id.value},
                        {"url", w.settings.url},
                        {"accounts", std::move(accounts)},
                        {"types", std::move(types)},
                        {"description", w.settings.description},
                        {"enabled", w.settings.enabled}};
}

json::object webhook_with_status(const webhook_record& w, const webhook_dispatcher& hooks) {
    auto o = webhook_json(w);
    o["status"] = status_json(hooks.status(w.id));
    return o;
}

// Authenticated as the operator, or nullopt after answering 401/403.
bool operator_only(service& svc, const request_context& ctx, const responder& reply, const caller* who = nullptr) {
    std::optional<caller> found;
    if (!who) {
        found = authenticate(svc, ctx, reply);
        if (!found) return false;
        who = &*found;
    }
    if (std::holds_alternative<operator_principal>(who->actor)) return true;
    reply(make_problem(403, std::string(codes::operator_only), std::string(no_access_detail)).to_response());
    return false;
}

response no_such_webhook() { return not_found_response(std::string(codes::webhook_not_found), "No such webhook."); }

// A registered endpoint (removed ones too when `removed_too`), copied out of the read model.
std::optional<webhook_record> find_webhook(service& svc, const webhook_id& id, bool removed_too = false) {
    return svc.reads.read([&](const projections::read_view& v) -> std::optional<webhook_record> {
        const auto* w = v.state.webhook(id);
        if (!w || (w->removed && !removed_too)) return std::nullopt;
        return *w;
    });
}

route_doc admin_doc(route_doc doc) { return std::move(doc.in_tag("operations")); }

}  // namespace

void add_webhook_routes(router& routes, service& svc, webhook_dispatcher& hooks) {
    routes.add(
        "POST", "/v1/admin/webhooks",
        command_doc(admin_doc(
            route_doc::of("Register a webhook endpoint (operator only)")
                .request("RegisterWebhook")
                .request_example_json(
                    R"({"url": "https://hooks.example.com/roster", "accounts": ["acme"], "types": ["user_locked"]})")
                .returns(201, "WebhookRegistered")
                .with_location()
                .json_body()
                .describe("Body {url, accounts?, types?, description?}: url is http:// or https:// with a host, no "
                          "user info and no fragment (400 invalid_field, field url); accounts and types filter what "
                          "is delivered (empty or absent: everything; types are event type strings). Answer: the "
                          "endpoint and `secret` (whsec_..., shown once, never again) that signs every message the "
                          "Standard Webhooks way. Deliveries start after this event. 409 webhook_limit beyond "
                          "--webhook-max-endpoints."))),
        [&svc, &hooks](request_context& ctx, responder reply) {
            auto req = begin_json_command(svc, ctx, reply);
            if (!req || !operator_only(svc, ctx, reply, &req->who)) return;
            const auto live = svc.reads.read([](const projections::read_view& v) {
                return std::count_if(v.state.webhooks.begin(), v.state.webhooks.end(),
                                     [](const auto& w) { return !w.second.removed; });
            });
            if (static_cast<std::size_t>(live) >= hooks.options().max_endpoints)
                return void(reply(make_problem(409, "webhook_limit",
                                               "This server delivers to at most " +
                                                   std::to_string(hooks.options().max_endpoints) +
                                                   " endpoints (--webhook-max-endpoints); remove one first.")
                                      .to_response()));
            webhook_id id{"whk_" + random_hex(12)};
            auto secret = std::make_shared<std::string>(new_webhook_secret());
            auto cmd = wire::parse_register_webhook(req->body, id, sha256_hex(*secret));
            if (!cmd) return void(reply(cmd.error().to_response()));
            // Before the event: a worker that sees the endpoint always finds its secret.
            if (auto stored = hooks.store_secret(id, *secret); !stored)
                return void(reply(service_unavailable("The webhook secret could not be stored.").to_response()));
            command_options options;
            options.reveal_once = [secret](response& r) {
                auto pos = r.body.rfind('}');
                if (pos != std::string::npos) r.body.insert(pos, ",\"secret\":\"" + *secret + "\"");
            };
            submit_command(
                svc, ctx, reply, req->who, std::move(*cmd),
                [id](const decided_view& v) {
                    const auto* w = v.state.webhook(id);
                    return created_at(json_response(201, w ? webhook_json(*w) : json::object{{"webhook_id", id.value}}),
                                      "/v1/admin/webhooks/" + id.value);
                },
                std::move(options));
        });

    routes.add("GET", "/v1/admin/webhooks",
               admin_doc(route_doc::of("List webhook endpoints (operator only)")
                             .returns(200, "WebhookList")
                             .describe("Answer {webhooks: [Webhook]} in id order, each with its delivery status. "
                                       "Never a secret.")),
               [&svc, &hooks](request_context& ctx, responder reply) {
                   if (!operator_only(svc, ctx, reply)) return;
                   auto all = svc.reads.read([](const projections::read_view& v) {
                       std::vector<webhook_record> out;
                       for (const auto& [id, w] : v.state.webhooks)
                           if (!w.removed) out.push_back(w);
                       return out;
                   });
                   json::array items;
                   for (const auto& w : all) items.push_back(webhook_with_status(w, hooks));
                   reply(json_response(200, json::object{{"webhooks", std::move(items)}}));
               });

    routes.add("GET", "/v1/admin/webhooks/{id}",
               admin_doc(route_doc::of("Get a webhook endpoint and its delivery status (operator only)")
                             .returns(200, "Webhook")
                             .param(path_param("id", "Webhook id"))
                             .describe("status: running, cursor (last log position handled), lag (head - cursor), "
                                       "last_attempt_at, last_status, last_error, delivered and failed_attempts "
                                       "(since start), dead_letters.")),
               [&svc, &hooks](request_context& ctx, responder reply) {
                   if (!operator_only(svc, ctx, reply)) return;
                   auto w = find_webhook(svc, webhook_id{std::string(ctx.param("id"))});
                   if (!w) return void(reply(no_such_webhook()));
                   reply(json_response(200, webhook_with_status(*w, hooks)));
               });

    routes.add("PATCH", "/v1/admin/webhooks/{id}",
               command_doc(admin_doc(route_doc::of("Change a webhook endpoint (operator only)")
                                         .request("ChangeWebhook")
                                         .returns(200, "Webhook")
                                         .json_body()
                                         .param(path_param("id", "Webhook id"))
                                         .describe("Body {url?, accounts?, types?, description?, enabled?}: the "
                                                   "fields given replace the current ones (one webhook_changed "
                                                   "event; nothing when nothing changes). A disabled endpoint keeps "
                                                   "its cursor and resumes from it when enabled again."))),
               [&svc, &hooks](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);
                   if (!req || !operator_only(svc, ctx, reply, &req->who)) return;
                   webhook_id id{std::string(ctx.param("id"))};
                   auto cmd = wire::parse_change_webhook(req->body, id);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(svc, ctx, reply, req->who, std::move(*cmd), [id, &hooks](const decided_view& v) {
                       const auto* w = v.state.webhook(id);
                       return w ? json_response(200, webhook_with_status(*w, hooks)) : no_such_webhook();
                   });
               });

    routes.add("DELETE", "/v1/admin/webhooks/{id}",
               command_doc(admin_doc(route_doc::of("Remove a webhook endpoint (operator only)")
                                         .returns(200, "WebhookRemoved")
                                         .param(path_param("id", "Webhook id"))
                                         .describe("Deliveries stop; the id is never reused."))),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who || !operator_only(svc, ctx, reply, &*who)) return;
                   webhook_id id{std::string(ctx.param("id"))};
                   auto cmd = wire::parse_remove_webhook(id);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(svc, ctx, reply, *who, *cmd, [id](const decided_view&) {
                       return json_response(200, json::object{{"webhook_id", id.value}, {"removed", true}});
                   });
               });

    routes.add(
        "GET", "/v1/admin/webhooks/{id}/dead-letters",
        admin_doc(route_doc::of("A webhook endpoint's dead letters (operator only)")
                      .returns(200, "WebhookDeadLetters")
                      .param(path_param("id", "Webhook id"))
                      .describe("Messages that failed --webhook-max-attempts times, oldest first: {webhook_id, "
                                "dropped, dead_letters: [{position, message_id, type, attempts, error, at}]}. "
                                "The list is bounded by --webhook-dead-letter-bytes; `dropped` counts the "
                                "ones refused because it was full.")),
        [&svc, &hooks](request_context& ctx, responder reply) {
            if (!operator_only(svc, ctx, reply)) return;
            webhook_id id{std::string(ctx.param("id"))};
            if (!find_webhook(svc, id, /*removed_too=*/true)) return void(reply(no_such_webhook()));
            const auto list = hooks.dead_letters(id);
            json::array items;
            for (const auto& e : list.entries)
                items.push_back(json::object{{"position", e.position},
                                             {"message_id", hooks.options().origin + ":" + std::to_string(e.position)},
                                             {"type", e.type},
                                             {"attempts", e.attempts},
                                             {"error", e.error},
                                             {"at", time_or_null(e.at)}});
            reply(json_response(
                200,
                json::object{{"webhook_id", id.value}, {"dropped", list.dropped}, {"dead_letters", std::move(items)}}));
        });

    routes.add("POST", "/v1/admin/webhooks/{id}/dead-letters/replay",
               admin_doc(route_doc::of("Replay a webhook endpoint's dead letters (operator only)")
                             .request("ReplayDeadLetters", /*required=*/false)
                             .returns(202, "DeadLettersQueued")
                             .json_body()
                             .param(path_param("id", "Webhook id"))
                             .describe("Body {positions?: [...]}: those dead letters, or all of them without a body. "
                                       "They are delivered again with their original webhook-id, before new "
                                       "messages; delivered ones leave the list. Answer {webhook_id, queued}.")),
               [&svc, &hooks](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply, /*allow_empty_body=*/true);
                   if (!req || !operator_only(svc, ctx, reply, &req->who)) return;
                   webhook_id id{std::string(ctx.param("id"))};
                   if (!find_webhook(svc, id)) return void(reply(no_such_webhook()));
                   auto positions = wire::parse_webhook_replay(req->body);
                   if (!positions) return void(reply(positions.error().to_response()));
                   const auto queued = hooks.replay(id, *positions);
                   reply(json_response(202, json::object{{"webhook_id", id.value}, {"queued", queued}}));
               });
}

}  // namespace roster::api
