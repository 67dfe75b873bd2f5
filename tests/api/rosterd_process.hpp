// Test support: runs the real rosterd binary on 127.0.0.1 with a throw-away data directory and
// talks HTTP/1.1 to it. Every wait is bounded by a generous safety limit so a broken server
// fails a test instead of hanging it; none of them is a timing assertion.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "temp_dir.hpp"

namespace roster::test {

inline constexpr std::chrono::seconds safety_limit{20};

using temp_dir = test_support::temp_dir;

struct http_reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    bool keep_alive = false;

    std::optional<std::string> header(const std::string& lower_case_name) const;
    // The body parsed as JSON; throws when it is not JSON (the test then fails loudly).
    boost::json::value json() const;
};

// One keep-alive connection to 127.0.0.1:<port>. Operations throw std::runtime_error on
// network errors or when the safety limit passes. Single-threaded.
class http_client {
public:
    explicit http_client(unsigned short port);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    http_reply request(std::string_view method, std::string_view target, std::string body = {},
                       std::vector<std::pair<std::string, std::string>> headers = {});
    // Sends bytes as they are (pipelining, partial headers) and reads one reply.
    void send_raw(std::string_view bytes);
    http_reply read_reply();
    // Waits for the server to close the connection: true on EOF/reset, false if bytes came instead.
    bool wait_closed();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// With ROSTER_RECORD_RESPONSES=<file> set, appends (method, target, status, content type, JSON
// body) of an exchange to that JSON Lines file; http_client::request calls it for every answer.
void record_exchange(std::string_view method, std::string_view target, const http_reply& reply);

// An http_client plus one bearer token (none when empty); JSON bodies are sent as such.
struct bearer_client {
    using headers = std::vector<std::pair<std::string, std::string>>;
    http_client& http;
    std::string token;

    http_reply call(std::string_view method, std::string_view target, const boost::json::value* body = nullptr,
                    headers extra = {});
    http_reply get(std::string_view target) { return call("GET", target); }
    http_reply post(std::string_view target, const boost::json::value& body, headers extra = {}) {
        return call("POST", target, &body, std::move(extra));
    }
    http_reply put(std::string_view target, const boost::json::value& body, headers extra = {}) {
        return call("PUT", target, &body, std::move(extra));
    }
    http_reply patch(std::string_view target, const boost::json::value& body, headers extra = {}) {
        return call("PATCH", target, &body, std::move(extra));
    }
    http_reply del(std::string_view target, headers extra = {}) {
        return call("DELETE", target, nullptr, std::move(extra));
    }

    // Scene setting with this client's (operator) token; each throws std::runtime_error with the
    // answer unless it is 201. The id of the new user; the secret of the new token.
    std::string create_user(const std::string& account, const std::string& email, const std::string& name,
                            const boost::json::object& roles);
    std::string token_for(const std::string& user_id);
};

// The operator token rosterd wrote into `data_dir` on its first start.
std::string read_token(const std::filesystem::path& data_dir);

// A running rosterd. The destructor kills it (SIGKILL) if it is still running.
class rosterd_process {
public:
    // Starts `ROSTERD_PATH --listen 127.0.0.1:0 --data-dir <data_dir> <extra_args...>` (the test
    // build ROSTERD_TEST_PATH when extra_args holds --enable-test-routes) and waits
    // for its "listening on" line. stderr (the JSON logs) goes to <data_dir>.stderr.log.
    explicit rosterd_process(const std::filesystem::path& data_dir, std::vector<std::string> extra_args = {});
    ~rosterd_process();
    rosterd_process(const rosterd_process&) = delete;
    rosterd_process& operator=(const rosterd_process&) = delete;

    unsigned short port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::vector<std::string>& stdout_lines() const { return stdout_lines_; }
    const std::filesystem::path& log_path() const { return log_path_; }
    std::string log_text() const;
    // Polls the log until it contains `needle`; false after the safety limit.
    bool wait_for_log(std::string_view needle) const;

    // SIGTERM, then waits for exit. Returns the exit code, or 128 + signal when killed.
    int terminate();
    // SIGKILL, then waits.
    int kill_hard();
    // Waits for an exit already under way (e.g. after a signal the test sent itself).
    int wait_exit();

private:
    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    unsigned short port_ = 0;
    std::vector<std::string> stdout_lines_;
    std::filesystem::path log_path_;
};

}  // namespace roster::test
