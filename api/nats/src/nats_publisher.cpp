#include "roster/api/nats_publisher.hpp"

#include <nats/nats.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "roster/api/nats_client.hpp"
#include "roster/api/stoppable_worker.hpp"

namespace roster::api {

namespace {

using clock = std::chrono::steady_clock;

// What one message holds against the window: its body and an allowance for subject and headers.
std::size_t message_cost(std::size_t data_bytes) { return data_bytes + 512; }

enum class sync_outcome { ok, retry, refused };

}  // namespace

struct nats_publisher::impl : stoppable_worker {
    impl(nats_publisher& owner, eventstore::store& store, logger& log, nats_publisher_options options)
        : owner_(owner), store_(store), log_(log), options_(std::move(options)) {}

    nats_publisher& owner_;
    eventstore::store& store_;
    logger& log_;
    const nats_publisher_options options_;

    // mutex_ guards everything below that the store's writer, the NATS library's threads (acks,
    // connection events) and the publisher thread share. None of them blocks while holding it.
    std::uint64_t committed_ = 0;
    bool failed_ = false;  // an ack failed, or a publish was refused: rewind to the stream
    std::size_t outstanding_bytes_ = 0;
    std::size_t outstanding_messages_ = 0;
    clock::time_point progress_at_{};  // the last ack, or the first publish after none was pending
    std::optional<std::string> refused_;
    std::string first_failure_;     // the first ack error since the last rewind, for the log
    bool closed_ = false;           // the library delivered the closed callback
    bool checkpoint_lost_ = false;  // a checkpoint's publish failed, or was forgotten: send it again

    eventstore::subscription subscription_;

    // Owned by the publisher thread.
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    std::uint64_t next_ = 1;
    std::uint64_t cursor_ = 0;  // the value of the durable cursor as last read or written
    clock::time_point cursor_at_{};
    std::string checkpoint_sent_;  // the last checkpoint note published (acknowledged unless lost)
    clock::time_point checkpoint_tried_at_{};
    bool checkpoint_stream_ok_ = false;
    clock::time_point checkpoint_stream_tried_at_{};

    static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
        auto* self = static_cast<impl*>(closure);
        if (const char* v = nullptr; natsMsgHeader_Get(msg, "Roster-Tree-Size", &v) == NATS_OK && v != nullptr) {
            // A checkpoint: outside the events' window and sequence; a failure only means "send it again".
            if (pa == nullptr || pae != nullptr) {
                std::lock_guard lock(self->mutex_);
                self->checkpoint_lost_ = true;
            }
            natsMsg_Destroy(msg);
            return;
        }
        std::uint64_t position = 0;
        if (const char* v = nullptr; natsMsgHeader_Get(msg, "Roster-Position", &v) == NATS_OK && v != nullptr)
            std::from_chars(v, v + std::char_traits<char>::length(v), position);
        const auto cost = message_cost(static_cast<std::size_t>(std::max(0, natsMsg_GetDataLength(msg))));
        {
            std::lock_guard lock(self->mutex_);
            self->outstanding_bytes_ -= std::min(self->outstanding_bytes_, cost);
            if (self->outstanding_messages_ > 0) --self->outstanding_messages_;
            self->progress_at_ = clock::now();
            if (pa != nullptr && pa->Sequence == position) {
                if (position > self->owner_.acked_.load()) self->owner_.acked_.store(position);
            } else {
                // A wrong sequence cannot be stored (ExpectLastSeq); the rewind reads what was.
                if (!self->failed_)
                    self->first_failure_ =
                        pae != nullptr
                            ? std::string(pae->ErrText != nullptr ? pae->ErrText : natsStatus_GetText(pae->Err))
                            : "acknowledged as sequence " + std::to_string(pa != nullptr ? pa->Sequence : 0);
                self->failed_ = true;
            }
        }
        self->wake_.notify_all();
        natsMsg_Destroy(msg);
    }

    static void on_disconnected(natsConnection*, void* closure) {
        auto* self = static_cast<impl*>(closure);
        self->owner_.connected_.store(false);
        {
            // Acks in flight are lost with the connection: rewind once it is back.
            std::lock_guard lock(self->mutex_);
            if (self->outstanding_messages_ > 0) self->failed_ = true;
        }
        self->wake_.notify_all();
    }
    // The library's last callback for a connection: after it, none touches this object.
    static void on_closed(natsConnection*, void* closure) {
        auto* self = static_cast<impl*>(closure);
        {
            std::lock_guard lock(self->mutex_);
            self->closed_ = true;
        }
        self->wake_.notify_all();
    }
    static void on_reconnected(natsConnection*, void* closure) {
        auto* self = static_cast<impl*>(closure);
        self->owner_.connected_.store(true);
        self->wake_.notify_all();
    }

    void count_error() { owner_.errors_.fetch_add(1); }

    bool connect() {
        // The library keeps reconnecting for ever once connected; this thread rewinds after.
        natsOptions* opts = nats_reconnecting_options(options_.servers);
        if (opts == nullptr) return false;
        // What is published while disconnected waits here, bounded (a full buffer fails the publish).
        natsOptions_SetReconnectBufSize(opts, static_cast<int>(std::min<std::size_t>(options_.window_bytes, 1 << 30)));
        natsOptions_SetDisconnectedCB(opts, &impl::on_disconnected, this);
        natsOptions_SetReconnectedCB(opts, &impl::on_reconnected, this);
        natsOptions_SetClosedCB(opts, &impl::on_closed, this);
        const auto s = natsConnection_Connect(&nc_, opts);
        natsOptions_Destroy(opts);
        if (s != NATS_OK) {
            nc_ = nullptr;
            return false;
        }
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = options_.ack_wait.count();
        jo.PublishAsync.MaxPending = static_cast<int64_t>(options_.window_messages) * 2;
        jo.PublishAsync.AckHandler = &impl::on_ack;
        jo.PublishAsync.AckHandlerClosure = this;
        if (natsConnection_JetStream(&js_, nc_, &jo) != NATS_OK) {
            disconnect();
            return false;
        }
        owner_.connected_.store(true);
        log_.info("nats_connected", {{"stream", options_.stream}});
        return true;
    }

    void disconnect() {
        if (js_ != nullptr) jsCtx_Destroy(js_);
        js_ = nullptr;
        if (nc_ != nullptr) {
            {
                std::lock_guard lock(mutex_);
                closed_ = false;
            }
            natsConnection_Close(nc_);
            // Callbacks are delivered on the library's threads: wait for the last one before
            // this object may be destroyed.
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::seconds(5), [&] { return closed_; });
            lock.unlock();
            natsConnection_Destroy(nc_);
        }
        nc_ = nullptr;
        owner_.connected_.store(false);
    }

    sync_outcome refuse(std::string why) {
        log_.error("nats_publisher_stopped", {{"stream", options_.stream}, {"reason", why}});
        count_error();
        std::lock_guard lock(mutex_);
        refused_ = std::move(why);
        return sync_outcome::refused;
    }

    // Finds where the stream ends and whether it holds this log; creates it when missing.
    sync_outcome sync() {
        jsStreamInfo* si = nats_ensure_stream(js_, options_.stream, "roster.events.>", options_.replicas, log_);
        if (si == nullptr) return sync_outcome::retry;
        const std::uint64_t last = si->State.LastSeq;
        jsStreamInfo_Destroy(si);
        // While the cluster answers anyway; a failure is retried later, never holding events up.
        if (options_.latest_checkpoint && !checkpoint_stream_ok_) {
            checkpoint_stream_tried_at_ = clock::now();
            checkpoint_stream_ok_ = ensure_checkpoint_stream();
        }

        const auto head = store_.head().position.value;
        if (last < cursor_)
            return refuse("Stream " + options_.stream + " ends at " + std::to_string(last) + " but position " +
                          std::to_string(cursor_) +
                          " was acknowledged: the stream was lost or purged; recreate it with the log's history.");
        if (last > head)
            return refuse("Stream " + options_.stream + " ends at " + std::to_string(last) + ", past this log's head " +
                          std::to_string(head) + ": it holds another log.");
        if (last > 0) {
            natsMsg* m = nullptr;
            jsErrCode ec{};
            const auto s = js_GetMsg(&m, js_, options_.stream.c_str(), last, nullptr, &ec);
            if (s != NATS_OK) {
                log_.warn("nats_stream_unavailable", {{"stream", options_.stream}, {"error", nats_status_text(s)}});
                return sync_outcome::retry;
            }
            const char* theirs = nullptr;
            std::string their_hash;
            if (natsMsgHeader_Get(m, "Roster-Hash", &theirs) == NATS_OK && theirs != nullptr) their_hash = theirs;
            natsMsg_Destroy(m);
            auto ours = store_.read_at(eventstore::log_position{last});
            if (!ours || !*ours) {
                log_.warn("nats_read_failed", {{"position", last}});
                return sync_outcome::retry;
            }
            if (their_hash != eventstore::to_hex((*ours)->hash))
                return refuse("Stream " + options_.stream + " holds another log: its message " + std::to_string(last) +
                              " has Roster-Hash '" + their_hash + "', not this log's hash at that position.");
        }
        next_ = last + 1;
        owner_.acked_.store(last);
        return sync_outcome::ok;
    }

    bool ensure_checkpoint_stream() {
        auto* si = nats_ensure_stream(js_, nats_checkpoint_stream(options_.stream), "roster.checkpoints.>",
                                      options_.replicas, log_, [](jsStreamConfig& cfg) {
                                          cfg.MaxMsgs = nats_checkpoint_messages;  // the oldest go first
                                      });
        if (si == nullptr) return false;
        jsStreamInfo_Destroy(si);
        return true;
    }

    // Publishes the latest checkpoint once every event it covers is acknowledged: asynchronously,
    // like the events, so a checkpoint stream without a leader never holds the events up. A lost
    // one is sent again (at most every `retry`). Its stream is looked up (a blocking request) until
    // found or created once, then never again: at most every 10 s, so events are not held up.
    void publish_checkpoint() {
        if (!options_.latest_checkpoint || clock::now() - checkpoint_tried_at_ < options_.retry) return;
        {
            std::lock_guard lock(mutex_);
            if (std::exchange(checkpoint_lost_, false)) checkpoint_sent_.clear();
        }
        auto latest = options_.latest_checkpoint();
        if (!latest || latest->second == checkpoint_sent_ || latest->first > owner_.acked_.load()) return;
        checkpoint_tried_at_ = clock::now();
        if (!checkpoint_stream_ok_) {
            if (clock::now() - checkpoint_stream_tried_at_ < std::chrono::seconds(10)) return;
            checkpoint_stream_tried_at_ = clock::now();
            if (!(checkpoint_stream_ok_ = ensure_checkpoint_stream())) return;
        }
        const auto subject = nats_checkpoint_subject(options_.log_origin);
        natsMsg* msg = nullptr;
        auto s = natsMsg_Create(&msg, subject.c_str(), nullptr, latest->second.data(),
                                static_cast<int>(latest->second.size()));
        const auto size = std::to_string(latest->first);
        if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Roster-Tree-Size", size.c_str());
        if (s == NATS_OK) {
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MaxWait = options_.ack_wait.count();
            s = js_PublishMsgAsync(js_, &msg, &po);
        }
        natsMsg_Destroy(msg);  // a no-op once the library took it
        if (s != NATS_OK) {
            count_error();
            log_.warn("nats_checkpoint_not_published", {{"tree_size", latest->first}, {"error", nats_status_text(s)}});
            return;
        }
        checkpoint_sent_ = std::move(latest->second);
    }

    void flush_cursor(bool force) {
        const auto acked = owner_.acked_.load();
        if (acked <= cursor_) return;
        if (!force && acked - cursor_ < options_.cursor_every && clock::now() - cursor_at_ < options_.cursor_interval)
            return;
        if (auto r = store_.put_meta(nats_cursor_key(options_.stream), std::to_string(acked)); !r) {
            log_.warn("nats_cursor_not_written", {{"error", r.error().message}});
            return;
        }
        cursor_ = acked;
        cursor_at_ = clock::now();
    }

    // Waits for every pending ack (up to ack_wait while connected), then forgets those still
    // pending: a message that lands later is the right one at the right sequence or is refused.
    void drain() {
        if (js_ == nullptr) return;
        if (owner_.connected_.load()) {
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MaxWait = options_.ack_wait.count();
            js_PublishAsyncComplete(js_, &po);
        }
        natsMsgList pending{};
        if (js_PublishAsyncGetPendingList(&pending, js_) == NATS_OK) natsMsgList_Destroy(&pending);
        std::lock_guard lock(mutex_);
        outstanding_bytes_ = 0;
        outstanding_messages_ = 0;
        failed_ = false;
        checkpoint_lost_ = true;  // it may have been among those forgotten
    }

    void fail(std::string why) {
        std::lock_guard lock(mutex_);
        if (!failed_) first_failure_ = std::move(why);
        failed_ = true;
    }

    // Publishes one event; false when this pass must end (failure or stop).
    bool publish(const eventstore::recorded_event& e, std::string_view raw) {
        auto m = build_nats_message(e, raw, options_.log_origin);
        const auto cost = message_cost(m.data.size());
        {
            std::unique_lock lock(mutex_);
            for (;;) {
                if (stopping_ || failed_) return false;
                const bool room = outstanding_messages_ == 0 || (outstanding_bytes_ + cost <= options_.window_bytes &&
                                                                 outstanding_messages_ < options_.window_messages);
                if (room) break;
                if (clock::now() - progress_at_ > options_.ack_wait) {
                    failed_ = true;
                    first_failure_ = "no acknowledgement within " + std::to_string(options_.ack_wait.count()) + " ms";
                    return false;
                }
                wake_.wait_for(lock, std::chrono::milliseconds(50));
            }
            if (outstanding_messages_ == 0) progress_at_ = clock::now();
            outstanding_bytes_ += cost;
            ++outstanding_messages_;
        }
        natsMsg* msg = nullptr;
        auto s = natsMsg_Create(&msg, m.subject.c_str(), nullptr, m.data.data(), static_cast<int>(m.data.size()));
        for (std::size_t i = 1; s == NATS_OK && i < m.headers.size(); ++i)
            s = natsMsgHeader_Set(msg, m.headers[i].first.c_str(), m.headers[i].second.c_str());
        if (s == NATS_OK) {
            jsPubOptions po;
            jsPubOptions_Init(&po);
            po.MsgId = m.headers[0].second.c_str();
            po.ExpectLastSeq = e.position.value - 1;  // 0 (the first event) means "no expectation"
            po.MaxWait = options_.ack_wait.count();
            s = js_PublishMsgAsync(js_, &msg, &po);
        }
        natsMsg_Destroy(msg);  // a no-op once the library took it
        if (s != NATS_OK) {
            {
                std::lock_guard lock(mutex_);
                outstanding_bytes_ -= std::min(outstanding_bytes_, cost);
                if (outstanding_messages_ > 0) --outstanding_messages_;
            }
            fail("publish: " + nats_status_text(s));
            return false;
        }
        next_ = e.position.value + 1;
        return true;
    }

    // Publishes from next_ as the store commits, until a failure or stop.
    void publish_pass() {
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                wake_.wait_for(lock, std::chrono::milliseconds(200),
                               [&] { return stopping_ || failed_ || committed_ >= next_; });
                if (stopping_ || failed_) return;
                if (outstanding_messages_ > 0 && clock::now() - progress_at_ > options_.ack_wait) {
                    failed_ = true;
                    first_failure_ = "no acknowledgement within " + std::to_string(options_.ack_wait.count()) + " ms";
                    return;
                }
            }
            flush_cursor(false);
            publish_checkpoint();
            if (store_.head().position.value < next_) continue;
            std::size_t bytes = 0;
            bool go_on = true;
            // Commits are durable before they are notified, so everything up to the head is readable.
            auto r = store_.read_raw_from(next_, 256, [&](std::uint64_t position, std::string_view raw) {
                auto e = eventstore::decode_envelope(raw);
                if (!e) {
                    fail("cannot decode position " + std::to_string(position) + ": " + e.error().message);
                    return go_on = false;
                }
                if (!publish(*e, raw)) return go_on = false;
                bytes += raw.size();
                return bytes < options_.slice_bytes;
            });
            if (!r) {
                log_.warn("nats_read_failed", {{"from", next_}, {"error", r.error().message}});
                pause(options_.retry);
            }
            if (!go_on) return;
        }
    }

    void run() {
        if (auto v = store_.get_meta(nats_cursor_key(options_.stream))) {
            std::from_chars(v->data(), v->data() + v->size(), cursor_);
            owner_.acked_.store(cursor_);
        }
        cursor_at_ = clock::now();
        bool warned = false;
        while (!stopping()) {
            if (nc_ == nullptr && !connect()) {
                if (!warned) log_.warn("nats_unreachable", {{"servers", options_.servers.front()}});
                warned = true;
                pause(options_.retry);
                continue;
            }
            warned = false;
            const auto synced = sync();
            if (synced == sync_outcome::refused) break;
            if (synced == sync_outcome::retry) {
                count_error();
                pause(options_.retry);
                continue;
            }
            publish_pass();
            drain();
            flush_cursor(true);
            std::string why;
            {
                std::lock_guard lock(mutex_);
                why = std::exchange(first_failure_, {});
            }
            if (!why.empty() && !stopping()) {
                count_error();
                log_.warn("nats_publish_rewound", {{"error", why}, {"published", owner_.acked_.load()}});
            }
        }
        {
            // Refused: wait for stop (the operator must repair the stream and restart).
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_; });
        }
        drain();
        flush_cursor(true);
        disconnect();
    }
};

nats_publisher::nats_publisher(eventstore::store& store, logger& log, nats_publisher_options options)
    : impl_(std::make_unique<impl>(*this, store, log, std::move(options))) {}

nats_publisher::~nats_publisher() { stop(); }

void nats_publisher::start() {
    auto* p = impl_.get();
    p->subscription_ = p->store_.subscribe([p](eventstore::log_position position) {
        {
            std::lock_guard lock(p->mutex_);
            p->committed_ = std::max(p->committed_, position.value);
        }
        p->wake_.notify_all();
    });
    {
        std::lock_guard lock(p->mutex_);
        p->committed_ = std::max(p->committed_, p->store_.head().position.value);
    }
    p->start_thread([p] { p->run(); });
}

void nats_publisher::stop() {
    impl_->stop_and_join();
    impl_->subscription_.reset();
}

std::uint64_t nats_publisher::lag() const {
    const auto head = impl_->store_.head().position.value;
    const auto acked = acked_.load();
    return head > acked ? head - acked : 0;
}

std::optional<std::string> nats_publisher::why_not_ready() const {
    {
        std::lock_guard lock(impl_->mutex_);
        if (impl_->refused_) return "The NATS publisher stopped: " + *impl_->refused_;
    }
    const auto behind = lag();
    if (behind > impl_->options_.max_lag)
        return "The NATS publisher is " + std::to_string(behind) + " events behind the log" +
               (connected() ? "." : " and disconnected from NATS.");
    return std::nullopt;
}

}  // namespace roster::api
