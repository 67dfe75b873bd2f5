// The minimal Beast HTTP server: the ceiling for rosterd's simple GETs (issue 15), built from the
// same Boost so that the ceiling is measured, not assumed. One io_context per thread (accepted
// connections are dealt round-robin), keep-alive, and every request answered with the same small
// JSON body (the size of an access decision). No routing, no auth, no logging: everything rosterd
// does beyond this is its own cost. Loopback only; prints "listening on 127.0.0.1:PORT".
//   build-release/tests/bench/baseline_beast [--threads 1] [--port 0]
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr std::string_view answer = R"({"allowed":true,"roles":["admin"],"reason":null,"message":null})";

class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket socket) : socket_(std::move(socket)) {}
    void read() {
        request_ = {};
        http::async_read(socket_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (!ec) self->respond();  // an error is the client closing: the session ends
        });
    }

private:
    void respond() {
        response_ = {};
        response_.result(http::status::ok);
        response_.version(request_.version());
        response_.keep_alive(request_.keep_alive());
        response_.set(http::field::content_type, "application/json");
        response_.body() = answer;
        response_.prepare_payload();
        http::async_write(socket_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            if (!self->response_.keep_alive()) {
                self->socket_.shutdown(tcp::socket::shutdown_send, ec);
                return;
            }
            self->read();
        });
    }

    tcp::socket socket_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
    http::response<http::string_body> response_;
};

class listener {
public:
    listener(tcp::acceptor& acceptor, std::vector<std::unique_ptr<net::io_context>>& contexts)
        : acceptor_(acceptor), contexts_(contexts) {}
    void accept() {
        auto& target = *contexts_[next_++ % contexts_.size()];
        acceptor_.async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
            if (!ec) {
                socket.set_option(tcp::no_delay(true), ec);
                std::make_shared<session>(std::move(socket))->read();
            }
            accept();
        });
    }

private:
    tcp::acceptor& acceptor_;
    std::vector<std::unique_ptr<net::io_context>>& contexts_;
    std::size_t next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    int threads = 1;
    unsigned short port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view a = argv[i];
        if (a == "--threads")
            threads = std::max(1, std::atoi(argv[i + 1]));
        else if (a == "--port")
            port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        else {
            std::fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    std::vector<std::unique_ptr<net::io_context>> contexts;
    for (int i = 0; i < threads; ++i) contexts.push_back(std::make_unique<net::io_context>(1));
    tcp::acceptor acceptor(*contexts[0], {net::ip::make_address("127.0.0.1"), port});
    std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
    listener l(acceptor, contexts);
    l.accept();
    std::vector<std::thread> runners;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    for (auto& c : contexts) guards.push_back(net::make_work_guard(*c));
    for (int i = 1; i < threads; ++i) runners.emplace_back([&c = *contexts[static_cast<std::size_t>(i)]] { c.run(); });
    contexts[0]->run();
    for (auto& t : runners) t.join();
}
