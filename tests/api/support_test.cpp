// Problems, responders, request metadata, listen addresses and the operator token file.
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "roster/api/operator_token.hpp"
#include "roster/api/problem.hpp"
#include "roster/api/request_meta.hpp"
#include "roster/api/server.hpp"
#include "rosterd_process.hpp"

namespace roster::api {
namespace {

response status_only(unsigned status) {
    response r;
    r.status = status;
    return r;
}

TEST(problem, serializes_rfc9457_members_and_extras) {
    auto p = bad_request("unknown_role", "The role 'support:boss' does not exist.");
    p.extra["field"] = "roles.support";
    p.extra["code"] = "must-not-override";
    auto r = p.to_response();
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.content_type, "application/problem+json");
    auto o = boost::json::parse(r.body).as_object();
    EXPECT_EQ(o.at("type").as_string(), "urn:roster:problem:unknown_role");
    EXPECT_EQ(o.at("title").as_string(), "Bad Request");
    EXPECT_EQ(o.at("status").as_int64(), 400);
    EXPECT_EQ(o.at("detail").as_string(), "The role 'support:boss' does not exist.");
    EXPECT_EQ(o.at("code").as_string(), "unknown_role");
    EXPECT_EQ(o.at("field").as_string(), "roles.support");
}

TEST(problem, method_not_allowed_carries_allow) {
    auto r = method_not_allowed("GET, POST").to_response();
    EXPECT_EQ(r.status, 405u);
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, POST"}));
}

TEST(problem, unchecked_result_value_is_a_logic_error) {
    boost::system::result<int, problem> r{boost::system::in_place_error, bad_request("x", "y")};
    EXPECT_THROW((void)r.value(), std::logic_error);
}

TEST(responder, only_the_first_answer_counts) {
    std::vector<unsigned> seen;
    auto reply = make_responder([&](response r) { seen.push_back(r.status); });
    auto copy = reply;
    EXPECT_TRUE(reply(status_only(201)));
    EXPECT_FALSE(copy(status_only(202)));
    EXPECT_TRUE(copy.responded());
    EXPECT_EQ(seen, std::vector<unsigned>{201});
}

TEST(responder, dropping_every_copy_answers_500) {
    std::vector<unsigned> seen;
    {
        auto reply = make_responder([&](response r) { seen.push_back(r.status); });
    }
    EXPECT_EQ(seen, std::vector<unsigned>{500});
}

TEST(responder, can_answer_from_another_thread) {
    std::atomic<unsigned> seen{0};
    auto reply = make_responder([&](response r) { seen = r.status; });
    std::thread t([reply] { reply(status_only(204)); });
    t.join();
    EXPECT_EQ(seen.load(), 204u);
}

TEST(bearer_token, extracts_the_token_of_the_bearer_scheme) {
    EXPECT_EQ(bearer_token("Bearer rst_abc123"), "rst_abc123");
    EXPECT_EQ(bearer_token("bearer  abc.def-ghi_~+/=="), "abc.def-ghi_~+/==");
    EXPECT_EQ(bearer_token("BEARER x"), "x");
    EXPECT_FALSE(bearer_token(std::nullopt));
    EXPECT_FALSE(bearer_token("Basic dXNlcjpwYXNz"));
    EXPECT_FALSE(bearer_token("Bearer"));
    EXPECT_FALSE(bearer_token("Bearer "));
    EXPECT_FALSE(bearer_token("Bearer a b"));
    EXPECT_FALSE(bearer_token("Bearer a=b"));
    EXPECT_FALSE(bearer_token("Bearertoken"));
}

TEST(request_id, sane_ids_are_kept_others_refused) {
    EXPECT_TRUE(is_sane_request_id("abc-123_X.y:z"));
    EXPECT_TRUE(is_sane_request_id(std::string(128, 'a')));
    EXPECT_FALSE(is_sane_request_id(std::string(129, 'a')));
    EXPECT_FALSE(is_sane_request_id(""));
    EXPECT_FALSE(is_sane_request_id("a b"));
    EXPECT_FALSE(is_sane_request_id("a\"b"));
    EXPECT_FALSE(is_sane_request_id("line\nbreak"));
}

TEST(request_id, generated_ids_are_hex_and_distinct) {
    std::set<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        auto id = generate_request_id();
        EXPECT_EQ(id.size(), 32u);
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
        EXPECT_TRUE(is_sane_request_id(id));
        ids.insert(id);
    }
    EXPECT_EQ(ids.size(), 100u);
}

TEST(listen_address, parses_host_port_and_bracketed_v6) {
    auto a = parse_listen_address("127.0.0.1:8080");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->first, "127.0.0.1");
    EXPECT_EQ(a->second, 8080);
    auto b = parse_listen_address("[::1]:0");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, "::1");
    EXPECT_EQ(b->second, 0);
    for (auto bad : {"127.0.0.1", "127.0.0.1:", ":80", "::1:80", "h:65536", "h:8o", "[::1]80"})
        EXPECT_FALSE(parse_listen_address(bad)) << bad;
}

TEST(operator_token, is_created_0600_once_and_then_kept) {
    roster::test::temp_dir dir;
    auto first = ensure_operator_token(dir.path());
    ASSERT_TRUE(first) << first.error();
    EXPECT_TRUE(first->created);
    EXPECT_EQ(first->path, dir.path() / "operator.token");
    struct stat st {};
    ASSERT_EQ(::stat(first->path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::string token;
    std::getline(std::ifstream(first->path), token);
    EXPECT_EQ(token.size(), 68u);
    EXPECT_EQ(token.rfind("rst_", 0), 0u);

    auto second = ensure_operator_token(dir.path());
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->created);
    std::string again;
    std::getline(std::ifstream(second->path), again);
    EXPECT_EQ(again, token);
}

TEST(operator_token, missing_directory_is_an_error_value) {
    roster::test::temp_dir dir;
    auto r = ensure_operator_token(dir.path() / "does" / "not" / "exist");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("operator.token"), std::string::npos);
}

TEST(operator_token, tokens_differ) { EXPECT_NE(generate_operator_token(), generate_operator_token()); }

}  // namespace
}  // namespace roster::api
