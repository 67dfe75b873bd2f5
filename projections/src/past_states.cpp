#include "roster/projections/past_states.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace roster::projections {
namespace {

std::vector<eventstore::log_position> parse_index(std::string_view text) {
    std::vector<eventstore::log_position> out;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        if (ec == std::errc{} && end == item.data() + item.size()) out.push_back(eventstore::log_position{v});
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

}  // namespace

std::string past_states::snapshot_key(eventstore::log_position position) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "projections/snapshot/%020llu", static_cast<unsigned long long>(position.value));
    return buf;
}

past_states::past_states(const eventstore::store& store, past_states_options options)
    : store_(store), options_(options) {
    if (options_.snapshot_every == 0) options_.snapshot_every = 1;
    if (auto index = store_.get_meta(index_key)) snapshots_ = parse_index(*index);
}

std::vector<eventstore::log_position> past_states::snapshot_positions() const {
    std::lock_guard lock(mutex_);
    return snapshots_;
}

std::unique_ptr<read_model> past_states::load_snapshot(eventstore::log_position position) const {
    auto bytes = store_.get_meta(snapshot_key(position));
    if (!bytes) return nullptr;
    auto m = std::make_unique<read_model>(read_model_options{.history_index = false});
    if (!m->restore_snapshot(*bytes) || m->position() != position) return nullptr;
    return m;
}

std::unique_ptr<read_model> past_states::start_below(eventstore::log_position position) const {
    auto candidates = snapshot_positions();
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
        if (*it > position) continue;
        // An unreadable snapshot (older format, damaged) only costs a longer fold.
        if (auto m = load_snapshot(*it)) return m;
    }
    return std::make_unique<read_model>(read_model_options{.history_index = false});
}

eventstore::result<std::shared_ptr<const read_model>> past_states::at(eventstore::log_position position) {
    position = std::min(position, store_.head().position);
    {
        std::lock_guard lock(mutex_);
        for (auto it = cache_.begin(); it != cache_.end(); ++it) {
            if (it->first != position) continue;
            cache_.splice(cache_.begin(), cache_, it);
            return cache_.front().second;
        }
    }
    // Built outside the lock: two threads asking for the same new position both fold, which
    // is cheaper than making every other as-of reader wait.
    std::shared_ptr<read_model> m = start_below(position);
    if (auto r = m->catch_up(store_, position); !r) return r.error();
    std::shared_ptr<const read_model> built = std::move(m);
    std::lock_guard lock(mutex_);
    cache_.emplace_front(position, built);
    while (cache_.size() > options_.cache_entries) cache_.pop_back();
    return built;
}

eventstore::result<std::size_t> past_states::take_snapshots(
    eventstore::store& out, const std::atomic<bool>* stop,
    const std::function<void(eventstore::log_position)>& progress) {
    const auto every = options_.snapshot_every;
    // Snapshot boundaries are arithmetic over raw positions (multiples of `every`).
    const auto head = store_.head().position.value;
    auto existing = snapshot_positions();
    const std::uint64_t last = existing.empty() ? 0 : existing.back().value;
    if (last + every > head) return std::size_t{0};
    std::unique_ptr<read_model> m = last ? load_snapshot(eventstore::log_position{last}) : nullptr;
    if (!m) m = std::make_unique<read_model>(read_model_options{.history_index = false});
    std::size_t written = 0;
    for (std::uint64_t target = (m->position().value / every + 1) * every; target <= head; target += every) {
        if (stop && stop->load()) break;
        // Folding in slices lets a caller show progress and stop between them.
        while (m->position().value < target) {
            const eventstore::log_position to{std::min(target, m->position().value + 65'536)};
            if (auto r = m->catch_up(store_, to); !r) return r.error();
            if (m->position() < to)
                return eventstore::error{eventstore::errc::corrupt, "the log ended before the head", {}, 0, 0};
            if (progress) progress(m->position());
            if (stop && stop->load()) return written;
        }
        if (auto r = out.put_meta(snapshot_key(eventstore::log_position{target}), m->encode_snapshot()); !r)
            return r.error();
        std::string index;
        {
            std::lock_guard lock(mutex_);
            snapshots_.push_back(eventstore::log_position{target});
            std::sort(snapshots_.begin(), snapshots_.end());
            snapshots_.erase(std::unique(snapshots_.begin(), snapshots_.end()), snapshots_.end());
            for (auto p : snapshots_) index += (index.empty() ? "" : ",") + std::to_string(p.value);
        }
        // The index is written after the snapshot it names, so a crash in between leaves at
        // worst an unlisted snapshot, never a listed missing one.
        if (auto r = out.put_meta(index_key, index); !r) return r.error();
        ++written;
    }
    return written;
}

eventstore::result<void> past_states::add_snapshot(eventstore::store& out, eventstore::log_position position,
                                                   std::string bytes,
                                                   std::vector<std::pair<std::string, std::string>> extra) {
    std::vector<eventstore::log_position> listed;
    {
        std::lock_guard lock(mutex_);
        listed = snapshots_;
    }
    if (std::find(listed.begin(), listed.end(), position) == listed.end()) listed.push_back(position);
    std::sort(listed.begin(), listed.end());
    std::string index;
    for (auto p : listed) index += (index.empty() ? "" : ",") + std::to_string(p.value);
    extra.emplace_back(snapshot_key(position), std::move(bytes));
    extra.emplace_back(std::string(index_key), std::move(index));
    if (auto r = out.put_meta_batch(extra); !r) return r.error();
    std::lock_guard lock(mutex_);
    snapshots_.push_back(position);
    std::sort(snapshots_.begin(), snapshots_.end());
    snapshots_.erase(std::unique(snapshots_.begin(), snapshots_.end()), snapshots_.end());
    return {};
}

snapshotter::snapshotter(eventstore::store& store, past_states& past, std::function<void(std::string_view)> on_error)
    : store_(store), past_(past), on_error_(std::move(on_error)) {
    committed_ = store_.head().position.value;
    subscription_ = store_.subscribe([this](eventstore::log_position committed) {
        const auto position = committed.value;
        // Runs on the committing thread: only records the position and wakes the worker.
        const auto every = past_.snapshot_every();
        bool crossed = false;
        {
            std::lock_guard lock(mutex_);
            crossed = position / every != committed_ / every;
            committed_ = position;
        }
        if (crossed) wake_.notify_one();
    });
    thread_ = std::thread([this] { run(); });
}

snapshotter::~snapshotter() {
    subscription_.reset();
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void snapshotter::run() {
    const auto every = past_.snapshot_every();
    // The first pass catches up on a log that grew while no server ran (or before snapshots).
    while (!stop_) {
        auto r = past_.take_snapshots(store_, &stop_);
        if (!r && on_error_) on_error_(r.error().message);
        const auto done = past_.snapshot_positions();
        const std::uint64_t last = done.empty() ? 0 : done.back().value;
        std::unique_lock lock(mutex_);
        // After a failure, retry at the next boundary rather than in a busy loop.
        const auto target = r ? last + every : (committed_ / every + 1) * every;
        wake_.wait(lock, [&] { return stop_.load() || committed_ >= target; });
    }
}

}  // namespace roster::projections
