// A one-shot HTTP(S) client for the operator tools (rosterctl backup --url): one request, one
// answer, then the connection is closed. It lives here rather than in replay because Beast and
// Asio are compiled once, in this library; no Beast type crosses this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace roster::api {

struct http_client_options {
    // https:// verifies the server's certificate and name against this PEM bundle, or against
    // the system's trust store when unset. There is no switch to skip verification: a
    // self-signed server is trusted by passing its certificate here.
    std::optional<std::filesystem::path> ca_file;
    // Bounds each step on its own (resolve, connect, TLS handshake, write, read), so a slow but
    // live exchange is not cut short by the sum. A backup checkpoint can take seconds.
    std::chrono::milliseconds timeout{60'000};
    std::size_t max_response_bytes = 1024 * 1024;  // body; headers keep Beast's 8 KiB limit
};

struct http_client_response {
    unsigned status = 0;
    std::string body;
};

// Either a response or, when there is none (bad URL, no connection, certificate refused, a
// step timed out), why not.
struct http_client_result {
    std::optional<http_client_response> response;
    std::string error;
};

// `url` is http://host[:port] or https://host[:port] (a trailing "/" is fine, any other path,
// query, fragment or user info is refused); `target` the request target, e.g. "/v1/admin/backup".
http_client_result http_request(const std::string& method, const std::string& url, const std::string& target,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::string& body, const http_client_options& options);

}  // namespace roster::api
