#include "roster/api/json_input.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

namespace roster::api {

namespace {

problem field_problem(std::string code, std::string field, std::string detail) {
    auto p = bad_request(std::move(code), std::move(detail));
    p.extra["field"] = field;
    return p;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool printable_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// A SAX handler that only watches object keys: Boost.JSON's DOM keeps the last of duplicate
// keys silently, and a command must never be read differently from what its author meant.
struct duplicate_key_finder {
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);

    std::vector<std::set<std::string, std::less<>>> open;
    std::string key;
    std::optional<std::string> duplicate;

    using ec_t = boost::system::error_code;
    using sv = boost::json::string_view;
    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }
    bool on_array_begin(ec_t&) { return true; }
    bool on_array_end(std::size_t, ec_t&) { return true; }
    bool on_object_begin(ec_t&) { return open.emplace_back(), true; }
    bool on_object_end(std::size_t, ec_t&) { return open.pop_back(), true; }
    bool on_string_part(sv, std::size_t, ec_t&) { return true; }
    bool on_string(sv, std::size_t, ec_t&) { return true; }
    bool on_key_part(sv s, std::size_t, ec_t&) { return key.append(s.data(), s.size()), true; }
    bool on_key(sv s, std::size_t, ec_t& ec) {
        key.append(s.data(), s.size());
        bool fresh = open.back().insert(key).second;
        if (!fresh) {
            duplicate = key;
            ec = boost::json::error::syntax;  // stops the parse; `duplicate` says why
        }
        key.clear();
        return fresh;
    }
    bool on_number_part(sv, ec_t&) { return true; }
    bool on_int64(std::int64_t, sv, ec_t&) { return true; }
    bool on_uint64(std::uint64_t, sv, ec_t&) { return true; }
    bool on_double(double, sv, ec_t&) { return true; }
    bool on_bool(bool, ec_t&) { return true; }
    bool on_null(ec_t&) { return true; }
    bool on_comment_part(sv, ec_t&) { return true; }
    bool on_comment(sv, ec_t&) { return true; }
};

std::optional<std::string> find_duplicate_key(std::string_view text, const boost::json::parse_options& opts) {
    boost::json::basic_parser<duplicate_key_finder> p(opts);
    boost::system::error_code ec;
    p.write_some(false, text.data(), text.size(), ec);
    return p.handler().duplicate;
}

}  // namespace

boost::system::result<boost::json::object, problem> parse_json_object_body(const request_context& ctx,
                                                                           bool allow_empty) {
    if (ctx.body.empty() && allow_empty) return boost::json::object{};
    auto ct = ctx.header("content-type");
    std::string media = ct ? to_lower_ascii(trim(ct->substr(0, ct->find(';')))) : std::string();
    if (media != "application/json") {
        if (!ct) return unsupported_media_type("The body must be application/json (Content-Type is missing).");
        // Header values may hold any byte (obs-text): quoting one that is not printable ASCII would
        // put invalid UTF-8 in the problem document, which strict JSON clients then cannot read.
        if (!printable_ascii(*ct)) return unsupported_media_type("The body must be application/json.");
        return unsupported_media_type("The body must be application/json, not " + std::string(*ct) + ".");
    }
    boost::system::error_code ec;
    boost::json::parse_options opts;  // strict: no comments, no trailing commas, valid UTF-8
    opts.max_depth = 32;
    auto v = boost::json::parse(ctx.body, ec, {}, opts);
    if (ec) {
        auto p = bad_request("malformed_json", "The body is not valid JSON: " + ec.message() + ".");
        return p;
    }
    if (!v.is_object()) return bad_request("json_object_expected", "The body must be a JSON object.");
    if (auto dup = find_duplicate_key(ctx.body, opts)) {
        auto p = bad_request("duplicate_field", "The field '" + *dup + "' appears more than once.");
        p.extra["field"] = *dup;
        return p;
    }
    return std::move(v.as_object());
}

json_reader::json_reader(const boost::json::object& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

std::string json_reader::field_name(std::string_view key) const { return prefix_ + std::string(key); }

void json_reader::fail(std::string_view key, std::string detail) {
    if (!error_) error_ = field_problem("invalid_field", field_name(key), std::move(detail));
}

void json_reader::ignore(std::string_view key) { consumed_.emplace(key); }

const boost::json::value* json_reader::find(std::string_view key, bool required) {
    consumed_.emplace(key);
    auto it = obj_.find(key);
    // An explicit null means "absent" for optional fields; for required ones it is missing.
    if (it == obj_.end() || it->value().is_null()) {
        if (required && !error_)
            error_ =
                field_problem("missing_field", field_name(key), "The field '" + field_name(key) + "' is required.");
        return nullptr;
    }
    return &it->value();
}

void json_reader::type_error(std::string_view key, std::string_view expected) {
    if (!error_)
        error_ = field_problem("invalid_field_type", field_name(key),
                               "The field '" + field_name(key) + "' must be " + std::string(expected) + ".");
}

std::optional<std::string> json_reader::optional_string(std::string_view key) {
    auto v = find(key, false);
    if (!v) return std::nullopt;
    if (!v->is_string()) return type_error(key, "a string"), std::nullopt;
    return std::string(v->as_string());
}

std::string json_reader::required_string(std::string_view key) {
    auto v = find(key, true);
    if (!v) return {};
    if (!v->is_string()) return type_error(key, "a string"), std::string();
    return std::string(v->as_string());
}

std::optional<bool> json_reader::optional_bool(std::string_view key) {
    auto v = find(key, false);
    if (!v) return std::nullopt;
    if (!v->is_bool()) return type_error(key, "a boolean"), std::nullopt;
    return v->as_bool();
}

bool json_reader::required_bool(std::string_view key) {
    auto v = find(key, true);
    if (!v) return false;
    if (!v->is_bool()) return type_error(key, "a boolean"), false;
    return v->as_bool();
}

std::optional<std::int64_t> json_reader::optional_int64(std::string_view key) {
    auto v = find(key, false);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v->as_uint64());
    // 3.0 is refused too: an integer field takes integer literals only.
    return type_error(key, "an integer"), std::nullopt;
}

std::int64_t json_reader::required_int64(std::string_view key) {
    auto v = find(key, true);
    if (!v) return 0;
    consumed_.emplace(key);
    auto r = optional_int64(key);
    return r.value_or(0);
}

const boost::json::object* json_reader::optional_object(std::string_view key) {
    auto v = find(key, false);
    if (!v) return nullptr;
    if (!v->is_object()) return type_error(key, "an object"), nullptr;
    return &v->as_object();
}

const boost::json::object* json_reader::required_object(std::string_view key) {
    auto v = find(key, true);
    if (!v) return nullptr;
    if (!v->is_object()) return type_error(key, "an object"), nullptr;
    return &v->as_object();
}

const boost::json::array* json_reader::optional_array(std::string_view key) {
    auto v = find(key, false);
    if (!v) return nullptr;
    if (!v->is_array()) return type_error(key, "an array"), nullptr;
    return &v->as_array();
}

const boost::json::array* json_reader::required_array(std::string_view key) {
    auto v = find(key, true);
    if (!v) return nullptr;
    if (!v->is_array()) return type_error(key, "an array"), nullptr;
    return &v->as_array();
}

std::optional<std::vector<std::string>> json_reader::optional_string_array(std::string_view key) {
    auto a = optional_array(key);
    if (!a) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& e : *a) {
        if (!e.is_string()) return type_error(key, "an array of strings"), std::nullopt;
        out.emplace_back(e.as_string());
    }
    return out;
}

std::vector<std::string> json_reader::required_string_array(std::string_view key) {
    if (!find(key, true)) return {};
    return optional_string_array(key).value_or(std::vector<std::string>{});
}

std::optional<problem> json_reader::finish() {
    if (error_) return error_;
    for (const auto& kv : obj_) {
        if (!consumed_.contains(std::string_view(kv.key())))
            return field_problem("unknown_field", field_name(kv.key()),
                                 "The field '" + field_name(kv.key()) + "' is not known here.");
    }
    return std::nullopt;
}

}  // namespace roster::api
