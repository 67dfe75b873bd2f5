#include "rosterd_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace roster::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::optional<std::string> http_reply::header(const std::string& name) const {
    auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
}

boost::json::value http_reply::json() const { return boost::json::parse(body); }

struct http_client::impl {
    net::io_context ioc;
    tcp::socket socket{ioc};
    beast::flat_buffer buffer;
    std::string host;

    // Runs one asynchronous operation to completion, bounded by the safety limit.
    template <class Start>
    boost::system::error_code run(Start&& start) {
        boost::system::error_code result;
        bool done = false;
        ioc.restart();
        start([&](boost::system::error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
        ioc.run_for(safety_limit);
        if (!done) {
            boost::system::error_code ignored;
            socket.cancel(ignored);
            ioc.restart();
            ioc.run();
            throw std::runtime_error("http_client: no answer within the safety limit");
        }
        return result;
    }
};

http_client::http_client(unsigned short port) : impl_(std::make_unique<impl>()) {
    impl_->host = "127.0.0.1:" + std::to_string(port);
    tcp::endpoint ep(net::ip::make_address_v4("127.0.0.1"), port);
    auto ec = impl_->run([&](auto handler) {
        impl_->socket.async_connect(ep, [handler](boost::system::error_code e) mutable { handler(e, 0); });
    });
    if (ec) throw std::runtime_error("http_client: connect: " + ec.message());
}

http_client::~http_client() = default;

void http_client::send_raw(std::string_view bytes) {
    auto ec = impl_->run(
        [&](auto handler) { net::async_write(impl_->socket, net::buffer(bytes.data(), bytes.size()), handler); });
    if (ec) throw std::runtime_error("http_client: write: " + ec.message());
}

http_reply http_client::read_reply() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto ec = impl_->run([&](auto handler) { http::async_read(impl_->socket, impl_->buffer, parser, handler); });
    if (ec) throw std::runtime_error("http_client: read: " + ec.message());
    auto& res = parser.get();
    http_reply out;
    out.status = res.result_int();
    for (const auto& f : res) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
    }
    out.body = std::move(res.body());
    out.keep_alive = res.keep_alive();
    return out;
}

http_reply http_client::request(std::string_view method, std::string_view target, std::string body,
                                std::vector<std::pair<std::string, std::string>> headers) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, impl_->host);
    for (auto& [name, value] : headers) req.set(name, value);
    bool has_body = !body.empty();
    req.body() = std::move(body);
    if (has_body || method == "POST" || method == "PUT") req.prepare_payload();
    auto ec = impl_->run([&](auto handler) { http::async_write(impl_->socket, req, handler); });
    if (ec) throw std::runtime_error("http_client: write: " + ec.message());
    auto reply = read_reply();
    record_exchange(method, target, reply);
    return reply;
}

void record_exchange(std::string_view method, std::string_view target, const http_reply& reply) {
    // ROSTER_RECORD_RESPONSES names a JSON Lines file; the OpenAPI response check
    // (tests/api/openapi_responses.py) validates every line against the served document.
    static const char* path = std::getenv("ROSTER_RECORD_RESPONSES");
    if (!path || !*path) return;
    // Truncated by the first exchange of this process, so a rerun never checks stale answers.
    static std::ofstream out(path, std::ios::trunc);
    const auto type = reply.header("content-type").value_or("");
    boost::json::object line{{"method", method},
                             {"target", target},
                             {"status", reply.status},
                             {"content_type", type},
                             {"body_bytes", reply.body.size()}};
    // Only JSON bodies are checked field by field (tars and CSV are not valid JSON strings).
    if (type.find("json") != std::string::npos && type.find("ndjson") == std::string::npos) line["body"] = reply.body;
    out << boost::json::serialize(line) << '\n' << std::flush;
}

bool http_client::wait_closed() {
    if (impl_->buffer.size() > 0) return false;
    char byte;
    std::size_t got = 0;
    auto ec = impl_->run([&](auto handler) {
        impl_->socket.async_read_some(net::buffer(&byte, 1),
                                      [&got, handler](boost::system::error_code e, std::size_t n) mutable {
                                          got = n;
                                          handler(e, n);
                                      });
    });
    return ec && got == 0;
}

http_reply bearer_client::call(std::string_view method, std::string_view target, const boost::json::value* body,
                               headers extra) {
    if (!token.empty()) extra.emplace_back("Authorization", "Bearer " + token);
    std::string payload;
    if (body) {
        payload = boost::json::serialize(*body);
        extra.emplace_back("Content-Type", "application/json");
    }
    return http.request(method, target, payload, extra);
}

namespace {
std::string created(const http_reply& r, const char* what, std::initializer_list<std::string_view> path) {
    if (r.status != 201)
        throw std::runtime_error(std::string(what) + " answered " + std::to_string(r.status) + ": " + r.body);
    const auto doc = r.json();
    const boost::json::value* v = &doc;
    for (auto key : path) v = &v->at(key);
    return std::string(v->as_string());
}
}  // namespace

std::string bearer_client::create_user(const std::string& account, const std::string& email, const std::string& name,
                                       const boost::json::object& roles) {
    boost::json::value body = boost::json::object{{"email", email}, {"name", name}, {"roles", roles}};
    return created(post("/v1/accounts/" + account + "/users", body), "create user", {"user", "id"});
}

std::string bearer_client::token_for(const std::string& user_id) {
    boost::json::value body = boost::json::object{{"principal", boost::json::object{{"user_id", user_id}}}};
    return created(post("/v1/tokens", body), "issue token", {"token"});
}

std::string read_token(const std::filesystem::path& data_dir) {
    std::ifstream in(data_dir / "operator.token");
    std::string token;
    std::getline(in, token);
    return token;
}

rosterd_process::rosterd_process(const std::filesystem::path& data_dir, std::vector<std::string> extra_args) {
    log_path_ = data_dir.string() + ".stderr.log";
    // The test routes exist only in the test build of rosterd.
    const bool test_routes =
        std::find(extra_args.begin(), extra_args.end(), "--enable-test-routes") != extra_args.end();
    std::vector<std::string> args{test_routes ? ROSTERD_TEST_PATH : ROSTERD_PATH, "--listen", "127.0.0.1:0",
                                  "--data-dir", data_dir.string()};
    for (auto& a : extra_args) args.push_back(std::move(a));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = log_path_.string();

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
        // Child: only async-signal-safe calls until exec.
        int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (err < 0 || ::dup2(fds[1], 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    stdout_fd_ = fds[0];

    std::string pending;
    auto deadline = std::chrono::steady_clock::now() + safety_limit;
    const std::string marker = "listening on 127.0.0.1:";
    while (port_ == 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{stdout_fd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        char chunk[512];
        auto n = ::read(stdout_fd_, chunk, sizeof chunk);
        if (n <= 0) break;  // rosterd exited
        pending.append(chunk, static_cast<std::size_t>(n));
        for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
            std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            stdout_lines_.push_back(line);
            if (line.rfind(marker, 0) == 0) port_ = static_cast<unsigned short>(std::stoi(line.substr(marker.size())));
        }
    }
    if (port_ == 0) {
        kill_hard();
        throw std::runtime_error("rosterd did not report its port; log:\n" + log_text());
    }
}

rosterd_process::~rosterd_process() {
    if (pid_ > 0) kill_hard();
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    // In a sanitizer build the server's reports land in its log, which the test's temporary
    // directory takes away with it: a finding must fail the run instead of vanishing.
    const std::string log = log_text();
    for (std::string_view finding : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: "}) {
        if (log.find(finding) != std::string::npos) {
            std::fprintf(stderr, "rosterd (%s) reported a sanitizer finding:\n%s\n", log_path_.c_str(), log.c_str());
            std::abort();
        }
    }
}

std::string rosterd_process::log_text() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool rosterd_process::wait_for_log(std::string_view needle) const {
    auto deadline = std::chrono::steady_clock::now() + safety_limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (log_text().find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

int rosterd_process::wait_exit() {
    auto deadline = std::chrono::steady_clock::now() + safety_limit;
    int status = 0;
    while (true) {
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) break;
        if (r < 0 && errno != EINTR) {
            pid_ = -1;
            return -1;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            // A server that ignores SIGTERM must not hang the suite; the caller sees 128 + 9.
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

int rosterd_process::terminate() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    return wait_exit();
}

int rosterd_process::kill_hard() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGKILL);
    return wait_exit();
}

}  // namespace roster::test
