// The HTTP face of the service: who is calling, the JSON body of a command, If-Match and
// Idempotency-Key, and handing the command to the single writer. Used by every route group.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include "roster/api/http.hpp"
#include "roster/api/problem.hpp"
#include "roster/api/router.hpp"
#include "roster/api/service.hpp"

namespace roster::api {

// 429 with Retry-After: the caller's budget is spent for `wait`.
problem too_many_requests(std::chrono::seconds wait, std::string_view what);

// The caller of `ctx`, or nullopt after answering 401 through `reply` (or 429 while the caller's
// refusal budget is spent).
std::optional<caller> authenticate(service& svc, const request_context& ctx, const responder& reply);

// The caller and the strictly parsed JSON object body of a command, or nullopt after answering
// 401/400/415 through `reply`.
struct json_command {
    caller who;
    boost::json::object body;
};
std::optional<json_command> begin_json_command(service& svc, const request_context& ctx, const responder& reply,
                                               bool allow_empty_body = false);

// A JSON answer carrying `ETag: "<version>"` (the resource's stream version). Only typed
// versions: an untyped store version has no overload, so the ETag's kind is always known.
response json_with_etag(unsigned status, const boost::json::object& body, domain::account_version etag_version);
response json_with_etag(unsigned status, const boost::json::object& body, domain::user_version etag_version);

// `r` (a 201) with `Location: <path>`, the URL of the resource it created (RFC 9110 §15.3.2).
// Ids here are generated or checked against [A-Za-z0-9_-], so the path needs no escaping.
response created_at(response r, std::string path);

// The version in an If-Match header ("12", W/"12" or 12); nullopt when absent; a problem when
// present but not one of our ETags ("*" is not supported: every resource here exists or is 404).
boost::system::result<std::optional<std::uint64_t>, problem> if_match_version(const request_context& ctx);

struct command_options {
    // The stream whose version If-Match refers to (empty: If-Match is not supported here). Set
    // only by if_match_on from the resource's typed id.
    std::string if_match_stream;
    std::string reason;
    // Overrides the envelope's actor.principal (e.g. "anonymous" for secret-authorized commands).
    std::string actor_label;
    // Adds what must be shown once and never stored (an invitation or token secret).
    std::function<void(response&)> reveal_once;
};

// The doc of a command route: its description plus the optional reason and reference every
// command body takes (submit_command records them in each event's envelope).
route_doc command_doc(route_doc doc);

// Options for a command on account `a` or user `u`: If-Match is compared with the version of
// that id's stream, the one its ETag was built from (decided_view::version_of).
command_options if_match_on(const domain::account_id& a, std::string reason = {});
command_options if_match_on(const domain::user_id& u, std::string reason = {});

// Hands `cmd` to the single writer and answers through `reply` once it is durable (or refused).
// Honours Idempotency-Key (scoped to the caller's principal) and If-Match.
void submit_command(service& svc, const request_context& ctx, const responder& reply, const caller& who,
                    domain::command cmd, std::function<response(const decided_view&)> render,
                    command_options options = {});

}  // namespace roster::api
