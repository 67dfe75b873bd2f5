// As-of reads (SPEC §3): the read model as it was at a past log position, built from the
// nearest snapshot at or below it plus a fold of the events after it, with a small cache of
// recently asked positions.
//
// Snapshots are taken every `snapshot_every` positions (exactly at multiples of it) and kept
// in the store's meta space. They are written by `take_snapshots`, which the running server
// calls from its own background thread (class `snapshotter`) and `rosterctl rebuild
// --write-snapshots` calls offline; neither touches the live read model, so the writer and
// live readers never wait for a snapshot.
//
// Owned by the process wiring. Thread-safe: `at` may be called from any number of threads;
// `take_snapshots` is meant for one thread at a time (a second concurrent call only repeats
// work, it never corrupts anything).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "roster/eventstore/store.hpp"
#include "roster/projections/read_model.hpp"

namespace roster::projections {

struct past_states_options {
    std::uint64_t snapshot_every = 100'000;
    std::size_t cache_entries = 4;
};

class past_states {
public:
    // `store` must outlive this object. Reads the list of snapshots the store already holds.
    explicit past_states(const eventstore::store& store, past_states_options options = {});

    // The state after the event at `position` (0 = before the first event). The caller checks
    // position <= head; a position beyond the head yields the head state.
    eventstore::result<std::shared_ptr<const read_model>> at(eventstore::log_position position);

    // Writes every missing snapshot up to the head into `out` (the same store, opened
    // writable). `progress(position)` is called while folding. Stops early when `stop` becomes
    // true. Returns the number of snapshots written.
    eventstore::result<std::size_t> take_snapshots(eventstore::store& out, const std::atomic<bool>* stop = nullptr,
                                                   const std::function<void(eventstore::log_position)>& progress = {});

    // Stores `bytes` (read_model::encode_snapshot at `position`) as the snapshot at `position`,
    // with `extra` key/values, in one atomic write: the restart checkpoints take their snapshot
    // from the live model, and it serves as-of reads too (one copy, no second fold).
    eventstore::result<void> add_snapshot(eventstore::store& out, eventstore::log_position position, std::string bytes,
                                          std::vector<std::pair<std::string, std::string>> extra = {});

    // Positions with a snapshot, ascending.
    std::vector<eventstore::log_position> snapshot_positions() const;
    std::uint64_t snapshot_every() const noexcept { return options_.snapshot_every; }

    // The stored snapshot at `position` loaded into a fresh model (nullptr when there is none
    // or it does not decode). For tests and rosterctl rebuild's cross-check.
    std::unique_ptr<read_model> load_snapshot(eventstore::log_position position) const;

    static std::string snapshot_key(eventstore::log_position position);
    static constexpr std::string_view index_key = "projections/snapshots";

private:
    std::unique_ptr<read_model> start_below(eventstore::log_position position) const;

    const eventstore::store& store_;
    past_states_options options_;
    mutable std::mutex mutex_;
    std::vector<eventstore::log_position> snapshots_;  // ascending
    // Most recently used first.
    std::list<std::pair<eventstore::log_position, std::shared_ptr<const read_model>>> cache_;
};

// Runs past_states::take_snapshots on its own thread whenever the log has grown by
// `snapshot_every` events since the last snapshot. Owned by rosterd main; destroy it before the
// store. Construction and destruction on one thread; nothing else is public.
class snapshotter {
public:
    snapshotter(eventstore::store& store, past_states& past, std::function<void(std::string_view)> on_error = {});
    ~snapshotter();
    snapshotter(const snapshotter&) = delete;
    snapshotter& operator=(const snapshotter&) = delete;

private:
    void run();

    eventstore::store& store_;
    past_states& past_;
    std::function<void(std::string_view)> on_error_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t committed_ = 0;
    std::atomic<bool> stop_{false};
    eventstore::subscription subscription_;
    std::thread thread_;
};

}  // namespace roster::projections
