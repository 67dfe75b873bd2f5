// Key contacts (view, atomic save, self-service hand-over), watchlist and recipients.
#include <boost/json/array.hpp>

#include "roster/api/domain_problem.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/resource_routes.hpp"
#include "routes_common.hpp"
#include "wire.hpp"

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
               route_doc::of("Key contacts with health warnings").in_tag("contacts").param(path_param("a", "Account id"))
                   .param(as_of_param()),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   answer_read(svc, ctx, reply, *who, [=](const state& s) { return authorize_read(s, who->actor, read_kind::contacts, a); },
                               [=](const projections::read_view& v) {
                                   return contacts_response(v.state, a, v.version_of(a));
                               });
               });

    routes.add("PUT", "/v1/accounts/{a}/contacts",
               route_doc::of("Save key contacts (atomic, any subset)").in_tag("contacts").json_body()
                   .param(path_param("a", "Account id"))
                   .describe("Body {role: user_id or null, ...}. support:admin of {a}. If-Match: account version."),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);                   if (!req) return;                   const auto* who = &req->who;                   const auto* body = &req->body;
                   std::vector<contact_assignment> assignments;
                   for (const auto& [key, value] : *body) {
                       auto r = parse_contact_role(key);
                       if (!r)
                           return void(reply(bad_request("unknown_contact_role", "Unknown contact role '" + std::string(key) + "'.").to_response()));
                       if (!value.is_null() && !value.is_string())
                           return void(reply(bad_request("invalid_field_type", "'" + std::string(key) + "' must be a user id or null.").to_response()));
                       assignments.push_back({*r, value.is_null() ? user_id{} : user_id{std::string(value.as_string())}});
                   }
                   account_id a{std::string(ctx.param("a"))};
                   submit_command(svc, ctx, reply, *who, save_contacts{a, std::move(assignments)},
                                  [a](const decided_view& v) { return contacts_response(v.state, a, v.version_of(a)); },
                                  if_match_on(a));
               });

    routes.add("POST", "/v1/accounts/{a}/contacts/{role}/handover",
               route_doc::of("Hand a contact role over (self-service)").in_tag("contacts").json_body()
                   .param(path_param("a", "Account id")).param(path_param("role", "Contact role"))
                   .describe("By the current holder, without admin rights. Body {to_user_id}."),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);                   if (!req) return;                   const auto* who = &req->who;                   const auto* body = &req->body;
                   json_reader in(*body);
                   auto to = in.required_string("to_user_id");
                   if (auto bad = in.finish()) return void(reply(bad->to_response()));
                   auto r = parse_contact_role(ctx.param("role"));
                   if (!r) return void(reply(not_found_response("contact_role_not_found", "Unknown contact role.")));
                   account_id a{std::string(ctx.param("a"))};
                   submit_command(svc, ctx, reply, *who, hand_over_contact{a, *r, user_id{to}},
                                  [a](const decided_view& v) { return contacts_response(v.state, a, v.version_of(a)); },
                                  if_match_on(a));
               });

    routes.add("GET", "/v1/accounts/{a}/watchlist",
               route_doc::of("The communications watchlist").in_tag("contacts").param(path_param("a", "Account id"))
                   .param(as_of_param()),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   answer_read(svc, ctx, reply, *who, [=](const state& s) { return authorize_read(s, who->actor, read_kind::watchlist, a); },
                               [=](const projections::read_view& v) {
                                   return watchlist_response(v.state, a, v.version_of(a));
                               });
               });

    routes.add("PUT", "/v1/accounts/{a}/watchlist",
               route_doc::of("Replace the watchlist").in_tag("contacts").json_body().param(path_param("a", "Account id"))
                   .describe("Body {subscriptions:[{user_id, topics:[outage|maintenance|security|release]}]}."),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);                   if (!req) return;                   const auto* who = &req->who;                   const auto* body = &req->body;
                   json_reader in(*body);
                   const auto* subs = in.required_array("subscriptions");
                   std::vector<watch_subscription> list;
                   if (subs) {
                       for (std::size_t i = 0; i < subs->size() && in.ok(); ++i) {
                           const auto& item = (*subs)[i];
                           const auto field = "subscriptions[" + std::to_string(i) + "]";
                           if (!item.is_object()) {
                               in.fail("subscriptions", field + " must be an object.");
                               break;
                           }
                           json_reader sub(item.as_object(), in.field_name(field) + ".");
                           auto uid = sub.required_string("user_id");
                           auto topics = sub.required_string_array("topics");
                           watch_subscription ws{user_id{uid}, {}};
                           for (const auto& t : topics) {
                               auto parsed = parse_topic(t);
                               if (!parsed) {
                                   sub.fail("topics", "Unknown topic '" + t + "' (outage, maintenance, security, release).");
                                   break;
                               }
                               ws.topics.push_back(*parsed);
                           }
                           if (auto bad = sub.finish()) {
                               in.fail("subscriptions", bad->detail);
                               break;
                           }
                           list.push_back(std::move(ws));
                       }
                   }
                   if (auto bad = in.finish()) return void(reply(bad->to_response()));
                   account_id a{std::string(ctx.param("a"))};
                   submit_command(svc, ctx, reply, *who, set_watchlist{a, std::move(list)},
                                  [a](const decided_view& v) { return watchlist_response(v.state, a, v.version_of(a)); },
                                  if_match_on(a));
               });

    routes.add("GET", "/v1/accounts/{a}/recipients",
               route_doc::of("Notification recipients for a topic").in_tag("contacts")
                   .param(path_param("a", "Account id")).param(query_param("topic", "outage, maintenance, security or release", true))
                   .param(as_of_param()),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   auto topic_text = ctx.query.get("topic");
                   auto t = topic_text ? parse_topic(*topic_text) : std::nullopt;
                   if (!t) return void(reply(bad_request("invalid_query", "topic must be outage, maintenance, security or release.").to_response()));
                   account_id a{std::string(ctx.param("a"))};
                   answer_read(svc, ctx, reply, *who, [=](const state& s) { return authorize_read(s, who->actor, read_kind::recipients, a); },
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
}

}  // namespace roster::api
