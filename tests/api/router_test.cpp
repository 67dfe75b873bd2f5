#include "roster/api/router.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace roster::api {
namespace {

handler tagged(std::string* hit, std::string name) {
    return [hit, name](request_context&, responder r) {
        *hit = name;
        r(response{});
    };
}

class router_test : public ::testing::Test {
protected:
    void SetUp() override {
        r_.add("GET", "/v1/accounts/{a}/users/{u}", route_doc::of("view").param(query_param("x", "x")),
               tagged(&hit_, "view"));
        r_.add("DELETE", "/v1/accounts/{a}/users/{u}", route_doc::of("remove"), tagged(&hit_, "remove"));
        r_.add("GET", "/v1/users/{u}", route_doc::of("user"), tagged(&hit_, "user"));
        r_.add("GET", "/v1/users/lookup",
               route_doc::of("lookup")
                   .param(query_param("email", "e"))
                   .param(query_param("q", "q"))
                   .param(query_param("flag", "f")),
               tagged(&hit_, "lookup"));
        r_.add("GET", "/healthz", route_doc::of("health"), tagged(&hit_, "health"));
    }
    router r_;
    std::string hit_;
};

TEST_F(router_test, matches_template_and_extracts_params) {
    auto m = r_.match("GET", "/v1/accounts/acme/users/u-1");
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(m->found->path_template, "/v1/accounts/{a}/users/{u}");
    EXPECT_EQ(m->path_params.get("a").value_or(""), "acme");
    EXPECT_EQ(m->path_params.get("u").value_or(""), "u-1");
    EXPECT_EQ(m->found->doc.summary, "view");
}

TEST_F(router_test, method_selects_among_routes_of_one_template) {
    auto m = r_.match("DELETE", "/v1/accounts/acme/users/u-1");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->found->doc.summary, "remove");
}

TEST_F(router_test, params_are_percent_decoded) {
    auto m = r_.match("GET", "/v1/accounts/a%20b/users/x%2Fy");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->path_params.get("a").value_or(""), "a b");
    EXPECT_EQ(m->path_params.get("u").value_or(""), "x/y");  // an encoded slash stays inside its segment
}

TEST_F(router_test, literal_segment_beats_parameter) {
    auto lookup = r_.match("GET", "/v1/users/lookup");
    ASSERT_TRUE(lookup);
    EXPECT_EQ(lookup->found->doc.summary, "lookup");
    auto user = r_.match("GET", "/v1/users/lookup2");
    ASSERT_TRUE(user);
    EXPECT_EQ(user->found->doc.summary, "user");
}

TEST_F(router_test, unknown_path_is_404) {
    for (auto target : {"/nope", "/v1/accounts/acme/users", "/v1/accounts/acme/users/u/extra", "/healthz/",
                        "/v1/accounts//users/u"}) {
        auto m = r_.match("GET", target);
        ASSERT_FALSE(m) << target;
        EXPECT_EQ(m.error().status, 404u) << target;
        EXPECT_EQ(m.error().code, "route_not_found");
    }
}

TEST_F(router_test, wrong_method_is_405_listing_allowed_methods) {
    auto m = r_.match("PUT", "/v1/accounts/acme/users/u");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().status, 405u);
    auto resp = m.error().to_response();
    ASSERT_EQ(resp.headers.size(), 1u);
    EXPECT_EQ(resp.headers[0].first, "Allow");
    EXPECT_EQ(resp.headers[0].second, "GET, HEAD, DELETE");
}

// HEAD is served by the GET route (the server then drops the body); it is not a route of its
// own, so routes() (and the OpenAPI document made from it) lists GET once and no HEAD.
TEST_F(router_test, head_matches_the_get_route) {
    auto m = r_.match("HEAD", "/v1/accounts/acme/users/u-1?x=1");
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(m->found->method, "GET");
    EXPECT_EQ(m->found->doc.summary, "view");
    EXPECT_EQ(m->path_params.get("u").value_or(""), "u-1");
    EXPECT_EQ(m->query.get("x").value_or(""), "1");
    auto lookup = r_.match("HEAD", "/v1/users/lookup");
    ASSERT_TRUE(lookup);
    EXPECT_EQ(lookup->found->doc.summary, "lookup");
    for (const auto& r : r_.routes()) EXPECT_NE(r.method, "HEAD") << r.path_template;
}

TEST(router, head_without_a_get_route_is_405_and_an_explicit_head_route_wins) {
    router r;
    std::string hit;
    r.add("POST", "/a", route_doc::of("post a"), tagged(&hit, "post a"));
    auto m = r.match("HEAD", "/a");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().status, 405u);
    EXPECT_EQ(m.error().headers.at(0).second, "POST");

    r.add("GET", "/b", route_doc::of("get b"), tagged(&hit, "get b"));
    r.add("HEAD", "/b", route_doc::of("head b"), tagged(&hit, "head b"));
    auto b = r.match("HEAD", "/b");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->found->doc.summary, "head b");
    auto refused = r.match("PUT", "/b");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().headers.at(0).second, "GET, HEAD");  // listed once
}

TEST_F(router_test, bad_encoding_is_400) {
    for (auto target : {"/v1/users/%zz", "/v1/users/%4", "http://example.com/healthz", "*", "/v1/users/a b"}) {
        auto m = r_.match("GET", target);
        ASSERT_FALSE(m) << target;
        EXPECT_EQ(m.error().status, 400u) << target;
        EXPECT_EQ(m.error().code, "invalid_target");
    }
}

TEST_F(router_test, query_is_decoded_into_the_match) {
    auto m = r_.match("GET", "/v1/users/lookup?email=a%40b.com&q=two+words&flag&q=again");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->query.get("email").value_or(""), "a@b.com");
    EXPECT_EQ(m->query.get("q").value_or(""), "two words");
    EXPECT_EQ(m->query.count("q"), 2u);
    EXPECT_EQ(m->query.get_all("q").at(1), "again");
    ASSERT_TRUE(m->query.get("flag").has_value());
    EXPECT_EQ(*m->query.get("flag"), "");
    EXPECT_FALSE(m->query.get("missing").has_value());
}

// Found by fuzz_request_target (tests/fuzz/regressions/fuzz_request_target/): "/path?" gave
// handlers one parameter with an empty name, where parse_query found none.
TEST_F(router_test, a_bare_question_mark_is_an_empty_query) {
    for (const char* target : {"/v1/users/lookup?", "/v1/users/lookup"}) {
        auto m = r_.match("GET", target);
        ASSERT_TRUE(m) << target;
        EXPECT_TRUE(m->query.empty()) << target;
        auto q = parse_query(target);
        ASSERT_TRUE(q) << target;
        EXPECT_TRUE(q->empty()) << target;
    }
    auto two = r_.match("GET", "/v1/users/lookup?&");
    ASSERT_TRUE(two);
    EXPECT_EQ(two->query.items(), parse_query("/v1/users/lookup?&")->items());
}

// Unknown query parameters are refused as unknown body fields are, from what each route's doc
// declares; HEAD (answered by the GET route) is checked like GET.
TEST_F(router_test, an_undeclared_query_parameter_is_400_naming_it) {
    for (const char* method : {"GET", "HEAD"}) {
        auto m = r_.match(method, "/v1/users/lookup?email=a%40b.com&emial=x");
        ASSERT_FALSE(m) << method;
        EXPECT_EQ(m.error().status, 400u);
        EXPECT_EQ(m.error().code, "unknown_query_parameter");
        EXPECT_EQ(m.error().extra.at("field"), "emial");
        EXPECT_EQ(m.error().title(), "Bad Request");
        EXPECT_NE(m.error().detail.find("email, q, flag"), std::string::npos) << m.error().detail;
    }
    // A route that declares none takes none, and a path parameter's name is no query parameter.
    for (const char* target : {"/healthz?verbose=1", "/v1/users/u-1?u=u-2", "/v1/users/lookup?=x"}) {
        auto m = r_.match("GET", target);
        ASSERT_FALSE(m) << target;
        EXPECT_EQ(m.error().code, "unknown_query_parameter") << target;
        EXPECT_TRUE(m.error().extra.contains("field")) << target;
    }
    // Declared ones pass, repeated or empty.
    EXPECT_TRUE(r_.match("GET", "/v1/users/lookup?q=a&q=b&flag"));
    EXPECT_TRUE(r_.match("HEAD", "/v1/users/lookup?email="));
}

// Found by fuzz_request_target (regressions/fuzz_request_target/invalid-utf8-query-name): the
// refusal quoted a percent-decoded name holding a lone 0xCC byte, and Boost.JSON serialized it
// as it was, so the problem document was not JSON a strict client could read.
TEST_F(router_test, a_refusal_quoting_invalid_utf8_is_still_valid_json) {
    auto m = r_.match("GET", "/v1/users/lookup?si%cccon=1");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, "unknown_query_parameter");
    const auto body = m.error().to_response().body;
    boost::system::error_code ec;
    const auto doc = boost::json::parse(body, ec);
    ASSERT_FALSE(ec) << body;
    EXPECT_EQ(doc.at("field"),
              "si\xEF\xBF\xBD"
              "con");
    EXPECT_NE(doc.at("detail").as_string().find("si\xEF\xBF\xBD"
                                                "con"),
              boost::json::string::npos);
}

TEST(problem, title_is_the_reason_phrase_of_the_status) {
    EXPECT_EQ(make_problem(404, "user_not_found", "x").title(), "Not Found");
    EXPECT_EQ(make_problem(409, "key_contact", "x").to_json().at("title"), "Conflict");
    EXPECT_EQ(make_problem(422, "idempotency_key_reused", "x").title(), "Unprocessable Content");
    EXPECT_EQ(query_problem("invalid_query", "limit", "x").to_json().at("field"), "limit");
    auto p = make_problem(410, "deactivate_removed", "x");
    p.status = 404;  // derived, so it follows the status wherever that is set
    EXPECT_EQ(p.to_json().at("title"), "Not Found");
}

TEST_F(router_test, handler_is_the_registered_one) {
    auto m = r_.match("GET", "/healthz");
    ASSERT_TRUE(m);
    request_context ctx;
    bool answered = false;
    m->found->handle(ctx, make_responder([&](response) { answered = true; }));
    EXPECT_EQ(hit_, "health");
    EXPECT_TRUE(answered);
}

TEST(router, rejects_bad_registrations) {
    router r;
    auto h = [](request_context&, responder) {};
    r.add("GET", "/a/{x}", route_doc::of("a"), h);
    EXPECT_THROW(r.add("GET", "/a/{y}", route_doc::of("same shape"), h), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "no-slash", route_doc::of("x"), h), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a//b", route_doc::of("x"), h), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/x{y}", route_doc::of("x"), h), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/{x}/{x}", route_doc::of("x"), h), std::invalid_argument);
    EXPECT_THROW(r.add("FETCH", "/b", route_doc::of("x"), h), std::invalid_argument);
    EXPECT_NO_THROW(r.add("POST", "/a/{y}", route_doc::of("a"), h));
    EXPECT_EQ(r.routes().size(), 2u);
    // Parameter names do not split one path into two resources.
    auto m = r.match("PUT", "/a/1");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().headers.at(0).second, "GET, HEAD, POST");
}

// The router walks a tree of segments; it must answer what a scan of every template would: the
// matching template that, at the first segment where two differ, has a literal, then the
// method among that template's routes (HEAD by GET), else 405 with the template's methods.
TEST(router, matches_as_a_scan_of_every_route_would) {
    const std::vector<std::pair<std::string, std::string>> table = {
        {"GET", "/"},
        {"GET", "/healthz"},
        {"GET", "/v1/users/lookup"},
        {"GET", "/v1/users/{u}"},
        {"DELETE", "/v1/users/{u}"},
        {"GET", "/v1/users/{u}/roles"},
        {"POST", "/v1/users/lookup/roles"},
        {"GET", "/v1/{kind}/lookup/{x}"},
        {"PUT", "/v1/accounts/{a}/users/{u}"},
        {"GET", "/v1/accounts/{a}/users/{u}"},
        {"GET", "/v1/accounts/{a}/users"},
        {"GET", "/v1/accounts/special/users/{u}"},
        {"POST", "/v1/accounts/{a}/users/me"},
        {"GET", "/v1/a b/{x}"},
    };
    router r;
    for (const auto& [method, t] : table)
        r.add(method, t, route_doc::of(method + " " + t), [](request_context&, responder) {});

    auto is_param = [](const std::string& s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; };
    // The reference: every template against the decoded segments.
    auto expected = [&](const std::string& method, const std::vector<std::string>& segs) -> std::string {
        const std::vector<std::string>* best = nullptr;
        for (const auto& r2 : r.routes()) {
            if (r2.segments.size() != segs.size()) continue;
            bool ok = true;
            for (std::size_t i = 0; i < segs.size() && ok; ++i)
                ok = is_param(r2.segments[i]) ? !segs[i].empty() : r2.segments[i] == segs[i];
            if (!ok) continue;
            bool better = best == nullptr;
            for (std::size_t i = 0; !better && i < segs.size(); ++i)
                if (is_param(r2.segments[i]) != is_param((*best)[i])) {
                    better = !is_param(r2.segments[i]);
                    break;
                }
            if (better) best = &r2.segments;
        }
        if (best == nullptr) return "404";
        std::string allow, get;
        for (const auto& r2 : r.routes()) {
            if (r2.segments.size() != best->size()) continue;
            bool same = true;
            for (std::size_t i = 0; i < best->size() && same; ++i)
                same = is_param(r2.segments[i]) ? is_param((*best)[i]) : r2.segments[i] == (*best)[i];
            if (!same) continue;
            if (r2.method == method) return method + " " + r2.path_template;
            if (r2.method == "GET") get = "GET " + r2.path_template;
        }
        if (method == "HEAD" && !get.empty()) return get;
        return "405";
    };

    const std::vector<std::string> pieces = {"v1", "users",   "lookup", "roles", "accounts", "special",  "me",
                                             "x",  "healthz", "",       "a b",   "a%20b",    "look%75p", "%76%31"};
    auto decode = [](std::string s) {
        for (std::size_t i = 0; (i = s.find('%', i)) != std::string::npos; ++i)
            s.replace(i, 3, 1, static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
        return s;
    };
    int checked = 0;
    // Every path of up to four segments drawn from the pieces, with every method.
    std::vector<std::size_t> at;
    for (std::size_t depth = 0; depth <= 4; ++depth) {
        at.assign(depth, 0);
        while (true) {
            std::string target;
            std::vector<std::string> decoded;
            for (auto i : at) {
                target += "/" + (pieces[i] == "a b" ? std::string("a%20b") : pieces[i]);
                decoded.push_back(decode(pieces[i] == "a b" ? "a%20b" : pieces[i]));
            }
            if (target.empty() || target == "/") {
                target = "/";
                decoded.clear();  // the root, however it parses
            }
            for (const char* method : {"GET", "HEAD", "POST", "PUT", "DELETE"}) {
                const auto want = expected(method, decoded);
                const auto m = r.match(method, target);
                const auto got =
                    m ? m->found->method + " " + m->found->path_template : std::to_string(m.error().status);
                ASSERT_EQ(got, want) << method << " " << target;
                ++checked;
            }
            std::size_t k = 0;
            while (k < depth && ++at[k] == pieces.size()) at[k++] = 0;
            if (k == depth) break;
        }
    }
    EXPECT_GT(checked, 100000);

    // A literal that leads nowhere gives way to the parameter beside it, whose value it becomes,
    // here twice over ("users" then "lookup" lead nowhere), while a literal that leads to a
    // template of other methods wins: 405, not another template's route.
    auto m = r.match("GET", "/v1/users/lookup/zz");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->found->path_template, "/v1/{kind}/lookup/{x}");
    EXPECT_EQ(m->path_params.get("kind").value_or(""), "users");
    EXPECT_EQ(m->path_params.get("x").value_or(""), "zz");
    auto other_method = r.match("GET", "/v1/users/lookup/roles");
    ASSERT_FALSE(other_method);
    EXPECT_EQ(other_method.error().status, 405u);
    // Deeper than any template can be: not found, whatever its segments.
    std::string deep;
    for (int i = 0; i < 40; ++i) deep += "/v1";
    auto too_deep = r.match("GET", deep);
    ASSERT_FALSE(too_deep);
    EXPECT_EQ(too_deep.error().status, 404u);
    std::string deep_template;
    for (int i = 0; i < 17; ++i) deep_template += "/x";
    EXPECT_THROW(r.add("GET", deep_template, route_doc::of("deep"), [](request_context&, responder) {}),
                 std::invalid_argument);
}

TEST(parse_query, decodes_whole_targets_and_bare_queries) {
    auto q = parse_query("/x?a=1&b=%C3%A9t%C3%A9&c=1+2");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->get("a").value_or(""), "1");
    EXPECT_EQ(q->get("b").value_or(""), "\xC3\xA9t\xC3\xA9");
    EXPECT_EQ(q->get("c").value_or(""), "1 2");
    auto bare = parse_query("k=v");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->get("k").value_or(""), "v");
    auto none = parse_query("/x");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

// Boost.URL 1.81's parse_query reads past the end of a view that is not the end of its string
// (boostorg/url#757, #946); request targets are views into Beast's buffer.
TEST(parse_query, reads_nothing_beyond_the_target) {
    const std::string buffer = "/x?a=12&b=2";
    auto q = parse_query(std::string_view(buffer).substr(0, 6));  // "/x?a=1"
    ASSERT_TRUE(q);
    EXPECT_EQ(q->get("a").value_or(""), "1");
    EXPECT_FALSE(q->get("b"));
    // Exactly the target's bytes, no terminator: AddressSanitizer flags any read past them.
    const char exact[] = {'/', 'x', '?'};
    auto e = parse_query(std::string_view(exact, sizeof exact));
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->empty());

    router r;
    r.add("GET", "/x", route_doc::of("x").param(query_param("a", "a")).param(query_param("b", "b")),
          [](request_context&, responder) {});
    auto m = r.match("GET", std::string_view(buffer).substr(0, 6));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->query.get("a").value_or(""), "1");
    EXPECT_FALSE(m->query.get("b"));
}

TEST(parse_query, bad_encoding_is_a_400_problem) {
    auto q = parse_query("/x?a=%G1");
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().status, 400u);
    EXPECT_EQ(q.error().code, "invalid_query");
}

}  // namespace
}  // namespace roster::api
