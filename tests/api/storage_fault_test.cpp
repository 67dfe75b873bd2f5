// Storage faults over HTTP: while the store cannot write, commands answer 503 and leave no trace
// (events, projections, idempotency records), reads keep working, and once the fault clears the
// same command succeeds, exactly once when retried with its Idempotency-Key.
//
// Two faults: the store's test hook (POST /test/fail-next-writes), and a real one from the
// kernel: the server's RLIMIT_FSIZE is lowered (prlimit on its pid), so RocksDB's write(2)
// past that size fails with EFBIG, as on a full disk. That needs neither mount nor privileges,
// unlike a full tmpfs or a read-only directory (root writes there anyway).
#include <signal.h>
#include <sys/resource.h>

#include <fstream>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
using headers = std::vector<std::pair<std::string, std::string>>;

class storage_fault : public ::testing::Test {
protected:
    void SetUp() override {
        // Without this the kernel would kill rosterd with SIGXFSZ instead of failing its write;
        // an ignored disposition survives fork and exec.
        previous_sigxfsz_ = ::signal(SIGXFSZ, SIG_IGN);
        start();
        ASSERT_EQ(post("/v1/accounts", R"({"id":"acme","name":"Acme","kind":"customer"})").status, 201u);
    }
    void TearDown() override { ::signal(SIGXFSZ, previous_sigxfsz_); }

    void start(std::vector<std::string> extra = {"--enable-test-routes"}) {
        http_.reset();
        server_.reset();
        extra.insert(extra.begin(), {"--threads", "2"});
        server_ = std::make_unique<rosterd_process>(data(), extra);
        http_ = std::make_unique<http_client>(server_->port());
        token_ = read_token(data());
    }
    std::filesystem::path data() const { return tmp_.path() / "data"; }

    http_reply call(std::string_view method, const std::string& target, const std::string& body = {}, headers h = {}) {
        h.emplace_back("Authorization", "Bearer " + token_);
        if (!body.empty()) h.emplace_back("Content-Type", "application/json");
        return http_->request(method, target, body, h);
    }
    http_reply post(const std::string& target, const std::string& body, headers h = {}) {
        return call("POST", target, body, std::move(h));
    }
    http_reply get(const std::string& target) { return call("GET", target); }

    std::int64_t head() {
        auto r = get("/v1/events?limit=1");
        EXPECT_EQ(r.status, 200u) << r.body;
        return r.json().at("head").to_number<std::int64_t>();
    }
    bool user_exists(const std::string& email) {
        auto r = get("/v1/users/lookup?account=acme&email=" + email);
        EXPECT_EQ(r.status, 200u) << r.body;
        return r.json().at("exists").as_bool();
    }
    void set_file_size_limit(rlim_t soft) {
        rlimit current{};
        ASSERT_EQ(::prlimit(server_->pid(), RLIMIT_FSIZE, nullptr, &current), 0);
        rlimit wanted{soft, current.rlim_max};
        ASSERT_EQ(::prlimit(server_->pid(), RLIMIT_FSIZE, &wanted, nullptr), 0) << std::strerror(errno);
    }

    // Everything a client can see of the store and its projections, for before/after comparisons.
    std::string observable_state() {
        auto events = get("/v1/events?limit=1000");
        auto users = get("/v1/accounts/acme/users?include_removed=true");
        auto account = get("/v1/accounts/acme");
        return events.body + "\n" + users.body + "\n" + account.body;
    }

    static std::string create_body(const std::string& email) {
        return R"({"email":")" + email + R"(","name":"Fay","roles":{"support":["viewer"],"impact":["member"]}})";
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::string token_;
    sighandler_t previous_sigxfsz_ = SIG_DFL;
};

TEST_F(storage_fault, injected_failure_is_503_and_a_keyed_retry_applies_once) {
    const auto before = observable_state();
    const auto head_before = head();
    ASSERT_EQ(post("/test/fail-next-writes?n=1", "{}").status, 200u);
    auto failed = post("/v1/accounts/acme/users", create_body("fay@acme.com"), {{"Idempotency-Key", "create-fay"}});
    ASSERT_EQ(failed.status, 503u) << failed.body;
    EXPECT_EQ(failed.header("content-type").value_or(""), "application/problem+json");
    EXPECT_EQ(observable_state(), before);
    EXPECT_FALSE(user_exists("fay%40acme.com"));

    // The failure did not record the key: the retry is applied, not answered with the 503.
    auto applied = post("/v1/accounts/acme/users", create_body("fay@acme.com"), {{"Idempotency-Key", "create-fay"}});
    ASSERT_EQ(applied.status, 201u) << applied.body;
    EXPECT_FALSE(applied.header("idempotent-replayed").has_value());
    EXPECT_EQ(head(), head_before + 4);  // user_created, member_added, roles_granted, invitation_issued
    auto again = post("/v1/accounts/acme/users", create_body("fay@acme.com"), {{"Idempotency-Key", "create-fay"}});
    EXPECT_EQ(again.status, 201u) << again.body;
    EXPECT_EQ(again.header("idempotent-replayed").value_or(""), "true");
    EXPECT_EQ(again.json().at("user"), applied.json().at("user"));
    EXPECT_EQ(head(), head_before + 4);
    EXPECT_TRUE(user_exists("fay%40acme.com"));
}

// The disk "fills up" in the middle of a WAL record: the file may grow by only a few bytes more,
// so the failing write is torn, as on a real full disk. Today the RocksDB error is fatal for the
// open database (DB::Resume refuses it), so writes stay refused until rosterd restarts; the test
// pins what must hold regardless: no crash, 503 with nothing applied, reads served, and after
// the restart the torn tail is dropped, the chain verifies and the keyed retry applies once.
TEST_F(storage_fault, real_write_errors_are_503_reads_keep_working_and_a_restart_recovers) {
    ASSERT_EQ(post("/v1/accounts/acme/users", create_body("ann@acme.com")).status, 201u);
    const auto before = observable_state();
    const auto head_before = head();

    std::uintmax_t wal_size = 0;
    for (const auto& f : std::filesystem::directory_iterator(data() / "eventstore"))
        if (f.path().extension() == ".log") wal_size = std::max(wal_size, f.file_size());
    ASSERT_GT(wal_size, 0u);
    set_file_size_limit(wal_size + 64);  // the fault: the next WAL record does not fit
    for (int i = 0; i < 3; ++i) {
        auto failed = post("/v1/accounts/acme/users", create_body("fay@acme.com"), {{"Idempotency-Key", "create-fay"}});
        ASSERT_EQ(failed.status, 503u) << "attempt " << i << ": " << failed.body;
        EXPECT_EQ(failed.json().at("code").as_string(), "service_unavailable") << failed.body;
        // Reads are served from the projections and the log during the fault.
        EXPECT_EQ(observable_state(), before);
        EXPECT_FALSE(user_exists("fay%40acme.com"));
        EXPECT_TRUE(user_exists("ann%40acme.com"));
        EXPECT_EQ(get("/healthz").status, 200u);
    }
    auto other = post("/v1/accounts", R"({"id":"globex","name":"Globex","kind":"customer"})");
    EXPECT_EQ(other.status, 503u) << other.body;
    set_file_size_limit(RLIM_INFINITY);  // the fault clears

    // A restart recovers: the state is exactly what was acknowledged.
    ASSERT_EQ(server_->terminate(), 0);
    start();
    EXPECT_EQ(observable_state(), before);
    auto applied = post("/v1/accounts/acme/users", create_body("fay@acme.com"), {{"Idempotency-Key", "create-fay"}});
    ASSERT_EQ(applied.status, 201u) << applied.body;
    EXPECT_EQ(head(), head_before + 4);
    auto again = post("/v1/accounts/acme/users", create_body("fay@acme.com"), {{"Idempotency-Key", "create-fay"}});
    EXPECT_EQ(again.header("idempotent-replayed").value_or(""), "true") << again.body;
    EXPECT_EQ(head(), head_before + 4);
    ASSERT_EQ(post("/v1/accounts", R"({"id":"globex","name":"Globex","kind":"customer"})").status, 201u);
    const auto after_recovery = observable_state();
    ASSERT_EQ(server_->terminate(), 0);
    start();
    EXPECT_EQ(observable_state(), after_recovery);
}

}  // namespace
}  // namespace roster::test
