// The Merkle tree over the event log and its signed checkpoints (issue 13, item 6), kept off the
// command path: a checkpointer trails the store head on its own thread, appends the leaf hash of
// every event (leaf i = the stored envelope bytes of position i + 1), persists the tree in the
// store's meta key/values and signs a C2SP checkpoint every `every` events or `interval` (when the
// tree grew) and at stop.
//
// Persisted layout (store meta keys), chosen so the tree costs one synced write per catch-up
// slice (at most 4096 events, 16 blocks) rather than two per event:
//   merkle/block/<b>        the 256 leaf hashes of leaves [256 b, 256 b + 256), once complete;
//                           subtrees below level 8 are folded from them on demand (≤ 255 hashes)
//   merkle/node/<l>/<i>     each complete subtree of level l ≥ 8 (one per 256 leaves on average)
//   merkle/size             the tree size all of the above covers (a multiple of 256)
// The blocks a slice completed, their nodes and the new size go in one atomic write
// (store::put_meta_batch), before any checkpoint covering them is signed: a resume never sees a
// size without its blocks, and a proof never asks for a node that is not stored.
//   checkpoint/latest       the latest signed checkpoint note
// Leaves past merkle/size are rehashed from the log (resume after kill -9, and proofs that end
// in an incomplete block read at most 255 envelopes).
//
// A read replica (issue 17) runs the same tree over its copy of the log in verifying mode: it
// signs nothing; the leader's checkpoints are offered to it, and each one whose signature opens
// with the leader's key and whose root equals the replica's own at that size becomes the one it
// serves (persisted as replica/verified_checkpoint and replica/verified_key).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/merkle.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::api {

inline constexpr unsigned merkle_block_bits = 8;  // 256 leaves per persisted block

// The subtrees of the log's tree read from what a checkpointer persisted, and from the log for
// leaves it has not persisted yet. Thread-safe as the store; one instance per proof (it caches the
// last block it read).
class stored_subtrees final : public eventstore::subtree_source {
public:
    explicit stored_subtrees(const eventstore::store& store) : store_(store) {}
    eventstore::result<eventstore::hash256> subtree(unsigned level, std::uint64_t index) override;

    // The leaf hashes of block b: persisted, or rehashed from the log (fewer than 256 at the head).
    eventstore::result<std::vector<eventstore::hash256>> block(std::uint64_t b);

private:
    const eventstore::store& store_;
    std::optional<std::uint64_t> cached_block_;
    std::vector<eventstore::hash256> cached_;
};

struct checkpointer_options {
    std::string origin = "roster.local/log";
    std::uint64_t every = 1000;                  // sign after this many new events
    std::chrono::milliseconds interval{10'000};  // or after this long, when the tree grew
};

// The latest signed checkpoint: the note as served and its parsed body.
struct signed_checkpoint {
    std::string note;
    eventstore::checkpoint body;
};

// What a verifying (read replica) checkpointer needs from its caller.
struct checkpoint_verification {
    // The keys the leader's checkpoint of `size` leaves may be signed with: the current one first,
    // then any still accepted while a rotation hands over (its old key, until a checkpoint signed
    // with the new one was verified). Empty: no key is known (the checkpoint stays unverified). An
    // error: the log could not be read now (retried).
    std::function<eventstore::result<std::vector<eventstore::verifier_key>>(std::uint64_t size)> keys_for;
};

// What a verifying checkpointer has seen, for metrics and readiness.
struct verification_status {
    std::uint64_t verified_size = 0;               // of the checkpoint served
    std::uint64_t offered = 0;                     // leader checkpoints received
    std::uint64_t unverified = 0;                  // received but no key known to open them
    std::uint64_t pending = 0;                     // waiting for the log to reach their size
    std::optional<std::string> refused;            // a bad signature or another root: verification stopped
    std::optional<std::string> unverified_reason;  // why the latest could not be checked (none since)
};

inline constexpr std::string_view verified_checkpoint_key = "replica/verified_checkpoint";
inline constexpr std::string_view verified_key_key = "replica/verified_key";

class checkpointer {
public:
    // `key` signs; its name must be options.origin (the C2SP convention the witness relies on).
    checkpointer(eventstore::store& store, eventstore::signing_key key, checkpointer_options options,
                 std::function<void(std::string_view)> on_error = {});
    // Verifying mode (a read replica): signs nothing; offer() brings the leader's checkpoints.
    checkpointer(eventstore::store& store, checkpoint_verification verification, checkpointer_options options,
                 std::function<void(std::string_view)> on_error = {});
    ~checkpointer();
    checkpointer(const checkpointer&) = delete;
    checkpointer& operator=(const checkpointer&) = delete;

    // Resumes the tree from what is persisted (from 0 when nothing is, or it does not hold up)
    // and starts the thread, which first catches up with the head.
    eventstore::result<void> start();
    // Catches up with the head, signs a last checkpoint when the tree grew, joins. Idempotent.
    void stop();

    std::optional<signed_checkpoint> latest() const;
    // A checkpoint of at least `size` leaves: the latest when it covers them, otherwise wakes the
    // thread to catch up and sign now, and waits up to `timeout` for it (an evidence pack proves
    // against the head as of its request, not against one up to `every` events old). nullopt
    // when none came in time (a failing store, stopping) or `size` is 0 and nothing was signed.
    std::optional<signed_checkpoint> sign_through(std::uint64_t size, std::chrono::milliseconds timeout);
    // The key signing now (null in verifying mode). Shared: a rotation may replace it while the
    // caller still holds it.
    std::shared_ptr<const eventstore::signing_key> key() const;
    // The key latest() opens with: the signing key's, or in verifying mode the leader's key that
    // verified it (nullopt before the first).
    std::optional<eventstore::verifier_key> verifier() const;
    // Verifying mode: a leader checkpoint note, verified on the checkpointer's thread once the
    // tree reaches its size. At most max_offered_bytes wait; beyond, the oldest are dropped.
    void offer(std::string note);
    verification_status verification() const;
    static constexpr std::size_t max_offered_bytes = 256 * 1024;
    // Signs with `next` from now on (its name must be options.origin) and signs a checkpoint with
    // it at once, even when the tree did not grow; waits for that checkpoint up to `wait`. The
    // caller has made the rotation durable first (the log is the truth; see reconcile_signing_key).
    // False when the checkpoint was not signed in time (it still is, later).
    bool rotate_to(eventstore::signing_key next, std::chrono::milliseconds wait = std::chrono::seconds(10));
    // Leaves appended so far (may be ahead of the latest checkpoint).
    std::uint64_t tree_size() const noexcept { return size_.load(); }

private:
    void run();
    // Appends leaves up to the head (at most `max_leaves`); false on a read/persist failure.
    bool catch_up(std::size_t max_leaves);
    // Stages the block just completed (and its upper nodes) for the next flush; no write.
    void stage_block();
    // Writes what is staged and the new merkle/size in one write; kept for a retry on failure.
    bool flush_staged();
    void sign_now();
    // Verifying mode: checks the offered checkpoints the tree has reached.
    void verify_offered();
    void report(std::string_view message);

    eventstore::store& store_;
    std::shared_ptr<const eventstore::signing_key> key_;  // guarded by mutex_
    checkpointer_options options_;
    std::function<void(std::string_view)> on_error_;

    // Owned by the thread (start() before it runs).
    eventstore::merkle_appender tree_;
    std::vector<eventstore::hash256> block_;       // leaf hashes of the incomplete block
    std::vector<eventstore::subtree_node> upper_;  // completed level >= 8 subtrees not yet staged
    // Complete blocks and nodes not yet written (at most one slice: 16 blocks, ~130 KiB), and the
    // tree size they bring merkle/size to.
    std::vector<std::pair<std::string, std::string>> staged_;
    std::uint64_t staged_size_ = 0;
    std::uint64_t signed_size_ = 0;
    std::chrono::steady_clock::time_point signed_at_{};

    std::atomic<std::uint64_t> size_{0};
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t committed_ = 0;
    bool stop_ = false;
    bool sign_soon_ = false;  // sign at the next pass even if the tree did not grow (a new key)
    std::condition_variable signed_;
    std::optional<signed_checkpoint> latest_;
    std::uint64_t sign_wanted_ = 0;  // sign_through's request: sign once the tree holds this many
    eventstore::subscription subscription_;
    std::thread thread_;

    // Verifying mode (guarded by mutex_, but for verification_ which is set before start).
    std::optional<checkpoint_verification> verification_;
    std::optional<eventstore::verifier_key> verified_key_;
    std::deque<std::string> offered_;
    std::size_t offered_bytes_ = 0;
    bool offer_new_ = false;
    verification_status status_;
};

// Loads the signing key at `path`, or creates it (mode 0600, never replacing a file) when there
// is none. `created` tells which.
struct loaded_key {
    eventstore::signing_key key;
    bool created = false;
};
eventstore::result<loaded_key> load_or_create_signing_key(const std::filesystem::path& path, const std::string& name);

// ---- rotation (issue 13, item 6) ---------------------------------------------------------------
// The key files of a rotation, beside the key at `path`: the new key waits at
// `<path>.next-<hex key id>` until its rotation event is durable; then the old key moves to
// `<path>.retired-<hex key id>` and the new one to `path` (renames fsynced with the directory).
std::filesystem::path next_key_path(const std::filesystem::path& path, std::uint32_t key_id);
std::filesystem::path retired_key_path(const std::filesystem::path& path, std::uint32_t key_id);

// Moves the key at `path` (if any, and not `key_id` already) to its retired name, then the next
// key `key_id` to `path`. Each step leaves a state reconcile_signing_key finishes.
eventstore::result<void> install_next_key(const std::filesystem::path& path, const std::string& name,
                                          std::uint32_t key_id);

// At start, before the key is loaded: makes the key files agree with the log, which is the truth.
// `latest_rotation` is the new verifier key of the log's latest signing_key_rotated event (nullopt
// when the key never rotated). When the file at `path` holds another key and the next file holding
// the logged one exists (a crash after the event was durable), installs it; next files the log
// never named (a crash before the event) are removed. Returns what it did, for the log ("" when
// nothing); invalid_argument when no file holds the logged key (the operator must restore it).
eventstore::result<std::string> reconcile_signing_key(const std::filesystem::path& path, const std::string& name,
                                                      const std::optional<std::string>& latest_rotation);

}  // namespace roster::api
