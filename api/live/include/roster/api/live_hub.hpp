// The live-change hub behind GET /v1/stream: follows the store's commits on its own thread and
// hands every new event, serialized once, to the subscribers whose filter it matches.
//
// Owned by rosterd main; thread-safe. The store's writer only stores a position and wakes the
// hub's thread (it never waits for a subscriber), and the hub never waits for a subscriber
// either: a subscriber that cannot take an event drops itself (see live_sink::deliver).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "roster/api/log.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::api {

// The form of a live message: Roster's event JSON, or OCSF (replay/ocsf.hpp).
enum class live_format { roster, ocsf };

// Which events a subscriber wants, and in which form. Value type.
struct live_filter {
    std::optional<std::string> account;        // only events domain::concerned names this account in
    std::vector<std::string> types;            // only these event types; empty: all
    live_format format = live_format::roster;  // ocsf: also only the types OCSF has a class for
    bool matches(const eventstore::recorded_event& e) const;
};

// Every event type name of the domain (for validating types=).
const std::vector<std::string>& event_type_names();

// One event ready for the wire: its position and its WebSocket text frame, whose payload is the
// event's JSON (the GET /v1/events shape). Server frames are unmasked, so one frame serves every
// subscriber.
struct live_message {
    eventstore::log_position position;
    std::shared_ptr<const std::string> frame;
};

// The JSON text of `e` in `format` framed as a live message (an event the format maps: see
// live_filter::matches).
live_message make_live_message(const eventstore::recorded_event& e, live_format format = live_format::roster);

// A subscriber as the hub sees it. `deliver` and `flush` run on the hub's thread with the hub's
// lock held: they must not block and must not call back into the hub. `deliver` only queues (false
// unsubscribes it); `flush` follows a batch of deliveries (the events of the commits the hub read
// at once) and starts sending them: one wake-up per batch, not per event.
class live_sink {
public:
    virtual ~live_sink() = default;
    virtual const live_filter& filter() const = 0;
    virtual bool deliver(const live_message& m) = 0;
    virtual void flush() = 0;
    // The event at `at` may have withdrawn the subscriber's right to its stream (withdraws_access),
    // whatever its filter: it holds back events from `at` on until it has checked. Same rules as
    // deliver (hub thread, hub lock held).
    virtual void access_may_have_changed(eventstore::log_position at) = 0;
};

// Whether `e` can take a principal's access away (a token revoked or rotated, a user locked,
// removed or retired, roles taken): a live subscriber checks its access again after one.
bool withdraws_access(const eventstore::recorded_event& e);

// Settings of the hub and of its WebSocket sessions.
struct live_hub_options {
    // Events waiting for one subscriber; one more and it is cut off with its last position.
    std::size_t queue_events = 10'000;
    // Bytes of frames held for one subscriber (queued or being written); a frame that would pass
    // this cuts it off like queue_events does. A count alone is no bound: events can be ~1 MB.
    // A subscriber holding nothing always takes one frame, however large.
    std::size_t queue_bytes = 4 * 1024 * 1024;
    // A catch-up read stops once it has queued this many bytes of frames (or 256 events).
    std::size_t catch_up_bytes = 1024 * 1024;
    // Bytes of frames held for all subscribers together; the subscriber whose next frame would
    // pass it is cut off like a too-slow one. Each subscriber is charged the full size of every
    // frame it holds although live frames are shared between subscribers (one allocation per
    // event), so this overestimates what is really held: conservative on purpose.
    std::size_t total_bytes = 256 * 1024 * 1024;
    // A ping after this much silence from the client; no answer within as long again closes.
    std::chrono::milliseconds ping_interval{20'000};
    // SO_SNDBUF of a subscriber's socket. Kept small so that a slow consumer shows up in the
    // bounded queue instead of in megabytes of kernel buffer per socket.
    int socket_send_buffer = 64 * 1024;
    // How long a closing subscriber may take to receive its close frame before the socket is dropped.
    std::chrono::milliseconds close_timeout{10'000};
    // The hub hands events to the sessions at most once per this interval (0: at every commit).
    // A commit after a quiet interval goes out at once; under a steady stream of commits each
    // subscriber's write then carries the interval's events together, so a thousand subscribers
    // cost a thousand writes per interval instead of a thousand per commit. An event waits at most
    // this long for it.
    std::chrono::milliseconds flush_interval{5};
};

class live_hub {
public:
    live_hub(eventstore::store& store, logger& log, live_hub_options options = {});
    ~live_hub();
    live_hub(const live_hub&) = delete;
    live_hub& operator=(const live_hub&) = delete;

    // Starts following the store from its current head.
    void start();
    // Stops the thread and forgets every subscriber (call it before the sessions' executor dies).
    void stop();

    // The last position handed to the subscribers; every event up to it is durable.
    eventstore::log_position published() const;

    // Subscribes `sink` if the caller has seen the log exactly up to `seen` and the hub has
    // published nothing after it, so that the sink gets every later event once: the switch from
    // catch-up to live without gap or duplicate. False: read the log further and try again.
    bool try_join(const std::shared_ptr<live_sink>& sink, eventstore::log_position seen);
    // Subscribes `sink` from now on and returns the position it starts after (live only): the
    // store's head, which the hub may not have published yet; nothing up to it reaches the sink.
    eventstore::log_position join_now(const std::shared_ptr<live_sink>& sink);
    void leave(const live_sink* sink);

    // Every open /v1/stream session, catching up or live (the roster_live_subscribers gauge).
    std::size_t subscriber_count() const { return sessions_.load(std::memory_order_relaxed); }
    void session_opened() { sessions_.fetch_add(1, std::memory_order_relaxed); }
    void session_closed() { sessions_.fetch_sub(1, std::memory_order_relaxed); }

    // The hub-wide byte budget (options().total_bytes). charge() takes `bytes` of it and says
    // whether it could: always when nothing is charged, so that one frame larger than the whole
    // budget still goes out. Lock-free, so a sink's deliver() may call it.
    bool charge(std::size_t bytes);
    void release(std::size_t bytes) { charged_.fetch_sub(bytes, std::memory_order_relaxed); }
    std::size_t charged_bytes() const { return charged_.load(std::memory_order_relaxed); }
    // Subscribers cut off for falling behind, since start.
    std::uint64_t dropped_total() const { return dropped_.load(std::memory_order_relaxed); }
    void count_drop() { dropped_.fetch_add(1, std::memory_order_relaxed); }

    eventstore::store& store() const { return store_; }
    const live_hub_options& options() const { return options_; }

private:
    void run();
    // With mutex_ held: flushes the sinks delivered to since the last flush.
    void flush_locked();

    eventstore::store& store_;
    logger& log_;
    const live_hub_options options_;

    // Held while fanning one event out; the store's writer never takes it.
    mutable std::mutex mutex_;
    struct subscriber {
        std::shared_ptr<live_sink> sink;
        eventstore::log_position after;  // events up to this position are not its
        bool unflushed = false;          // delivered to since the last flush
    };
    std::vector<subscriber> sinks_;       // guarded by mutex_
    eventstore::log_position published_;  // guarded by mutex_

    // What the store's writer touches: a position and a wake-up, nothing a subscriber holds.
    std::mutex wake_mutex_;
    std::condition_variable wake_;
    eventstore::log_position committed_;  // guarded by wake_mutex_: highest commit notified
    bool stopping_ = false;               // guarded by wake_mutex_
    // The hub thread's own: when it last handed events on (flush_interval).
    std::chrono::steady_clock::time_point last_flush_{};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::size_t> sessions_{0};
    std::atomic<std::size_t> charged_{0};
    eventstore::subscription subscription_;
    std::thread thread_;
};

}  // namespace roster::api
