// The HTTP face of the service: who is calling, the JSON body of a command, If-Match and
// Idempotency-Key, and handing the command to the single writer. Used by every route group.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

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
response json_with_etag(unsigned status, const boost::json::object& body, domain::member_version etag_version);
// The same with a body already written as JSON text (json_writer).
response json_text_with_etag(unsigned status, std::string json_text, domain::account_version etag_version);
response json_text_with_etag(unsigned status, std::string json_text, domain::member_version etag_version);
// The user-in-account resource /v1/accounts/{a}/users/{u} with its ETag (member_version_of); a
// 404 user_not_found when the user is not (and never was) in `a`.
response member_response(unsigned status, const boost::json::object& body, const domain::state& s,
                         const domain::account_id& a, const domain::user_id& u);

// If-None-Match on a GET (or HEAD) of a versioned resource (RFC 9110 §13.1.2): turns a 200 whose
// ETag the client already holds (or any 200 for `*`) into 304 Not Modified, ETag kept, no body.
// Answers without an ETag are left alone, so unversioned routes ignore the header.
void not_modified_if_none_match(const request_context& ctx, response& r);

// `r` (a 201) with `Location: <path>`, the URL of the resource it created (RFC 9110 §15.3.2).
// Ids here are generated or checked against [A-Za-z0-9_-], so the path needs no escaping.
response created_at(response r, std::string path);

// The tags of an If-Match header (RFC 9110 §13.1.1): `*` (tags empty), or a list of our ETags
// ("12", "12", "15"; a bare 12 is taken too); nullopt when absent. A problem (400
// invalid_if_match, field If-Match) for a weak tag (If-Match compares strongly, so W/"12" could
// never match), for anything that is not one of our ETags, or for more than 32 tags.
struct if_match_tags {
    std::vector<std::uint64_t> tags;  // empty = `*`
};
boost::system::result<std::optional<if_match_tags>, problem> if_match_header(const request_context& ctx);

using if_match_resource = std::variant<stream_resource, member_resource, user_resource>;

struct command_options {
    // The resource If-Match refers to (nullopt: If-Match is not supported here). Set only by
    // if_match_on from the resource's typed id.
    std::optional<if_match_resource> if_match;
    std::string reason;
    // Overrides the envelope's actor.principal (e.g. "anonymous" for secret-authorized commands).
    std::string actor_label;
    // Adds what must be shown once and never stored (an invitation or token secret).
    std::function<void(response&)> reveal_once;
};

// The doc of a command route: its description plus the optional reason and reference every
// command body takes (submit_command records them in each event's envelope).
route_doc command_doc(route_doc doc);

// Options for a command on account `a`, on user `u` in account `a`, or on user `u` as a whole:
// If-Match is compared with the version its ETag was built from (the account stream's version,
// member_version_of, or member_version_of in any of the user's accounts).
command_options if_match_on(const domain::account_id& a, std::string reason = {});
command_options if_match_on(const domain::account_id& a, const domain::user_id& u, std::string reason = {});
command_options if_match_on(const domain::user_id& u, std::string reason = {});

// Hands `cmd` to the single writer and answers through `reply` once it is durable (or refused).
// Honours Idempotency-Key (scoped to the caller's principal) and If-Match.
void submit_command(service& svc, const request_context& ctx, const responder& reply, const caller& who,
                    domain::command cmd, std::function<response(const decided_view&)> render,
                    command_options options = {});

}  // namespace roster::api
