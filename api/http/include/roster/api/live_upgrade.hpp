// How a route takes over its connection as a WebSocket: the handler answers with a response whose
// `upgrade` is set, and the server, instead of writing that response, hands the socket and the
// request to `websocket_upgrade::accept` (which performs the handshake). Only this header and
// the server know the Beast types involved; handlers see response::upgrade as an opaque pointer.
#pragma once

#include <memory>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace roster::api {

using websocket_stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;
using websocket_tls_stream = boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;
using upgrade_request = boost::beast::http::request<boost::beast::http::string_body>;

// A connection that left HTTP. The server calls `shutdown` (from any thread) when it drains.
class upgraded_connection {
public:
    virtual ~upgraded_connection() = default;
    virtual void shutdown() = 0;
};

class websocket_upgrade {
public:
    virtual ~websocket_upgrade() = default;
    // Called once, on the connection's I/O thread (its executor). `server_hold` must be kept until the connection
    // ends: the server counts it as in flight (its drain on shutdown waits for it).
    virtual std::shared_ptr<upgraded_connection> accept(websocket_stream ws, upgrade_request req,
                                                        std::shared_ptr<void> server_hold) = 0;
    // The same over TLS (the TLS handshake is done).
    virtual std::shared_ptr<upgraded_connection> accept(websocket_tls_stream ws, upgrade_request req,
                                                        std::shared_ptr<void> server_hold) = 0;
};

}  // namespace roster::api
