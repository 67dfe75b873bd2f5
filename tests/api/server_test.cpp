// End-to-end tests against the real rosterd binary.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "../../api/http/src/request_framing.hpp"
#include "rosterd_process.hpp"
#include "spawn.hpp"

namespace roster::test {
namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Checks the RFC 9457 shape and returns the problem object.
boost::json::object expect_problem(const http_reply& r, unsigned status, std::string_view code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.header("content-type").value_or(""), "application/problem+json");
    auto v = r.json();
    EXPECT_TRUE(v.is_object()) << r.body;
    if (!v.is_object()) return {};
    auto& o = v.as_object();
    EXPECT_EQ(o.at("status").as_int64(), static_cast<std::int64_t>(status));
    EXPECT_EQ(o.at("code").as_string(), code);
    EXPECT_FALSE(o.at("title").as_string().empty());
    EXPECT_FALSE(o.at("detail").as_string().empty());
    EXPECT_EQ(o.at("type").as_string(), "urn:roster:problem:" + std::string(code));
    return o;
}

class rosterd_test : public ::testing::Test {
protected:
    std::filesystem::path data() const { return tmp_.path() / "data"; }
    rosterd_process& start(std::vector<std::string> extra = {}) {
        extra.push_back("--threads");
        extra.push_back("2");
        server_ = std::make_unique<rosterd_process>(data(), std::move(extra));
        return *server_;
    }
    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
};

TEST_F(rosterd_test, healthz_answers_ok) {
    auto& s = start();
    http_client c(s.port());
    auto r = c.request("GET", "/healthz");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("content-type").value_or(""), "application/json");
    EXPECT_EQ(r.json().at("status").as_string(), "ok");
}

TEST_F(rosterd_test, readyz_is_ready_once_listening) {
    auto& s = start();
    http_client c(s.port());
    auto r = c.request("GET", "/readyz");
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.json().at("status").as_string(), "ready");
}

TEST_F(rosterd_test, unknown_path_is_a_404_problem) {
    auto& s = start();
    http_client c(s.port());
    expect_problem(c.request("GET", "/v1/nothing-here"), 404, "route_not_found");
}

TEST_F(rosterd_test, wrong_method_is_a_405_problem_with_allow) {
    auto& s = start();
    http_client c(s.port());
    auto r = c.request("DELETE", "/healthz");
    expect_problem(r, 405, "method_not_allowed");
    EXPECT_EQ(r.header("allow").value_or(""), "GET, HEAD");
    auto d = c.request("GET", "/v1/accounts/acme/users/u1/deactivate");
    expect_problem(d, 405, "method_not_allowed");
    EXPECT_EQ(d.header("allow").value_or(""), "POST");
}

TEST_F(rosterd_test, bad_percent_encoding_is_a_400_problem) {
    auto& s = start();
    http_client c(s.port());
    expect_problem(c.request("GET", "/v1/accounts/a%zz/users"), 400, "invalid_target");
}

TEST_F(rosterd_test, oversized_body_is_a_413_problem_and_closes) {
    auto& s = start({"--max-body-bytes", "1024", "--enable-test-routes"});
    http_client c(s.port());
    auto r = c.request("POST", "/test/echo", std::string(4096, 'x'), {{"Content-Type", "application/json"}});
    auto p = expect_problem(r, 413, "payload_too_large");
    EXPECT_EQ(p.at("limit_bytes").as_int64(), 1024);
    EXPECT_FALSE(r.keep_alive);
    EXPECT_TRUE(c.wait_closed());

    // At the limit exactly, the body is read and handed to the route.
    http_client ok(s.port());
    std::string body = R"({"name":")" + std::string(1024 - 11, 'n') + R"("})";
    ASSERT_EQ(body.size(), 1024u);
    EXPECT_EQ(ok.request("POST", "/test/echo", body, {{"Content-Type", "application/json"}}).status, 200u);
}

TEST_F(rosterd_test, json_bodies_are_parsed_strictly) {
    auto& s = start({"--enable-test-routes"});
    http_client c(s.port());
    const std::vector<std::pair<std::string, std::string>> json{{"Content-Type", "application/json"}};
    expect_problem(c.request("POST", "/test/echo", R"({"name": "a",)", json), 400, "malformed_json");
    expect_problem(c.request("POST", "/test/echo", R"(["name"])", json), 400, "json_object_expected");
    auto unknown =
        expect_problem(c.request("POST", "/test/echo", R"({"name":"a","nmae":"b"})", json), 400, "unknown_field");
    EXPECT_EQ(unknown.at("field").as_string(), "nmae");
    auto typed = expect_problem(c.request("POST", "/test/echo", R"({"name":7})", json), 400, "invalid_field_type");
    EXPECT_EQ(typed.at("field").as_string(), "name");
    expect_problem(c.request("POST", "/test/echo", R"({"name":"a"})", {{"Content-Type", "text/plain"}}), 415,
                   "unsupported_media_type");
    auto ok = c.request("POST", "/test/echo", R"({"name":"a","count":2})",
                        {{"Content-Type", "application/json; charset=utf-8"}});
    ASSERT_EQ(ok.status, 200u) << ok.body;
    EXPECT_EQ(ok.json().at("count").as_int64(), 2);
}

TEST_F(rosterd_test, deactivate_is_gone_with_guidance) {
    auto& s = start();
    http_client c(s.port());
    auto p = expect_problem(c.request("POST", "/v1/accounts/acme/users/u1/deactivate"), 410, "deactivate_removed");
    std::string detail(p.at("detail").as_string());
    EXPECT_NE(detail.find("POST /v1/users/u1/lock"), std::string::npos) << detail;
    EXPECT_NE(detail.find("DELETE /v1/accounts/acme/users/u1/roles"), std::string::npos) << detail;
}

TEST_F(rosterd_test, keep_alive_serves_several_requests_on_one_connection) {
    auto& s = start();
    http_client c(s.port());
    for (int i = 0; i < 5; ++i) {
        auto r = c.request("GET", i % 2 ? "/healthz" : "/nope");
        EXPECT_EQ(r.status, i % 2 ? 200u : 404u);
        EXPECT_TRUE(r.keep_alive);
    }
}

TEST_F(rosterd_test, pipelined_requests_are_answered_in_order) {
    auto& s = start();
    http_client c(s.port());
    c.send_raw(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
        "GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n");
    auto a = c.read_reply();
    auto b = c.read_reply();
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.header("x-request-id").value_or(""), "first");
    EXPECT_EQ(b.status, 404u);
    EXPECT_EQ(b.header("x-request-id").value_or(""), "second");
}

TEST_F(rosterd_test, request_id_is_echoed_or_generated) {
    auto& s = start();
    http_client c(s.port());
    auto echoed = c.request("GET", "/healthz", {}, {{"X-Request-Id", "req-42.abc"}});
    EXPECT_EQ(echoed.header("x-request-id").value_or(""), "req-42.abc");

    auto generated = c.request("GET", "/healthz");
    auto id = generated.header("x-request-id").value_or("");
    EXPECT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;

    auto replaced = c.request("GET", "/healthz", {}, {{"X-Request-Id", "bad id with spaces"}});
    EXPECT_NE(replaced.header("x-request-id").value_or("bad id with spaces"), "bad id with spaces");
    EXPECT_NE(replaced.header("x-request-id").value_or(""), id);
}

TEST_F(rosterd_test, operator_token_is_written_0600_and_kept_on_restart) {
    start();
    auto path = data() / "operator.token";
    ASSERT_TRUE(std::filesystem::exists(path));
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto token = read_file(path);
    EXPECT_EQ(token.rfind("rst_", 0), 0u) << token;
    EXPECT_EQ(token.size(), 4u + 64u + 1u);
    bool announced = false;
    for (auto& line : server_->stdout_lines())
        if (line.find("operator token: " + path.string()) == 0) announced = true;
    EXPECT_TRUE(announced);
    EXPECT_EQ(server_->terminate(), 0);

    start();
    EXPECT_EQ(read_file(path), token);
    for (auto& line : server_->stdout_lines()) EXPECT_EQ(line.find("(created)"), std::string::npos) << line;
}

TEST_F(rosterd_test, sigterm_lets_an_in_flight_request_finish) {
    auto& s = start({"--enable-test-routes"});
    http_client c(s.port());
    c.send_raw("GET /test/slow?ms=700 HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-1\r\n\r\n");
    ASSERT_TRUE(s.wait_for_log("test_slow_started"));
    http_client idle(s.port());  // an idle keep-alive connection must not hold the shutdown up
    ASSERT_EQ(::kill(s.pid(), SIGTERM), 0);
    auto r = c.read_reply();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.json().at("slept_ms").as_int64(), 700);
    EXPECT_FALSE(r.keep_alive);  // draining: the connection closes after this answer
    EXPECT_EQ(s.wait_exit(), 0);
    EXPECT_NE(s.log_text().find("\"connections_dropped\":0"), std::string::npos) << s.log_text();
}

TEST_F(rosterd_test, handler_exception_is_a_500_problem_and_closes_the_session) {
    auto& s = start({"--enable-test-routes"});
    http_client c(s.port());
    auto r = c.request("GET", "/test/throw", {}, {{"X-Request-Id", "boom-1"}});
    expect_problem(r, 500, "internal_error");
    EXPECT_FALSE(r.keep_alive);
    EXPECT_TRUE(c.wait_closed());
    EXPECT_TRUE(s.wait_for_log("handler_exception"));
    http_client after(s.port());
    EXPECT_EQ(after.request("GET", "/healthz").status, 200u);
}

TEST_F(rosterd_test, header_timeout_closes_an_idle_connection) {
    auto& s = start({"--header-timeout-ms", "200"});
    http_client silent(s.port());
    EXPECT_TRUE(silent.wait_closed());

    // A request whose header never completes gets a 408 problem, then the connection closes.
    http_client partial(s.port());
    partial.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    auto r = partial.read_reply();
    expect_problem(r, 408, "request_timeout");
    EXPECT_TRUE(partial.wait_closed());
}

// The connection's deadlines are enforced lazily (a re-arm only moves a deadline; the timer
// catches up when it fires): a kept-alive connection must still get the idle timeout between
// requests, not the shorter header deadline armed before it, and the header deadline again
// once a request starts, and still be closed when idle too long.
TEST_F(rosterd_test, keep_alive_deadlines_follow_the_phase_of_the_connection) {
    auto& s = start({"--header-timeout-ms", "200", "--idle-timeout-ms", "900"});
    http_client c(s.port());
    EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past the header timeout, within idle
    auto again = c.request("GET", "/healthz");
    EXPECT_EQ(again.status, 200u);
    EXPECT_TRUE(again.keep_alive);
    c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // a header that never ends
    const auto sent = std::chrono::steady_clock::now();
    expect_problem(c.read_reply(), 408, "request_timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(800));  // header, not idle
    EXPECT_TRUE(c.wait_closed());

    http_client idle(s.port());
    EXPECT_EQ(idle.request("GET", "/healthz").status, 200u);
    const auto answered = std::chrono::steady_clock::now();
    EXPECT_TRUE(idle.wait_closed());
    EXPECT_GE(std::chrono::steady_clock::now() - answered, std::chrono::milliseconds(800));
}

TEST_F(rosterd_test, body_timeout_is_a_408_problem) {
    auto& s = start({"--body-timeout-ms", "200", "--enable-test-routes"});
    http_client c(s.port());
    c.send_raw(
        "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"na");
    expect_problem(c.read_reply(), 408, "request_timeout");
    EXPECT_TRUE(c.wait_closed());
}

TEST_F(rosterd_test, oversized_header_is_a_431_problem) {
    auto& s = start();
    http_client c(s.port());
    auto r = c.request("GET", "/healthz", {}, {{"X-Padding", std::string(20 * 1024, 'p')}});
    expect_problem(r, 431, "header_too_large");
    EXPECT_TRUE(c.wait_closed());
}

TEST_F(rosterd_test, shutdown_grace_bounds_the_wait_for_in_flight_requests) {
    auto& s = start({"--enable-test-routes", "--shutdown-grace-ms", "100"});
    http_client c(s.port());
    c.send_raw("GET /test/slow?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(s.wait_for_log("test_slow_started"));
    ASSERT_EQ(::kill(s.pid(), SIGTERM), 0);
    ASSERT_TRUE(s.wait_for_log("shutdown_drained"));
    EXPECT_NE(s.log_text().find("\"connections_dropped\":1"), std::string::npos) << s.log_text();
    EXPECT_EQ(s.wait_exit(), 0);
    EXPECT_TRUE(c.wait_closed());
}

TEST_F(rosterd_test, openapi_lists_the_served_routes) {
    auto& s = start({"--enable-test-routes"});
    http_client c(s.port());
    auto r = c.request("GET", "/v1/openapi.json");
    ASSERT_EQ(r.status, 200u);
    auto doc = r.json().as_object();
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
    auto& paths = doc.at("paths").as_object();
    EXPECT_TRUE(paths.at("/healthz").as_object().contains("get"));
    EXPECT_TRUE(paths.at("/readyz").as_object().contains("get"));
    EXPECT_TRUE(paths.at("/v1/openapi.json").as_object().contains("get"));
    EXPECT_TRUE(paths.at("/v1/accounts/{a}/users/{u}/deactivate").as_object().contains("post"));
    EXPECT_TRUE(paths.at("/test/echo").as_object().contains("post"));
}

// fuzz_request_target routes against the table `--print-routes` prints (tests/fuzz/CMakeLists.txt):
// it must be exactly what the server serves, and the start-up must stop without listening.
TEST_F(rosterd_test, print_routes_is_the_served_table) {
    auto child = test_support::spawn_with_stdout_pipe({ROSTERD_TEST_PATH, "--enable-test-routes", "--data-dir",
                                                       (tmp_.path() / "printed").string(), "--print-routes"});
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(child.stdout_fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(child.stdout_fd);
    int status = 0;
    ASSERT_EQ(::waitpid(child.pid, &status, 0), child.pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(out.find("listening on"), std::string::npos) << out;
    std::set<std::string> printed;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (const auto space = line.find(' '); space != std::string::npos && space > 0 &&
                                               line.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == space &&
                                               line.compare(space, 2, " /") == 0)
            printed.insert(line);

    auto& s = start({"--enable-test-routes"});
    http_client c(s.port());
    auto r = c.request("GET", "/v1/openapi.json");
    ASSERT_EQ(r.status, 200u);
    const auto doc = r.json();
    std::set<std::string> served;
    for (const auto& [path, ops] : doc.at("paths").as_object())
        for (const auto& op : ops.as_object()) {
            std::string method(op.key());
            for (char& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            served.insert(method + " " + std::string(path));
        }
    EXPECT_GT(served.size(), 30u);
    EXPECT_EQ(printed, served);
}

// The framing rules one by one (the end-to-end tests below show the server applies them).
TEST(request_framing, transfer_encoding_is_chunked_alone_or_refused) {
    namespace http = boost::beast::http;
    auto check = [](std::string_view te, bool parser_chunked = true, unsigned version = 11) {
        http::request_header<> h;
        h.version(version);
        h.set(http::field::transfer_encoding, te);
        auto p = api::framing::check_framing(h, parser_chunked);
        return p ? p->code : std::string("ok");
    };
    for (auto te : {"chunked", "Chunked", " chunked\t", "chunked,", ", chunked"}) EXPECT_EQ(check(te), "ok") << te;
    for (auto te :
         {"gzip", "identity", "xchunked", "chunked, identity", "gzip, chunked", "chunked, chunked", "", "chunked;x=1"})
        EXPECT_EQ(check(te), "bad_transfer_encoding") << te;
    EXPECT_EQ(check("chunked", true, 10), "bad_transfer_encoding");
    EXPECT_EQ(check("chunked", false), "bad_transfer_encoding");  // never accept what the parser frames otherwise

    http::request_header<> none;
    none.version(11);
    none.set(http::field::content_length, "12");
    EXPECT_FALSE(api::framing::check_framing(none, false));
    none.set(http::field::transfer_encoding, "chunked");
    EXPECT_EQ(api::framing::check_framing(none, true).value_or(api::problem{}).code, "bad_transfer_encoding");
}

TEST(request_framing, obs_fold_is_found_in_the_raw_header_only) {
    using api::framing::check_obs_fold;
    using api::framing::header_section_length;
    EXPECT_FALSE(check_obs_fold("GET / HTTP/1.1\r\nHost: x\r\nX-A: a b\r\n\r\n"));
    EXPECT_TRUE(check_obs_fold("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"));
    EXPECT_TRUE(check_obs_fold("GET / HTTP/1.1\r\nHost: x\r\nX-A:\r\n\tb\r\n\r\n"));
    EXPECT_TRUE(check_obs_fold("GET / HTTP/1.1\r\n Host: x\r\n\r\n"));
    // A body starting with a space is not a fold: the check sees the header section only.
    const std::string_view request = "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n {";
    const auto end = header_section_length(request);
    ASSERT_EQ(end, request.size() - 2);
    EXPECT_FALSE(check_obs_fold(request.substr(0, end)));
    EXPECT_EQ(header_section_length("GET / HTTP/1.1\r\nHost: x\r\n"), std::string_view::npos);
    // Resuming where a previous search stopped still finds an end split across reads.
    EXPECT_EQ(header_section_length("GET / HTTP/1.1\r\n\r\n", 16), 18u);
}

// A plain socket for what http_client cannot read: an answer to HEAD has a Content-Length (or
// Transfer-Encoding) but no body, which a response parser would wait for.
class raw_connection {
public:
    explicit raw_connection(unsigned short port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        if (fd_ < 0) throw std::runtime_error("raw_connection: socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("raw_connection: connect");
    }
    ~raw_connection() { ::close(fd_); }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("raw_connection: send");
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // Reads up to and including the empty line ending a response head; what follows stays
    // buffered. Status and lower-case headers; no body.
    http_reply read_head() {
        std::size_t end;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
            if (!receive(safety_limit))
                throw std::runtime_error("raw_connection: closed before a whole head: " + buffer_);
        std::string head = buffer_.substr(0, end + 2);
        buffer_.erase(0, end + 4);
        http_reply r;
        if (head.rfind("HTTP/1.1 ", 0) != 0) throw std::runtime_error("raw_connection: not a response: " + head);
        r.status = static_cast<unsigned>(std::stoul(head.substr(9, 3)));
        for (auto at = head.find("\r\n") + 2; at < head.size();) {
            auto eol = head.find("\r\n", at);
            auto line = head.substr(at, eol - at);
            auto colon = line.find(':');
            std::string name = line.substr(0, colon);
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            auto value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            r.headers[name] = value;
            at = eol + 2;
        }
        r.keep_alive = r.header("connection").value_or("") != "close";
        return r;
    }

    // The next response head as sent, up to and including its empty line.
    std::string read_head_bytes() {
        std::size_t end;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
            if (!receive(safety_limit))
                throw std::runtime_error("raw_connection: closed before a whole head: " + buffer_);
        std::string head = buffer_.substr(0, end + 4);
        buffer_.erase(0, end + 4);
        return head;
    }

    // Reads `n` body bytes after a head.
    std::string read_exactly(std::size_t n) {
        while (buffer_.size() < n)
            if (!receive(safety_limit)) throw std::runtime_error("raw_connection: closed inside a body");
        std::string out = buffer_.substr(0, n);
        buffer_.erase(0, n);
        return out;
    }

    // Whatever else arrives within `wait` (nothing, for a body-less answer on an open connection).
    std::string stray_bytes(std::chrono::milliseconds wait) {
        receive(wait);
        return std::exchange(buffer_, {});
    }

private:
    // False on EOF (or when nothing came within `wait`).
    bool receive(std::chrono::milliseconds wait) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
        char chunk[4096];
        auto n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_;
    std::string buffer_;
};

// A request the server must refuse with `code` before reading its body as anything: the body
// holds a whole second request, which another parser (a proxy) would have framed as part of the
// first. Exactly one answer, then the connection closes, and the smuggled request never ran.
void expect_refused_unread(rosterd_process& s, const std::string& name, const std::string& head,
                           std::string_view code) {
    SCOPED_TRACE(name);
    const std::string smuggled_id = "smuggled-" + name;
    const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + smuggled_id + "\r\n\r\n";
    http_client c(s.port());
    c.send_raw(head + smuggled);
    auto r = c.read_reply();
    expect_problem(r, 400, code);
    EXPECT_FALSE(r.keep_alive);
    EXPECT_TRUE(c.wait_closed()) << "a second answer came: the body was read as a request";
    ASSERT_TRUE(s.wait_for_log(r.header("x-request-id").value_or("?")));
    EXPECT_EQ(s.log_text().find(smuggled_id), std::string::npos) << s.log_text();
}

TEST_F(rosterd_test, a_body_whose_end_is_unknown_is_refused_and_never_read_as_a_request) {
    auto& s = start({"--enable-test-routes"});
    const std::string post = "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    for (const char* coding : {"gzip", "identity", "xchunked", "chunked, identity", "chunked, chunked", "gzip, chunked",
                               "GZIP , Chunked", "chunked;q=1"})
        expect_refused_unread(s, coding, post + "Transfer-Encoding: " + coding + "\r\n\r\n", "bad_transfer_encoding");
    // Framed as chunked by a parser that takes the last coding, as empty by one that wants chunked alone.
    expect_refused_unread(s, "gzip-chunked-framed", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                          "bad_transfer_encoding");
    // Transfer-Encoding and Content-Length: ours when the parser accepts both, Beast's otherwise.
    expect_refused_unread(s, "te-identity-cl", post + "Transfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}",
                          "bad_transfer_encoding");
    expect_refused_unread(s, "cl-te", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                          "malformed_request");
    expect_refused_unread(s, "te-cl", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
                          "malformed_request");
    expect_refused_unread(s, "http10",
                          "POST /test/echo HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                          "bad_transfer_encoding");
    // Folded: Beast would unfold this into "gzip, chunked"; a proxy may read "gzip" and no body.
    expect_refused_unread(s, "folded", post + "Transfer-Encoding: gzip,\r\n chunked\r\n\r\n0\r\n\r\n", "obs_fold");
    expect_refused_unread(s, "folded-tab", post + "Transfer-Encoding:\r\n\tchunked\r\n\r\n0\r\n\r\n", "obs_fold");
    expect_refused_unread(s, "folded-other", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n", "obs_fold");
    // Still served: chunked alone, in any case, with OWS.
    http_client c(s.port());
    c.send_raw(post + "Transfer-Encoding:  Chunked \r\n\r\n5\r\n{\"nam\r\n8\r\ne\":\"ok\"}\r\n0\r\n\r\n");
    auto ok = c.read_reply();
    ASSERT_EQ(ok.status, 200u) << ok.body;
    EXPECT_EQ(ok.json().at("name").as_string(), "ok");
    EXPECT_TRUE(ok.keep_alive);
    EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
}

TEST_F(rosterd_test, a_folded_header_is_refused_when_it_arrives_in_pieces) {
    auto& s = start();
    raw_connection c(s.port());
    // Beast consumes the complete lines of a partial header; the fold must still be seen.
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c.send(" b\r\n\r\n");
    auto r = c.read_head();
    EXPECT_EQ(r.status, 400u);
    EXPECT_FALSE(r.keep_alive);
}

TEST_F(rosterd_test, a_singleton_header_sent_twice_is_refused) {
    auto& s = start({"--enable-test-routes"});
    const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (auto [name, twice] : std::vector<std::pair<std::string, std::string>>{
             {"Authorization", "Authorization: Bearer rst_a\r\nAuthorization: Bearer rst_b\r\n"},
             {"Authorization", "authorization: Bearer rst_a\r\nAUTHORIZATION: Bearer rst_a\r\n"},
             {"X-Request-Id", "X-Request-Id: a\r\nX-Request-Id: b\r\n"},
             {"Idempotency-Key", "Idempotency-Key: k1\r\nIdempotency-Key: k1\r\n"},
             {"If-Match", "If-Match: \"1\"\r\nIf-Match: \"2\"\r\n"},
             {"Host", "Host: y\r\n"}}) {
        auto p = [&] {
            SCOPED_TRACE(twice);
            http_client c(s.port());
            c.send_raw(get + twice + "\r\n");
            auto r = c.read_reply();
            auto o = expect_problem(r, 400, "duplicate_header");
            EXPECT_TRUE(c.wait_closed());
            return o;
        }();
        ASSERT_TRUE(p.contains("header"));
        EXPECT_EQ(p.at("header").as_string(), name);
    }
    // Identical Content-Lengths (Beast takes them as one) and a list in one field.
    const std::string post = "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    expect_refused_unread(s, "cl-twice", post + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "duplicate_header");
    expect_refused_unread(s, "cl-list", post + "Content-Length: 2, 2\r\n\r\n{}", "bad_content_length");
    expect_refused_unread(s, "ct-twice", post + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
                          "duplicate_header");
}

TEST_F(rosterd_test, head_answers_the_get_head_without_a_body) {
    auto& s = start({"--enable-test-routes"});
    raw_connection c(s.port());
    for (const char* target : {"/healthz", "/v1/openapi.json", "/nope", "/v1/accounts/acme/users"}) {
        SCOPED_TRACE(target);
        c.send(std::string("HEAD ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
        auto head = c.read_head();
        EXPECT_TRUE(head.keep_alive);
        EXPECT_EQ(c.stray_bytes(std::chrono::milliseconds(100)), "");  // no body
        // The same connection serves the GET next: same status and headers, and the body.
        c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
        auto get = c.read_head();
        EXPECT_EQ(head.status, get.status);
        EXPECT_EQ(head.header("content-type"), get.header("content-type"));
        ASSERT_TRUE(head.header("content-length").has_value());
        EXPECT_EQ(head.header("content-length"), get.header("content-length"));
        EXPECT_NE(head.header("content-length").value_or("0"), "0");
        EXPECT_EQ(c.read_exactly(std::stoul(get.header("content-length").value_or("0"))).size(),
                  std::stoul(head.header("content-length").value_or("0")));
    }
    // A POST-only resource: 405 listing what is allowed, and still no body.
    c.send("HEAD /v1/accounts/acme/users/u1/deactivate HTTP/1.1\r\nHost: x\r\n\r\n");
    auto refused = c.read_head();
    EXPECT_EQ(refused.status, 405u);
    EXPECT_EQ(refused.header("allow").value_or(""), "POST");
    EXPECT_EQ(c.stray_bytes(std::chrono::milliseconds(100)), "");
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_head().status, 200u);
}

// A GET's answer is written straight from a buffer, a HEAD's through Beast's serializer: the two
// heads must be the same bytes (status line, header order, Connection, Content-Length).
TEST_F(rosterd_test, a_get_answer_head_is_byte_for_byte_the_head_answer) {
    auto& s = start();
    const std::string traceparent = "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n";
    for (const char* target : {"/healthz", "/v1/openapi.json", "/nope", "/v1/accounts/acme/users",
                               "/v1/accounts/acme/users/u1/deactivate"}) {
        for (bool close : {false, true}) {
            SCOPED_TRACE(std::string(target) + (close ? " close" : ""));
            const std::string rest = std::string(target) + " HTTP/1.1\r\nHost: x\r\nX-Request-Id: same-id\r\n" +
                                     traceparent + (close ? "Connection: close\r\n" : "") + "\r\n";
            raw_connection h(s.port()), g(s.port());
            h.send("HEAD " + rest);
            g.send("GET " + rest);
            const auto head = h.read_head_bytes(), get = g.read_head_bytes();
            EXPECT_EQ(get, head);
            EXPECT_NE(get.find("\r\nX-Request-Id: same-id\r\n"), std::string::npos) << get;
            EXPECT_NE(get.find("\r\nContent-Length: "), std::string::npos) << get;
            EXPECT_EQ(get.find("\r\nConnection: close\r\n") != std::string::npos, close) << get;
        }
    }
}

TEST_F(rosterd_test, head_never_runs_a_stream_producer_nor_upgrades) {
    auto& s = start({"--enable-test-routes"});
    raw_connection c(s.port());
    // The producer throws at its first piece: had it run, the connection would close.
    c.send("HEAD /test/stream?pieces=3&bytes=5&fail_after=0 HTTP/1.1\r\nHost: x\r\n\r\n");
    auto head = c.read_head();
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(head.header("transfer-encoding").value_or(""), "chunked");
    EXPECT_EQ(head.header("content-type").value_or(""), "application/octet-stream");
    EXPECT_TRUE(head.keep_alive);
    EXPECT_EQ(c.stray_bytes(std::chrono::milliseconds(100)), "");
    // The WebSocket route answers HEAD as it answers a GET without an upgrade: 426, head only.
    c.send("HEAD /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + read_token(data()) + "\r\n\r\n");
    auto ws = c.read_head();
    EXPECT_EQ(ws.status, 426u);
    EXPECT_EQ(c.stray_bytes(std::chrono::milliseconds(100)), "");
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(c.read_head().status, 200u);
    EXPECT_EQ(s.log_text().find("stream_producer_failed"), std::string::npos);
}

TEST_F(rosterd_test, logs_are_json_lines_without_secrets) {
    auto& s = start();
    {
        http_client c(s.port());
        // A query parameter the route takes (an undeclared one is refused before routing).
        auto r = c.request("GET", "/v1/accounts/acct-secret-name/users/u1/removal?as_of=query-secret", {},
                           {{"Authorization", "Bearer rst_supersecrettoken"}, {"X-Request-Id", "log-check-1"}});
        EXPECT_EQ(r.status, 401u);
    }
    ASSERT_TRUE(s.wait_for_log("log-check-1"));
    auto text = s.log_text();
    EXPECT_EQ(text.find("rst_supersecrettoken"), std::string::npos);
    EXPECT_EQ(text.find("acct-secret-name"), std::string::npos);
    EXPECT_EQ(text.find("query-secret"), std::string::npos);
    std::istringstream lines(text);
    std::string line;
    bool found = false;
    while (std::getline(lines, line)) {
        auto v = boost::json::parse(line);  // throws (and fails the test) on a non-JSON line
        auto& o = v.as_object();
        auto text_of = [&](const char* key) {
            return o.contains(key) && o.at(key).is_string() ? std::string(o.at(key).as_string()) : std::string();
        };
        if (text_of("request_id") == "log-check-1" && text_of("msg") == "request") {
            found = true;
            EXPECT_EQ(o.at("route").as_string(), "/v1/accounts/{a}/users/{u}/removal");
            EXPECT_EQ(o.at("method").as_string(), "GET");
            EXPECT_EQ(o.at("status").as_int64(), 401);
            EXPECT_TRUE(o.at("latency_us").is_number());
            // RFC 3339 in UTC with microseconds, of today (or yesterday, just after midnight).
            const auto ts = text_of("ts");
            EXPECT_TRUE(std::regex_match(ts, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"))) << ts;
            auto date_of = [](std::chrono::sys_days d) {
                const std::chrono::year_month_day ymd{d};
                char date[16];
                std::snprintf(date, sizeof date, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
                return std::string(date);
            };
            const auto today = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
            EXPECT_TRUE(ts.substr(0, 10) == date_of(today) || ts.substr(0, 10) == date_of(today - std::chrono::days(1)))
                << ts;
        }
    }
    EXPECT_TRUE(found) << text;
}

// The request lines in a log, each parsed.
std::vector<boost::json::object> request_lines(const std::string& text) {
    std::vector<boost::json::object> out;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        auto v = boost::json::parse(line);
        if (v.as_object().contains("msg") && v.as_object().at("msg") == "request") out.push_back(v.as_object());
    }
    return out;
}

TEST_F(rosterd_test, access_log_off_writes_no_request_lines) {
    auto& s = start({"--access-log", "off"});
    {
        http_client c(s.port());
        for (int i = 0; i < 20; ++i) EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
        EXPECT_EQ(c.request("GET", "/v1/nothing-here").status, 404u);
    }
    EXPECT_EQ(s.terminate(), 0);  // the logger writes everything it has before the process ends
    const auto text = s.log_text();
    EXPECT_NE(text.find("\"msg\":\"started\""), std::string::npos) << text;
    EXPECT_TRUE(request_lines(text).empty()) << text;
}

TEST_F(rosterd_test, access_log_all_writes_every_request) {
    auto& s = start({"--access-log", "all"});
    {
        http_client c(s.port());
        for (int i = 0; i < 49; ++i) EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
        auto metrics = c.request("GET", "/metrics");
        EXPECT_NE(metrics.body.find("\nroster_log_dropped_total 0\n"), std::string::npos) << metrics.body;
    }
    EXPECT_EQ(s.terminate(), 0);
    auto lines = request_lines(s.log_text());
    ASSERT_EQ(lines.size(), 50u);
    EXPECT_EQ(lines[0].at("route"), "/healthz");
    EXPECT_EQ(lines[0].at("level"), "info");
    EXPECT_EQ(lines[0].at("status").as_int64(), 200);
    EXPECT_TRUE(lines[0].at("bytes").as_int64() > 0);
}

TEST_F(rosterd_test, access_log_sampled_writes_about_one_in_n) {
    auto& s = start({"--access-log", "sampled:10"});
    {
        // Over several connections, so both I/O threads serve some (each samples its own).
        for (int conn = 0; conn < 4; ++conn) {
            http_client c(s.port());
            for (int i = 0; i < 50; ++i) EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
        }
    }
    EXPECT_EQ(s.terminate(), 0);
    const auto n = request_lines(s.log_text()).size();
    EXPECT_GE(n, 18u);
    EXPECT_LE(n, 24u);
}

TEST_F(rosterd_test, a_5xx_is_logged_even_when_sampled) {
    auto& s = start({"--enable-test-routes", "--access-log", "sampled:1000000"});
    {
        http_client c(s.port());
        for (int i = 0; i < 5; ++i) EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
        EXPECT_EQ(c.request("GET", "/test/throw", {}, {{"X-Request-Id", "sampled-boom"}}).status, 500u);
    }
    ASSERT_TRUE(s.wait_for_log("sampled-boom"));
    EXPECT_EQ(s.terminate(), 0);
    auto lines = request_lines(s.log_text());
    ASSERT_EQ(lines.size(), 2u) << s.log_text();  // the first request of the thread, and the 500
    EXPECT_EQ(lines[1].at("request_id"), "sampled-boom");
    EXPECT_EQ(lines[1].at("status").as_int64(), 500);
    EXPECT_EQ(lines[1].at("level"), "error");
}

TEST_F(rosterd_test, log_level_warn_hides_info_lines) {
    auto& s = start({"--enable-test-routes", "--log-level", "warn"});
    {
        http_client c(s.port());
        EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
        EXPECT_EQ(c.request("GET", "/test/throw", {}, {{"X-Request-Id", "warn-boom"}}).status, 500u);
    }
    ASSERT_TRUE(s.wait_for_log("warn-boom"));
    EXPECT_EQ(s.terminate(), 0);
    const auto text = s.log_text();
    EXPECT_EQ(text.find("\"level\":\"info\""), std::string::npos) << text;
    EXPECT_EQ(text.find("\"msg\":\"started\""), std::string::npos) << text;
    EXPECT_NE(text.find("handler_exception"), std::string::npos) << text;
    auto lines = request_lines(text);
    ASSERT_EQ(lines.size(), 1u) << text;
    EXPECT_EQ(lines[0].at("status").as_int64(), 500);
}

TEST_F(rosterd_test, bad_log_flags_are_refused) {
    for (const char* flags : {"--access-log sampled:0", "--access-log some", "--log-level loud"}) {
        std::string cmd = std::string(ROSTERD_PATH) + " " + flags + " --data-dir " + (tmp_.path() / "x").string() +
                          " --listen 127.0.0.1:0 2>/dev/null";
        EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 2) << flags;
    }
}

// Each I/O thread listens on its own SO_REUSEPORT socket; another process must still be refused
// the port, as it was with a single listener.
TEST_F(rosterd_test, a_second_server_on_the_same_port_is_refused) {
    auto& s = start();
    std::string cmd = "timeout 20 " + std::string(ROSTERD_PATH) + " --threads 2 --data-dir " +
                      (tmp_.path() / "second").string() + " --listen 127.0.0.1:" + std::to_string(s.port()) +
                      " >/dev/null 2>&1";
    EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
    // The first still serves on every thread: connections spread over both listeners.
    for (int i = 0; i < 8; ++i) {
        http_client c(s.port());
        EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
    }
}

TEST_F(rosterd_test, help_documents_every_option) {
    // --help exits before listening, so run it directly rather than through rosterd_process.
    std::string cmd = std::string(ROSTERD_PATH) + " --help";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[512];
    while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    for (const char* opt :
         {"--listen", "--data-dir", "--threads", "--max-body-bytes", "--header-timeout-ms", "--body-timeout-ms",
          "--idle-timeout-ms", "--shutdown-grace-ms", "--log-level", "--access-log"})
        EXPECT_NE(out.find(opt), std::string::npos) << opt;
    EXPECT_EQ(out.find("enable-test-routes"), std::string::npos);
}

}  // namespace
}  // namespace roster::test
