// One WebSocket subscriber of the live stream: catch-up from the log, then the hub's events,
// through a bounded queue with exactly one write outstanding.
#include <deque>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "roster/api/live_stream.hpp"

namespace roster::api {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

// Catch-up reads this many log entries at a time, so memory stays bounded whatever `from` is.
constexpr std::size_t catch_up_batch = 256;

// Lifetime: the hub holds it while subscribed; otherwise its pending operations do. Members
// are touched on the socket's strand, except the queue and the flags guarded by `mutex_`,
// which the hub's thread also touches in deliver().
template <class WebSocket>
class live_session final : public live_sink,
                           public upgraded_connection,
                           public std::enable_shared_from_this<live_session<WebSocket>> {
    using std::enable_shared_from_this<live_session<WebSocket>>::shared_from_this;

public:
    live_session(WebSocket ws, live_hub& hub, logger& log, live_filter filter, std::optional<std::uint64_t> from,
                 std::string request_id, std::shared_ptr<void> server_hold)
        : ws_(std::move(ws)),
          timer_(ws_.get_executor()),
          close_timer_(ws_.get_executor()),
          hub_(hub),
          log_(log),
          filter_(std::move(filter)),
          from_(from),
          request_id_(std::move(request_id)),
          server_hold_(std::move(server_hold)) {}

    void start(upgrade_request req) {
        req_ = std::move(req);
        auto& socket = beast::get_lowest_layer(ws_).socket();
        boost::system::error_code ignored;
        socket.set_option(net::socket_base::send_buffer_size(hub_.options().socket_send_buffer), ignored);
        socket.set_option(net::ip::tcp::no_delay(true), ignored);
        websocket::stream_base::timeout t{};
        t.handshake_timeout = std::chrono::seconds(10);
        t.idle_timeout = 2 * hub_.options().ping_interval;  // Beast pings at half of it
        t.keep_alive_pings = true;
        ws_.set_option(t);
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(beast::http::field::server, "rosterd");
        }));
        ws_.read_message_max(64 * 1024);
        ws_.text(true);
        if (!from_) {
            // Joined before the handshake answer, so every event committed after the client got
            // its 101 reaches it; they wait in the queue until the handshake is done.
            scanned_ = delivered_ = hub_.join_now(shared_from_this());
            std::lock_guard lock(mutex_);
            live_ = true;
        }
        ws_.async_accept(req_, [self = shared_from_this()](boost::system::error_code ec) { self->on_accept(ec); });
    }

    const live_filter& filter() const override { return filter_; }

    bool deliver(const live_message& m) override {
        std::unique_lock lock(mutex_);
        if (closing_) return false;
        if (queue_.size() >= hub_.options().queue_events) {
            closing_ = true;
            close_code_ = websocket::close_code::policy_error;
            close_why_ = "too slow: queue of " + std::to_string(queue_.size()) + " events full";
            std::deque<live_message>{}.swap(queue_);
            hub_.count_drop();
            // The write in flight may never finish if the client has stopped reading.
            net::post(ws_.get_executor(), [self = shared_from_this()] { self->arm_close_deadline(); });
            wake_locked();
            return false;
        }
        queue_.push_back(m);
        wake_locked();
        return true;
    }

    void shutdown() override {
        net::post(ws_.get_executor(), [self = shared_from_this()] {
            self->begin_close(websocket::close_code::going_away, "server shutting down");
        });
    }

private:
    // With mutex_ held: makes sure the strand is working on the queue (or on closing).
    void wake_locked() {
        if (busy_) return;
        busy_ = true;
        net::post(ws_.get_executor(), [self = shared_from_this()] { self->pump(); });
    }

    void on_accept(boost::system::error_code ec) {
        if (ec) return teardown(ec);
        do_read();
        if (from_) {
            scanned_ = delivered_ = *from_;
            return catch_up();
        }
        pump();
    }

    // Client messages carry nothing; reading keeps pongs and the close handshake flowing.
    void do_read() {
        ws_.async_read(read_buf_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->teardown(ec);
            self->read_buf_.clear();
            self->do_read();
        });
    }

    // The strand owns the queue's consumer side while busy_ is true (it is from the start).
    void pump() {
        live_message next;
        {
            std::unique_lock lock(mutex_);
            if (closing_) {
                lock.unlock();
                return send_close();
            }
            if (queue_.empty()) {
                if (!live_) {
                    lock.unlock();
                    return catch_up();
                }
                busy_ = false;
                return;
            }
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        in_flight_ = std::move(next);
        ws_.async_write(net::buffer(*in_flight_.text), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) return self->teardown(ec);
            self->delivered_ = self->in_flight_.position;
            self->in_flight_ = {};
            self->pump();
        });
    }

    // Reads the next slice of the log up to what the hub has published, or joins the hub once
    // the log has been seen exactly up to that point.
    void catch_up() {
        {
            std::unique_lock lock(mutex_);
            if (closing_) {
                lock.unlock();
                return send_close();
            }
        }
        const auto published = hub_.published();
        if (scanned_ == published && hub_.try_join(shared_from_this(), scanned_)) {
            {
                std::lock_guard lock(mutex_);
                live_ = true;
            }
            return pump();
        }
        if (scanned_ >= published) {
            // The hub has not published `from` yet (it trails the store by a moment): wait for it.
            timer_.expires_after(std::chrono::milliseconds(5));
            return timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
                if (ec) return;
                self->catch_up();
            });
        }
        std::size_t queued = 0;
        const auto limit = static_cast<std::size_t>(std::min<std::uint64_t>(published - scanned_, catch_up_batch));
        auto r = hub_.store().read_from(scanned_ + 1, limit, [&](const eventstore::recorded_event& e) {
            scanned_ = e.position;
            if (!filter_.matches(e)) return true;
            std::lock_guard lock(mutex_);
            queue_.push_back(make_live_message(e));
            ++queued;
            return true;
        });
        if (!r) {
            log_.error("live_catch_up_failed", {{"request_id", request_id_}, {"error", r.error().message}});
            return begin_close(websocket::close_code::internal_error, "the log could not be read");
        }
        if (queued == 0) {
            // Nothing matched: yield to other connections between slices of a long filtered scan.
            return net::post(ws_.get_executor(), [self = shared_from_this()] { self->catch_up(); });
        }
        pump();
    }

    // On the strand: however the close goes, the socket is gone after close_timeout.
    void arm_close_deadline() {
        if (deadline_armed_ || torn_down_) return;
        deadline_armed_ = true;
        close_timer_.expires_after(hub_.options().close_timeout);
        close_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;
            boost::system::error_code ignored;
            beast::get_lowest_layer(self->ws_).socket().close(ignored);
        });
    }

    // On the strand.
    void begin_close(websocket::close_code code, std::string why) {
        std::unique_lock lock(mutex_);
        if (closing_) return;
        closing_ = true;
        close_code_ = code;
        close_why_ = std::move(why);
        queue_.clear();
        arm_close_deadline();
        if (busy_) return;  // the write in flight (or the catch-up step) ends in pump() → send_close()
        busy_ = true;
        lock.unlock();
        send_close();
    }

    void send_close() {
        if (close_sent_ || torn_down_) return;
        close_sent_ = true;
        hub_.leave(this);
        std::string reason;
        {
            std::lock_guard lock(mutex_);
            reason = close_why_ + "; last_position=" + std::to_string(delivered_);
        }
        if (close_code_ == websocket::close_code::policy_error)
            log_.warn("live_subscriber_dropped", {{"request_id", request_id_}, {"last_position", delivered_}});
        // A control frame carries at most 123 bytes of reason.
        if (reason.size() > 123) reason.erase(0, reason.size() - 123);
        arm_close_deadline();
        ws_.async_close(websocket::close_reason(close_code_, reason),
                        [self = shared_from_this()](boost::system::error_code ec) { self->teardown(ec); });
    }

    void teardown(boost::system::error_code) {
        if (torn_down_) return;
        torn_down_ = true;
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
            queue_.clear();
        }
        hub_.leave(this);
        timer_.cancel();
        close_timer_.cancel();
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
        log_.info("live_subscriber_closed", {{"request_id", request_id_}, {"last_position", delivered_}});
        server_hold_.reset();
    }

    WebSocket ws_;
    net::steady_timer timer_;        // catch-up waiting for the hub
    net::steady_timer close_timer_;  // the deadline of a close
    live_hub& hub_;
    logger& log_;
    const live_filter filter_;
    const std::optional<std::uint64_t> from_;
    const std::string request_id_;
    std::shared_ptr<void> server_hold_;
    upgrade_request req_;
    beast::flat_buffer read_buf_;
    live_message in_flight_;
    std::uint64_t scanned_ = 0;    // the log has been considered up to here (catch-up)
    std::uint64_t delivered_ = 0;  // the last event whose message was written out
    websocket::close_code close_code_ = websocket::close_code::normal;
    std::string close_why_;
    bool close_sent_ = false;
    bool deadline_armed_ = false;
    bool torn_down_ = false;

    std::mutex mutex_;
    std::deque<live_message> queue_;  // guarded by mutex_
    bool busy_ = true;                // guarded by mutex_: the strand is writing or about to
    bool live_ = false;               // guarded by mutex_: joined the hub
    bool closing_ = false;            // guarded by mutex_
};

class live_upgrade final : public websocket_upgrade {
public:
    live_upgrade(live_hub& hub, logger& log, live_filter filter, std::optional<std::uint64_t> from, std::string request_id)
        : hub_(hub), log_(log), filter_(std::move(filter)), from_(from), request_id_(std::move(request_id)) {}

    std::shared_ptr<upgraded_connection> accept(websocket_stream ws, upgrade_request req,
                                                std::shared_ptr<void> server_hold) override {
        return start(std::move(ws), std::move(req), std::move(server_hold));
    }
    std::shared_ptr<upgraded_connection> accept(websocket_tls_stream ws, upgrade_request req,
                                                std::shared_ptr<void> server_hold) override {
        return start(std::move(ws), std::move(req), std::move(server_hold));
    }

private:
    template <class WebSocket>
    std::shared_ptr<upgraded_connection> start(WebSocket ws, upgrade_request req, std::shared_ptr<void> server_hold) {
        auto s = std::make_shared<live_session<WebSocket>>(std::move(ws), hub_, log_, std::move(filter_), from_,
                                                           std::move(request_id_), std::move(server_hold));
        s->start(std::move(req));
        return s;
    }

    live_hub& hub_;
    logger& log_;
    live_filter filter_;
    std::optional<std::uint64_t> from_;
    std::string request_id_;
};

}  // namespace

std::shared_ptr<websocket_upgrade> make_live_upgrade(live_hub& hub, logger& log, live_filter filter,
                                                     std::optional<std::uint64_t> from, std::string request_id) {
    return std::make_shared<live_upgrade>(hub, log, std::move(filter), from, std::move(request_id));
}

}  // namespace roster::api
