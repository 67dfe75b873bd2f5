// Registration functions of the resource route groups (one translation unit each).
#pragma once

#include "roster/api/http_commands.hpp"
#include "roster/api/router.hpp"
#include "roster/api/service.hpp"
#include "roster/domain/queries.hpp"
#include "roster/replay/export.hpp"

#include <algorithm>
#include <functional>
#include <string_view>
#include <vector>

#include <boost/json/serialize.hpp>

namespace roster::api {

void add_account_routes(router& routes, service& svc);
void add_user_routes(router& routes, service& svc);
void add_contact_routes(router& routes, service& svc);
void add_history_routes(router& routes, service& svc);
void add_audit_routes(router& routes, service& svc);
void add_stats_routes(router& routes, service& svc);
void add_token_routes(router& routes, service& svc);
// GET /v1/me (routes_me.cpp); registered by add_account_routes.
void add_me_routes(router& routes, service& svc);

// Whether the caller may read, judged on one state (a domain::authorize_read call).
using read_authorizer = std::function<domain::result<void>(const domain::state&)>;
using read_answer = std::function<response(const projections::read_view&)>;

// Answers a projection GET. Without `as_of` from the live read model; with
// `as_of=<position | RFC 3339 time>` from the projections as they were after that position
// (a time means the last event recorded at or before it), so the body and ETag are exactly
// what the live read answered then; the position used is in the `Roster-As-Of` header.
// With as_of the caller must be allowed both now and then. A position beyond the head or a
// malformed value is 400 `invalid_as_of`; a time beyond the head means the head.
// Authentication is judged now only: a principal that did not exist (or was locked) at that
// point had no rights then, which is 403 `not_allowed_as_of`, never 401.
void answer_read(service& svc, const request_context& ctx, const responder& reply, const caller& who,
                 const read_authorizer& authorize, const read_answer& answer);

// The streamed export answer (body produced by replay::export_reader through response::stream).
response export_response(const eventstore::store& store, replay::export_format format, eventstore::log_position from,
                         eventstore::log_position to, std::optional<std::string> account = std::nullopt,
                         bool include_envelope = false);

// A persisted history index segment that does not decode (history_index::page's errc::corrupt):
// logged as an error and answered 500 history_index_damaged, never a page silently lacking entries.
problem history_damaged(service& svc, std::string_view request_id, const eventstore::error& e);

// route_doc parameter of every projection GET.
param_doc as_of_param();

// The `limit` query parameter of a paged list: 1 to 500 (`fallback` when absent or empty);
// 400 invalid_query naming the field otherwise. The one place the page-size bound is decided.
boost::system::result<std::size_t, problem> page_limit(const request_context& ctx, std::size_t fallback = 100);

// The `cursor` query parameter of a list ordered by id: at most 64 bytes, each accepted by
// `id_char` (the list's id alphabet), "" when absent; 400 invalid_cursor naming the field
// otherwise. The page starts after it, so a cursor stays valid however the rows before it change.
boost::system::result<std::string, problem> page_cursor(const request_context& ctx, bool (*id_char)(char));

// One page of a list ordered by id: `{<name>: [...], next_cursor}` holding the first `limit` of
// `rows` by id, ending early once the page's JSON takes `page_bytes` (always at least one row);
// next_cursor is the last id shown, or null on the last page. Sorts only what the page needs.
template <class Record, class ToJson>
response id_page(std::string_view name, std::vector<const Record*> rows, std::size_t limit, std::size_t page_bytes,
                 ToJson to_json) {
    const auto by_id = [](const Record* x, const Record* y) { return x->id < y->id; };
    const auto take = std::min(rows.size(), limit + 1);
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(take), rows.end(), by_id);
    rows.resize(take);
    boost::json::array items;
    std::size_t bytes = 0;
    boost::json::value next;  // null: the last page
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i == limit || (i > 0 && bytes >= page_bytes)) {
            next = rows[i - 1]->id.value;
            break;
        }
        boost::json::value row = to_json(*rows[i]);
        bytes += boost::json::serialize(row).size();
        items.emplace_back(std::move(row));
    }
    return json_response(200, boost::json::object{{name, std::move(items)}, {"next_cursor", std::move(next)}});
}

// Whether the caller may read the audit trail (auditor or operator); answers 403/401 through
// `reply` when not. Shared by the audit and proof routes.
bool allowed_audit_read(service& svc, const caller& who, const responder& reply);

// 404 problem for an id the caller may not see or that does not exist.
response not_found_response(std::string code, std::string detail);

// An RFC 3339 time, or null for a time never set (a token's last use, a webhook's last attempt).
boost::json::value time_or_null(domain::timestamp t);

}  // namespace roster::api
