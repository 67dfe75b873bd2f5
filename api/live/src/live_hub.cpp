#include "roster/api/live_hub.hpp"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/json/serialize.hpp>

#include "roster/domain/events.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/ocsf.hpp"
#include "ws_frames.hpp"

namespace roster::api {

namespace {
// Events read before the sinks are flushed, when the hub reads many commits at once.
constexpr std::size_t flush_events = 256;
}  // namespace

bool live_filter::matches(const eventstore::recorded_event& e) const {
    if (!types.empty() && std::find(types.begin(), types.end(), e.type) == types.end()) return false;
    if (account && !domain::concerns_account(e.payload, *account)) return false;
    if (format == live_format::ocsf && !replay::ocsf_maps(e.type)) return false;
    return true;
}

// A copy of the domain's table as strings, for the types= validation and its problem body.
const std::vector<std::string>& event_type_names() {
    static const std::vector<std::string> names(domain::event_type_names.begin(), domain::event_type_names.end());
    return names;
}

bool withdraws_access(const eventstore::recorded_event& e) {
    return std::visit(
        [](const auto& event) {
            using E = std::decay_t<decltype(event)>;
            return std::is_same_v<E, domain::token_revoked> || std::is_same_v<E, domain::token_rotated> ||
                   std::is_same_v<E, domain::user_locked> || std::is_same_v<E, domain::member_removed> ||
                   std::is_same_v<E, domain::profile_retired> || std::is_same_v<E, domain::roles_revoked> ||
                   std::is_same_v<E, domain::all_roles_removed>;
        },
        e.payload);
}

live_message make_live_message(const eventstore::recorded_event& e, live_format format) {
    auto object = format == live_format::ocsf ? replay::ocsf_event(e) : replay::event_json(e);
    // matches() lets through only the types OCSF maps; an empty object would be a bug there.
    if (!object) object.emplace();
    return {e.position,
            std::make_shared<const std::string>(ws::encode_frame(ws::opcode::text, boost::json::serialize(*object)))};
}

live_hub::live_hub(eventstore::store& store, logger& log, live_hub_options options)
    : store_(store), log_(log), options_(options) {}

live_hub::~live_hub() { stop(); }

void live_hub::start() {
    // Subscribed before the head is read, so no commit falls between the two.
    subscription_ = store_.subscribe([this](eventstore::log_position position) {
        {
            std::lock_guard lock(wake_mutex_);
            committed_ = std::max(committed_, position);
        }
        wake_.notify_one();
    });
    const auto head = store_.head().position;
    {
        std::lock_guard lock(mutex_);
        published_ = head;
    }
    {
        std::lock_guard lock(wake_mutex_);
        committed_ = std::max(committed_, head);
    }
    thread_ = std::thread([this] { run(); });
}

void live_hub::stop() {
    {
        std::lock_guard lock(wake_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    subscription_.reset();
    std::lock_guard lock(mutex_);
    sinks_.clear();
}

eventstore::log_position live_hub::published() const {
    std::lock_guard lock(mutex_);
    return published_;
}

bool live_hub::try_join(const std::shared_ptr<live_sink>& sink, eventstore::log_position seen) {
    std::lock_guard lock(mutex_);
    if (seen != published_) return false;
    sinks_.push_back({sink, seen});
    return true;
}

eventstore::log_position live_hub::join_now(const std::shared_ptr<live_sink>& sink) {
    std::lock_guard lock(mutex_);
    // The hub trails the store by a moment; events committed before this call are not "from now on".
    const auto after = std::max(published_, store_.head().position);
    sinks_.push_back({sink, after});
    return after;
}

void live_hub::leave(const live_sink* sink) {
    std::lock_guard lock(mutex_);
    std::erase_if(sinks_, [sink](const subscriber& s) { return s.sink.get() == sink; });
}

bool live_hub::charge(std::size_t bytes) {
    auto held = charged_.load(std::memory_order_relaxed);
    do {
        if (held != 0 && bytes > options_.total_bytes - std::min(held, options_.total_bytes)) return false;
    } while (!charged_.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
    return true;
}

void live_hub::flush_locked() {
    for (auto& s : sinks_)
        if (s.unflushed) {
            s.unflushed = false;
            s.sink->flush();
        }
}

// Only this thread writes published_, so it reads it without the lock.
void live_hub::run() {
    for (;;) {
        eventstore::log_position target;
        {
            std::unique_lock lock(wake_mutex_);
            wake_.wait(lock, [&] { return stopping_ || committed_ > published_; });
            // Commits keep coming: let those of one interval go out together.
            if (options_.flush_interval.count() > 0)
                wake_.wait_until(lock, last_flush_ + options_.flush_interval, [&] { return stopping_; });
            if (stopping_) return;
            target = committed_;
        }
        // Commits are durable before they are notified, so everything up to `target` is readable.
        const auto from = published_.next();
        std::size_t unflushed = 0;
        auto r = store_.read_from(
            from, static_cast<std::size_t>(target.value - from.value + 1), [&](const eventstore::recorded_event& e) {
                // Serialized once per form, for the first subscriber that wants it.
                std::optional<live_message> roster_message, ocsf_message;
                std::lock_guard lock(mutex_);
                if (withdraws_access(e))
                    for (auto& s : sinks_) s.sink->access_may_have_changed(e.position);
                std::size_t kept = 0;
                for (std::size_t i = 0; i < sinks_.size(); ++i) {
                    auto& s = sinks_[i];
                    const auto& filter = s.sink->filter();
                    if (e.position > s.after && filter.matches(e)) {
                        auto& message = filter.format == live_format::ocsf ? ocsf_message : roster_message;
                        if (!message) message = make_live_message(e, filter.format);
                        s.unflushed = true;
                        if (!s.sink->deliver(*message)) continue;  // cut off: it leaves the hub
                    }
                    if (kept != i) sinks_[kept] = std::move(s);
                    ++kept;
                }
                sinks_.erase(sinks_.begin() + static_cast<std::ptrdiff_t>(kept), sinks_.end());
                published_ = e.position;
                // A long read (a burst of commits) is handed on in slices, so that the sessions
                // write while the hub reads instead of their queues filling up.
                if (++unflushed == flush_events) {
                    flush_locked();
                    unflushed = 0;
                }
                return true;
            });
        {
            std::lock_guard lock(mutex_);
            flush_locked();
        }
        last_flush_ = std::chrono::steady_clock::now();
        if (!r) {
            // Nothing was skipped: the next wake-up (or this retry) reads from the same position.
            log_.error("live_read_failed", {{"from", from.value}, {"error", r.error().message}});
            std::unique_lock lock(wake_mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
        }
    }
}

}  // namespace roster::api
