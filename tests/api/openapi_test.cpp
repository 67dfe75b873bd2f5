#include "roster/api/openapi.hpp"

#include <gtest/gtest.h>

#include "roster/api/system_routes.hpp"
#include "roster/api/test_hooks.hpp"

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
                    found = found || (param.at("name").as_string() == name && param.at("in").as_string() == "path" &&
                                      param.at("required").as_bool());
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
    ASSERT_EQ(params.size(), 3u);
    EXPECT_EQ(params[2].at("in").as_string(), "query");
    EXPECT_EQ(params[2].at("required").as_bool(), false);
    EXPECT_EQ(params[2].at("schema").at("type").as_string(), "boolean");
    EXPECT_TRUE(op.at("responses").as_object().contains("409"));
    EXPECT_TRUE(doc.at("components").at("schemas").as_object().contains("Problem"));
}

}  // namespace
}  // namespace roster::api
