#include "roster/api/http_client.hpp"

#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

namespace roster::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct endpoint {
    bool tls = false;
    std::string host;  // for the resolver, SNI and the certificate check: no brackets
    std::string port;
    std::string authority;  // for the Host header: host[:port] as written
};

std::optional<endpoint> parse_url(const std::string& url, std::string& why) {
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u) {
        why = "--url '" + url + "' is not a URL (e.g. https://127.0.0.1:8080)";
        return std::nullopt;
    }
    endpoint e;
    if (u->scheme_id() == boost::urls::scheme::https)
        e.tls = true;
    else if (u->scheme_id() != boost::urls::scheme::http) {
        why = "--url must start with http:// or https://, got '" + url + "'";
        return std::nullopt;
    }
    // The request target is fixed by the caller; anything else in the URL would be ignored
    // silently, so it is refused instead.
    if (!u->has_authority() || u->host_address().empty() || u->has_userinfo() || u->has_query() || u->has_fragment() ||
        !(u->encoded_path().empty() || u->encoded_path() == "/")) {
        why = "--url must be scheme://host[:port] with no path, user or query, got '" + url + "'";
        return std::nullopt;
    }
    e.host = u->host_address();
    e.port = u->has_port() ? std::string(u->port()) : (e.tls ? "443" : "80");
    if (e.port.empty()) e.port = e.tls ? "443" : "80";  // "http://host:/"
    e.authority = std::string(u->encoded_host_and_port());
    if (!e.authority.empty() && e.authority.back() == ':') e.authority.pop_back();
    return e;
}

// What the exchange was doing, so that a failure (a timeout above all) says where it stopped.
struct progress {
    const char* step = "resolving the host";
    bool resolve_timed_out = false;
};

template <class Stream>
net::awaitable<void> exchange(Stream& stream, const http::request<http::string_body>& req,
                              http::response_parser<http::string_body>& parser, std::chrono::milliseconds timeout,
                              progress& at) {
    at.step = "sending the request";
    beast::get_lowest_layer(stream).expires_after(timeout);
    co_await http::async_write(stream, req, net::use_awaitable);
    at.step = "waiting for the answer";
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::flat_buffer buffer;
    co_await http::async_read(stream, buffer, parser, net::use_awaitable);
    // The answer is complete (Content-Length or chunked framing), so the connection is simply
    // closed: waiting for a TLS close_notify could only add a wait, not data.
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
}

net::awaitable<void> run(const endpoint& e, ssl::context* tls, const http::request<http::string_body>& req,
                         http::response_parser<http::string_body>& parser, std::chrono::milliseconds timeout,
                         progress& at) {
    auto executor = co_await net::this_coro::executor;
    // The resolver has no deadline of its own: a timer cancels it.
    tcp::resolver resolver(executor);
    net::steady_timer deadline(executor, timeout);
    deadline.async_wait([&](beast::error_code ec) {
        if (ec) return;
        at.resolve_timed_out = true;
        resolver.cancel();
    });
    auto found = co_await resolver.async_resolve(e.host, e.port, net::use_awaitable);
    deadline.cancel();

    at.step = "connecting";
    if (!tls) {
        beast::tcp_stream stream(executor);
        stream.expires_after(timeout);
        co_await stream.async_connect(found, net::use_awaitable);
        co_await exchange(stream, req, parser, timeout, at);
        co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(executor, *tls);
    boost::system::error_code not_ip;
    (void)net::ip::make_address(e.host, not_ip);
    // SNI is for names only (RFC 6066); the certificate is checked against the name or address.
    if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), e.host.c_str()))
        throw boost::system::system_error(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(e.host));
    beast::get_lowest_layer(stream).expires_after(timeout);
    co_await beast::get_lowest_layer(stream).async_connect(found, net::use_awaitable);
    at.step = "in the TLS handshake";
    beast::get_lowest_layer(stream).expires_after(timeout);
    co_await stream.async_handshake(ssl::stream_base::client, net::use_awaitable);
    co_await exchange(stream, req, parser, timeout, at);
}

}  // namespace

http_client_result http_request(const std::string& method, const std::string& url, const std::string& target,
                                const std::vector<std::pair<std::string, std::string>>& headers,
                                const std::string& body, const http_client_options& options) {
    http_client_result result;
    auto e = parse_url(url, result.error);
    if (!e) return result;

    std::optional<ssl::context> tls;
    if (e->tls) {
        tls.emplace(ssl::context::tls_client);
        boost::system::error_code ec;
        if (options.ca_file)
            tls->load_verify_file(options.ca_file->string(), ec);
        else
            tls->set_default_verify_paths(ec);
        if (ec) {
            result.error = options.ca_file ? "cannot load --ca-file " + options.ca_file->string() + ": " + ec.message()
                                           : "cannot load the system's trusted certificates: " + ec.message();
            return result;
        }
    }

    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, e->authority);
    req.set(http::field::connection, "close");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = body;
    req.prepare_payload();

    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    progress at;
    std::exception_ptr failure;
    net::io_context ioc;
    net::co_spawn(ioc, run(*e, tls ? &*tls : nullptr, req, parser, options.timeout, at),
                  [&](std::exception_ptr p) { failure = p; });
    // Every step above has a deadline, so this returns.
    ioc.run();

    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const boost::system::system_error& x) {
            const auto ec = x.code();
            const bool timed_out =
                ec == beast::error::timeout || (at.resolve_timed_out && ec == net::error::operation_aborted);
            result.error = timed_out ? "no progress within " + std::to_string(options.timeout.count()) + " ms " +
                                           at.step + " (" + url + "; see --timeout-ms)"
                                     : std::string(at.step) + " (" + url + ") failed: " + ec.message();
        } catch (const std::exception& x) {
            result.error = std::string(at.step) + " (" + url + ") failed: " + x.what();
        }
        return result;
    }
    result.response = http_client_response{parser.get().result_int(), std::move(parser.get().body())};
    return result;
}

}  // namespace roster::api
