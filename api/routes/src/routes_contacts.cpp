// Key contacts (view, atomic save, self-service hand-over), watchlist and recipients.
#include <boost/json/array.hpp>

#include "roster/api/domain_problem.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/resource_routes.hpp"
#include "roster/api/wire.hpp"
#include "roster/api/wire_requests.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace json = boost::json;
using namespace roster::domain;

namespace {

response contacts_response(const state& s, const account_id& a, domain::account_version version) {
    const auto* acc = s.account(a);
    if (!acc) return not_found_response("account_not_found", "No such account.");
    return json_with_etag(200, wire::contacts(s, *acc, version), version);
}

response watchlist_response(const state& s, const account_id& a, domain::account_version version) {
    const auto* acc = s.account(a);
    if (!acc) return not_found_response("account_not_found", "No such account.");
    return json_with_etag(200, wire::watchlist(*acc, version), version);
}

}  // namespace

void add_contact_routes(router& routes, service& svc) {
    routes.add("GET", "/v1/accounts/{a}/contacts",
               route_doc::of("Key contacts with health warnings")
                   .returns(200, "Contacts")
                   .with_etag()
                   .in_tag("contacts")
                   .param(path_param("a", "Account id"))
                   .param(as_of_param()),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   answer_read(
                       svc, ctx, reply, *who,
                       [=](const state& s) { return authorize_read(s, who->actor, read_kind::contacts, a); },
                       [=](const projections::read_view& v) { return contacts_response(v.state, a, v.version_of(a)); });
               });

    routes.add(
        "PUT", "/v1/accounts/{a}/contacts",
        command_doc(
            route_doc::of("Save key contacts (atomic, any subset)")
                .request("SaveContacts")
                .returns(200, "Contacts")
                .with_etag()
                .header("If-Match")
                .in_tag("contacts")
                .json_body()
                .param(path_param("a", "Account id"))
                .describe("Body {role: user_id or null, ...}. support:admin of {a}. If-Match: account version.")),
        [&svc](request_context& ctx, responder reply) {
            auto req = begin_json_command(svc, ctx, reply);
            if (!req) return;
            const auto* who = &req->who;
            const auto* body = &req->body;
            account_id a{std::string(ctx.param("a"))};
            auto cmd = wire::parse_save_contacts(*body, a);
            if (!cmd) return void(reply(cmd.error().to_response()));
            submit_command(
                svc, ctx, reply, *who, std::move(*cmd),
                [a](const decided_view& v) { return contacts_response(v.state, a, v.version_of(a)); }, if_match_on(a));
        });

    routes.add("POST", "/v1/accounts/{a}/contacts/{role}/handover",
               command_doc(route_doc::of("Hand a contact role over (self-service)")
                               .request("HandOverContact")
                               .returns(200, "Contacts")
                               .with_etag()
                               .header("If-Match")
                               .in_tag("contacts")
                               .json_body()
                               .param(path_param("a", "Account id"))
                               .param(path_param("role", "Contact role"))
                               .describe("By the current holder, without admin rights. Body {to_user_id}.")),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);
                   if (!req) return;
                   const auto* who = &req->who;
                   const auto* body = &req->body;
                   account_id a{std::string(ctx.param("a"))};
                   auto cmd = wire::parse_hand_over_contact(*body, a, ctx.param("role"));
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(
                       svc, ctx, reply, *who, std::move(*cmd),
                       [a](const decided_view& v) { return contacts_response(v.state, a, v.version_of(a)); },
                       if_match_on(a));
               });

    routes.add(
        "GET", "/v1/accounts/{a}/watchlist",
        route_doc::of("The communications watchlist")
            .returns(200, "Watchlist")
            .with_etag()
            .in_tag("contacts")
            .param(path_param("a", "Account id"))
            .param(as_of_param()),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            account_id a{std::string(ctx.param("a"))};
            answer_read(
                svc, ctx, reply, *who,
                [=](const state& s) { return authorize_read(s, who->actor, read_kind::watchlist, a); },
                [=](const projections::read_view& v) { return watchlist_response(v.state, a, v.version_of(a)); });
        });

    routes.add(
        "PUT", "/v1/accounts/{a}/watchlist",
        command_doc(route_doc::of("Replace the watchlist")
                        .request("SetWatchlist")
                        .returns(200, "Watchlist")
                        .with_etag()
                        .header("If-Match")
                        .in_tag("contacts")
                        .json_body()
                        .param(path_param("a", "Account id"))
                        .describe("Body {subscriptions:[{user_id, topics:[outage|maintenance|security|release]}]}.")),
        [&svc](request_context& ctx, responder reply) {
            auto req = begin_json_command(svc, ctx, reply);
            if (!req) return;
            const auto* who = &req->who;
            const auto* body = &req->body;
            account_id a{std::string(ctx.param("a"))};
            auto cmd = wire::parse_set_watchlist(*body, a);
            if (!cmd) return void(reply(cmd.error().to_response()));
            submit_command(
                svc, ctx, reply, *who, std::move(*cmd),
                [a](const decided_view& v) { return watchlist_response(v.state, a, v.version_of(a)); }, if_match_on(a));
        });

    routes.add(
        "GET", "/v1/accounts/{a}/recipients",
        route_doc::of("Notification recipients for a topic")
            .returns(200, "Recipients")
            .in_tag("contacts")
            .param(path_param("a", "Account id"))
            .param(query_param("topic", "outage, maintenance, security or release", true))
            .param(as_of_param()),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            auto topic_text = ctx.query.get("topic");
            auto t = topic_text ? parse_topic(*topic_text) : std::nullopt;
            if (!t)
                return void(reply(
                    query_problem("invalid_query", "topic", "topic must be outage, maintenance, security or release.")
                        .to_response()));
            account_id a{std::string(ctx.param("a"))};
            answer_read(
                svc, ctx, reply, *who,
                [=](const state& s) { return authorize_read(s, who->actor, read_kind::recipients, a); },
                [=](const projections::read_view& v) {
                    json::array users;
                    for (const auto& u : recipients(v.state, a, *t))
                        if (const auto* user = v.state.user(u)) users.emplace_back(wire::user(v.state, *user, a));
                    return json_response(200, json::object{{"topic", to_string(*t)}, {"recipients", std::move(users)}});
                });
        });
}

void add_resource_routes(router& routes, service& svc) {
    add_account_routes(routes, svc);
    add_user_routes(routes, svc);
    add_contact_routes(routes, svc);
    add_history_routes(routes, svc);
    add_audit_routes(routes, svc);
    add_stats_routes(routes, svc);
}

}  // namespace roster::api
