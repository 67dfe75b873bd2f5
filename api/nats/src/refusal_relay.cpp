#include "roster/api/refusal_relay.hpp"

#include <nats/nats.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/api/nats_client.hpp"
#include "roster/api/nats_publisher.hpp"
#include "roster/api/secrets.hpp"
#include "roster/api/stoppable_worker.hpp"

namespace roster::api {

namespace json = boost::json;

namespace {

using clock = std::chrono::steady_clock;

constexpr std::string_view refusal_subjects = "roster.refusals.>";
constexpr std::string_view id_prefix = "refusal:";

// Printable ASCII (spaces allowed or not), at most `max` bytes.
bool printable(std::string_view s, std::size_t max, bool spaces) {
    if (s.size() > max) return false;
    for (const char c : s)
        if (c < (spaces ? 0x20 : 0x21) || c > 0x7e) return false;
    return true;
}

bool name_like(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    for (const char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return false;
    return true;
}

bool id_or_empty(std::string_view s) { return s.empty() || domain::is_well_formed_id(s); }

std::int64_t micros(domain::timestamp t) { return t.time_since_epoch().count(); }

// Creates the refusal stream when missing (either side may be first). A work queue: a record
// acknowledged by the leader is on record and needs no keeping.
bool ensure_refusal_stream(jsCtx* js, const std::string& name, int replicas, logger& log) {
    auto* si = nats_ensure_stream(js, name, refusal_subjects.data(), replicas, log,
                                  [](jsStreamConfig& cfg) { cfg.Retention = js_WorkQueuePolicy; });
    if (si == nullptr) return false;
    jsStreamInfo_Destroy(si);
    return true;
}

// A connection that reconnects for ever and its JetStream context; false when not connected now.
bool connect_js(const std::vector<std::string>& servers, std::chrono::milliseconds wait, natsConnection** nc,
                jsCtx** js) {
    natsOptions* opts = nats_reconnecting_options(servers);
    if (opts == nullptr) return false;
    const auto s = natsConnection_Connect(nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        *nc = nullptr;
        return false;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = wait.count();
    if (natsConnection_JetStream(js, *nc, &jo) != NATS_OK) {
        natsConnection_Destroy(*nc);
        *nc = nullptr;
        *js = nullptr;
        return false;
    }
    return true;
}

void disconnect_js(natsConnection** nc, jsCtx** js) {
    if (*js != nullptr) jsCtx_Destroy(*js);
    *js = nullptr;
    if (*nc != nullptr) {
        natsConnection_Close(*nc);
        natsConnection_Destroy(*nc);
    }
    *nc = nullptr;
}

}  // namespace

std::string nats_refusal_stream(std::string_view stream) { return std::string(stream) + "_REFUSALS"; }

std::string nats_refusal_subject(std::string_view replica) { return "roster.refusals." + nats_subject_token(replica); }

bool is_refusal_message_id(std::string_view id) {
    if (!id.starts_with(id_prefix) || id.size() > 128) return false;
    const auto rest = id.substr(id_prefix.size());
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || !name_like(rest.substr(0, colon), 64)) return false;
    const auto hex = rest.substr(colon + 1);
    if (hex.size() != 32) return false;
    for (const char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

std::string encode_refusal(const domain::access_denied& r, const eventstore::event_metadata& m) {
    json::object o;
    o["subject"] = domain::principal_label(r.subject);
    o["action"] = r.action;
    o["account"] = r.account.value;
    o["code"] = r.code;
    o["target"] = r.target;
    o["status"] = r.status;
    o["count"] = r.count;
    o["first_at"] = micros(r.first_at);
    o["last_at"] = micros(r.last_at);
    o["token_id"] = m.actor.token_id;
    o["address"] = m.actor.address;
    o["request_id"] = m.request_id;
    o["correlation_id"] = m.correlation_id;
    return json::serialize(o);
}

std::optional<forwarded_refusal> decode_refusal(std::string_view body) {
    if (body.size() > 8 * 1024) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    auto text = [&](std::string_view k) -> std::optional<std::string> {
        const auto* x = o.if_contains(k);
        if (x == nullptr || !x->is_string()) return std::nullopt;
        return std::string(x->as_string());
    };
    auto number = [&](std::string_view k) -> std::optional<std::int64_t> {
        const auto* x = o.if_contains(k);
        if (x == nullptr) return std::nullopt;
        if (x->is_int64()) return x->as_int64();
        if (x->is_uint64() && x->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
            return static_cast<std::int64_t>(x->as_uint64());
        return std::nullopt;
    };
    const auto subject = text("subject"), action = text("action"), account = text("account"), code = text("code"),
               target = text("target"), token_id = text("token_id"), address = text("address"),
               request_id = text("request_id"), correlation_id = text("correlation_id");
    const auto status = number("status"), count = number("count"), first_at = number("first_at"),
               last_at = number("last_at");
    if (!subject || !action || !account || !code || !target || !token_id || !address || !request_id ||
        !correlation_id || !status || !count || !first_at || !last_at)
        return std::nullopt;
    auto who = domain::principal_from_label(*subject);
    if (!who) return std::nullopt;
    if (*status != 401 && *status != 403 && *status != 404 && *status != 429) return std::nullopt;
    if (*count < 1 || *first_at < 0 || *last_at < *first_at) return std::nullopt;
    if (!printable(*action, 200, true) || !id_or_empty(*account) || !printable(*code, 64, false) ||
        !id_or_empty(*target) || !id_or_empty(*token_id) || !printable(*address, 100, false) ||
        !printable(*request_id, 200, false) || !printable(*correlation_id, 200, false))
        return std::nullopt;
    forwarded_refusal out;
    out.record = domain::access_denied{*who,
                                       *action,
                                       domain::account_id{*account},
                                       *code,
                                       *target,
                                       static_cast<std::uint16_t>(*status),
                                       static_cast<std::uint64_t>(*count),
                                       domain::timestamp{std::chrono::microseconds{*first_at}},
                                       domain::timestamp{std::chrono::microseconds{*last_at}}};
    out.meta.actor = {domain::principal_label(*who), *token_id, *address};
    out.meta.request_id = *request_id;
    out.meta.correlation_id = *correlation_id;
    return out;
}

// ---------------------------------------------------------------------------------------------
// Replica side

struct refusal_forwarder::impl : stoppable_worker {
    impl(logger& log, refusal_forwarder_options options) : log_(log), options_(std::move(options)) {}

    struct queued {
        std::string id, body;
        std::size_t cost() const { return id.size() + body.size(); }
    };

    logger& log_;
    const refusal_forwarder_options options_;
    std::deque<queued> queue_;  // guarded by mutex_
    refusal_forwarder_stats stats_;
    natsConnection* nc_ = nullptr;  // the thread's
    jsCtx* js_ = nullptr;

    void run() {
        const auto stream = nats_refusal_stream(options_.stream);
        const auto subject = nats_refusal_subject(options_.replica);
        bool stream_ok = false, warned = false;
        for (;;) {
            queued next;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (stopping_) break;
                next = queue_.front();
            }
            if (nc_ == nullptr && !connect_js(options_.servers, options_.ack_wait, &nc_, &js_)) {
                if (!std::exchange(warned, true)) log_.warn("refusal_forwarder_unreachable", {{"stream", stream}});
                pause(options_.retry);
                continue;
            }
            if (!stream_ok && !(stream_ok = ensure_refusal_stream(js_, stream, 1, log_))) {
                pause(options_.retry);
                continue;
            }
            natsMsg* msg = nullptr;
            auto s =
                natsMsg_Create(&msg, subject.c_str(), nullptr, next.body.data(), static_cast<int>(next.body.size()));
            jsErrCode ec{};
            jsPubAck* pa = nullptr;
            if (s == NATS_OK) {
                jsPubOptions po;
                jsPubOptions_Init(&po);
                po.MsgId = next.id.c_str();  // a retry after a lost ack is dropped by the stream
                po.MaxWait = options_.ack_wait.count();
                s = js_PublishMsg(&pa, js_, msg, &po, &ec);
            }
            natsMsg_Destroy(msg);
            if (pa != nullptr) jsPubAck_Destroy(pa);
            if (s != NATS_OK) {
                {
                    std::lock_guard lock(mutex_);
                    ++stats_.errors;
                }
                if (!std::exchange(warned, true))
                    log_.warn("refusal_not_forwarded_yet",
                              {{"error", nats_status_text(s)}, {"code", static_cast<int>(ec)}});
                // The stream may have been deleted: look it up again.
                stream_ok = false;
                pause(options_.retry);
                continue;
            }
            if (std::exchange(warned, false)) log_.info("refusal_forwarder_resumed", {{"stream", stream}});
            std::lock_guard lock(mutex_);
            stats_.buffered_bytes -= std::min(stats_.buffered_bytes, queue_.front().cost());
            queue_.pop_front();
            ++stats_.forwarded;
        }
        disconnect_js(&nc_, &js_);
        std::lock_guard lock(mutex_);
        if (!queue_.empty()) log_.warn("refusals_not_forwarded", {{"records", queue_.size()}, {"reason", "stopped"}});
    }
};

refusal_forwarder::refusal_forwarder(logger& log, refusal_forwarder_options options)
    : impl_(std::make_unique<impl>(log, std::move(options))) {}

refusal_forwarder::~refusal_forwarder() { stop(); }

void refusal_forwarder::start() {
    impl_->start_thread([p = impl_.get()] { p->run(); });
}

void refusal_forwarder::stop() { impl_->stop_and_join(); }

void refusal_forwarder::forward(domain::access_denied record, eventstore::event_metadata meta) {
    auto* p = impl_.get();
    impl::queued q{std::string(id_prefix) + nats_subject_token(p->options_.replica) + ":" + random_hex(16),
                   encode_refusal(record, meta)};
    {
        std::lock_guard lock(p->mutex_);
        if (p->stats_.buffered_bytes + q.cost() > p->options_.buffer_bytes) {
            // Every refusal stays counted (roster_refusals_total); only this record is lost.
            const auto dropped = ++p->stats_.dropped;
            p->log_.warn("refusal_dropped", {{"action", record.action},
                                             {"principal", meta.actor.principal},
                                             {"buffered_bytes", p->stats_.buffered_bytes},
                                             {"dropped", dropped}});
            return;
        }
        p->stats_.buffered_bytes += q.cost();
        p->queue_.push_back(std::move(q));
    }
    p->wake_.notify_all();
}

refusal_forwarder_stats refusal_forwarder::stats() const {
    std::lock_guard lock(impl_->mutex_);
    return impl_->stats_;
}

// ---------------------------------------------------------------------------------------------
// Leader side

struct refusal_intake::impl : stoppable_worker {
    impl(eventstore::store& store, logger& log, refusal_intake_options options, submit_fn submit)
        : store_(store), log_(log), options_(std::move(options)), submit_(std::move(submit)) {}

    eventstore::store& store_;
    logger& log_;
    const refusal_intake_options options_;
    const submit_fn submit_;

    refusal_intake_stats stats_;  // guarded by mutex_

    // The intake thread's: ids committed, the oldest forgotten first (at most intake_recent_events
    // ids of at most 128 bytes each).
    std::unordered_set<std::string> seen_;
    std::deque<std::string> seen_order_;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    natsSubscription* sub_ = nullptr;

    void remember(std::string id) {
        if (!seen_.insert(id).second) return;
        seen_order_.push_back(std::move(id));
        if (seen_order_.size() > intake_recent_events) {
            seen_.erase(seen_order_.front());
            seen_order_.pop_front();
        }
    }
    void count(std::uint64_t refusal_intake_stats::*field, std::uint64_t n = 1) {
        std::lock_guard lock(mutex_);
        stats_.*field += n;
    }

    void read_back() {
        const auto head = store_.head().position.value;
        const auto from = head > intake_recent_events ? head - intake_recent_events + 1 : 1;
        auto r = store_.read_raw_from(from, intake_recent_events, [&](std::uint64_t, std::string_view raw) {
            if (raw.find(id_prefix) == std::string_view::npos) return true;  // most events: no decode
            auto e = eventstore::decode_envelope(raw);
            if (e && e->type == domain::access_denied::type_name && is_refusal_message_id(e->meta.causation_id))
                remember(e->meta.causation_id);
            return true;
        });
        if (!r) log_.warn("refusal_intake_read_back_failed", {{"error", r.error().message}});
    }

    bool subscribe() {
        const auto stream = nats_refusal_stream(options_.stream);
        if (!ensure_refusal_stream(js_, stream, options_.replicas, log_)) return false;
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream.c_str();
        so.Config.AckWait = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.ack_wait).count();
        so.Config.MaxAckPending = 1024;
        jsErrCode ec{};
        const auto s =
            js_PullSubscribe(&sub_, js_, refusal_subjects.data(), options_.durable.c_str(), nullptr, &so, &ec);
        if (s != NATS_OK) {
            sub_ = nullptr;
            log_.warn("refusal_intake_not_subscribed",
                      {{"error", nats_status_text(s)}, {"code", static_cast<int>(ec)}});
            return false;
        }
        log_.info("refusal_intake_subscribed", {{"stream", stream}, {"durable", options_.durable}});
        return true;
    }

    void unsubscribe() {
        // The consumer is durable: only this subscription goes, not the server's cursor.
        if (sub_ != nullptr) natsSubscription_Destroy(sub_);
        sub_ = nullptr;
        disconnect_js(&nc_, &js_);
    }

    // One fetched batch: records go to the writer together, each is acked after its commit.
    void handle(natsMsgList& list) {
        struct pending {
            natsMsg* msg;
            std::string id;
            std::future<bool> committed;
        };
        std::vector<pending> waiting;
        for (int i = 0; i < list.Count; ++i) {
            natsMsg* m = list.Msgs[i];
            const char* id_header = nullptr;
            std::string id;
            if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id_header) == NATS_OK && id_header != nullptr) id = id_header;
            std::optional<forwarded_refusal> r;
            if (is_refusal_message_id(id))
                r = decode_refusal(
                    std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))));
            if (!r) {
                count(&refusal_intake_stats::malformed);
                log_.warn("refusal_message_malformed",
                          {{"subject", natsMsg_GetSubject(m)}, {"bytes", natsMsg_GetDataLength(m)}});
                natsMsg_Ack(m, nullptr);
                continue;
            }
            if (seen_.contains(id)) {
                count(&refusal_intake_stats::duplicates);
                natsMsg_Ack(m, nullptr);
                continue;
            }
            // The replica that saw the refusal, on record; the message id makes a redelivery known.
            const auto replica = id.substr(id_prefix.size(), id.rfind(':') - id_prefix.size());
            r->meta.reference = "read replica " + replica;
            r->meta.causation_id = id;
            auto done = std::make_shared<std::promise<bool>>();
            waiting.push_back({m, id, done->get_future()});
            submit_(std::move(*r), [done](bool committed) { done->set_value(committed); });
        }
        for (auto& p : waiting) {
            if (!p.committed.get()) {
                // Left unacknowledged: redelivered after ack_wait.
                count(&refusal_intake_stats::failed);
                continue;
            }
            remember(p.id);
            natsMsg_Ack(p.msg, nullptr);
            count(&refusal_intake_stats::recorded);
        }
    }

    void run() {
        bool warned = false;
        while (!stopping()) {
            if (sub_ == nullptr) {
                if (nc_ == nullptr && !connect_js(options_.servers, std::chrono::milliseconds(5'000), &nc_, &js_)) {
                    if (!std::exchange(warned, true))
                        log_.warn("refusal_intake_unreachable", {{"servers", options_.servers.front()}});
                    pause(options_.retry);
                    continue;
                }
                if (!subscribe()) {
                    pause(options_.retry);
                    continue;
                }
                warned = false;
            }
            natsMsgList list{};
            jsErrCode ec{};
            const auto s = natsSubscription_Fetch(&list, sub_, 64, 500, &ec);
            if (s == NATS_OK) {
                handle(list);
                natsMsgList_Destroy(&list);
                continue;
            }
            natsMsgList_Destroy(&list);
            if (s == NATS_TIMEOUT) continue;
            if (!std::exchange(warned, true))
                log_.warn("refusal_intake_fetch_failed",
                          {{"error", nats_status_text(s)}, {"code", static_cast<int>(ec)}});
            if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED || s == NATS_INVALID_SUBSCRIPTION) {
                // The library reconnects; a consumer lost with a server is recreated on subscribe.
                if (s == NATS_INVALID_SUBSCRIPTION) unsubscribe();
            }
            pause(options_.retry);
        }
        unsubscribe();
    }
};

refusal_intake::refusal_intake(eventstore::store& store, logger& log, refusal_intake_options options, submit_fn submit)
    : impl_(std::make_unique<impl>(store, log, std::move(options), std::move(submit))) {}

refusal_intake::~refusal_intake() { stop(); }

void refusal_intake::start() {
    impl_->read_back();
    impl_->start_thread([p = impl_.get()] { p->run(); });
}

void refusal_intake::stop() { impl_->stop_and_join(); }

refusal_intake_stats refusal_intake::stats() const {
    std::lock_guard lock(impl_->mutex_);
    return impl_->stats_;
}

}  // namespace roster::api
