#include "roster/api/replica_routes.hpp"

#include "roster/api/problem.hpp"

namespace roster::api {

handler replica_redirect(std::string leader_url) {
    while (leader_url.ends_with('/')) leader_url.pop_back();
    return [leader = std::move(leader_url)](request_context& ctx, responder reply) {
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
