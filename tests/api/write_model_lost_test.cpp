// The writer fails closed over HTTP: a failed commit whose rebuild cannot read the log leaves the
// write model lost; every command is then 503 and /readyz is 503 with the reason, and once the
// log reads again the writer rebuilds on its own: /readyz is 200 and commands are served against
// the whole state. Faults come from rosterd_test's hooks (POST /test/fail-next-writes and
// /test/fail-reads, eventstore/write_faults.hpp).
#include <thread>

#include <gtest/gtest.h>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

using headers = std::vector<std::pair<std::string, std::string>>;

TEST(write_model_lost, commands_and_readyz_are_503_until_the_log_reads_again) {
    temp_dir tmp;
    const auto data = tmp.path() / "data";
    rosterd_process server(data, {"--threads", "2", "--enable-test-routes"});
    http_client http(server.port());
    const auto token = read_token(data);
    auto call = [&](std::string_view method, const std::string& target, const std::string& body = {}, headers h = {}) {
        h.emplace_back("Authorization", "Bearer " + token);
        if (!body.empty()) h.emplace_back("Content-Type", "application/json");
        return http.request(method, target, body, h);
    };
    const std::string acme = R"({"id":"acme","name":"Acme","kind":"customer"})";
    auto create = [&](const std::string& email) {
        return call("POST", "/v1/accounts/acme/users",
                    R"({"email":")" + email + R"(","name":"Fay","roles":{"support":["viewer"]}})");
    };
    ASSERT_EQ(call("POST", "/v1/accounts", acme).status, 201u);
    ASSERT_EQ(call("GET", "/readyz").status, 200u);

    ASSERT_EQ(call("POST", "/test/fail-reads?on=true", "{}").status, 200u);
    ASSERT_EQ(call("POST", "/test/fail-next-writes?n=1", "{}").status, 200u);
    auto failed = create("fay@acme.com");
    ASSERT_EQ(failed.status, 503u) << failed.body;
    ASSERT_TRUE(server.wait_for_log("write model lost"));

    // Against the empty model it could read, "acme" would be opened a second time.
    auto again = call("POST", "/v1/accounts", acme);
    EXPECT_EQ(again.status, 503u) << again.body;
    EXPECT_EQ(create("gus@acme.com").status, 503u);
    auto ready = call("GET", "/readyz");
    EXPECT_EQ(ready.status, 503u) << ready.body;
    EXPECT_NE(ready.body.find("write model"), std::string::npos) << ready.body;

    ASSERT_EQ(call("POST", "/test/fail-reads?on=false", "{}").status, 200u);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (call("GET", "/readyz").status != 200u && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(call("GET", "/readyz").status, 200u);
    EXPECT_TRUE(server.wait_for_log("write model rebuilt"));

    EXPECT_EQ(call("POST", "/v1/accounts", acme).status, 409u);
    auto created = create("fay@acme.com");
    EXPECT_EQ(created.status, 201u) << created.body;
    EXPECT_EQ(create("fay@acme.com").status, 409u);
}

}  // namespace
}  // namespace roster::test
