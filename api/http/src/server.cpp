#include "roster/api/server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "request_framing.hpp"
#include "roster/api/live_upgrade.hpp"
#include "roster/api/request_meta.hpp"

namespace roster::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::optional<std::pair<std::string, unsigned short>> parse_listen_address(std::string_view s) {
    std::string_view host, port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6 needs brackets
    }
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (host.empty() || port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value > 65535)
        return std::nullopt;
    return std::pair{std::string(host), static_cast<unsigned short>(value)};
}

namespace {

// CORS (Fetch standard, section 3.2). Headers a page on an allowed origin may read besides the
// CORS-safelisted ones; without them a browser hides ETag (needed for If-Match), Retry-After
// (needed to back off after a 429) and the request id (needed to report a problem).
constexpr std::string_view cors_expose_headers =
    "ETag, Location, Roster-As-Of, Idempotent-Replayed, Retry-After, WWW-Authenticate, Content-Disposition, "
    "traceparent, X-Request-Id";
// Request headers a page may send besides the CORS-safelisted ones (its preflight names them).
constexpr std::string_view cors_allow_headers =
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, traceparent, X-Request-Id";

bool origin_allowed(const server_options::cors_options& cors, std::string_view origin) {
    return std::find(cors.allowed_origins.begin(), cors.allowed_origins.end(), origin) != cors.allowed_origins.end();
}

// Every answer of a server with CORS configured varies by Origin (allowed or not, it carries
// different headers), so a shared cache must not serve one origin's answer to another.
void add_cors_headers(http::fields& f, const server_options::cors_options& cors, std::string_view allowed_origin) {
    if (cors.allowed_origins.empty()) return;
    if (auto vary = f[http::field::vary]; vary.empty())
        f.set(http::field::vary, "Origin");
    else if (vary.find("Origin") == std::string_view::npos)
        f.set(http::field::vary, std::string(vary) + ", Origin");
    if (allowed_origin.empty()) return;
    f.set(http::field::access_control_allow_origin, allowed_origin);
    f.set(http::field::access_control_expose_headers, cors_expose_headers);
}

// What the server's bookkeeping needs of a connection, whatever its transport.
class session_base {
public:
    virtual ~session_base() = default;
    virtual void request_shutdown() = 0;
};

// State shared by the listener, all sessions and run(); lives as long as the longest of them.
struct shared_state {
    shared_state(server_options o, const router& r, logger& l) : options(std::move(o)), routes(r), log(l) {}

    const server_options options;
    const router& routes;
    logger& log;
    std::atomic<bool> stopping{false};

    std::mutex mutex;
    std::condition_variable changed;
    std::unordered_map<session_base*, std::weak_ptr<session_base>> sessions;  // guarded by mutex
    std::size_t active = 0;                                                   // guarded by mutex
    bool stop_requested = false;                                              // guarded by mutex
};

enum class phase { waiting, header, body, handling, writing, closing };

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// One connection over plain TCP (Stream = beast::tcp_stream) or TLS (tls_stream). Lives while
// an operation, timer or responder refers to it. Every member is touched only on the
// connection's I/O thread (stream_'s executor, its lane's io_context), except via post().
template <class Stream>
class session : public session_base, public std::enable_shared_from_this<session<Stream>> {
    static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

public:
    template <class... StreamArgs>
    session(std::shared_ptr<shared_state> state, tcp::socket&& socket, StreamArgs&... stream_args)
        : stream_(std::move(socket), stream_args...),
          executor_(stream_.get_executor()),
          buffer_(state->options.max_read_ahead_bytes + state->options.max_header_bytes),
          timer_(stream_.get_executor()),
          state_(std::move(state)) {
        boost::system::error_code ec;
        auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
        if (!ec) client_ = ep.address().to_string() + ":" + std::to_string(ep.port());
        // Responses go out in one write; without this a pipelined or streamed one can wait
        // for the client's delayed ACK.
        beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ec);
        std::lock_guard lock(state_->mutex);
        ++state_->active;
    }

    ~session() {
        std::lock_guard lock(state_->mutex);
        state_->sessions.erase(this);
        --state_->active;
        state_->changed.notify_all();
    }

    void run() {
        {
            std::lock_guard lock(state_->mutex);
            state_->sessions.emplace(this, this->weak_from_this());
        }
        net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
            if constexpr (tls)
                self->handshake();
            else
                self->do_read();
        });
    }

    // Graceful shutdown: an idle connection closes now; a busy one after its current response.
    void on_shutdown() {
        close_after_ = true;
        if (auto u = upgraded_.lock()) return u->shutdown();
        if (phase_ == phase::waiting) {
            boost::system::error_code ec;
            beast::get_lowest_layer(stream_).socket().cancel(ec);
        }
    }

    void request_shutdown() override {
        net::post(executor_, [self = this->shared_from_this()] { self->on_shutdown(); });
    }

    void post_response(response r) {
        net::post(executor_,
                  [self = this->shared_from_this(), r = std::move(r)]() mutable { self->on_response(std::move(r)); });
    }

private:
    const server_options& opts() const { return state_->options; }

    // One deadline at a time, enforced lazily: arm and disarm only move deadline_, and the
    // timer is re-set only when the new deadline comes before the wait already pending. A
    // kept-alive connection re-arms two or three times a request; cancelling and re-adding a
    // timer each time cost a posted handler and often a timerfd_settime per request.
    void arm(std::chrono::milliseconds d) {
        timed_out_ = false;
        deadline_ = std::chrono::steady_clock::now() + d;
        if (!timer_waiting_ || timer_.expiry() > deadline_) wait_for_deadline();
    }

    void disarm() { deadline_ = clock_point::max(); }

    // Also stops the pending wait (which holds the session), for a connection that is closing.
    void cancel_timer() {
        disarm();
        ++timer_gen_;
        timer_waiting_ = false;
        timer_.cancel();
    }

    void wait_for_deadline() {
        timer_.expires_at(deadline_);
        timer_waiting_ = true;
        timer_.async_wait([self = this->shared_from_this(), gen = ++timer_gen_](boost::system::error_code ec) {
            if (gen != self->timer_gen_) return;  // replaced by an earlier deadline, or cancelled
            self->timer_waiting_ = false;
            if (ec || self->deadline_ == clock_point::max()) return;
            if (std::chrono::steady_clock::now() < self->deadline_) return self->wait_for_deadline();
            self->deadline_ = clock_point::max();
            self->timed_out_ = true;
            boost::system::error_code ignored;
            beast::get_lowest_layer(self->stream_).socket().cancel(ignored);
        });
    }

    void do_read() {
        if (close_after_ || state_->stopping.load()) return do_close(false);
        if (ctx_) spare_ctx_ = std::move(ctx_);  // no request in flight: a late answer is ignored
        parser_.emplace();
        parser_->body_limit(opts().max_body_bytes);
        parser_->header_limit(static_cast<std::uint32_t>(opts().max_header_bytes));
        if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
        if constexpr (tls) {
            // Readable bytes on the socket may be TLS records that carry no request, and a
            // whole request may already sit decrypted inside the TLS stream; so over TLS the
            // header read itself waits, bounded by the idle (or first-request) timeout.
            return read_header(served_ == 0 ? opts().header_timeout : opts().idle_timeout);
        }
        // Read the first bytes apart from the rest of the header, so that a slow header is
        // bounded by header_timeout even on a long-idle keep-alive connection. A read, not a
        // wait for readability: asio tries it at once (a kept-alive client's next request is
        // often already here), and a wait would cost an epoll_ctl on every request.
        phase_ = phase::waiting;
        arm(served_ == 0 ? opts().header_timeout : opts().idle_timeout);
        beast::get_lowest_layer(stream_).socket().async_read_some(
            buffer_.prepare(beast::read_size(buffer_, 65536)),
            net::bind_executor(stream_.get_executor(),
                               [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                   self->buffer_.commit(n);
                                   self->on_readable(ec);
                               }));
    }

    void on_readable(boost::system::error_code ec) {
        disarm();
        if (ec || close_after_ || state_->stopping.load()) return do_close(false);  // idle: nothing to answer
        read_header();
    }

    void handshake() {
        phase_ = phase::header;
        arm(opts().header_timeout);
        stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](
                                                                   boost::system::error_code ec) {
            self->disarm();
            if (ec) {
                self->state_->log.info("tls_handshake_failed", {{"client", self->client_}, {"error", ec.message()}});
                return self->finish_close();
            }
            self->do_read();
        });
    }

    void read_header() { read_header(opts().header_timeout); }
    void read_header(std::chrono::milliseconds limit) {
        phase_ = phase::header;
        arm(limit);
        header_scanned_ = 0;
        fill_header();
    }

    // Reads until the whole header section is in buffer_ (or the header limit is passed), looks
    // at its raw bytes for obs-fold, and only then lets Beast parse it. Beast unfolds folded
    // lines silently and, when a header arrives in pieces, consumes its complete lines piece by
    // piece, so neither the parsed fields nor buffer_ after async_read_header show a fold. A
    // derived parser would have to reimplement http::parser's body handling to see the raw
    // lines; reading ahead to the empty line costs nothing, since Beast waits for it anyway.
    void fill_header() {
        const std::string_view bytes(static_cast<const char*>(buffer_.data().data()), buffer_.size());
        const auto end = framing::header_section_length(bytes, header_scanned_);
        if (end == std::string_view::npos && bytes.size() < opts().max_header_bytes &&
            buffer_.size() < buffer_.max_size()) {
            header_scanned_ = bytes.size();
            return stream_.async_read_some(
                buffer_.prepare(beast::read_size(buffer_, 65536)),
                [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
                    self->buffer_.commit(n);
                    if (ec) {
                        self->disarm();
                        return self->on_read_error(ec);
                    }
                    self->fill_header();
                });
        }
        if (end != std::string_view::npos) {
            if (auto refused = framing::check_obs_fold(bytes.substr(0, end))) {
                disarm();
                return refuse_framing(std::move(*refused));
            }
        }
        if (end != std::string_view::npos) {
            // The whole header is in buffer_: parse it here. async_read_header would parse the
            // same bytes but post its completion (a trip through the io_context per request).
            boost::system::error_code ec;
            while (!parser_->is_header_done()) {
                const auto used = parser_->put(buffer_.data(), ec);
                buffer_.consume(used);
                if (ec || used == 0) break;
            }
            if (ec != http::error::need_more && (ec || parser_->is_header_done())) return on_header(ec);
        }
        // Too large (Beast says 431), or, never expected, a header Beast wants more bytes for.
        http::async_read_header(
            stream_, buffer_, *parser_,
            [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) { self->on_header(ec); });
    }

    // A message whose end cannot be trusted: answer 400 and close without reading anything
    // more as a request, so a body smuggled past another parser is never executed.
    void refuse_framing(problem p) {
        begin_error_request();
        close_after_ = true;
        respond_error(p.to_response(), true);
    }

    void on_header(boost::system::error_code ec) {
        disarm();
        if (ec) return on_read_error(ec);
        // Before the body is read or the request routed (RFC 9112 section 6.3).
        if (auto refused = framing::check_framing(parser_->get(), parser_->chunked()))
            return refuse_framing(std::move(*refused));
        if (parser_->is_done()) return on_request();
        auto expect = parser_->get()[http::field::expect];
        if (to_lower_ascii(expect) == "100-continue") {
            // Clients that ask wait (curl: 1 s) before sending the body; let them go at once.
            static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
            beast::get_lowest_layer(stream_).expires_after(opts().write_timeout);
            return net::async_write(stream_, net::buffer(go_on.data(), go_on.size()),
                                    [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                                        beast::get_lowest_layer(self->stream_).expires_never();
                                        if (ec) return self->do_close(false);
                                        self->read_body();
                                    });
        }
        read_body();
    }

    void read_body() {
        phase_ = phase::body;
        arm(opts().body_timeout);
        http::async_read(
            stream_, buffer_, *parser_,
            [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) { self->on_body(ec); });
    }

    void on_body(boost::system::error_code ec) {
        disarm();
        if (ec) return on_read_error(ec);
        on_request();
    }

    void on_read_error(boost::system::error_code ec) {
        bool partial = phase_ == phase::body || buffer_.size() > 0 || parser_->got_some();
        if (ec == http::error::end_of_stream || ec == net::error::eof) return do_close(false);
        begin_error_request();
        close_after_ = true;
        if (ec == net::error::operation_aborted && timed_out_) {
            if (!partial) return do_close(false);
            return respond_error(request_timeout().to_response(), true);
        }
        if (ec == http::error::body_limit)
            return respond_error(payload_too_large(opts().max_body_bytes).to_response(), true);
        if (ec == http::error::header_limit) {
            return respond_error(
                make_problem(431, "header_too_large",
                             "The request header exceeds " + std::to_string(opts().max_header_bytes) + " bytes.")
                    .to_response(),
                true);
        }
        if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
            ec != http::error::partial_message)
            return respond_error(
                bad_request("malformed_request", "The request is not valid HTTP/1.1: " + ec.message() + ".")
                    .to_response(),
                true);
        // Connection reset, shutdown while reading, partial message at EOF: nobody to answer.
        do_close(false);
    }

    // The connection's request context, emptied: its strings and lists keep their capacity, so
    // a kept-alive connection does not allocate them again for every request.
    std::unique_ptr<request_context> fresh_context() {
        if (!spare_ctx_) return std::make_unique<request_context>();
        auto c = std::move(spare_ctx_);
        c->method.clear();
        c->target.clear();
        c->route.clear();
        c->path_params.clear();
        c->query.clear();
        c->headers.clear();
        c->body.clear();
        c->request_id.clear();
        c->client_address.clear();
        return c;
    }

    // A request context for answers given before a request was fully parsed.
    void begin_error_request() {
        ctx_ = fresh_context();
        ctx_->received_at = std::chrono::steady_clock::now();
        ctx_->client_address = client_;
        generate_request_id(ctx_->request_id);
        cors_origin_.clear();  // the Origin header, if any, was not parsed
        keep_alive_ = false;
        version_ = 11;
        head_only_ = false;
    }

    void respond_error(response r, bool linger) {
        linger_ = linger;
        r.close = true;
        on_response(std::move(r));
    }

    // An answer given while the handler is still running on this connection's thread is kept
    // and written as soon as the handler returns, without a trip through the io_context; one
    // from any other thread (the writer, the slow-read pool) is posted to the connection.
    class slot final : public detail::reply_slot {
    public:
        explicit slot(std::shared_ptr<session> s) : s_(std::move(s)) {}
        void deliver(response r) override {
            if (handling_ == s_.get()) return void(s_->answered_in_handler_.emplace(std::move(r)));
            s_->post_response(std::move(r));
        }

    private:
        std::shared_ptr<session> s_;
    };

    void on_request() {
        phase_ = phase::handling;
        auto& req = parser_->get();
        ctx_ = fresh_context();
        auto& ctx = *ctx_;
        ctx.received_at = std::chrono::steady_clock::now();
        ctx.method = req.method_string();
        ctx.target = req.target();
        for (const auto& f : req) ctx.headers.add(to_lower_ascii(f.name_string()), std::string(f.value()));
        ctx.body = std::move(req.body());
        ctx.client_address = client_;
        if (auto incoming_id = ctx.header("x-request-id"); incoming_id && is_sane_request_id(*incoming_id))
            ctx.request_id = *incoming_id;
        else
            generate_request_id(ctx.request_id);
        keep_alive_ = req.keep_alive();
        version_ = req.version();
        linger_ = false;
        // HEAD runs the GET route (router::match) and is answered with its head only.
        head_only_ = req.method() == http::verb::head;

        cors_origin_.clear();
        const auto& cors = opts().cors;
        auto origin = ctx.header("origin");
        if (!cors.allowed_origins.empty() && origin && origin_allowed(cors, *origin)) cors_origin_ = *origin;

        auto m = state_->routes.match(ctx.method, ctx.target);
        if (!m && !cors.allowed_origins.empty() && req.method() == http::verb::options && m.error().status == 405)
            return on_response(answer_options(m.error(), origin));
        if (!m) return on_response(m.error().to_response());
        ctx.route = m->found->path_template;
        ctx.path_params = std::move(m->path_params);
        ctx.query = std::move(m->query);

        responder reply(std::make_shared<slot>(this->shared_from_this()));
        struct handling_scope {
            explicit handling_scope(session* s) { handling_ = s; }
            ~handling_scope() { handling_ = nullptr; }
        };
        answered_in_handler_.reset();
        try {
            handling_scope in_handler(this);
            m->found->handle(ctx, reply);
        } catch (const std::exception& e) {
            handler_failed(reply, e.what());
        } catch (...) {
            handler_failed(reply, "non-standard exception");
        }
        if (answered_in_handler_) {
            auto r = std::move(*answered_in_handler_);
            answered_in_handler_.reset();
            on_response(std::move(r));
        }
    }

    // OPTIONS on a served path, CORS configured. No route registers OPTIONS, so the router's 405
    // (`not_served`) carries in its Allow header exactly the methods served at the path. A CORS
    // preflight from an allowed origin learns them and the headers it may send; one from any
    // other origin is refused, so its page sees a clear failure instead of a silent one; a plain
    // OPTIONS (no Origin) is answered as RFC 9110 section 9.3.7 describes.
    response answer_options(const problem& not_served, std::optional<std::string_view> origin) {
        std::string allow;
        for (const auto& [name, value] : not_served.headers)
            if (name == "Allow") allow = value;
        if (origin && cors_origin_.empty()) {
            auto p = make_problem(403, "cors_origin_not_allowed",
                                  "This origin may not call the API from a browser; the server's --cors-origin "
                                  "lists those that may.");
            p.extra["origin"] = std::string(*origin);
            return p.to_response();
        }
        response r;
        r.status = 204;
        r.headers.emplace_back("Allow", allow);
        if (!cors_origin_.empty()) {
            r.headers.emplace_back("Access-Control-Allow-Methods", allow);
            r.headers.emplace_back("Access-Control-Allow-Headers", std::string(cors_allow_headers));
            r.headers.emplace_back("Access-Control-Max-Age", std::to_string(opts().cors.max_age.count()));
        }
        return r;
    }

    void handler_failed(const responder& reply, std::string_view what) {
        state_->log.error(
            "handler_exception",
            {{"request_id", ctx_->request_id}, {"method", ctx_->method}, {"route", ctx_->route}, {"error", what}});
        close_after_ = true;
        reply(internal_error(ctx_->request_id).to_response());
    }

    void on_response(response r) {
        if (phase_ == phase::writing || phase_ == phase::closing || !ctx_) return;  // a second answer: ignore
        phase_ = phase::writing;
        if (r.close) close_after_ = true;
        ++served_;
        keep_ =
            keep_alive_ && !close_after_ && !state_->stopping.load() && served_ < opts().max_requests_per_connection;
        status_ = r.status;
        if (r.upgrade) return start_upgrade(std::move(r));
        if (r.stream) return start_stream(std::move(r));
        if (write_direct(r)) return;
        res_ = {};
        res_.version(version_);
        res_.result(static_cast<http::status>(r.status));
        if (!r.content_type.empty()) res_.set(http::field::content_type, r.content_type);
        for (auto& [name, value] : r.headers) res_.set(name, value);
        res_.set("X-Request-Id", ctx_->request_id);
        if (auto tp = valid_traceparent(ctx_->header("traceparent"))) res_.set("traceparent", *tp);
        add_cors_headers(res_, opts().cors, cors_origin_);
        res_.body() = std::move(r.body);
        res_.keep_alive(keep_);
        res_.prepare_payload();
        beast::get_lowest_layer(stream_).expires_after(opts().write_timeout);
        if (head_only_) {
            // The Content-Length of the GET answer, without its body (RFC 9110 section 9.3.2).
            res_sr_.emplace(res_);
            return http::async_write_header(
                stream_, *res_sr_, [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
                    self->res_sr_.reset();
                    self->on_write(ec, n);
                });
        }
        http::async_write(
            stream_, res_,
            [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) { self->on_write(ec, n); });
    }

    // The common answer (HTTP/1.1, a complete body, no CORS, no HEAD, extra headers with
    // distinct names the server does not set itself) written straight from one reused buffer:
    // the same bytes, in the same order, as the http::response path below (Beast's `set`
    // appends, keep_alive(false) then prepare_payload add Connection and Content-Length last),
    // without a heap node per header and Beast's serializer, which cost more than the
    // rest of a simple GET's user-space work. Anything else takes the general path.
    bool write_direct(response& r) {
        if (head_only_ || version_ != 11 || !opts().cors.allowed_origins.empty()) return false;
        const auto status = static_cast<http::status>(r.status);
        if (http::int_to_status(r.status) == http::status::unknown ||
            http::to_status_class(r.status) == http::status_class::informational ||
            status == http::status::no_content || status == http::status::not_modified)
            return false;
        auto plain_value = [](std::string_view v) {
            return v.empty() || (v.front() != ' ' && v.front() != '\t' && v.back() != ' ' && v.back() != '\t');
        };
        if (!plain_value(r.content_type)) return false;
        static constexpr std::string_view set_here[] = {"content-type", "content-length",    "connection",
                                                        "x-request-id", "transfer-encoding", "traceparent"};
        for (std::size_t i = 0; i < r.headers.size(); ++i) {
            const auto& [name, value] = r.headers[i];
            if (!plain_value(value)) return false;
            for (auto own : set_here)
                if (beast::iequals(name, own)) return false;
            for (std::size_t j = 0; j < i; ++j)
                if (beast::iequals(name, r.headers[j].first)) return false;
        }
        auto& h = direct_head_;
        h.clear();
        h += "HTTP/1.1 ";
        char num[24];
        h.append(num, std::to_chars(num, num + sizeof num, r.status).ptr);
        h += ' ';
        h += http::obsolete_reason(status);
        h += "\r\n";
        auto field = [&h](std::string_view name, std::string_view value) {
            h += name;
            h += ": ";
            h += value;
            h += "\r\n";
        };
        if (!r.content_type.empty()) field("Content-Type", r.content_type);
        for (const auto& [name, value] : r.headers) field(name, value);
        field("X-Request-Id", ctx_->request_id);
        if (auto tp = valid_traceparent(ctx_->header("traceparent"))) field("traceparent", *tp);
        if (!keep_) field("Connection", "close");
        field("Content-Length", std::string_view(num, std::to_chars(num, num + sizeof num, r.body.size()).ptr));
        h += "\r\n";
        direct_body_ = std::move(r.body);
        const std::array<net::const_buffer, 2> out{net::buffer(direct_head_), net::buffer(direct_body_)};
        auto written = [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
            // A large answer's capacity is not kept for the connection's next ones.
            if (self->direct_body_.capacity() > max_kept_body_bytes)
                std::string{}.swap(self->direct_body_);
            else
                self->direct_body_.clear();
            if constexpr (!tls) {
                self->disarm();
                if (ec == net::error::operation_aborted && self->timed_out_) ec = beast::error::timeout;
            }
            self->on_write(ec, n);
        };
        if constexpr (tls) {
            beast::get_lowest_layer(stream_).expires_after(opts().write_timeout);
            net::async_write(stream_, out, std::move(written));
        } else {
            // The connection's lazy deadline rather than tcp_stream's: that one adds a timer
            // wait and its cancellation (a posted handler) to every write.
            arm(opts().write_timeout);
            net::async_write(beast::get_lowest_layer(stream_).socket(), out, std::move(written));
        }
        return true;
    }

    void start_upgrade(response r) {
        if (!parser_ || !beast::websocket::is_upgrade(parser_->get())) {
            response refusal =
                make_problem(426, "upgrade_required",
                             "This resource is a WebSocket; connect with an HTTP/1.1 WebSocket upgrade request.")
                    .to_response();
            refusal.headers.emplace_back("Upgrade", "websocket");
            refusal.headers.emplace_back("Connection", "Upgrade");
            phase_ = phase::handling;
            --served_;
            return on_response(std::move(refusal));
        }
        if (close_after_ || state_->stopping.load()) {
            phase_ = phase::handling;
            --served_;
            close_after_ = true;
            return on_response(service_unavailable("The server is shutting down.").to_response());
        }
        // The connection leaves HTTP: nothing more is read or written here. This session stays
        // alive (and counted as in flight) for as long as the upgraded connection holds it.
        phase_ = phase::closing;
        cancel_timer();
        beast::get_lowest_layer(stream_).expires_never();
        status_ = 101;
        const auto latency =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ctx_->received_at);
        log_access(101, latency, 0, {});
        if (opts().on_request_done) opts().on_request_done(*ctx_, 101, latency, 0);
        if constexpr (tls)
            upgraded_ = r.upgrade->accept(websocket_tls_stream(std::move(stream_)), parser_->release(),
                                          this->shared_from_this());
        else
            upgraded_ =
                r.upgrade->accept(websocket_stream(std::move(stream_)), parser_->release(), this->shared_from_this());
    }

    // Chunked transfer: the header, then one piece at a time. A piece is pulled only after the
    // previous one was written, so memory stays at one piece however long the body is.
    void start_stream(response r) {
        head_ = {};
        head_.version(version_);
        head_.result(static_cast<http::status>(r.status));
        if (!r.content_type.empty()) head_.set(http::field::content_type, r.content_type);
        for (auto& [name, value] : r.headers) head_.set(name, value);
        head_.set("X-Request-Id", ctx_->request_id);
        if (auto tp = valid_traceparent(ctx_->header("traceparent"))) head_.set("traceparent", *tp);
        add_cors_headers(head_, opts().cors, cors_origin_);
        head_.keep_alive(keep_);
        head_.chunked(true);
        // HEAD: the same head, and the producer is never asked for a piece.
        if (!head_only_) producer_ = std::move(r.stream);
        streamed_ = 0;
        head_sr_.emplace(head_);
        beast::get_lowest_layer(stream_).expires_after(opts().write_timeout);
        http::async_write_header(stream_, *head_sr_,
                                 [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                     self->streamed_ += n;
                                     if (ec || !self->producer_) return self->end_stream(ec, {});
                                     self->next_piece();
                                 });
    }

    void next_piece() {
        piece_.clear();
        bool more = false;
        try {
            more = producer_(piece_);
        } catch (const std::exception& e) {
            return end_stream({}, e.what());
        } catch (...) {
            return end_stream({}, "non-standard exception");
        }
        if (piece_.empty()) {
            if (!more) return write_last_chunk();
            // An empty piece: let other connections on this thread run before asking again.
            return net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->next_piece(); });
        }
        beast::get_lowest_layer(stream_).expires_after(opts().write_timeout);
        net::async_write(stream_, http::make_chunk(net::buffer(piece_)),
                         [self = this->shared_from_this(), more](boost::system::error_code ec, std::size_t n) {
                             self->streamed_ += n;
                             if (ec) return self->end_stream(ec, {});
                             if (more) return self->next_piece();
                             self->write_last_chunk();
                         });
    }

    void write_last_chunk() {
        beast::get_lowest_layer(stream_).expires_after(opts().write_timeout);
        net::async_write(stream_, http::make_chunk_last(),
                         [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
                             self->streamed_ += n;
                             self->end_stream(ec, {});
                         });
    }

    // `failure` set: the producer threw. The final chunk is never sent, so the client sees a
    // truncated transfer instead of a complete-looking body.
    void end_stream(boost::system::error_code ec, std::string failure) {
        producer_ = nullptr;
        head_sr_.reset();
        std::string{}.swap(piece_);
        if (!failure.empty()) {
            state_->log.error(
                "stream_producer_failed",
                {{"request_id", ctx_->request_id}, {"route", ctx_->route}, {"bytes", streamed_}, {"error", failure}});
            keep_ = false;
            return finish_request(streamed_, "stream producer failed: " + failure, true);
        }
        finish_request(streamed_, ec ? ec.message() : std::string{}, static_cast<bool>(ec));
    }

    void on_write(boost::system::error_code ec, std::size_t bytes) {
        finish_request(bytes, ec ? ec.message() : std::string{}, static_cast<bool>(ec));
    }

    void finish_request(std::size_t bytes, const std::string& error, bool failed) {
        beast::get_lowest_layer(stream_).expires_never();
        auto latency =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ctx_->received_at);
        log_access(status_, latency, bytes, error);
        if (opts().on_request_done) opts().on_request_done(*ctx_, status_, latency, bytes);
        if (failed) return do_close(false);
        if (!keep_) return do_close(linger_);
        do_read();
    }

    // The access line: only the sampling decision and a fixed-size copy happen here; the
    // logger's thread formats it.
    void log_access(unsigned status, std::chrono::microseconds latency, std::size_t bytes, std::string_view error) {
        const auto level = state_->log.access_level(status, latency, !error.empty());
        if (!level) return;
        access_record r;
        r.at = std::chrono::system_clock::now();
        r.level = *level;
        r.latency_us = latency.count();
        r.bytes = bytes;
        r.status = status;
        access_record::copy(r.method, ctx_->method);
        access_record::copy(r.route, ctx_->route);
        access_record::copy(r.request_id, ctx_->request_id);
        access_record::copy(r.client, client_);
        access_record::copy(r.error, error);
        state_->log.access(r);
    }

    // Closes after a half-close. With `linger`, unread input (e.g. the rest of a refused body)
    // is drained for a moment first, so the client reads our answer instead of a reset.
    void do_close(bool linger) {
        phase_ = phase::closing;
        cancel_timer();
        if constexpr (tls) {
            // close_notify, so the client can tell our end of the body from a cut connection;
            // bounded, because the peer may never answer it.
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
            return stream_.async_shutdown(
                [self = this->shared_from_this()](boost::system::error_code) { self->finish_close(); });
        }
        boost::system::error_code ec;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
        if (!linger || ec) return finish_close();
        drained_ = 0;
        arm(std::chrono::milliseconds(2000));
        drain();
    }

    void drain() {
        beast::get_lowest_layer(stream_).socket().async_read_some(
            net::buffer(drain_buf_),
            net::bind_executor(stream_.get_executor(),
                               [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                   self->drained_ += n;
                                   if (ec || self->drained_ > 4 * 1024 * 1024) return self->finish_close();
                                   self->drain();
                               }));
    }

    void finish_close() {
        cancel_timer();
        boost::system::error_code ec;
        beast::get_lowest_layer(stream_).socket().close(ec);
    }

    Stream stream_;                  // moved out when the connection is upgraded to a WebSocket
    net::any_io_executor executor_;  // the lane's, still valid after stream_ moved out
    beast::flat_buffer buffer_;
    net::steady_timer timer_;
    std::shared_ptr<shared_state> state_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    // write_direct's status line and header, and the body in flight.
    static constexpr std::size_t max_kept_body_bytes = 64 * 1024;
    std::string direct_head_;
    std::string direct_body_;
    std::optional<http::response_serializer<http::string_body>> res_sr_;  // HEAD: writes res_'s header only
    // Streamed responses: the header, its serializer, the producer and the piece in flight.
    http::response<http::empty_body> head_;
    std::optional<http::response_serializer<http::empty_body>> head_sr_;
    std::function<bool(std::string&)> producer_;
    std::string piece_;
    std::size_t streamed_ = 0;
    std::weak_ptr<upgraded_connection> upgraded_;
    unsigned status_ = 0;
    bool keep_ = false;
    std::unique_ptr<request_context> ctx_;         // the request in flight, if any
    std::unique_ptr<request_context> spare_ctx_;   // the previous one, for fresh_context()
    std::optional<response> answered_in_handler_;  // see slot::deliver
    std::string cors_origin_;                      // the current request's Origin when CORS allows it, else empty
    std::string client_;
    std::array<char, 16 * 1024> drain_buf_{};
    std::size_t drained_ = 0;
    using clock_point = std::chrono::steady_clock::time_point;
    clock_point deadline_ = clock_point::max();  // when the current phase times out; max: none
    std::uint64_t timer_gen_ = 0;
    bool timer_waiting_ = false;  // a wait on timer_ is pending
    std::size_t served_ = 0;
    unsigned version_ = 11;
    phase phase_ = phase::waiting;
    // The session whose handler this thread is running, if any (see slot::deliver).
    static thread_local session* handling_;
    bool timed_out_ = false;
    bool keep_alive_ = false;
    bool close_after_ = false;
    bool linger_ = false;
    bool head_only_ = false;          // answering HEAD: the head of the GET answer, no body
    std::size_t header_scanned_ = 0;  // bytes of buffer_ already searched for the header's end
};

template <class Stream>
thread_local session<Stream>* session<Stream>::handling_ = nullptr;

}  // namespace

// One I/O thread's share of the server: its io_context, run by that thread alone, and its own
// listening socket on the shared port (SO_REUSEPORT: the kernel spreads new connections over
// them). A connection lives on the thread that accepted it, so its handlers need no strand.
struct io_lane {
    // Concurrency hint 1: only this lane's thread runs the io_context (other threads only post).
    io_lane() : ioc(1), acceptor(ioc), accept_retry(ioc) {}

    net::io_context ioc;
    tcp::acceptor acceptor;
    net::steady_timer accept_retry;
};

struct server::impl {
    impl(server_options o, const router& r, logger& l) : state(std::make_shared<shared_state>(std::move(o), r, l)) {
        const auto& opts = state->options;
        const unsigned n = opts.threads != 0 ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
        for (unsigned i = 0; i < n; ++i) lanes.push_back(std::make_unique<io_lane>());
        signals.emplace(lanes.front()->ioc);
    }

    void do_accept(io_lane& lane) {
        lane.acceptor.async_accept(lane.ioc, [this, &lane](boost::system::error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted || !lane.acceptor.is_open()) return;
            if (ec) {
                // EMFILE and friends: keep serving the connections we have and retry a little
                // later rather than spinning on the error.
                state->log.warn("accept_failed", {{"error", ec.message()}});
                lane.accept_retry.expires_after(std::chrono::milliseconds(50));
                lane.accept_retry.async_wait([this, &lane](boost::system::error_code e) {
                    if (!e && lane.acceptor.is_open()) do_accept(lane);
                });
                return;
            }
            if (!state->stopping.load()) {
                if (tls_context)
                    std::make_shared<session<tls_stream>>(state, std::move(socket), *tls_context)->run();
                else
                    std::make_shared<session<beast::tcp_stream>>(state, std::move(socket))->run();
            }
            do_accept(lane);
        });
    }

    void begin_shutdown() {
        {
            std::lock_guard lock(state->mutex);
            if (state->stop_requested) return;
            state->stop_requested = true;
        }
        state->stopping.store(true);
        for (auto& l : lanes)
            net::post(l->ioc, [this, &lane = *l] {
                boost::system::error_code ec;
                lane.acceptor.close(ec);
                lane.accept_retry.cancel();
                if (&lane == lanes.front().get()) signals->cancel(ec);
            });
        std::vector<std::shared_ptr<session_base>> live;
        {
            std::lock_guard lock(state->mutex);
            for (auto& [ptr, weak] : state->sessions)
                if (auto s = weak.lock()) live.push_back(std::move(s));
            state->changed.notify_all();
        }
        for (auto& s : live) s->request_shutdown();
    }

    std::shared_ptr<shared_state> state;
    std::vector<std::unique_ptr<io_lane>> lanes;   // one per I/O thread
    std::optional<net::signal_set> signals;        // on the first lane
    std::optional<net::ssl::context> tls_context;  // set when serving HTTPS
    unsigned short port = 0;
};

server::server(server_options options, const router& routes, logger& log)
    : impl_(std::make_unique<impl>(std::move(options), routes, log)) {}

server::~server() = default;

boost::system::result<void, std::string> server::listen() {
    auto failure = [](std::string m) {
        return boost::system::result<void, std::string>(boost::system::in_place_error, std::move(m));
    };
    auto& opts = impl_->state->options;
    boost::system::error_code ec;
    if (opts.tls_cert_file.empty() != opts.tls_key_file.empty())
        return failure("TLS needs both a certificate and a key file");
    if (!opts.tls_cert_file.empty()) {
        auto& ctx = impl_->tls_context.emplace(net::ssl::context::tls_server);
        ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                        net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1 |
                        net::ssl::context::single_dh_use);
        if (ctx.use_certificate_chain_file(opts.tls_cert_file, ec); ec)
            return failure("TLS certificate " + opts.tls_cert_file + ": " + ec.message());
        if (ctx.use_private_key_file(opts.tls_key_file, net::ssl::context::pem, ec); ec)
            return failure("TLS key " + opts.tls_key_file + ": " + ec.message());
    }
    auto address = net::ip::make_address(opts.address, ec);
    if (ec) return failure("invalid listen address '" + opts.address + "': " + ec.message());
    tcp::endpoint ep(address, opts.port);
    auto where = [&] { return "listen on " + opts.address + ":" + std::to_string(opts.port) + ": "; };
    using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    for (auto& lane : impl_->lanes) {
        auto& acc = lane->acceptor;
        const bool first = lane == impl_->lanes.front();
        if (acc.open(ep.protocol(), ec); ec) return failure(where() + ec.message());
        if (acc.set_option(net::socket_base::reuse_address(true), ec); ec) return failure(where() + ec.message());
        // The first socket binds without SO_REUSEPORT, so a port another process (of any
        // user, reuseport or not) listens on is refused as before, and port 0 picks a port
        // nobody uses; it joins the group before listen(), the others bind to the port it got.
        if (!first && (acc.set_option(reuse_port(true), ec), ec)) return failure(where() + ec.message());
        if (acc.bind(ep, ec); ec) return failure(where() + ec.message());
        if (first && (acc.set_option(reuse_port(true), ec), ec)) return failure(where() + ec.message());
        if (acc.listen(net::socket_base::max_listen_connections, ec); ec) return failure(where() + ec.message());
        if (first) {
            ep.port(acc.local_endpoint(ec).port());
            if (ec) return failure(where() + ec.message());
        }
    }
    impl_->port = ep.port();
    // Installed before anyone can learn the port, so a SIGTERM sent as soon as the address is
    // announced is queued for run() instead of killing the process.
    if (opts.handle_signals) {
        impl_->signals->add(SIGTERM, ec);
        if (!ec) impl_->signals->add(SIGINT, ec);
        if (ec) return failure("cannot handle SIGTERM/SIGINT: " + ec.message());
        impl_->signals->async_wait([this](boost::system::error_code e, int signo) {
            if (e) return;
            impl_->state->log.info("shutdown_requested", {{"signal", signo}});
            impl_->begin_shutdown();
        });
    }
    return {};
}

unsigned short server::port() const { return impl_->port; }

void server::stop() { impl_->begin_shutdown(); }

void server::run() {
    auto& st = *impl_->state;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
    std::vector<std::thread> pool;
    pool.reserve(impl_->lanes.size());
    for (auto& l : impl_->lanes) {
        net::post(l->ioc, [this, &lane = *l] { impl_->do_accept(lane); });
        work.push_back(net::make_work_guard(l->ioc));
        pool.emplace_back([&st, &ioc = l->ioc] {
            // A bug escaping a completion handler drops only the connection that owned it.
            for (;;) {
                try {
                    ioc.run();
                    return;
                } catch (const std::exception& e) {
                    st.log.error("io_exception", {{"error", e.what()}});
                }
            }
        });
    }

    std::size_t dropped = 0;
    {
        std::unique_lock lock(st.mutex);
        st.changed.wait(lock, [&] { return st.stop_requested; });
        auto deadline = std::chrono::steady_clock::now() + st.options.shutdown_grace;
        st.changed.wait_until(lock, deadline, [&] { return st.active == 0; });
        dropped = st.active;
    }
    st.log.info("shutdown_drained", {{"connections_dropped", dropped}});
    work.clear();
    for (auto& l : impl_->lanes) l->ioc.stop();
    for (auto& t : pool) t.join();
}

}  // namespace roster::api
