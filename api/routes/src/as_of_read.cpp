// answer_read: one path for live and as-of projection reads.
#include <algorithm>
#include <charconv>

#include "roster/api/domain_problem.hpp"
#include "roster/replay/log_range.hpp"
#include "routes_common.hpp"

namespace roster::api {

boost::system::result<std::size_t, problem> page_limit(const request_context& ctx, std::size_t fallback) {
    const auto l = ctx.query.get("limit");
    if (!l || l->empty()) return {boost::system::in_place_value, fallback};
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
    if (ec != std::errc{} || end != l->data() + l->size() || n == 0 || n > 500)
        return query_problem("invalid_query", "limit", "limit must be 1 to 500.");
    return {boost::system::in_place_value, n};
}

problem history_damaged(service& svc, std::string_view request_id, const eventstore::error& e) {
    svc.log.error("history_index_damaged", {{"request_id", request_id}, {"error", e.message}});
    return make_problem(500, "history_index_damaged",
                        "The stored history index is damaged; this history cannot be answered completely.");
}

boost::system::result<std::string, problem> page_cursor(const request_context& ctx, bool (*id_char)(char)) {
    std::string after(ctx.query.get("cursor").value_or(""));
    if (after.size() > 64 || !std::all_of(after.begin(), after.end(), id_char))
        return query_problem("invalid_cursor", "cursor", "The cursor is not a next_cursor of this list.");
    return {boost::system::in_place_value, std::move(after)};
}

param_doc as_of_param() {
    return query_param("as_of",
                       "Answer as of a past log position (integer) or RFC 3339 time; the position used is returned "
                       "in the Roster-As-Of header. A position beyond the head is 400 invalid_as_of.");
}

namespace {

// The rights check on a past state. Authentication belongs to the present (the caller passed it
// to get here); in the past a principal that did not exist yet, or was locked then, simply had
// no rights there.
domain::result<void> authorize_then(const read_authorizer& authorize, const domain::state& past,
                                    eventstore::log_position position) {
    auto ok = authorize(past);
    if (!ok && ok.error().kind == domain::error_kind::unauthenticated)
        return domain::make_error(domain::error_kind::forbidden, "not_allowed_as_of",
                                  "You had no access to this as of position " + std::to_string(position.value) +
                                      " (your user did not exist yet or was locked then).");
    return ok;
}

}  // namespace

void answer_read(service& svc, const request_context& ctx, const responder& reply, const caller& who,
                 const read_authorizer& authorize, const read_answer& answer) {
    auto checked = [&](const projections::read_view& v) {
        if (auto ok = authorize(v.state); !ok) return problem_from(ok.error()).to_response();
        return answer(v);
    };
    auto as_of = ctx.query.get("as_of");
    if (!as_of) {
        auto r = svc.reads.read(checked);
        not_modified_if_none_match(ctx, r);
        return void(reply(std::move(r)));
    }

    auto point = replay::parse_log_point(*as_of);
    if (!point)
        return void(reply(query_problem("invalid_as_of", "as_of", "as_of must be a log position or an RFC 3339 time.")
                              .to_response()));
    const auto head = svc.store.head().position;
    eventstore::log_position position;
    if (const auto* p = std::get_if<eventstore::log_position>(&*point)) {
        if (*p > head)
            return void(reply(query_problem("invalid_as_of", "as_of",
                                            "as_of is beyond the head of the log (" + std::to_string(head.value) + ").")
                                  .to_response()));
        position = *p;
    } else {
        position = std::min(head, replay::last_position_until(svc.store, *point));
    }
    // Rights are judged now as well: losing access today also ends access to the past.
    if (auto ok = svc.reads.read([&](const projections::read_view& v) { return authorize(v.state); }); !ok)
        return void(reply(problem_from(ok.error()).to_response()));
    if (!svc.past)
        return void(reply(service_unavailable("As-of reads are not available on this server.").to_response()));
    // Everything by value: the handler has returned by the time a slow read runs (the request
    // context itself stays valid until the reply).
    auto fold_and_answer = [&svc, &ctx, position, reply, authorize, answer] {
        try {
            auto past = svc.past->at(position);
            if (!past) return void(reply(service_unavailable(past.error().message).to_response()));
            auto r = (*past)->read([&](const projections::read_view& v) {
                if (auto ok = authorize_then(authorize, v.state, position); !ok)
                    return problem_from(ok.error()).to_response();
                return answer(v);
            });
            r.headers.emplace_back("Roster-As-Of", std::to_string(position.value));
            not_modified_if_none_match(ctx, r);
            reply(std::move(r));
        } catch (const std::exception& e) {
            // The responder answers 500 when its last copy goes without a reply.
            svc.log.error("as_of_read_failed", {{"position", position.value}, {"error", e.what()}});
        }
    };
    if (!svc.run_slow_read) return fold_and_answer();
    // `reply` is a copy inside the job; a refused post drops the job and answers here.
    if (!svc.run_slow_read(domain::principal_label(who.actor), std::move(fold_and_answer)))
        reply(too_many_requests(std::chrono::seconds(1), "Too many as-of reads waiting").to_response());
}

}  // namespace roster::api
