// rosterd's TLS listener (--tls-cert/--tls-key): HTTPS and WSS with a certificate generated for
// the test, and no plain HTTP on that port.
#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

class tls_test : public ::testing::Test {
protected:
    void SetUp() override {
        cert_ = tmp_.path() / "cert.pem";
        key_ = tmp_.path() / "key.pem";
        const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                                key_.string() + " -out " + cert_.string() + " >/dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a test certificate";
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data", std::vector<std::string>{"--threads", "2", "--enable-test-routes", "--tls-cert",
                                                           cert_.string(), "--tls-key", key_.string()});
        client_ctx_.load_verify_file(cert_.string());
        client_ctx_.set_verify_mode(ssl::verify_peer);
        token_ = read_token(tmp_.path() / "data");
    }

    // Runs the io_context until `done` or the safety limit (then the test fails, not hangs).
    void run(net::io_context& ioc, const bool& done) {
        ioc.run_for(safety_limit);
        ASSERT_TRUE(done) << "no answer within the safety limit";
    }

    http::response<http::string_body> https_get(const std::string& target) {
        net::io_context ioc;
        ssl::stream<tcp::socket> stream(ioc, client_ctx_);
        stream.next_layer().connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), server_->port()));
        http::request<http::string_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, "Bearer " + token_);
        http::response<http::string_body> res;
        beast::flat_buffer buf;
        boost::system::error_code failure;
        bool done = false;
        stream.async_handshake(ssl::stream_base::client, [&](boost::system::error_code ec) {
            if (ec) return void((failure = ec, done = true));
            http::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) {
                if (ec) return void((failure = ec, done = true));
                http::async_read(stream, buf, res, [&](boost::system::error_code ec, std::size_t) {
                    failure = ec;
                    done = true;
                });
            });
        });
        run(ioc, done);
        if (failure) throw std::runtime_error("https: " + failure.message());
        return res;
    }

    temp_dir tmp_;
    std::filesystem::path cert_, key_;
    std::unique_ptr<rosterd_process> server_;
    ssl::context client_ctx_{ssl::context::tls_client};
    std::string token_;
};

TEST_F(tls_test, healthz_over_https) {
    auto res = https_get("/healthz");
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_EQ(boost::json::parse(res.body()).at("status").as_string(), "ok");
    // A streamed (chunked) body over TLS as well.
    auto streamed = https_get("/test/stream?pieces=5&bytes=3000");
    EXPECT_EQ(streamed.result_int(), 200u);
    EXPECT_EQ(streamed.body().size(), 15000u);
}

TEST_F(tls_test, plain_http_to_the_tls_port_gets_no_answer) {
    http_client plain(server_->port());
    EXPECT_THROW(plain.request("GET", "/healthz"), std::runtime_error);
    EXPECT_TRUE(server_->wait_for_log("tls_handshake_failed"));
    // The listener goes on serving TLS clients.
    EXPECT_EQ(https_get("/healthz").result_int(), 200u);
}

TEST_F(tls_test, live_stream_over_wss) {
    net::io_context ioc;
    websocket::stream<ssl::stream<tcp::socket>> ws(ioc, client_ctx_);
    beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), server_->port()));
    ws.set_option(websocket::stream_base::decorator(
        [this](websocket::request_type& req) { req.set(http::field::authorization, "Bearer " + token_); }));
    boost::system::error_code failure;
    bool done = false;
    ws.next_layer().async_handshake(ssl::stream_base::client, [&](boost::system::error_code ec) {
        if (ec) return void((failure = ec, done = true));
        ws.async_handshake("127.0.0.1", "/v1/stream?from=0", [&](boost::system::error_code ec) {
            failure = ec;
            done = true;
        });
    });
    run(ioc, done);
    ASSERT_FALSE(failure) << failure.message();
    // The log starts with the operator token's registration (position 1).
    beast::flat_buffer buf;
    done = false;
    ioc.restart();
    ws.async_read(buf, [&](boost::system::error_code ec, std::size_t) {
        failure = ec;
        done = true;
    });
    run(ioc, done);
    ASSERT_FALSE(failure) << failure.message();
    auto event = boost::json::parse(beast::buffers_to_string(buf.data()));
    EXPECT_EQ(event.at("position").as_int64(), 1);
}

}  // namespace
}  // namespace roster::test
