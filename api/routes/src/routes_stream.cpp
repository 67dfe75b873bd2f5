// GET /v1/stream: authorizes like any route (problem+json answers), then hands the connection
// to the live stream; and the test-only append route the stream's tests and benchmark drive.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>

#include <boost/json/array.hpp>

#include "roster/api/domain_problem.hpp"
#include "roster/api/http_commands.hpp"
#include "roster/api/live_stream.hpp"
#include "roster/api/resource_routes.hpp"
#include "roster/domain/queries.hpp"

namespace roster::api {

namespace json = boost::json;

void add_stream_routes(router& routes, service& svc, live_hub& hub) {
    routes.add(
        "GET", "/v1/stream",
        route_doc::of("Live events over WebSocket")
            .in_tag("audit")
            .param(query_param("from",
                               "Start at this log position, inclusive (see \"Positions and cursors\" in the "
                               "README): catch-up from the log, then live; absent: live only",
                               false, "integer"))
            .param(query_param("account", "Only events concerning this account; required for account admins"))
            .param(query_param("types", "Comma-separated event types; absent: all"))
            .responds({101, 400, 401, 403, 404, 426})
            .describe("Auditor, operator, or an admin of `account`. One text message per event, the JSON of a "
                      "GET /v1/events entry. A subscriber that falls behind (more events or bytes waiting for it than "
                      "--live-queue-events / --live-queue-bytes allow, or the server's --live-total-bytes for all "
                      "subscribers reached) is closed (code 1008) with 'last_position=N; next_from=N+1' in the close "
                      "reason; reconnect with from=<next_from>. Pings every 20 s."),
        [&svc, &hub](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            auto account = ctx.query.get("account");
            auto allowed = svc.reads.read([&](const projections::read_view& v) {
                if (account)
                    return domain::authorize_read(v.state, who->actor, domain::read_kind::account_history,
                                                  domain::account_id{std::string(*account)});
                return domain::authorize_read(v.state, who->actor, domain::read_kind::events);
            });
            if (!allowed) return void(reply(problem_from(allowed.error()).to_response()));

            live_filter filter;
            if (account) filter.account = std::string(*account);
            if (auto types = ctx.query.get("types")) {
                const auto& known = event_type_names();
                std::string_view rest = *types;
                while (!rest.empty()) {
                    auto comma = rest.find(',');
                    auto name = rest.substr(0, comma);
                    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
                    if (std::find(known.begin(), known.end(), name) == known.end()) {
                        auto p = query_problem("unknown_event_type", "types",
                                               "'" + std::string(name) + "' is not an event type.");
                        p.extra["known_types"] = json::array(known.begin(), known.end());
                        return void(reply(p.to_response()));
                    }
                    filter.types.emplace_back(name);
                }
            }
            std::optional<eventstore::log_position> from;
            if (auto raw = ctx.query.get("from")) {
                std::uint64_t v = 0;
                auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
                if (raw->empty() || ec != std::errc{} || end != raw->data() + raw->size())
                    return void(reply(
                        query_problem("invalid_query", "from", "from must be a non-negative integer.").to_response()));
                // from=N starts at N, as on /v1/events and the export; head + 1 is the next event
                // to be recorded, where a subscriber that had seen everything resumes.
                if (const auto head = svc.store.head().position; v > head.value + 1) {
                    auto p = query_problem("from_beyond_head", "from",
                                           "from is after the next position of the log (head + 1).");
                    p.extra["head"] = head.value;
                    return void(reply(p.to_response()));
                }
                // The live session counts from the last position the subscriber already has.
                from = eventstore::log_position{v == 0 ? 0 : v - 1};
            }
            response r;
            r.upgrade = make_live_upgrade(hub, svc.log, std::move(filter), from, ctx.request_id);
            reply(std::move(r));
        });
}

}  // namespace roster::api
