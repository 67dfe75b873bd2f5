// Strict reading of JSON command bodies: the body must be application/json, an object, with
// exactly the known fields of the expected types. Every refusal is a 400/415 problem that names
// the offending field, so clients learn about typos instead of having fields silently ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include "roster/api/http.hpp"
#include "roster/api/problem.hpp"

namespace roster::api {

// Checks the Content-Type (application/json, parameters such as charset allowed; else 415
// `unsupported_media_type`), parses strictly (400 `malformed_json` with the parser's message and
// offset) and requires an object (400 `json_object_expected`). An empty body counts as `{}` only
// when `allow_empty` (commands whose fields are all optional).
boost::system::result<boost::json::object, problem> parse_json_object_body(const request_context& ctx,
                                                                           bool allow_empty = false);

// Reads fields from one JSON object and remembers which keys were consumed. The first failure
// is kept and reported by `finish()`, which also refuses any key never consumed
// (400 `unknown_field`). Accessors return an empty value / nullopt after a failure so a handler
// can read all fields and check once:
//
//   json_reader in(body);
//   auto name = in.required_string("name");
//   auto invite = in.optional_bool("invite");
//   if (auto bad = in.finish()) return reply(bad->to_response());
//
// Owned by one handler invocation; not synchronized. The object must outlive the reader.
class json_reader {
public:
    // `prefix` names nested objects in messages ("roles." → field "roles.support").
    explicit json_reader(const boost::json::object& obj, std::string prefix = {});

    std::string required_string(std::string_view key);
    std::optional<std::string> optional_string(std::string_view key);
    bool required_bool(std::string_view key);
    std::optional<bool> optional_bool(std::string_view key);
    std::int64_t required_int64(std::string_view key);
    std::optional<std::int64_t> optional_int64(std::string_view key);
    // Objects and arrays are returned by pointer into the read object (null when absent or on error).
    const boost::json::object* required_object(std::string_view key);
    const boost::json::object* optional_object(std::string_view key);
    const boost::json::array* required_array(std::string_view key);
    const boost::json::array* optional_array(std::string_view key);
    // An array whose elements must all be strings.
    std::optional<std::vector<std::string>> optional_string_array(std::string_view key);
    std::vector<std::string> required_string_array(std::string_view key);

    // Marks a key as known without reading it (e.g. a field handled elsewhere).
    void ignore(std::string_view key);
    // Records a failure found by the caller's own validation (first failure wins).
    void fail(std::string_view key, std::string detail);

    bool ok() const noexcept { return !error_.has_value(); }
    // The first failure, or an unknown field; nullopt when the object was fully understood.
    std::optional<problem> finish();

    std::string field_name(std::string_view key) const;

private:
    // Finds `key`, marks it consumed; records a missing-field failure when `required`.
    const boost::json::value* find(std::string_view key, bool required);
    void type_error(std::string_view key, std::string_view expected);

    const boost::json::object& obj_;
    std::string prefix_;
    std::set<std::string, std::less<>> consumed_;
    std::optional<problem> error_;
};

}  // namespace roster::api
