#include "roster/api/json_input.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace roster::api {
namespace {

boost::json::object obj(std::string_view text) { return boost::json::parse(text).as_object(); }

TEST(json_reader, reads_known_fields_of_the_right_type) {
    auto o = obj(R"({"name":"Ada","invite":true,"count":3,"roles":{"support":["admin"]},"tags":["a","b"]})");
    json_reader in(o);
    EXPECT_EQ(in.required_string("name"), "Ada");
    EXPECT_EQ(in.optional_bool("invite"), true);
    EXPECT_EQ(in.required_int64("count"), 3);
    const auto* roles = in.required_object("roles");
    ASSERT_NE(roles, nullptr);
    EXPECT_TRUE(roles->contains("support"));
    auto tags = in.optional_string_array("tags");
    ASSERT_TRUE(tags);
    EXPECT_EQ(*tags, (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(in.optional_string("absent").has_value());
    EXPECT_FALSE(in.finish().has_value());
}

TEST(json_reader, unknown_field_is_named) {
    auto o = obj(R"({"name":"Ada","emial":"x"})");
    json_reader in(o);
    in.required_string("name");
    in.optional_string("email");
    auto p = in.finish();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->status, 400u);
    EXPECT_EQ(p->code, "unknown_field");
    EXPECT_EQ(p->extra.at("field").as_string(), "emial");
    EXPECT_NE(p->detail.find("emial"), std::string::npos);
}

TEST(json_reader, missing_required_field_is_named) {
    auto o = obj(R"({"other":1})");
    json_reader in(o);
    in.ignore("other");
    EXPECT_EQ(in.required_string("email"), "");
    auto p = in.finish();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->code, "missing_field");
    EXPECT_EQ(p->extra.at("field").as_string(), "email");
}

TEST(json_reader, null_counts_as_absent) {
    auto o = obj(R"({"a":null,"b":null})");
    json_reader in(o);
    EXPECT_FALSE(in.optional_string("a").has_value());
    EXPECT_TRUE(in.ok());
    in.required_string("b");
    EXPECT_FALSE(in.ok());
}

TEST(json_reader, type_errors_name_the_field_and_first_failure_wins) {
    auto o = obj(R"({"name":1,"invite":"yes"})");
    json_reader in(o);
    in.required_string("name");
    in.optional_bool("invite");
    auto p = in.finish();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->code, "invalid_field_type");
    EXPECT_EQ(p->extra.at("field").as_string(), "name");
    EXPECT_NE(p->detail.find("a string"), std::string::npos);
}

TEST(json_reader, integers_refuse_fractions_and_strings) {
    for (auto text : {R"({"n":1.5})", R"({"n":"1"})", R"({"n":true})", R"({"n":18446744073709551615})"}) {
        auto o = obj(text);
        json_reader in(o);
        in.optional_int64("n");
        auto p = in.finish();
        ASSERT_TRUE(p) << text;
        EXPECT_EQ(p->code, "invalid_field_type") << text;
    }
}

TEST(json_reader, string_arrays_refuse_other_elements) {
    auto o = obj(R"({"tags":["a",2]})");
    json_reader in(o);
    EXPECT_FALSE(in.optional_string_array("tags").has_value());
    auto p = in.finish();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->extra.at("field").as_string(), "tags");
}

TEST(json_reader, nested_readers_prefix_field_names) {
    auto o = obj(R"({"roles":{"support":["admin"],"portal9":["x"]}})");
    json_reader in(o);
    const auto* roles = in.required_object("roles");
    ASSERT_NE(roles, nullptr);
    json_reader nested(*roles, "roles.");
    nested.optional_string_array("support");
    auto p = nested.finish();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->extra.at("field").as_string(), "roles.portal9");
    EXPECT_FALSE(in.finish().has_value());
}

TEST(json_reader, caller_failures_are_reported) {
    auto o = obj(R"({"email":"not-an-email"})");
    json_reader in(o);
    auto email = in.required_string("email");
    if (email.find('@') == std::string::npos) in.fail("email", "The field 'email' must be an email address.");
    auto p = in.finish();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->code, "invalid_field");
    EXPECT_EQ(p->extra.at("field").as_string(), "email");
}

request_context body(std::string content_type, std::string text) {
    request_context ctx;
    if (!content_type.empty()) ctx.headers.add("content-type", std::move(content_type));
    ctx.body = std::move(text);
    return ctx;
}

TEST(parse_json_object_body, accepts_json_objects_with_charset) {
    auto r = parse_json_object_body(body("Application/JSON; charset=utf-8", R"({"a":1})"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->at("a").as_int64(), 1);
}

TEST(parse_json_object_body, refuses_other_content_types_with_415) {
    for (auto ct : {"", "text/plain", "application/jsonx", "application/problem+json"}) {
        auto r = parse_json_object_body(body(ct, R"({"a":1})"));
        ASSERT_FALSE(r) << ct;
        EXPECT_EQ(r.error().status, 415u) << ct;
    }
}

// Found by fuzz_request_target (tests/fuzz/regressions/fuzz_request_target/): the 415 detail
// quoted the Content-Type byte for byte, so a header with obs-text made the problem document
// invalid UTF-8, which strict JSON parsers refuse.
TEST(parse_json_object_body, the_415_document_stays_valid_json_whatever_the_header_bytes) {
    for (const std::string& ct : std::vector<std::string>{"text/\xad", "text/plain\x01", std::string("a\0b", 3)}) {
        auto r = parse_json_object_body(body(ct, R"({"a":1})"));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().status, 415u);
        boost::system::error_code ec;
        boost::json::parse(r.error().to_response().body, ec);
        EXPECT_FALSE(ec) << r.error().to_response().body;
        EXPECT_EQ(r.error().detail.find(ct), std::string::npos);
    }
    auto plain = parse_json_object_body(body("text/plain", "x"));
    ASSERT_FALSE(plain);
    EXPECT_NE(plain.error().detail.find("text/plain"), std::string::npos);
}

TEST(parse_json_object_body, refuses_malformed_json_and_non_objects) {
    for (auto text : {R"({"a":1,})", R"({"a":1} trailing)", "{/*c*/}", "", R"({"a":"\xff"})"}) {
        auto r = parse_json_object_body(body("application/json", text));
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, "malformed_json") << text;
    }
    auto arr = parse_json_object_body(body("application/json", "[1]"));
    ASSERT_FALSE(arr);
    EXPECT_EQ(arr.error().code, "json_object_expected");
}

TEST(parse_json_object_body, refuses_duplicate_keys_at_any_depth) {
    for (auto [text, field] :
         {std::pair{R"({"a":1,"a":2})", "a"}, std::pair{R"({"x":{"b":1,"c":[{"d":1,"d":1}]}})", "d"},
          std::pair{R"({"":1,"":2})", ""}}) {
        auto r = parse_json_object_body(body("application/json", text));
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, "duplicate_field") << text;
        EXPECT_EQ(r.error().extra.at("field").as_string(), field) << text;
    }
    // The same key in sibling objects is fine.
    EXPECT_TRUE(parse_json_object_body(body("application/json", R"({"a":{"k":1},"b":{"k":2}})")));
}

TEST(parse_json_object_body, empty_body_only_when_allowed) {
    EXPECT_TRUE(parse_json_object_body(body("", ""), true));
    EXPECT_FALSE(parse_json_object_body(body("", ""), false));
}

}  // namespace
}  // namespace roster::api
