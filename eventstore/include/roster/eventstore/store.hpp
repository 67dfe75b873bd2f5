// The append-only, hash-chained event log of Roster on RocksDB (layout: eventstore/README.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "roster/domain/events.hpp"
#include "roster/domain/positions.hpp"
#include "roster/domain/types.hpp"
#include "roster/eventstore/errors.hpp"
#include "roster/eventstore/write_faults.hpp"

namespace roster::eventstore {

using domain::log_position;
using domain::stream_version;
using domain::timestamp;
using hash256 = std::array<std::uint8_t, 32>;

struct actor_info {
    std::string principal, token_id, address;
    bool operator==(const actor_info&) const = default;
};

struct event_metadata {
    actor_info actor;
    std::string request_id, correlation_id, causation_id, reason;
    std::string reference{};                   // e.g. a change ticket (domain::valid_reference)
    std::vector<domain::user_label> labels{};  // domain::labels_of at decide time; empty in older events
    std::string traceparent{};                 // the request's W3C traceparent, well-formed or empty
    bool operator==(const event_metadata&) const = default;
};

// One event to append. Its stream is domain::stream_of(payload), its type domain::type_name(payload).
struct new_event {
    domain::event payload;
    // The stream version the caller numbered this event with (nullopt: the caller did not).
    // Not a client precondition (If-Match is the writer's, see api/core write_rules): the writer
    // renders answers and folds its read model with its own numbering before the store assigns
    // the real one, so a disagreement is a defect. The store then refuses the batch with
    // version_conflict and writes nothing of it, instead of making a divergent answer durable.
    std::optional<stream_version> version;
    event_metadata meta;
};

// The unit of atomicity: every event of a batch is appended, or none.
struct append_batch {
    std::vector<new_event> events;
    // Empty = none. Otherwise the record {positions, recorded_at, fingerprint, outcome} is written
    // under this key in the same WriteBatch as the events, for find_idempotency. The store does
    // not judge keys: the single writer answers retries before deciding (api/core write_rules)
    // and never submits a key twice; a second record under a key would replace the first.
    std::string idempotency_key;
    std::string fingerprint;  // the caller's hash of the request
    std::string outcome;      // opaque bytes handed back on a retry (e.g. the HTTP response)
};

struct append_result {
    log_position first_position;
    log_position last_position;
    timestamp recorded_at{};
};

// What an idempotency key committed: the original positions and the caller's fingerprint and outcome.
struct idempotency_record {
    log_position first_position;
    log_position last_position;
    timestamp recorded_at{};
    std::string fingerprint;
    std::string outcome;
};

struct recorded_event {
    log_position position;
    std::string stream;
    stream_version version;
    std::string type;
    timestamp recorded_at{};
    event_metadata meta;
    domain::event payload;
    hash256 prev_hash{};
    hash256 hash{};
    std::uint16_t schema_version = 0;
};

struct head_info {
    log_position position;  // 0 = empty log
    hash256 hash{};         // all zero for an empty log
    timestamp recorded_at{};
};

struct verify_report {
    bool ok = true;
    std::uint64_t checked = 0;
    std::optional<log_position> first_bad_position;
    std::string message;
};

enum class commit_mode {
    // One writer thread drains the queue of all callers into one synced WriteBatch.
    writer_thread,
    // Each caller commits its own batch under the commit lock (one fsync per append).
    inline_per_call,
};

struct store_options {
    bool sync = true;        // WriteOptions.sync: fsync before acknowledging
    bool read_only = false;  // rocksdb::DB::OpenForReadOnly: a snapshot as of open, no lock taken
    bool create_if_missing = true;
    commit_mode mode = commit_mode::writer_thread;
    // Upper bound of batches merged into one WriteBatch by the writer thread.
    std::size_t max_group_batches = 1024;
    // Tests only: when set, the store's WAL appends and its log reads consult it and fail as a
    // failing disk would (write_faults.hpp). Null in production: RocksDB then uses its default
    // file system directly and no read looks at it.
    std::shared_ptr<write_faults> faults = nullptr;
};

// A fixed-bucket histogram as counted: counts[i] observations fell in (bounds[i-1], bounds[i]]
// and counts.back() above the last bound (not cumulative).
struct histogram_snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> counts;  // upper_bounds.size() + 1
    double sum = 0;
    std::uint64_t count = 0;
};

// What the store did since it was opened, for metrics. Counters are read one by one with relaxed
// loads, so a snapshot taken during a commit may be off by that commit; never by more.
struct store_stats {
    std::uint64_t commits = 0;         // successful synced WriteBatches (commit groups)
    std::uint64_t batches = 0;         // append batches in them (one per command)
    std::uint64_t events = 0;          // events appended
    std::uint64_t write_failures = 0;  // WriteBatches that failed (every batch of the group got an error)
    histogram_snapshot group_batches;  // batches per successful commit group
    histogram_snapshot write_seconds;  // duration of the synced write (WAL append + fsync), failed ones too
    log_position head_position;
    std::uint64_t size_bytes = 0;  // every file in the store directory (SSTs, WAL, manifest)
};

// RAII handle of a commit listener: destroying it (or reset()) unsubscribes; after that the
// callback is never called again. May outlive the store. Not thread-safe itself.
class subscription {
public:
    subscription() = default;
    subscription(subscription&&) noexcept = default;
    subscription& operator=(subscription&&) noexcept;
    ~subscription();
    void reset();
    explicit operator bool() const noexcept { return static_cast<bool>(registry_); }

    struct registry;  // implementation detail

private:
    friend class store;
    subscription(std::shared_ptr<registry> r, std::uint64_t id) : registry_(std::move(r)), id_(id) {}
    std::shared_ptr<registry> registry_;
    std::uint64_t id_ = 0;
};

// Return false to stop. The event is only valid during the call (the reader reuses it); copy
// what you keep. Runs on the calling thread, outside every store lock.
using event_callback = std::function<bool(const recorded_event&)>;

// Owned by whoever wires the process (rosterd/rosterctl main), shared by reference.
// Thread-safe: every member may be called concurrently. Appends are serialized through one
// commit path; reads run in parallel with them and see only committed events.
class store {
public:
    static result<std::unique_ptr<store>> open(const std::filesystem::path& dir, store_options options = {});
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    // Blocks until the batch is durable (or refused). Group-committed with concurrent callers.
    // Positions are dense and each stream's versions contiguous whoever appends concurrently.
    result<append_result> append(append_batch batch);
    // Every batch that can be stored goes into one synced WriteBatch; the results are in order.
    // A batch is refused alone (nothing of it written) only when it cannot be stored as given:
    // empty, an invalid stream id, an unencodable event, or a `version` other than the one the
    // store assigns. A storage failure fails every batch of the group with storage_unavailable
    // and leaves nothing written and the head unchanged.
    std::vector<result<append_result>> append_group(std::vector<append_batch> batches);

    // A read replica's only write path: stored envelope bytes (as read_raw_from yields them on
    // the leader) of positions head+1, head+2, ... in order. Each must decode, carry the next
    // position and its stream's next version, chain onto the previous hash, and hash to what it
    // says; then all of them go into one synced WriteBatch with exactly the keys append writes
    // (log, stream index, head), so the replica's log is byte-identical to the leader's.
    // Subscribers are notified as after a commit. Refused (corrupt or version_conflict, nothing
    // written) on any mismatch; an empty vector is a no-op returning the head.
    result<head_info> append_replicated(const std::vector<std::string>& envelopes);

    head_info head() const;
    // 0 = the stream does not exist.
    domain::stream_version stream_version(std::string_view stream) const;

    // Events with position >= from_position in log order, at most `limit`.
    result<void> read_from(log_position from_position, std::size_t limit, const event_callback& cb) const;
    // read_from for long reads (rebuilds, exports): the same events, callbacks and result, but a
    // second thread reads and decodes ahead of `cb` (which still runs on the calling thread), at
    // most a few chunks of 256 events or 256 KiB ahead. The thread costs tens of microseconds:
    // worth it for thousands of events, not for a page.
    result<void> read_bulk_from(log_position from_position, std::size_t limit, const event_callback& cb) const;
    // Events of `stream` with version >= from_version in version order, at most `limit`.
    result<void> read_stream(std::string_view stream, domain::stream_version from_version, std::size_t limit,
                             const event_callback& cb) const;
    // The stored envelope bytes (hash fields included) of positions >= from_position in log order,
    // at most `limit`, without decoding them: the leaf data of the log's Merkle tree. The view is
    // valid only during the call. Return false to stop. corrupt when a key is not a position.
    result<void> read_raw_from(std::uint64_t from_position, std::size_t limit,
                               const std::function<bool(std::uint64_t, std::string_view)>& fn) const;
    // One event, or nullopt when the position is not in the log.
    result<std::optional<recorded_event>> read_at(log_position position) const;

    // The last position whose recorded_at <= t (nullopt: none). Binary search over the log.
    std::optional<log_position> position_at(timestamp t) const;

    // Recomputes the hash chain over [from, to] (clamped to the head) and reports the first
    // broken position: modified value, missing position, reordering, bad prev_hash, or a log
    // shorter than the recorded head.
    verify_report verify(log_position from = log_position{1}, log_position to = log_position::max()) const;

    // `on_commit(last_committed_position)` runs after every durable commit, on the committing
    // thread: it must not block and must not append or unsubscribe itself.
    subscription subscribe(std::function<void(log_position)> on_commit);

    // The committed record of an idempotency key (nullopt: never used), so the writer can answer
    // a retry before deciding it again.
    result<std::optional<idempotency_record>> find_idempotency(std::string_view key) const;

    // Generic durable key/values for later users (projection snapshots, ...). Keys are
    // namespaced apart from the store's own metadata.
    result<void> put_meta(std::string_view key, std::string_view value);
    // Several key/values in one atomic write (one fsync when synced): all or none are stored.
    result<void> put_meta_batch(const std::vector<std::pair<std::string, std::string>>& entries);
    std::optional<std::string> get_meta(std::string_view key) const;
    result<void> delete_meta(std::string_view key);
    // Meta keys starting with `prefix`, in byte order, with their values (views valid only during
    // the call; return false to stop). Lets a user keep one key per item instead of rewriting a list.
    result<void> scan_meta(std::string_view prefix,
                           const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

    // An online consistent copy of the whole store into `dir` (must not exist), e.g. for backups.
    result<void> checkpoint(const std::filesystem::path& dir) const;

    // Counters since open plus the current size on disk (a walk of one flat directory: a few
    // dozen files, fine for a scrape every few seconds; never called on the commit path).
    store_stats stats() const;

    bool read_only() const noexcept;

    struct impl;

private:
    explicit store(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

// Where the store lives inside a server data directory (`<data_dir>/eventstore`). rosterd and
// rosterctl both use it so that `--data-dir` means the same directory for both.
std::filesystem::path store_dir(const std::filesystem::path& data_dir);

// Chain arithmetic, exposed so other tools can check exported events independently.
// hash(n) = SHA-256(prev_hash(n) || canonical envelope bytes of n with the hash field = 32 zero bytes).
std::string to_hex(const hash256& h);

// Decodes stored envelope bytes (what read_raw_from yields, e.g. an evidence pack's
// events/<p>.bin) without a store: corrupt when they are not an Envelope.
result<recorded_event> decode_envelope(std::string_view bytes);

}  // namespace roster::eventstore
