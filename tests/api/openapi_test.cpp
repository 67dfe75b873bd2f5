#include "roster/api/openapi.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include <boost/json/serialize.hpp>

#include "roster/api/system_routes.hpp"
#include "roster/api/test_hooks.hpp"
#include "roster/api/wire_schemas.hpp"
#include "rosterd_process.hpp"

namespace roster::api {
namespace {

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Every way the document can fail to describe a registered route, one message per gap.
std::vector<std::string> undescribed(const router& routes, const boost::json::object& doc) {
    std::vector<std::string> gaps;
    const auto& paths = doc.at("paths").as_object();
    for (const auto& r : routes.routes()) {
        std::string where = r.method + " " + r.path_template;
        auto p = paths.find(r.path_template);
        if (p == paths.end() || !p->value().as_object().contains(lower(r.method))) {
            gaps.push_back(where + ": no operation");
            continue;
        }
        const auto& op = p->value().as_object().at(lower(r.method)).as_object();
        if (!op.contains("summary") || op.at("summary").as_string().empty()) gaps.push_back(where + ": no summary");
        if (!op.contains("responses") || op.at("responses").as_object().empty())
            gaps.push_back(where + ": no responses");
        for (const auto& name : r.param_names()) {
            bool found = false;
            if (auto it = op.find("parameters"); it != op.end())
                for (const auto& param : it->value().as_array())
                    found = found || (param.as_object().contains("name") && param.at("name").as_string() == name &&
                                      param.at("in").as_string() == "path" && param.at("required").as_bool());
            if (!found) gaps.push_back(where + ": path parameter {" + name + "} not described");
        }
    }
    return gaps;
}

TEST(openapi, every_registered_route_is_described) {
    router routes;
    readiness ready;
    logger log;
    add_system_routes(routes, ready);
    test_routes extra(routes, log);
    auto doc = make_openapi_document(routes);
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
    ASSERT_GE(routes.routes().size(), 7u);
    auto gaps = undescribed(routes, doc);
    EXPECT_TRUE(gaps.empty()) << ::testing::PrintToString(gaps);
}

TEST(openapi, the_check_catches_an_undocumented_parameter) {
    router routes;
    routes.add("GET", "/v1/things/{t}", route_doc::of("A thing."), [](request_context&, responder) {});
    routes.add("GET", "/v1/other", route_doc{}, [](request_context&, responder) {});
    auto gaps = undescribed(routes, make_openapi_document(routes));
    ASSERT_EQ(gaps.size(), 2u) << ::testing::PrintToString(gaps);
    EXPECT_NE(gaps[0].find("{t}"), std::string::npos);
    EXPECT_NE(gaps[1].find("no summary"), std::string::npos);
}

TEST(openapi, documents_methods_params_and_problem_schema) {
    router routes;
    routes.add("DELETE", "/v1/accounts/{a}/users/{u}",
               route_doc::of("Remove a user.")
                   .param(path_param("a", "Account id."))
                   .param(path_param("u", "User id."))
                   .param(query_param("dry_run", "Preview only.", false, "boolean"))
                   .responds({200, 409}),
               [](request_context&, responder) {});
    auto doc = make_openapi_document(routes);
    const auto& op = doc.at("paths").at("/v1/accounts/{a}/users/{u}").at("delete").as_object();
    EXPECT_EQ(op.at("summary").as_string(), "Remove a user.");
    const auto& params = op.at("parameters").as_array();
    ASSERT_EQ(params.size(), 4u);  // and traceparent, which every operation takes
    EXPECT_EQ(params[2].at("in").as_string(), "query");
    EXPECT_EQ(params[2].at("required").as_bool(), false);
    EXPECT_EQ(params[2].at("schema").at("type").as_string(), "boolean");
    EXPECT_TRUE(op.at("responses").as_object().contains("409"));
    EXPECT_TRUE(doc.at("components").at("schemas").as_object().contains("Problem"));
}

// Every "$ref" in `v`, as its target name, into `out`.
void collect_refs(const boost::json::value& v, std::set<std::string>& out) {
    if (v.is_object()) {
        for (const auto& [k, child] : v.as_object()) {
            if (k == "$ref" && child.is_string()) out.insert(std::string(child.as_string()));
            collect_refs(child, out);
        }
    } else if (v.is_array()) {
        for (const auto& child : v.as_array()) collect_refs(child, out);
    }
}

// What makes the document untyped, one message per gap: a 2xx without a schema, a JSON body
// without a named schema, a command without Idempotency-Key, a $ref that resolves to nothing.
std::vector<std::string> untyped(const boost::json::object& doc) {
    std::vector<std::string> gaps;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method, op_value] : item.as_object()) {
            const auto& op = op_value.as_object();
            const std::string where = std::string(method) + " " + std::string(path);
            if (!op.contains("security")) gaps.push_back(where + ": no security");
            for (const auto& [status, resp] : op.at("responses").as_object()) {
                if (status.size() != 3 || status[0] != '2' || status == "204") continue;
                const auto* content = resp.as_object().if_contains("content");
                if (!content || content->as_object().empty()) {
                    gaps.push_back(where + ": " + std::string(status) + " has no schema");
                    continue;
                }
                for (const auto& [media, m] : content->as_object())
                    if (!m.as_object().contains("schema") || !m.at("schema").as_object().contains("$ref"))
                        gaps.push_back(where + ": " + std::string(status) + " " + std::string(media) +
                                       " has no named schema");
            }
            if (const auto* body = op.if_contains("requestBody")) {
                const auto& schema = body->at("content").at("application/json").at("schema").as_object();
                if (!schema.contains("$ref")) gaps.push_back(where + ": request body has no named schema");
            }
        }
    }
    std::set<std::string> refs;
    collect_refs(doc, refs);
    for (const auto& r : refs) {
        const std::string prefix = "#/components/";
        auto rest = r.substr(0, prefix.size()) == prefix ? r.substr(prefix.size()) : std::string();
        auto slash = rest.find('/');
        const auto* section =
            slash == std::string::npos ? nullptr : doc.at("components").as_object().if_contains(rest.substr(0, slash));
        if (!section || !section->as_object().contains(rest.substr(slash + 1)))
            gaps.push_back("$ref " + r + " does not resolve");
    }
    return gaps;
}

TEST(openapi, the_check_catches_an_untyped_route_and_a_dangling_ref) {
    router routes;
    routes.add("POST", "/v1/things", route_doc::of("Make a thing.").json_body().responds({201}),
               [](request_context&, responder) {});
    routes.add("GET", "/v1/things/{t}", route_doc::of("A thing.").param(path_param("t", "Thing")).returns(200, "Nope"),
               [](request_context&, responder) {});
    auto gaps = untyped(make_openapi_document(routes));
    ASSERT_EQ(gaps.size(), 3u) << ::testing::PrintToString(gaps);
    EXPECT_NE(gaps[0].find("201 has no schema"), std::string::npos) << gaps[0];
    EXPECT_NE(gaps[1].find("request body has no named schema"), std::string::npos) << gaps[1];
    EXPECT_NE(gaps[2].find("#/components/schemas/Nope"), std::string::npos) << gaps[2];
}

TEST(openapi, wire_schemas_are_strict_objects_with_their_required_fields_declared) {
    for (const auto& [name, schema] : wire::schemas()) {
        const auto& s = schema.as_object();
        if (!s.contains("properties")) continue;
        EXPECT_TRUE(s.contains("additionalProperties")) << name;
        if (const auto* required = s.if_contains("required")) {
            for (const auto& field : required->as_array())
                EXPECT_TRUE(s.at("properties").as_object().contains(field.as_string())) << name << "." << field;
        }
    }
}

// The document the real rosterd serves, with every route of every resource group registered.
class served_openapi : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<test::rosterd_process>(tmp_.path() / "data");
        test::http_client http(server_->port());
        auto r = http.request("GET", "/v1/openapi.json");
        ASSERT_EQ(r.status, 200u);
        doc_ = r.json().as_object();
    }
    test::temp_dir tmp_;
    std::unique_ptr<test::rosterd_process> server_;
    boost::json::object doc_;
};

TEST_F(served_openapi, every_operation_is_typed_and_every_ref_resolves) {
    ASSERT_GE(doc_.at("paths").as_object().size(), 30u);
    auto gaps = untyped(doc_);
    EXPECT_TRUE(gaps.empty()) << ::testing::PrintToString(gaps);
}

TEST_F(served_openapi, commands_name_their_headers_and_public_routes_need_no_token) {
    const auto& paths = doc_.at("paths");
    auto params_of = [&](std::string_view path, std::string_view method) {
        std::set<std::string> names;
        for (const auto& p : paths.at(path).at(method).at("parameters").as_array())
            if (const auto* r = p.as_object().if_contains("$ref")) names.insert(std::string(r->as_string()));
        return names;
    };
    const auto lock = params_of("/v1/users/{u}/lock", "post");
    EXPECT_TRUE(lock.contains("#/components/parameters/If-Match"));
    EXPECT_TRUE(lock.contains("#/components/parameters/Idempotency-Key"));
    EXPECT_TRUE(lock.contains("#/components/parameters/traceparent"));
    const auto& created = paths.at("/v1/accounts/{a}/users").at("post").at("responses").at("201");
    EXPECT_TRUE(created.at("headers").as_object().contains("Location"));
    EXPECT_TRUE(created.at("headers").as_object().contains("ETag"));
    EXPECT_TRUE(created.at("headers").as_object().contains("Idempotent-Replayed"));
    const auto& list = paths.at("/v1/accounts/{a}/users").at("get").at("responses").at("200");
    EXPECT_TRUE(list.at("headers").as_object().contains("Roster-As-Of"));
    for (auto path : {"/healthz", "/readyz", "/v1/openapi.json", "/v1/invitations/accept"}) {
        const auto& item = paths.at(path).as_object();
        const auto& op = item.contains("get") ? item.at("get") : item.at("post");
        EXPECT_TRUE(op.at("security").as_array().empty()) << path;
    }
    EXPECT_FALSE(paths.at("/v1/me").at("get").at("security").as_array().empty());
    // A GET with an ETag takes If-None-Match and may answer 304 with the ETag.
    const auto user_get = params_of("/v1/accounts/{a}/users/{u}", "get");
    EXPECT_TRUE(user_get.contains("#/components/parameters/If-None-Match"));
    const auto& not_modified = paths.at("/v1/accounts/{a}/users/{u}").at("get").at("responses").at("304");
    EXPECT_TRUE(not_modified.at("headers").as_object().contains("ETag"));
    EXPECT_FALSE(params_of("/v1/events", "get").contains("#/components/parameters/If-None-Match"));
    EXPECT_EQ(doc_.at("components").at("securitySchemes").at("bearer").at("scheme").as_string(), "bearer");
}

// What a read replica sends to the leader is in the contract: a 307 with Location (a problem
// body) on commands and on the reads only the leader signs; none where the replica answers.
TEST_F(served_openapi, a_read_replicas_redirects_are_documented_where_they_happen) {
    const auto& paths = doc_.at("paths");
    auto redirects = [&](std::string_view path, std::string_view method) {
        return paths.at(path).at(method).at("responses").as_object().contains("307");
    };
    EXPECT_TRUE(redirects("/v1/accounts/{a}/users", "post"));
    EXPECT_TRUE(redirects("/v1/users/{u}/lock", "post"));
    EXPECT_TRUE(redirects("/v1/audit/evidence", "get"));
    EXPECT_TRUE(redirects("/v1/audit/signing-key/rotations", "get"));
    EXPECT_FALSE(redirects("/v1/accounts/{a}/users", "get"));
    EXPECT_FALSE(redirects("/v1/audit/checkpoint", "get"));
    EXPECT_FALSE(redirects("/v1/stream/tickets", "post"));
    EXPECT_FALSE(redirects("/v1/admin/backup", "post"));
    const auto& moved = paths.at("/v1/accounts/{a}/users").at("post").at("responses").at("307");
    EXPECT_TRUE(moved.at("headers").as_object().contains("Location"));
    EXPECT_TRUE(moved.at("content").as_object().contains("application/problem+json"));
}

// The response check (tests/api/openapi_responses.py, run by ctest on the recorded scenario
// answers) refuses a field a wire type gained without its schema.
TEST_F(served_openapi, the_response_check_refuses_an_undeclared_field) {
    const auto dir = tmp_.path();
    {
        std::ofstream out(dir / "served.json");
        out << boost::json::serialize(doc_);
    }
    auto check = [&](const boost::json::object& body) {
        {
            std::ofstream out(dir / "recorded.jsonl");
            out << boost::json::serialize(boost::json::object{{"method", "GET"},
                                                              {"target", "/v1/accounts/acme"},
                                                              {"status", 200},
                                                              {"content_type", "application/json"},
                                                              {"body_bytes", 1},
                                                              {"body", boost::json::serialize(body)}})
                << '\n';
        }
        const std::string cmd = "python3 " ROSTER_SOURCE_DIR "/tests/api/openapi_responses.py " +
                                (dir / "served.json").string() + " " + (dir / "recorded.jsonl").string() +
                                " >/dev/null";
        return std::system(cmd.c_str());
    };
    boost::json::object account{{"id", "acme"},
                                {"name", "Acme"},
                                {"kind", "customer"},
                                {"version", 1},
                                {"partners", boost::json::array{}},
                                {"customers", boost::json::array{}}};
    EXPECT_EQ(check(account), 0);
    account["undeclared"] = true;
    EXPECT_NE(check(account), 0);
    account.erase("undeclared");
    account.erase("version");
    EXPECT_NE(check(account), 0);
}

}  // namespace
}  // namespace roster::api
