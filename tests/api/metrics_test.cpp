// /metrics: the text exposition itself (unit), and what a real rosterd reports after traffic.
// Also the config file of rosterd, since it is exercised the same way (a real process).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include "roster/api/http_metrics.hpp"
#include "roster/api/store_metrics.hpp"
#include "roster/api/system_routes.hpp"
#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
using roster::api::exposition;
using roster::api::http_metrics;
using roster::api::metrics_registry;
using roster::api::request_context;

// Sample lines ("name{labels} value") keyed by everything before the value.
std::map<std::string, double> samples(const std::string& text) {
    std::map<std::string, double> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

// Every line is a HELP, a TYPE, or a sample of a family whose TYPE came before it.
void expect_well_formed(const std::string& text) {
    static const std::regex sample_re(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|-Inf|NaN)$)");
    static const std::regex help_re(R"(^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
    static const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    std::istringstream in(text);
    std::string line, family, type;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        std::smatch m;
        if (std::regex_match(line, m, type_re)) {
            family = m[1];
            type = m[2];
            continue;
        }
        if (std::regex_match(line, help_re)) continue;
        ASSERT_TRUE(std::regex_match(line, m, sample_re)) << "line " << n << ": " << line;
        std::string name = m[1];
        if (type == "histogram")
            EXPECT_TRUE(name == family + "_bucket" || name == family + "_sum" || name == family + "_count") << line;
        else
            EXPECT_EQ(name, family) << line;
    }
    EXPECT_GT(n, 0u);
}

TEST(metrics_exposition, counter_labels_are_escaped_and_families_declared_once) {
    metrics_registry r;
    auto& c = r.add_counter("t_total", "Help with a \\ backslash\nand newline.", {"route", "status"});
    c.inc({"/a/\"q\"\\b\nc", "200"});
    c.inc({"/a/\"q\"\\b\nc", "200"}, 2);
    c.inc({"/b", "404"});
    const auto text = r.render();
    EXPECT_NE(text.find("# HELP t_total Help with a \\\\ backslash\\nand newline.\n# TYPE t_total counter\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("t_total{route=\"/a/\\\"q\\\"\\\\b\\nc\",status=\"200\"} 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("t_total{route=\"/b\",status=\"404\"} 1\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("# TYPE t_total"), text.rfind("# TYPE t_total"));
    expect_well_formed(text);
}

// http_metrics keeps the series it found per thread: two instances on one thread (each with its
// own registry, one destroyed before the next is made at perhaps the same address) and several
// statuses, methods and routes, including one too long to keep, must each count only their own.
TEST(http_metrics, each_instance_counts_its_own_requests_through_the_per_thread_series_cache) {
    auto record = [](http_metrics& m, std::string route, std::string method, unsigned status, int times) {
        request_context ctx;
        ctx.route = std::move(route);
        ctx.method = std::move(method);
        for (int i = 0; i < times; ++i) m.record(ctx, status, std::chrono::microseconds(300), 10);
    };
    const std::string long_route = "/v1/" + std::string(200, 'x');
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE(round);
        metrics_registry r;
        auto m = std::make_unique<http_metrics>(r);
        record(*m, "/v1/a", "GET", 200, 3 + round);
        record(*m, "/v1/a", "GET", 404, 2);
        record(*m, "/v1/a", "POST", 200, 1);
        record(*m, "/v1/a", "BREW", 200, 1);
        record(*m, "", "GET", 404, 1);
        record(*m, long_route, "GET", 200, 2);
        const auto text = r.render();
        auto has = [&](const std::string& line) {
            EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
        };
        has("roster_http_requests_total{route=\"/v1/a\",method=\"GET\",status=\"200\"} " + std::to_string(3 + round));
        has("roster_http_requests_total{route=\"/v1/a\",method=\"GET\",status=\"404\"} 2");
        has("roster_http_requests_total{route=\"/v1/a\",method=\"POST\",status=\"200\"} 1");
        has("roster_http_requests_total{route=\"/v1/a\",method=\"other\",status=\"200\"} 1");
        has("roster_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1");
        has("roster_http_requests_total{route=\"" + long_route + "\",method=\"GET\",status=\"200\"} 2");
        has("roster_http_response_bytes_total{route=\"/v1/a\"} " + std::to_string(10 * (3 + round + 2 + 1 + 1)));
        has("roster_http_request_duration_seconds_count{route=\"/v1/a\",method=\"GET\"} " +
            std::to_string(3 + round + 2));
        m.reset();
    }
}

TEST(metrics_exposition, histogram_buckets_are_cumulative_with_inf_sum_and_count) {
    metrics_registry r;
    auto& h = r.add_histogram("t_seconds", "Latency.", {"route"}, {0.1, 0.5, 1});
    for (double v : {0.05, 0.1, 0.3, 0.7, 2.0, 3.0}) h.observe({"/x"}, v);
    const auto s = samples(r.render());
    // "le" is inclusive: 0.1 falls in the 0.1 bucket.
    EXPECT_EQ(s.at("t_seconds_bucket{route=\"/x\",le=\"0.1\"}"), 2);
    EXPECT_EQ(s.at("t_seconds_bucket{route=\"/x\",le=\"0.5\"}"), 3);
    EXPECT_EQ(s.at("t_seconds_bucket{route=\"/x\",le=\"1\"}"), 4);
    EXPECT_EQ(s.at("t_seconds_bucket{route=\"/x\",le=\"+Inf\"}"), 6);
    EXPECT_EQ(s.at("t_seconds_count{route=\"/x\"}"), 6);
    EXPECT_NEAR(s.at("t_seconds_sum{route=\"/x\"}"), 6.15, 1e-9);
    expect_well_formed(r.render());
}

TEST(metrics_exposition, gauge_callbacks_are_read_at_scrape_time) {
    metrics_registry r;
    double subscribers = 3;
    r.add_gauge("t_live_subscribers", "Live subscribers.", [&] { return subscribers; });
    EXPECT_EQ(samples(r.render()).at("t_live_subscribers"), 3);
    subscribers = 7.5;
    EXPECT_EQ(samples(r.render()).at("t_live_subscribers"), 7.5);
    EXPECT_NE(r.render().find("# TYPE t_live_subscribers gauge\n"), std::string::npos);
}

TEST(metrics_exposition, values_use_prometheus_spellings) {
    EXPECT_EQ(api::format_metric_value(1e6), "1000000");
    EXPECT_EQ(api::format_metric_value(0.25), "0.25");
    EXPECT_EQ(api::format_metric_value(0.0005), "0.0005");
    EXPECT_EQ(api::format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(api::format_metric_value(std::nan("")), "NaN");
}

TEST(metrics_exposition, wrong_number_of_label_values_is_a_programming_error) {
    metrics_registry r;
    auto& c = r.add_counter("t_total", "x", {"a", "b"});
    EXPECT_THROW(c.inc({"only one"}), std::invalid_argument);
}

// /readyz through the router: not ready until set, then each added check can veto with a reason.
TEST(readyz, answers_503_with_the_first_failing_check_and_200_when_all_pass) {
    api::router routes;
    api::readiness ready;
    api::add_system_routes(routes, ready);
    std::optional<std::string> lag_reason;
    ready.add_check([&] { return lag_reason; });
    auto call = [&] {
        auto m = routes.match("GET", "/readyz");
        EXPECT_TRUE(m.has_value());
        api::request_context ctx;
        api::response got;
        m->found->handle(ctx, api::make_responder([&](api::response r) { got = std::move(r); }));
        return got;
    };
    EXPECT_EQ(call().status, 503u) << "not ready before main says so";
    ready.set(true);
    EXPECT_EQ(call().status, 200u);
    lag_reason = "The projections are 20000 events behind the log.";
    auto r = call();
    EXPECT_EQ(r.status, 503u);
    EXPECT_NE(r.body.find("20000 events behind"), std::string::npos) << r.body;
    lag_reason.reset();
    EXPECT_EQ(call().status, 200u);
}

class metrics_server : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data", std::vector<std::string>{"--threads", "2"});
        http_ = std::make_unique<http_client>(server_->port());
        token_ = read_token(tmp_.path() / "data");
    }
    http_reply op_post(const std::string& target, const json::object& body) {
        return http_->request("POST", target, json::serialize(body),
                              {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}});
    }
    std::string scrape() {
        // A separate connection: the scrape's own request is counted after it is written.
        http_client c(server_->port());
        auto r = c.request("GET", "/metrics");
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.header("content-type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
        return r.body;
    }
    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::string token_;
};

TEST_F(metrics_server, counts_requests_by_route_template_and_status_and_reports_the_store) {
    const auto before = samples(scrape());
    const double events_before = before.at("roster_store_appended_events_total");
    ASSERT_EQ(op_post("/v1/accounts", {{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status, 201u);
    for (int i = 0; i < 5; ++i) {
        auto r = op_post("/v1/accounts/acme/users", {{"email", "u" + std::to_string(i) + "@acme.test"},
                                                     {"name", "User " + std::to_string(i)},
                                                     {"roles", json::object{{"support", json::array{"viewer"}}}}});
        ASSERT_EQ(r.status, 201u) << r.body;
    }
    ASSERT_EQ(op_post("/v1/accounts", {{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status, 409u);
    ASSERT_EQ(http_->request("GET", "/no/such/path/123").status, 404u);
    ASSERT_EQ(http_->request("GET", "/v1/accounts/acme").status, 401u);

    // A request is counted once its answer is written, which can be just after the client has
    // read it: wait for the last one to show up before checking the counts.
    const std::string last_request =
        "roster_http_requests_total{route=\"/v1/accounts/{a}\",method=\"GET\",status=\"401\"}";
    std::string text = scrape();
    for (int attempt = 0; attempt < 500 && !samples(text).contains(last_request); ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        text = scrape();
    }
    expect_well_formed(text);
    const auto s = samples(text);
    EXPECT_EQ(s.at("roster_http_requests_total{route=\"/v1/accounts\",method=\"POST\",status=\"201\"}"), 1);
    EXPECT_EQ(s.at("roster_http_requests_total{route=\"/v1/accounts\",method=\"POST\",status=\"409\"}"), 1);
    EXPECT_EQ(s.at("roster_http_requests_total{route=\"/v1/accounts/{a}/users\",method=\"POST\",status=\"201\"}"), 5);
    EXPECT_EQ(s.at("roster_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"), 1);
    EXPECT_EQ(s.at("roster_http_requests_total{route=\"/v1/accounts/{a}\",method=\"GET\",status=\"401\"}"), 1);
    EXPECT_EQ(s.at("roster_http_request_duration_seconds_count{route=\"/v1/accounts/{a}/users\",method=\"POST\"}"), 5);
    EXPECT_EQ(s.at("roster_http_request_duration_seconds_bucket{route=\"/v1/accounts/{a}/"
                   "users\",method=\"POST\",le=\"+Inf\"}"),
              5);
    EXPECT_GT(s.at("roster_http_request_duration_seconds_sum{route=\"/v1/accounts/{a}/users\",method=\"POST\"}"), 0);
    // The earlier scrape itself was counted once it was written.
    EXPECT_GE(s.at("roster_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"}"), 1);

    // Six accepted commands appended at least six events, each in a synced commit group.
    EXPECT_GE(s.at("roster_store_appended_events_total") - events_before, 6);
    EXPECT_GE(s.at("roster_store_appended_batches_total"), 6);
    EXPECT_GE(s.at("roster_store_commits_total"), 1);
    EXPECT_EQ(s.at("roster_store_group_commit_batches_count"), s.at("roster_store_commits_total"));
    EXPECT_EQ(s.at("roster_store_group_commit_batches_sum"), s.at("roster_store_appended_batches_total"));
    EXPECT_EQ(s.at("roster_store_write_duration_seconds_count"), s.at("roster_store_commits_total"));
    EXPECT_EQ(s.at("roster_store_write_failures_total"), 0);
    EXPECT_GT(s.at("roster_store_size_bytes"), 0);
    EXPECT_EQ(s.at("roster_store_head_position"), s.at("roster_projection_position"));
    EXPECT_EQ(s.at("roster_projection_lag_events"), 0);
    EXPECT_EQ(s.at("roster_ready"), 1);
}

TEST(metrics_store, a_failed_commit_write_is_counted_and_answered_503) {
    temp_dir tmp;
    rosterd_process p(tmp.path() / "data", {"--threads", "1", "--enable-test-routes"});
    http_client http(p.port());
    const auto token = read_token(tmp.path() / "data");
    const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + token},
                                                                {"Content-Type", "application/json"}};
    ASSERT_EQ(http.request("POST", "/test/fail-next-writes?n=1", "{}", auth).status, 200u);
    auto r = http.request("POST", "/v1/accounts", R"({"id":"acme","name":"Acme","kind":"customer"})", auth);
    ASSERT_EQ(r.status, 503u) << r.body;
    const auto s = samples(http_client(p.port()).request("GET", "/metrics").body);
    EXPECT_EQ(s.at("roster_store_write_failures_total"), 1);
    EXPECT_EQ(s.at("roster_http_requests_total{route=\"/v1/accounts\",method=\"POST\",status=\"503\"}"), 1);
}

TEST_F(metrics_server, readyz_is_200_once_started_and_metrics_needs_no_token) {
    auto r = http_->request("GET", "/readyz");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(http_->request("GET", "/metrics").status, 200u);
}

// rosterd --config: the file sets the port; a flag given on the command line wins over it.
unsigned short free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// Runs rosterd with exactly `args` (rosterd_process always adds its own --listen) until it
// prints its port or exits; returns the port (0 if none) and the exit code (-1 while running).
struct bare_run {
    unsigned short port = 0;
    int exit_code = -1;
};
bare_run run_bare(std::vector<std::string> args) {
    args.insert(args.begin(), ROSTERD_PATH);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_WRONLY);
        if (::dup2(fds[1], 1) < 0 || ::dup2(devnull, 2) < 0) ::_exit(126);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    bare_run out;
    std::string text;
    const std::string marker = "listening on 127.0.0.1:";
    const auto deadline = std::chrono::steady_clock::now() + safety_limit;
    while (out.port == 0 && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        char buf[256];
        auto n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (auto at = text.find(marker); at != std::string::npos && text.find('\n', at) != std::string::npos)
            out.port = static_cast<unsigned short>(std::stoi(text.substr(at + marker.size())));
    }
    if (out.port != 0) ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(fds[0]);
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
}

TEST(config_file, sets_the_listen_port_and_a_flag_overrides_the_file) {
    temp_dir tmp;
    const auto file_port = free_port();
    const auto conf = tmp.path() / "rosterd.conf";
    {
        std::ofstream f(conf);
        f << "# test config\nlisten = 127.0.0.1:" << file_port
          << "\nthreads = 1\ndata-dir = " << (tmp.path() / "d1").string() << "\n";
    }
    auto from_file = run_bare({"--config", conf.string()});
    EXPECT_EQ(from_file.port, file_port);
    EXPECT_EQ(from_file.exit_code, 0);
    EXPECT_TRUE(std::filesystem::exists(tmp.path() / "d1" / "operator.token")) << "data-dir came from the file";

    // The same file, but --listen on the command line: the flag wins.
    rosterd_process p(tmp.path() / "d2", {"--config", conf.string()});
    EXPECT_NE(p.port(), file_port);
    EXPECT_EQ(http_client(p.port()).request("GET", "/healthz").status, 200u);
    EXPECT_TRUE(std::filesystem::exists(tmp.path() / "d2" / "operator.token")) << "--data-dir flag beat the file";
}

TEST(config_file, unknown_option_or_missing_file_is_a_usage_error) {
    temp_dir tmp;
    const auto conf = tmp.path() / "bad.conf";
    std::ofstream(conf) << "listen = 127.0.0.1:0\nno-such-option = 1\n";
    EXPECT_EQ(run_bare({"--config", conf.string(), "--data-dir", (tmp.path() / "d").string()}).exit_code, 2);
    EXPECT_EQ(run_bare({"--config", (tmp.path() / "missing.conf").string()}).exit_code, 2);
}

TEST(config_file, help_documents_every_option) {
    temp_dir tmp;
    const auto out = tmp.path() / "help.txt";
    const std::string cmd = std::string(ROSTERD_PATH) + " --help > " + out.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream in(out);
    std::stringstream ss;
    ss << in.rdbuf();
    for (const char* opt :
         {"--config", "--listen", "--data-dir", "--threads", "--max-body-bytes", "--header-timeout-ms",
          "--body-timeout-ms", "--idle-timeout-ms", "--shutdown-grace-ms", "--backup-dir", "--ready-max-lag"})
        EXPECT_NE(ss.str().find(opt), std::string::npos) << opt;
}

}  // namespace
}  // namespace roster::test
