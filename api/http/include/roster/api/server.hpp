// The HTTP/1.1 server: accepts connections, parses requests with limits and timeouts, routes
// them and writes the handlers' responses; drains gracefully on SIGTERM/SIGINT.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

#include "roster/api/log.hpp"
#include "roster/api/router.hpp"

namespace roster::api {

struct server_options {
    std::string address = "127.0.0.1";
    unsigned short port = 8080;  // 0: any free port (see server::port())
    unsigned threads = 0;        // 0: std::thread::hardware_concurrency()
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    // Reading a request's header (from its first byte), its body, and waiting for the next
    // request on a kept-alive connection; writing a response. Timeouts answer 408 when a request
    // had started, and close silently when the connection was idle.
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds body_timeout{30'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds write_timeout{30'000};
    // How long shutdown waits for in-flight requests before dropping them.
    std::chrono::milliseconds shutdown_grace{10'000};
    // Requests served on one connection before it is closed (bounds a pipelining client too).
    std::size_t max_requests_per_connection = 10'000;
    // Bytes read ahead of the current request (pipelined requests waiting their turn).
    std::size_t max_read_ahead_bytes = 64 * 1024;
    // PEM files; both set: the listener speaks HTTPS (and WSS) only. Plain HTTP otherwise.
    std::string tls_cert_file;
    std::string tls_key_file;
    // Cross-origin calls from browsers (CORS). Exact origins ("https://app.example.com") whose
    // pages may call the API; empty: no CORS headers at all and OPTIONS is 405, as without it.
    // No credentials mode: the API takes bearer tokens, never cookies, so there is nothing a
    // browser would attach on its own and `*`-style wildcards are not needed.
    struct cors_options {
        std::vector<std::string> allowed_origins;
        std::chrono::seconds max_age{600};  // how long a browser may cache a preflight answer
    } cors;
    bool handle_signals = true;  // SIGTERM/SIGINT start the graceful shutdown
    // Called once per answered request after its response was written (or failed to be), on an
    // I/O thread; for metrics. `ctx.route` is empty when no route matched. Must be thread-safe.
    std::function<void(const request_context& ctx, unsigned status, std::chrono::microseconds latency,
                       std::size_t bytes_written)>
        on_request_done;
};

// Parses "host:port" or "[v6]:port".
std::optional<std::pair<std::string, unsigned short>> parse_listen_address(std::string_view s);

// Owned by main. The router and logger must outlive it. `listen` and `run` are called from one
// thread; `stop` and `port` from any thread.
class server {
public:
    server(server_options options, const router& routes, logger& log);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Loads the TLS certificate and key if configured, binds and listens, and (with handle_signals) takes over SIGTERM/SIGINT so a signal sent
    // once the port is known is never lost. An unusable address is an error value.
    boost::system::result<void, std::string> listen();
    // The bound port (the real one when options.port was 0). Valid after listen().
    unsigned short port() const;

    // Serves on `threads` I/O threads (the caller only waits), each running its own io_context
    // and accepting on its own SO_REUSEPORT socket, so a connection is served by one thread from
    // accept to close (a handler that blocks holds up that thread's connections only) until
    // stop() or a signal; then
    // stops accepting, closes idle connections, lets in-flight requests finish (each gets
    // Connection: close) for at most shutdown_grace, and returns. Responders still held by
    // handlers after that must be released before the server is destroyed.
    void run();
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace roster::api
