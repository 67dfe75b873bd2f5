#include "roster/api/replica_routes.hpp"

#include "roster/api/problem.hpp"

namespace roster::api {

bool replica_serves_locally(std::string_view method, std::string_view route) {
    // An evidence pack signs its manifest and key rotations sign statements: only the leader can.
    if (route.starts_with("/v1/audit/evidence") || route.starts_with("/v1/audit/signing-key")) return false;
    if (method == "GET" || method == "HEAD" || method == "OPTIONS") return true;
    return (method == "POST" && (route == "/v1/stream/tickets" || route == "/v1/admin/backup")) ||
           route.starts_with("/test/");
}

handler replica_redirect(handler inner, std::string leader_url) {
    while (leader_url.ends_with('/')) leader_url.pop_back();
    return [inner = std::move(inner), leader = std::move(leader_url)](request_context& ctx, responder reply) {
        if (replica_serves_locally(ctx.method, ctx.route)) return inner(ctx, std::move(reply));
        if (leader.empty()) {
            reply(make_problem(503, "read_replica",
                               "This server is a read replica and no leader is configured (--leader-url); send "
                               "commands to the leader.")
                      .to_response());
            return;
        }
        auto p = make_problem(307, "read_replica",
                              "This server is a read replica; the leader " + leader +
                                  " takes this request. Repeat it there (same method and body).");
        p.extra["leader"] = leader;
        p.headers.emplace_back("Location", leader + ctx.target);
        reply(p.to_response());
    };
}

}  // namespace roster::api
