// RFC 9457 problem details: the one shape of every error answer of the API.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/json/object.hpp>

#include "roster/api/http.hpp"

namespace roster::api {

inline constexpr std::string_view problem_content_type = "application/problem+json";

// The RFC 9110 reason phrase of an HTTP status ("Not Found"); "Error" for a status it does not know.
std::string_view reason_phrase(unsigned status);

// An expected failure as a value. `code` is the stable machine code clients switch on; `type` is
// derived from it ("urn:roster:problem:<code>") and `title` from `status` (its HTTP reason phrase),
// so neither can disagree with what they are derived from. `extra` members (e.g. `field`, `blockers`,
// `missing_portals`) are added to the top-level object.
// Value type, not synchronized.
struct problem {
    unsigned status = 500;
    std::string code;
    std::string detail;
    boost::json::object extra;
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. Allow on a 405

    std::string type() const;
    std::string_view title() const { return reason_phrase(status); }
    boost::json::object to_json() const;
    response to_response() const;
};

// Any problem: the one place its fields are filled in.
problem make_problem(unsigned status, std::string code, std::string detail);

// The problems the HTTP layer itself raises. Details vary.
problem bad_request(std::string code, std::string detail);  // 400
// 400 about one query parameter: `field` names it (as body errors name their field).
problem query_problem(std::string code, std::string field, std::string detail);
problem not_found(std::string detail);                // 404 route_not_found
problem method_not_allowed(std::string_view allow);   // 405 with an Allow header
problem unsupported_media_type(std::string detail);   // 415
problem payload_too_large(std::size_t limit_bytes);   // 413
problem request_timeout();                            // 408
problem internal_error(std::string_view request_id);  // 500
problem service_unavailable(std::string detail);      // 503

// Called by boost::system::result<T, problem>::value() on a failed result: reaching it means
// the caller forgot to check, a bug, so it throws std::logic_error.
[[noreturn]] void throw_exception_from_error(const problem& p, const boost::source_location& loc);

// A JSON response with the given status.
response json_response(unsigned status, const boost::json::value& body);
// A JSON response whose body is already JSON text (written by a json_writer).
response json_text_response(unsigned status, std::string json_text);

}  // namespace roster::api
