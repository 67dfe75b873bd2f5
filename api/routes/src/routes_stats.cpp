// Account stats for dashboards: counts of users by status, registration, portal and role, and
// contact health. The counts are kept by the directory as events fold (O(1) to read, also as of
// a past position); contact health is the same domain::contact_health the contacts view shows.
#include "roster/api/domain_problem.hpp"
#include "roster/api/wire.hpp"
#include "routes_common.hpp"

namespace roster::api {
using namespace roster::domain;

void add_stats_routes(router& routes, service& svc) {
    routes.add(
        "GET", "/v1/accounts/{a}/stats",
        route_doc::of("Account counts for dashboards")
            .returns(200, "AccountStats")
            .in_tag("accounts")
            .param(path_param("a", "Account id"))
            .param(as_of_param())
            .describe("Who: as the user list (admin of {a}, operator, auditor). Answers {account, position, users, "
                      "portals, contacts} in constant time, at `position` (the log position the counts reflect). "
                      "\"Current members\" are the account's memberships that are not removed. users.active: current "
                      "members not locked; users.locked: current members locked; users.removed: removed memberships "
                      "(not in total); users.invited: current members issued an invitation (open, expired or replaced) "
                      "who have not accepted one; users.registered: current members who accepted an invitation; "
                      "users.not_invited: current members never invited; users.total: current members (active + "
                      "locked = invited + registered + not_invited). portals.<portal>.users: current members (locked "
                      "included) holding at least one role in that portal; portals.<portal>.roles.<role>: current "
                      "members holding exactly that role (an admin is not also counted as a viewer). "
                      "contacts.required_roles_filled / required_roles_missing: of the contact roles an account of "
                      "its kind must have (its primary admin contact, primary_support, secondary_support, security), "
                      "how many are set and which are not; contacts.warnings: the contact health warnings of GET "
                      ".../contacts."),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            account_id a{std::string(ctx.param("a"))};
            answer_read(
                svc, ctx, reply, *who,
                [=](const state& s) { return authorize_read(s, who->actor, read_kind::user_list, a); },
                [=](const projections::read_view& v) {
                    const auto* acc = v.state.account(a);
                    if (!acc) return not_found_response("account_not_found", "No such account.");
                    return json_response(200,
                                         wire::account_stats(v.state, *acc, v.directory.stats(a), v.position.value));
                });
        });
}

}  // namespace roster::api
