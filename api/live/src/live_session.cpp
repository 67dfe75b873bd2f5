// One WebSocket subscriber of the live stream: catch-up from the log, then the hub's events,
// through a bounded queue with exactly one (gathered) write outstanding.
#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "roster/api/live_stream.hpp"
#include "ws_frames.hpp"

namespace roster::api {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

// Catch-up reads at most this many log entries at a time (and at most live_hub_options::
// catch_up_bytes of frames), so memory stays bounded whatever `from` is.
constexpr std::size_t catch_up_batch = 256;
// One gathered write carries at most this much, so the delivered position advances steadily and
// a slow socket does not pin a whole queue's worth of frames.
constexpr std::size_t write_batch_frames = 512;
constexpr std::size_t write_batch_bytes = 256 * 1024;
// Clients have nothing to say on this stream; anything bigger than this per frame is refused.
constexpr std::size_t max_client_frame = 64 * 1024;
// Application close codes (RFC 6455 §7.4.2 leaves 4000-4999 to applications), after HTTP's 401
// and 403: the subscriber's access was withdrawn while it was subscribed.
constexpr auto close_unauthenticated = static_cast<websocket::close_code>(4401);
constexpr auto close_forbidden = static_cast<websocket::close_code>(4403);
// The read model folds a commit a moment after the hub reads it; an access check asked about a
// position it has not folded yet is asked again after the first delay, then after twice as long
// each time up to the last: a read model that stopped folding costs a held session a few wake-ups
// a second, not hundreds.
constexpr std::chrono::milliseconds access_retry_first{2};
constexpr std::chrono::milliseconds access_retry_last{500};

// Lifetime: the hub holds it while subscribed; otherwise its pending operations do. Members
// are touched on the socket's strand, except the queues and the flags guarded by `mutex_`,
// which the hub's thread also touches in deliver(). Lock order: the hub's lock, then mutex_
// (deliver runs under the hub's lock), so the session never calls the hub holding mutex_.
//
// Beast does the handshake; after it the session frames the connection itself (ws_frames.hpp),
// because Beast writes one message per write and a subscriber's queue is best sent in one.
template <class WebSocket>
class live_session final : public live_sink,
                           public upgraded_connection,
                           public std::enable_shared_from_this<live_session<WebSocket>> {
    using std::enable_shared_from_this<live_session<WebSocket>>::shared_from_this;

public:
    live_session(WebSocket ws, live_hub& hub, logger& log, live_filter filter,
                 std::optional<eventstore::log_position> from, std::string request_id,
                 std::shared_ptr<void> server_hold, live_access_check access)
        : ws_(std::move(ws)),
          timer_(ws_.get_executor()),
          ping_timer_(ws_.get_executor()),
          close_timer_(ws_.get_executor()),
          access_timer_(ws_.get_executor()),
          hub_(hub),
          log_(log),
          filter_(std::move(filter)),
          from_(from),
          request_id_(std::move(request_id)),
          server_hold_(std::move(server_hold)),
          reader_(max_client_frame),
          access_(std::move(access)) {
        hub_.session_opened();
    }

    // Whatever is still charged (a write that never completed, a queue never cleared) goes back.
    ~live_session() override {
        hub_.release(queued_bytes_ + writing_bytes_);
        hub_.session_closed();
    }

    void start(upgrade_request req) {
        req_ = std::move(req);
        auto& socket = beast::get_lowest_layer(ws_).socket();
        boost::system::error_code ignored;
        socket.set_option(net::socket_base::send_buffer_size(hub_.options().socket_send_buffer), ignored);
        socket.set_option(net::ip::tcp::no_delay(true), ignored);
        // Only the handshake runs through Beast's stream; idle pings are the session's own.
        websocket::stream_base::timeout t{};
        t.handshake_timeout = std::chrono::seconds(10);
        t.idle_timeout = websocket::stream_base::none();
        t.keep_alive_pings = false;
        ws_.set_option(t);
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(beast::http::field::server, "rosterd"); }));
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
        const auto& options = hub_.options();
        const auto size = m.frame->size();
        const auto held = queued_bytes_ + writing_bytes_;
        if (queue_.size() >= options.queue_events) {
            cut_off_locked("too slow: queue of " + std::to_string(queue_.size()) + " events full");
            return false;
        }
        if (held != 0 && size > options.queue_bytes - std::min(held, options.queue_bytes)) {
            cut_off_locked("too slow: queue of " + std::to_string(held) + " bytes full");
            return false;
        }
        if (!hub_.charge(size)) {
            cut_off_locked("too slow: the server's live queues are full");
            return false;
        }
        queue_.push_back(m);
        queued_bytes_ += size;
        return true;
    }

    void flush() override {
        std::lock_guard lock(mutex_);
        if (!queue_.empty()) wake_locked();
    }

    void access_may_have_changed(eventstore::log_position at) override {
        std::lock_guard lock(mutex_);
        if (closing_) return;
        access_pending_ = std::max(access_pending_, at);
        if (!access_hold_ || at < *access_hold_) access_hold_ = at;
        if (access_check_posted_) return;
        access_check_posted_ = true;
        net::post(ws_.get_executor(), [self = shared_from_this()] { self->check_access(); });
    }

    void shutdown() override {
        net::post(ws_.get_executor(), [self = shared_from_this()] {
            self->begin_close(websocket::close_code::going_away, "server shutting down");
        });
    }

private:
    auto& stream() { return ws_.next_layer(); }

    // With mutex_ held: closes with 1008 and the last delivered position, like a slow consumer.
    void cut_off_locked(std::string why) {
        closing_ = true;
        close_code_ = websocket::close_code::policy_error;
        close_why_ = std::move(why);
        clear_queue_locked();
        hub_.count_drop();
        // The write in flight may never finish if the client has stopped reading.
        net::post(ws_.get_executor(), [self = shared_from_this()] { self->arm_close_deadline(); });
        wake_locked();
    }

    // With mutex_ held: drops the queued frames (and their memory) and their charge.
    void clear_queue_locked() {
        std::deque<live_message>{}.swap(queue_);
        hub_.release(queued_bytes_);
        queued_bytes_ = 0;
    }

    // With mutex_ held: makes sure the strand is working on the queues (or on closing).
    void wake_locked() {
        if (busy_) return;
        busy_ = true;
        net::post(ws_.get_executor(), [self = shared_from_this()] { self->pump(); });
    }

    void on_accept(boost::system::error_code ec) {
        if (ec) return teardown(ec);
        beast::get_lowest_layer(ws_).expires_never();
        arm_ping();
        do_read();
        if (from_) {
            scanned_ = delivered_ = *from_;
            return catch_up();
        }
        pump();
    }

    // Client frames carry nothing but pings, pongs and the close handshake.
    void do_read() {
        stream().async_read_some(
            net::buffer(read_chunk_), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                if (ec) return self->teardown(ec);
                self->heard_ = true;
                self->reader_.feed(std::string_view(self->read_chunk_.data(), n));
                ws::frame_error error;
                while (auto f = self->reader_.next(error)) {
                    self->on_frame(*f);
                    if (self->torn_down_) return;
                }
                if (self->reader_.failed()) {
                    self->peer_closed_ = true;  // nothing more to expect from a client that broke the protocol
                    return self->begin_close(static_cast<websocket::close_code>(error.close_code), error.why);
                }
                self->do_read();
            });
    }

    void on_frame(ws::client_frame& f) {
        switch (f.op) {
            case ws::opcode::ping: return queue_control(ws::encode_frame(ws::opcode::pong, f.payload));
            case ws::opcode::close:
                peer_closed_ = true;
                if (close_written_) return teardown({});
                return begin_close(websocket::close_code::normal, "closed by the client");
            default: return;  // pongs only prove liveness (heard_); data messages are ignored
        }
    }

    void queue_control(std::string frame) {
        std::lock_guard lock(mutex_);
        if (closing_) return;
        control_.push_back(std::move(frame));
        wake_locked();
    }

    // A ping after a quiet interval; a second quiet interval ends the connection.
    void arm_ping() {
        ping_timer_.expires_after(hub_.options().ping_interval);
        ping_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || self->torn_down_) return;
            // Expiry withdraws access without an event: judged again at every tick.
            if (const auto verdict = self->access_(eventstore::log_position{});
                verdict != live_access::allowed && verdict != live_access::not_yet)
                return self->withdraw_access(verdict, self->delivered_);
            if (self->heard_) {
                self->heard_ = false;
                self->ping_unanswered_ = false;
            } else if (self->ping_unanswered_) {
                self->log_.info("live_subscriber_timed_out", {{"request_id", self->request_id_}});
                return self->teardown({});
            } else {
                self->ping_unanswered_ = true;
                self->queue_control(ws::encode_frame(ws::opcode::ping, {}));
            }
            self->arm_ping();
        });
    }

    // The strand owns the writing side while busy_ is true (it is from the start): one gathered
    // write at a time of the pending control frames, then queued events, then the close frame.
    void pump() {
        in_flight_.clear();
        std::string close_frame;
        bool leave_hub = false;
        {
            std::unique_lock lock(mutex_);
            if (close_written_ || close_queued_) return;  // nothing may follow a close frame
            in_flight_control_.assign(std::make_move_iterator(control_.begin()),
                                      std::make_move_iterator(control_.end()));
            control_.clear();
            if (closing_) {
                close_queued_ = true;
                leave_hub = true;
                close_frame = ws::encode_close(static_cast<std::uint16_t>(close_code_),
                                               close_why_ + "; last_position=" + std::to_string(delivered_.value) +
                                                   "; next_from=" + std::to_string(delivered_.next().value));
            } else {
                std::size_t bytes = 0;
                while (!queue_.empty() && in_flight_.size() < write_batch_frames && bytes < write_batch_bytes &&
                       !(access_hold_ && queue_.front().position >= *access_hold_)) {
                    bytes += queue_.front().frame->size();
                    in_flight_.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
                // Still held (and charged) until the write completes.
                queued_bytes_ -= bytes;
                writing_bytes_ = bytes;
                if (in_flight_.empty() && in_flight_control_.empty()) {
                    // Held for an access check: check_access wakes the strand again.
                    if (!live_ && !access_hold_) {
                        lock.unlock();
                        return catch_up();
                    }
                    busy_ = false;
                    return;
                }
            }
        }
        if (leave_hub) {
            hub_.leave(this);
            if (close_code_ == websocket::close_code::policy_error)
                log_.warn("live_subscriber_dropped",
                          {{"request_id", request_id_}, {"last_position", delivered_.value}});
            arm_close_deadline();
            in_flight_control_.push_back(std::move(close_frame));
        }
        buffers_.clear();
        for (const auto& c : in_flight_control_) buffers_.emplace_back(c.data(), c.size());
        for (const auto& m : in_flight_) buffers_.emplace_back(m.frame->data(), m.frame->size());
        net::async_write(stream(), buffers_,
                         [self = shared_from_this(), closing = leave_hub](boost::system::error_code ec, std::size_t) {
                             {
                                 std::lock_guard lock(self->mutex_);
                                 self->hub_.release(self->writing_bytes_);
                                 self->writing_bytes_ = 0;
                             }
                             if (ec) return self->teardown(ec);
                             if (!self->in_flight_.empty()) self->delivered_ = self->in_flight_.back().position;
                             self->in_flight_.clear();
                             self->in_flight_control_.clear();
                             if (closing) {
                                 self->close_written_ = true;
                                 // The client's close answer ends it (see on_frame); the deadline if it never comes.
                                 if (self->peer_closed_) return self->teardown({});
                                 return;
                             }
                             self->pump();
                         });
    }

    // Reads the next slice of the log up to what the hub has published, or joins the hub once
    // the log has been seen exactly up to that point.
    void catch_up() {
        {
            std::unique_lock lock(mutex_);
            if (closing_ || !control_.empty() || access_hold_) {
                lock.unlock();
                return pump();
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
        std::size_t bytes = 0;
        bool refused = false;
        std::optional<eventstore::log_position> withdrawing;
        const auto limit =
            static_cast<std::size_t>(std::min<std::uint64_t>(published.value - scanned_.value, catch_up_batch));
        auto r = hub_.store().read_from(scanned_.next(), limit, [&](const eventstore::recorded_event& e) {
            // The slice ends at an event that may withdraw access: it is checked before more is read.
            if (withdraws_access(e)) withdrawing = e.position;
            if (!filter_.matches(e)) {
                scanned_ = e.position;
                return !withdrawing;
            }
            auto m = make_live_message(e, filter_.format);
            const auto size = m.frame->size();
            // Not scanned: the next slice starts with it again.
            if (!hub_.charge(size)) {
                refused = true;
                return false;
            }
            scanned_ = e.position;
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(m));
            queued_bytes_ += size;
            ++queued;
            bytes += size;
            return !withdrawing && bytes < hub_.options().catch_up_bytes;
        });
        if (withdrawing && scanned_ >= *withdrawing) access_may_have_changed(*withdrawing);
        if (!r) {
            log_.error("live_catch_up_failed", {{"request_id", request_id_}, {"error", r.error().message}});
            // The catch-up step owns the strand (busy_), so its pump() sends the close.
            begin_close(websocket::close_code::internal_error, "the log could not be read");
            return pump();
        }
        if (refused && queued == 0) {
            // It holds nothing (catch-up runs only once its queue is written), so nothing it
            // holds can make room: it goes, and resumes later from its last position.
            {
                std::lock_guard lock(mutex_);
                if (!closing_) cut_off_locked("too slow: the server's live queues are full");
            }
            return pump();
        }
        if (queued == 0) {
            // Nothing matched: yield to other connections between slices of a long filtered scan.
            return net::post(ws_.get_executor(), [self = shared_from_this()] { self->catch_up(); });
        }
        pump();
    }

    // On the strand: asks whether the subscriber still has access as of the latest position that
    // may have withdrawn it; allowed releases what was held back, anything else closes.
    void check_access() {
        eventstore::log_position at;
        {
            std::lock_guard lock(mutex_);
            access_check_posted_ = false;
            if (closing_) return;
            at = access_pending_;
        }
        const auto verdict = access_(at);
        if (verdict == live_access::not_yet) {
            {
                std::lock_guard lock(mutex_);
                if (access_check_posted_) return;  // a later event asked already
                access_check_posted_ = true;
            }
            access_timer_.expires_after(access_retry_);
            access_retry_ = std::min(access_retry_ * 2, access_retry_last);
            return access_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
                if (ec || self->torn_down_) return;
                self->check_access();
            });
        }
        access_retry_ = access_retry_first;
        if (verdict != live_access::allowed) return withdraw_access(verdict, at);
        std::lock_guard lock(mutex_);
        // A later event that may withdraw access keeps the hold until its own check.
        if (access_pending_ != at || !access_hold_) return;
        access_hold_.reset();
        wake_locked();
    }

    void withdraw_access(live_access verdict, eventstore::log_position at) {
        const bool unauthenticated = verdict == live_access::unauthenticated;
        log_.warn("live_access_withdrawn", {{"request_id", request_id_},
                                            {"position", at.value},
                                            {"last_position", delivered_.value},
                                            {"why", unauthenticated ? "unauthenticated" : "forbidden"}});
        begin_close(unauthenticated ? close_unauthenticated : close_forbidden,
                    unauthenticated ? "access withdrawn: token revoked or expired, or user locked or removed"
                                    : "access withdrawn: the principal may no longer read this stream");
    }

    // On the strand: however the close goes, the socket is gone after close_timeout.
    void arm_close_deadline() {
        if (deadline_armed_ || torn_down_) return;
        deadline_armed_ = true;
        close_timer_.expires_after(hub_.options().close_timeout);
        close_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;
            self->teardown({});
        });
    }

    // On the strand.
    void begin_close(websocket::close_code code, std::string why) {
        std::unique_lock lock(mutex_);
        if (closing_) return;
        closing_ = true;
        close_code_ = code;
        close_why_ = std::move(why);
        clear_queue_locked();
        // Armed now: the write in flight may never finish if the client has stopped reading.
        arm_close_deadline();
        if (busy_) return;  // the write in flight (or the catch-up step) ends in pump(), which sends the close
        busy_ = true;
        lock.unlock();
        pump();
    }

    void teardown(boost::system::error_code) {
        if (torn_down_) return;
        torn_down_ = true;
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
            clear_queue_locked();
            control_.clear();
        }
        hub_.leave(this);
        timer_.cancel();
        ping_timer_.cancel();
        close_timer_.cancel();
        access_timer_.cancel();
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(net::socket_base::shutdown_both, ignored);
        beast::get_lowest_layer(ws_).socket().close(ignored);
        log_.info("live_subscriber_closed", {{"request_id", request_id_}, {"last_position", delivered_.value}});
        server_hold_.reset();
    }

    WebSocket ws_;                    // the handshake; then its next layer carries the frames
    net::steady_timer timer_;         // catch-up waiting for the hub
    net::steady_timer ping_timer_;    // idle pings
    net::steady_timer close_timer_;   // the deadline of a close
    net::steady_timer access_timer_;  // an access check waiting for the read model
    live_hub& hub_;
    logger& log_;
    const live_filter filter_;
    const std::optional<eventstore::log_position> from_;
    const std::string request_id_;
    std::shared_ptr<void> server_hold_;
    upgrade_request req_;
    std::array<char, 4096> read_chunk_{};
    ws::client_frame_reader reader_;
    const live_access_check access_;
    std::vector<live_message> in_flight_;         // the events of the write in progress
    std::vector<std::string> in_flight_control_;  // its control frames (pongs, pings, close)
    std::vector<net::const_buffer> buffers_;
    eventstore::log_position scanned_;    // the log has been considered up to here (catch-up)
    eventstore::log_position delivered_;  // the last event whose frame was written out
    websocket::close_code close_code_ = websocket::close_code::normal;
    std::string close_why_;
    bool close_written_ = false;
    bool peer_closed_ = false;
    bool heard_ = true;             // bytes from the client since the last ping tick
    bool ping_unanswered_ = false;  // a ping went out after a quiet interval
    bool deadline_armed_ = false;
    bool torn_down_ = false;

    std::mutex mutex_;
    std::deque<live_message> queue_;   // guarded by mutex_
    std::size_t queued_bytes_ = 0;     // guarded by mutex_: frame bytes in queue_ (charged to the hub)
    std::size_t writing_bytes_ = 0;    // guarded by mutex_: frame bytes of the write in flight (charged)
    std::deque<std::string> control_;  // guarded by mutex_: pongs and pings to send first
    bool busy_ = true;                 // guarded by mutex_: the strand is writing or about to
    bool live_ = false;                // guarded by mutex_: joined the hub
    bool closing_ = false;             // guarded by mutex_
    bool close_queued_ = false;        // guarded by mutex_: the close frame is written or being written
    // guarded by mutex_: the latest event that may have withdrawn access and is not yet checked
    // against; frames from access_hold_ on wait until it is; a check is posted or timed.
    eventstore::log_position access_pending_;
    std::optional<eventstore::log_position> access_hold_;
    bool access_check_posted_ = false;
    std::chrono::milliseconds access_retry_ = access_retry_first;  // on the strand
};

class live_upgrade final : public websocket_upgrade {
public:
    live_upgrade(live_hub& hub, logger& log, live_filter filter, std::optional<eventstore::log_position> from,
                 std::string request_id, live_access_check access)
        : hub_(hub),
          log_(log),
          filter_(std::move(filter)),
          from_(from),
          request_id_(std::move(request_id)),
          access_(std::move(access)) {}

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
                                                           std::move(request_id_), std::move(server_hold),
                                                           std::move(access_));
        s->start(std::move(req));
        return s;
    }

    live_hub& hub_;
    logger& log_;
    live_filter filter_;
    std::optional<eventstore::log_position> from_;
    std::string request_id_;
    live_access_check access_;
};

}  // namespace

std::shared_ptr<websocket_upgrade> make_live_upgrade(live_hub& hub, logger& log, live_filter filter,
                                                     std::optional<eventstore::log_position> from,
                                                     std::string request_id, live_access_check access) {
    return std::make_shared<live_upgrade>(hub, log, std::move(filter), from, std::move(request_id), std::move(access));
}

}  // namespace roster::api
