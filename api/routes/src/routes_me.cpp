// GET /v1/me: who the caller's token is, so a client can learn its own user and accounts
// without knowing an id first (issue 14, item 5).
#include <boost/json/array.hpp>

#include "roster/api/wire.hpp"
#include "roster/replay/event_json.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace json = boost::json;
using namespace roster::domain;

namespace {

json::object membership_json(const state& s, const account_id& a, const user_id& u) {
    const auto* m = s.member(a, u);
    return json::object{{"id", a.value},
                        {"roles", replay::roles_json(m ? m->roles : role_set{})},
                        {"type", to_string(m ? m->type : membership_type::employee)}};
}

// One shape for every principal, so a typed client needs no variant: user null and no accounts
// for operator, auditor and service tokens.
json::object me_json(const state& s, const caller& who) {
    json::object out{{"principal", replay::principal_json(who.actor)},
                     {"token_id", who.token_id},
                     {"user", nullptr},
                     {"accounts", json::array{}}};
    const auto* p = std::get_if<user_principal>(&who.actor);
    const auto* u = p ? s.user(p->user) : nullptr;
    if (!u) return out;
    out["user"] = json::object{
        {"id", u->id.value}, {"name", u->name}, {"email", u->address.str()}, {"employer", u->employer.value}};
    // Employer first, then the third-party memberships in id order; only current memberships
    // (authenticate already refused a user removed from their employer).
    auto& accounts = out["accounts"].as_array();
    if (s.member(u->employer, u->id)) accounts.emplace_back(membership_json(s, u->employer, u->id));
    for (const auto& a : u->third_party)
        if (s.member(a, u->id)) accounts.emplace_back(membership_json(s, a, u->id));
    return out;
}

}  // namespace

void add_me_routes(router& routes, service& svc) {
    routes.add("GET", "/v1/me",
               route_doc::of("Who the caller's token is")
                   .returns(200, "Me")
                   .in_tag("tokens")
                   .describe("Any valid token. Answer: {principal, token_id, user, accounts}. For a user's token, "
                             "user is {id, name, email, employer} and accounts its current memberships, employer "
                             "first: [{id, roles: {portal: [role]}, type: employee | third_party}]; for operator, "
                             "auditor and service tokens user is null and accounts empty."),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   reply(svc.reads.read(
                       [&](const projections::read_view& v) { return json_response(200, me_json(v.state, *who)); }));
               });
}

}  // namespace roster::api
