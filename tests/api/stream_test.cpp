// Streamed (chunked) responses and the WebSocket live stream, against the real rosterd.
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

// A line of /proc/<pid>/status in KiB (VmHWM: the peak resident set size).
std::uint64_t proc_status_kib(pid_t pid, std::string_view key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
            return std::stoull(line.substr(key.size() + 1));
    return 0;
}

class chunked_test : public ::testing::Test {
protected:
    rosterd_process& start() {
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data",
                                                    std::vector<std::string>{"--threads", "2", "--enable-test-routes"});
        return *server_;
    }
    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
};

bool pieces_in_order(const std::string& body, std::size_t pieces, std::size_t bytes) {
    if (body.size() != pieces * bytes) return false;
    for (std::size_t i = 0; i < pieces; ++i)
        if (body.find_first_not_of(static_cast<char>('a' + i % 26), i * bytes) < (i + 1) * bytes) return false;
    return true;
}

TEST_F(chunked_test, whole_body_arrives_chunked_and_the_connection_is_reused) {
    auto& s = start();
    http_client c(s.port());
    auto r = c.request("GET", "/test/stream?pieces=30&bytes=1000");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("transfer-encoding").value_or(""), "chunked");
    EXPECT_FALSE(r.header("content-length").has_value());
    EXPECT_TRUE(r.header("x-request-id").has_value());
    EXPECT_TRUE(pieces_in_order(r.body, 30, 1000));
    EXPECT_TRUE(r.keep_alive);

    // The same connection serves the next request after the final chunk.
    auto empty = c.request("GET", "/test/stream?pieces=0&bytes=10");
    EXPECT_EQ(empty.status, 200u);
    EXPECT_EQ(empty.body, "");
    EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
    ASSERT_TRUE(s.wait_for_log("\"route\":\"/test/stream\""));
    // The access log counts every byte written, header and chunk framing included.
    EXPECT_NE(s.log_text().find("\"status\":200"), std::string::npos);
}

TEST_F(chunked_test, a_large_body_does_not_grow_the_server_memory) {
    auto& s = start();
    http_client c(s.port());
    // Warm up allocators and the connection first, so the measurement sees only the body.
    ASSERT_EQ(c.request("GET", "/test/stream?pieces=4&bytes=65536").status, 200u);
    const auto before = proc_status_kib(s.pid(), "VmHWM");
    ASSERT_GT(before, 0u);
    constexpr std::size_t pieces = 800, bytes = 65536;  // 52 MB
    auto r = c.request("GET", "/test/stream?pieces=800&bytes=65536");
    ASSERT_EQ(r.status, 200u);
    EXPECT_TRUE(pieces_in_order(r.body, pieces, bytes));
    const auto after = proc_status_kib(s.pid(), "VmHWM");
    // A buffered 52 MB body would raise the peak by at least 50 MB; streamed, it stays at a few pieces.
    EXPECT_LT(after - before, 8u * 1024) << "VmHWM " << before << " KiB -> " << after << " KiB";
}

TEST_F(chunked_test, a_failing_producer_truncates_the_transfer) {
    auto& s = start();
    http_client c(s.port());
    EXPECT_THROW(c.request("GET", "/test/stream?pieces=10&bytes=1000&fail_after=3"), std::runtime_error);
    EXPECT_TRUE(s.wait_for_log("stream_producer_failed"));
    // The server goes on serving other connections.
    http_client other(s.port());
    EXPECT_EQ(other.request("GET", "/healthz").status, 200u);
}

}  // namespace
}  // namespace roster::test
