#include "roster/api/replica_follower.hpp"

#include <nats/nats.h>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "roster/api/nats_client.hpp"
#include "roster/api/nats_publisher.hpp"
#include "roster/api/stoppable_worker.hpp"
#include "roster/eventstore/checkpoint.hpp"

namespace roster::api {

namespace {

std::string header(natsMsg* m, const char* name) {
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, name, &v) == NATS_OK && v != nullptr) return v;
    return {};
}

std::int64_t wall_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct replica_follower::impl : stoppable_worker {
    impl(replica_follower& owner, eventstore::store& store, logger& log, replica_follower_options options,
         std::function<void(eventstore::log_position)> after_apply)
        : owner_(owner),
          store_(store),
          log_(log),
          options_(std::move(options)),
          after_apply_(std::move(after_apply)),
          origin_(store.get_meta(replica_origin_key).value_or("")) {}

    replica_follower& owner_;
    eventstore::store& store_;
    logger& log_;
    const replica_follower_options options_;
    const std::function<void(eventstore::log_position)> after_apply_;

    // Under mutex_:
    std::optional<std::string> refused_;
    std::int64_t pending_since_ns_ = 0;  // stream time of the oldest received, unapplied message; 0: none

    // Owned by the follower thread.
    std::string origin_;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    natsSubscription* sub_ = nullptr;
    natsSubscription* checkpoint_sub_ = nullptr;
    std::chrono::steady_clock::time_point checkpoint_tried_at_{};
    std::vector<std::string> batch_;
    std::size_t batch_bytes_ = 0;
    std::chrono::steady_clock::time_point last_message_at_ = std::chrono::steady_clock::now();
    std::uint64_t last_pending_ = 0;  // the stream's messages after the last one taken
    std::chrono::steady_clock::time_point info_at_{};

    void refuse(std::string why) {
        log_.error("replica_stopped", {{"stream", options_.stream}, {"reason", why}});
        std::lock_guard lock(mutex_);
        refused_ = std::move(why);
    }

    bool connect() {
        natsOptions* opts = nats_reconnecting_options(options_.servers);
        if (opts == nullptr) return false;
        const auto s = natsConnection_Connect(&nc_, opts);
        natsOptions_Destroy(opts);
        if (s != NATS_OK) {
            nc_ = nullptr;
            return false;
        }
        if (natsConnection_JetStream(&js_, nc_, nullptr) != NATS_OK) {
            disconnect();
            return false;
        }
        return true;
    }

    void unsubscribe() {
        if (sub_ != nullptr) {
            (void)natsSubscription_Unsubscribe(sub_);
            natsSubscription_Destroy(sub_);
        }
        sub_ = nullptr;
    }

    static void on_checkpoint(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
        auto* self = static_cast<impl*>(closure);
        const auto length = static_cast<std::size_t>(std::max(0, natsMsg_GetDataLength(m)));
        if (length <= eventstore::max_note_bytes) self->options_.on_checkpoint(std::string(natsMsg_GetData(m), length));
        natsMsg_Destroy(m);
    }

    // The checkpoint stream from its latest message; retried a second apart until it exists.
    void subscribe_checkpoints() {
        if (!options_.on_checkpoint || checkpoint_sub_ != nullptr ||
            std::chrono::steady_clock::now() - checkpoint_tried_at_ < std::chrono::seconds(1))
            return;
        checkpoint_tried_at_ = std::chrono::steady_clock::now();
        const auto stream = nats_checkpoint_stream(options_.stream);
        const std::string subject = "roster.checkpoints.>";
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream.c_str();
        so.Ordered = true;
        so.Config.DeliverPolicy = js_DeliverLast;
        jsErrCode ec{};
        if (const auto s =
                js_Subscribe(&checkpoint_sub_, js_, subject.c_str(), &impl::on_checkpoint, this, nullptr, &so, &ec);
            s != NATS_OK) {
            checkpoint_sub_ = nullptr;
            log_.warn("replica_checkpoints_unavailable",
                      {{"stream", stream}, {"error", nats_status_text(s)}, {"code", static_cast<int>(ec)}});
            return;
        }
        log_.info("replica_following_checkpoints", {{"stream", stream}, {"subject", subject}});
    }

    // Stops for good when a checkpoint failed verification.
    bool halted() {
        if (!options_.halted) return false;
        auto why = options_.halted();
        if (!why) return false;
        refuse(std::move(*why));
        return true;
    }

    void disconnect() {
        unsubscribe();
        if (checkpoint_sub_ != nullptr) {
            (void)natsSubscription_Unsubscribe(checkpoint_sub_);
            natsSubscription_Destroy(checkpoint_sub_);
        }
        checkpoint_sub_ = nullptr;
        if (js_ != nullptr) jsCtx_Destroy(js_);
        js_ = nullptr;
        if (nc_ != nullptr) {
            natsConnection_Close(nc_);
            natsConnection_Destroy(nc_);
        }
        nc_ = nullptr;
        owner_.connected_.store(false);
    }

    bool subscribe() {
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = options_.stream.c_str();
        so.Ordered = true;
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = store_.head().position.value + 1;
        jsErrCode ec{};
        const auto s = js_SubscribeSync(&sub_, js_, "roster.events.>", nullptr, &so, &ec);
        if (s != NATS_OK) {
            sub_ = nullptr;
            log_.warn("replica_subscribe_failed",
                      {{"stream", options_.stream}, {"error", nats_status_text(s)}, {"code", static_cast<int>(ec)}});
            return false;
        }
        (void)natsSubscription_SetPendingLimits(sub_, -1, static_cast<int>(options_.batch_bytes * 8));
        log_.info("replica_following", {{"stream", options_.stream}, {"from", so.Config.OptStartSeq}});
        return true;
    }

    // The stream's end, for the lag while no message arrives.
    void refresh_lag() {
        if (std::chrono::steady_clock::now() - info_at_ < std::chrono::milliseconds(200)) return;
        info_at_ = std::chrono::steady_clock::now();
        jsStreamInfo* si = nullptr;
        jsErrCode ec{};
        if (js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &ec) != NATS_OK) return;
        const std::uint64_t last = si->State.LastSeq;
        jsStreamInfo_Destroy(si);
        const auto head = store_.head().position.value;
        owner_.lag_events_.store(last > head ? last - head : 0);
    }

    enum class step { ok, resubscribe, refused };

    step apply() {
        if (batch_.empty()) return step::ok;
        auto r = store_.append_replicated(batch_);
        if (!r && r.error().code != eventstore::errc::storage_unavailable && batch_.size() > 1) {
            // Refused as a whole: keep every good event before the bad one, one at a time.
            for (const auto& envelope : batch_) {
                r = store_.append_replicated({envelope});
                if (!r) break;
                if (after_apply_) after_apply_(r->position);
            }
        }
        batch_.clear();
        batch_bytes_ = 0;
        if (!r) {
            if (r.error().code == eventstore::errc::storage_unavailable) {
                log_.warn("replica_apply_failed", {{"error", r.error().message}});
                return step::resubscribe;
            }
            refuse("The stream does not continue this log: " + r.error().message);
            return step::refused;
        }
        owner_.lag_events_.store(last_pending_);
        {
            std::lock_guard lock(mutex_);
            pending_since_ns_ = 0;
        }
        if (after_apply_) after_apply_(r->position);
        return step::ok;
    }

    // One message into the batch (or not); what to do next.
    step take(natsMsg* m) {
        const auto expected = store_.head().position.value + batch_.size() + 1;
        std::uint64_t position = 0;
        const auto pos_text = header(m, "Roster-Position");
        std::from_chars(pos_text.data(), pos_text.data() + pos_text.size(), position);
        const auto id = header(m, "Nats-Msg-Id");
        const auto colon = id.rfind(':');
        const std::string origin = colon == std::string::npos ? std::string() : id.substr(0, colon);
        if (position == 0 || origin.empty()) {
            refuse("Message without Roster-Position or Nats-Msg-Id in stream " + options_.stream + ".");
            return step::refused;
        }
        if (origin_.empty()) {
            if (auto r = store_.put_meta(replica_origin_key, origin); !r) {
                log_.warn("replica_apply_failed", {{"error", r.error().message}});
                return step::resubscribe;
            }
            origin_ = origin;
            log_.info("replica_origin_recorded", {{"origin", origin}});
        } else if (origin != origin_) {
            refuse("Message " + std::to_string(position) + " comes from log '" + origin + "', this replica follows '" +
                   origin_ + "'.");
            return step::refused;
        }
        // The stream sequence is the log position (the leader publishes with ExpectLastSeq).
        jsMsgMetaData* meta = nullptr;
        std::uint64_t sequence = 0;
        if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
            sequence = meta->Sequence.Stream;
            last_pending_ = meta->NumPending;
            std::lock_guard lock(mutex_);
            if (pending_since_ns_ == 0 && position >= expected) pending_since_ns_ = meta->Timestamp;
            jsMsgMetaData_Destroy(meta);
        }
        if (sequence != position) {
            refuse("Message at stream sequence " + std::to_string(sequence) + " says Roster-Position " +
                   std::to_string(position) + ": the stream does not hold the leader's log as published.");
            return step::refused;
        }
        if (position < expected) return step::ok;  // already applied (a redelivery): harmless
        if (position > expected) {
            log_.warn("replica_gap", {{"expected", expected}, {"got", position}});
            return step::resubscribe;
        }
        std::string envelope;
        try {
            auto body = boost::json::parse(
                std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))));
            if (const auto* e = body.as_object().if_contains("envelope"); e != nullptr && e->is_string()) {
                const auto& s = e->as_string();
                auto bytes = eventstore::base64_decode(std::string_view(s.data(), s.size()));
                if (bytes) envelope.assign(bytes->begin(), bytes->end());
            }
        } catch (const std::exception&) {}
        if (envelope.empty()) {
            refuse("Message " + std::to_string(position) + " has no readable envelope.");
            return step::refused;
        }
        owner_.lag_events_.store(last_pending_ + batch_.size() + 1);
        batch_bytes_ += envelope.size();
        batch_.push_back(std::move(envelope));
        return step::ok;
    }

    // Follows until the subscription needs renewing, the stream is refused or stop().
    step follow() {
        while (!stopping()) {
            if (halted()) return step::refused;
            subscribe_checkpoints();
            natsMsg* m = nullptr;
            auto s = natsSubscription_NextMsg(&m, sub_, 200);
            const bool was_connected =
                owner_.connected_.exchange(natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED);
            if (s == NATS_TIMEOUT && !was_connected && owner_.connected_.load()) {
                // Reconnected: the server may have lost the consumer (it is ephemeral); a fresh
                // one from head + 1 beats waiting for the library to notice missing heartbeats.
                return step::resubscribe;
            }
            if (s == NATS_TIMEOUT) {
                if (owner_.connected_.load()) refresh_lag();
                // The stream has more, yet nothing came for a while: the consumer may be lost
                // with a cluster node, and a fresh one is cheaper than waiting for the library.
                if (owner_.lag_events_.load() > 0 &&
                    std::chrono::steady_clock::now() - last_message_at_ > std::chrono::seconds(2)) {
                    log_.warn("replica_consumer_stalled", {{"lag", owner_.lag_events_.load()}});
                    last_message_at_ = std::chrono::steady_clock::now();
                    return step::resubscribe;
                }
                continue;
            }
            last_message_at_ = std::chrono::steady_clock::now();
            if (s != NATS_OK) {
                log_.warn("replica_subscription_lost", {{"error", nats_status_text(s)}});
                return step::resubscribe;
            }
            // Take this message and whatever else is already queued, bounded, then one append.
            auto next = take(m);
            natsMsg_Destroy(m);
            while (next == step::ok && batch_.size() < options_.batch_messages && batch_bytes_ < options_.batch_bytes) {
                int queued = 0;
                if (natsSubscription_GetPending(sub_, &queued, nullptr) != NATS_OK || queued <= 0) break;
                if (natsSubscription_NextMsg(&m, sub_, 100) != NATS_OK) break;
                next = take(m);
                natsMsg_Destroy(m);
            }
            // What came before a refused or out-of-place message is still applied.
            const auto applied = halted() ? step::refused : apply();
            if (next == step::refused) return next;
            if (applied != step::ok) return applied;
            if (next != step::ok) return next;
        }
        return step::ok;
    }

    void run() {
        while (!stopping()) {
            if (nc_ == nullptr && !connect()) {
                pause(options_.retry);
                continue;
            }
            if (!subscribe()) {
                owner_.connected_.store(natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED);
                pause(options_.retry);
                continue;
            }
            owner_.connected_.store(true);
            last_message_at_ = std::chrono::steady_clock::now();
            const auto outcome = follow();
            unsubscribe();
            batch_.clear();
            batch_bytes_ = 0;
            if (outcome == step::refused) break;
            if (outcome == step::resubscribe) pause(std::chrono::milliseconds(50));
        }
        disconnect();
    }
};

replica_follower::replica_follower(eventstore::store& store, logger& log, replica_follower_options options,
                                   std::function<void(eventstore::log_position)> after_apply)
    : impl_(std::make_unique<impl>(*this, store, log, std::move(options), std::move(after_apply))) {}

replica_follower::~replica_follower() { stop(); }

void replica_follower::start() {
    impl_->start_thread([this] { impl_->run(); });
}

void replica_follower::stop() { impl_->stop_and_join(); }

std::uint64_t replica_follower::applied() const { return impl_->store_.head().position.value; }

double replica_follower::lag_seconds() const {
    std::lock_guard lock(impl_->mutex_);
    if (impl_->pending_since_ns_ == 0) return 0;
    return std::max<double>(0, static_cast<double>(wall_now_ns() - impl_->pending_since_ns_) / 1e9);
}

std::optional<std::string> replica_follower::stopped_reason() const {
    {
        std::lock_guard lock(impl_->mutex_);
        if (impl_->refused_) return impl_->refused_;
    }
    // Before the follower thread notices (or while it cannot reach NATS).
    if (impl_->options_.halted) return impl_->options_.halted();
    return std::nullopt;
}

std::optional<std::string> replica_follower::why_not_ready() const {
    if (auto r = stopped_reason()) return "Read replica stopped following: " + *r;
    if (!connected()) return "Read replica not connected to NATS: its lag is unknown.";
    if (const auto lag = lag_events(); lag > impl_->options_.max_lag)
        return "Read replica is " + std::to_string(lag) + " events behind the stream (--follow-max-lag " +
               std::to_string(impl_->options_.max_lag) + ").";
    return std::nullopt;
}

}  // namespace roster::api
