// The read side of Roster: every projection of SPEC §3, folded from committed events only.
//   - domain::state (profile view, contacts and their health, watchlist and recipients, access
//     decisions, email index, invitations, tokens) answered through roster::domain queries;
//   - the user directory (search, filters, cursor pagination);
//   - stream versions (the ETags of accounts and users) and the log head it reflects.
//
// Owned by the process wiring (rosterd main). Thread-safe: one committer thread calls `apply`
// in log order (exclusive lock); any number of readers run `read` concurrently (shared lock).
// A reader therefore sees a state that is exactly the log up to `position()`: never a
// half-applied command, because the committer applies a whole commit under one lock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "roster/domain/state.hpp"
#include "roster/eventstore/store.hpp"
#include "roster/projections/directory.hpp"
#include "roster/projections/history_index.hpp"

namespace roster::projections {

// One entry per stream (a million users: a million entries), so a flat table: no node, no
// bucket array, no allocation per stream.
using stream_versions = boost::unordered_flat_map<std::string, std::uint64_t>;

// What a query sees: const references valid only inside `read_model::read`.
struct read_view {
    const domain::state& state;
    const projections::directory& directory;
    eventstore::log_position position;
    domain::timestamp recorded_at;
    // 0 = the stream does not exist. Untyped: callers ask version_of(id).
    domain::stream_version stream_version(std::string_view stream) const;
    domain::account_version version_of(const domain::account_id& a) const { return domain::version_of(*this, a); }
    domain::user_version version_of(const domain::user_id& u) const { return domain::version_of(*this, u); }

    const stream_versions& versions;
    // Only the live read model keeps the history index (past states built for as-of do not).
    const history_index* history = nullptr;
};

struct read_model_options {
    bool history_index = true;
    // catch_up from position 0 over at least this many events files the directory once at the end
    // (see catch_up); below it, filing at the end would cost about what filing each event does.
    std::uint64_t deferred_fold_at_least = 16'384;
};

class read_model {
public:
    read_model() = default;
    explicit read_model(read_model_options options);
    read_model(const read_model&) = delete;
    read_model& operator=(const read_model&) = delete;

    // Folds committed events (a whole commit at once, in log order). Events at or below the
    // current position are skipped, so replaying an overlap is harmless; a gap is a bug in the
    // caller and is reported as false with nothing applied.
    bool apply(std::span<const eventstore::recorded_event> events);
    bool apply(const eventstore::recorded_event& e) { return apply(std::span(&e, 1)); }

    // Folds the log from the current position + 1 up to `to` (inclusive) from the store.
    // In chunks, between which readers see each chunk's position; but a model that has folded
    // nothing yet (a start-up without checkpoint, a rebuild, a past state without snapshot) folds
    // a long log under one lock, its readers waiting for the end, and files the directory once.
    eventstore::result<void> catch_up(const eventstore::store& store,
                                      eventstore::log_position to = eventstore::log_position::max());

    template <class F>
    decltype(auto) read(F&& f) const {
        std::shared_lock lock(mutex_);
        return f(read_view{state_, directory_, position_, recorded_at_, versions_, history_.get()});
    }

    eventstore::log_position position() const;

    // A canonical text dump of everything the projections hold, used to prove that a rebuild
    // from position 0 equals the incrementally maintained state.
    std::string fingerprint() const;

    // Snapshots for as-of queries (projections/src/snapshot.cpp): the whole state at
    // `position()` as bytes (domain state, the directory's extra facts, stream versions).
    std::string encode_snapshot() const;
    // Loads a snapshot into a model that has folded nothing yet; false (model unchanged) for
    // bytes that are not a snapshot of this format version or when the model is not empty.
    bool restore_snapshot(std::string_view bytes);

    // A restart checkpoint's part (projections/restart_checkpoint.hpp): the snapshot and the
    // history index's new segment, taken under one lock so both are at `position`.
    struct checkpoint_parts {
        eventstore::log_position position;
        std::string snapshot;
        bool indexed = false;  // false when this model keeps no history index
        std::vector<std::pair<std::string, std::string>> history_segment;  // meta key/values
        persisted_history history;  // what is persisted once the segment is written
    };
    checkpoint_parts encode_checkpoint() const;
    // After the parts are written: the history index drops from memory what the segment holds.
    // Const: it moves where the index lives, not what any query answers.
    void history_persisted(const eventstore::store& store, eventstore::log_position end) const;
    // restore_snapshot, and the history index attached to its persisted segments (a model built
    // without one ignores them). False (model unchanged) when the snapshot does not decode.
    bool restore_checkpoint(std::string_view snapshot, persisted_history history);

private:
    std::string encode_snapshot_locked() const;

    void apply_locked(const eventstore::recorded_event& e);
    // catch_up's long fold of a model at position 0; nullopt when that is not the case.
    std::optional<eventstore::result<void>> fold_from_nothing(const eventstore::store& store,
                                                              eventstore::log_position to);
    // With the lock held: folds up to `chunk` events after position_ that `read` (read_from or
    // read_bulk_from) reads, none past `to`; how many, or errc::corrupt at a gap.
    using read_function = eventstore::result<void> (eventstore::store::*)(eventstore::log_position, std::size_t,
                                                                          const eventstore::event_callback&) const;
    eventstore::result<std::size_t> fold_chunk(const eventstore::store& store, read_function read, std::size_t chunk,
                                               eventstore::log_position to);

    mutable std::shared_mutex mutex_;
    domain::state state_;
    projections::directory directory_;
    stream_versions versions_;
    eventstore::log_position position_;
    domain::timestamp recorded_at_{};
    std::unique_ptr<history_index> history_ = std::make_unique<history_index>();
    bool indexed_ = true;  // read_model_options::history_index
    std::uint64_t deferred_fold_at_least_ = read_model_options{}.deferred_fold_at_least;
};

}  // namespace roster::projections
