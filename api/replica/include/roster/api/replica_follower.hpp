// A read replica follows the leader's NATS JetStream stream (issue 17, item 2): an ordered
// consumer from the local head + 1 (the stream sequence IS the log position), whose messages'
// stored envelopes go verbatim into store::append_replicated, a bounded batch at a time. The
// replica's log is therefore the leader's, byte for byte; its projections fold from it
// (`after_apply`) as a leader's do after a commit.
//
// Every message must carry the Nats-Msg-Id origin recorded for this replica (set from the first
// message ever applied, kept in store meta) and the next position; a duplicate is ignored, a gap
// resubscribes from head + 1, and an envelope that does not chain (or another origin) stops the
// follower for good and loudly (why_not_ready, metric, log): nothing is ever skipped.
// Reconnects forever; while NATS is unreachable the replica serves what it has, not ready.
//
// It also follows the leader's checkpoint stream (nats_checkpoint_stream, from its latest
// message) and hands each note to `on_checkpoint` (the replica's verifying checkpointer); when
// `halted` says a checkpoint failed verification, the follower stops as for a message that does
// not chain.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "roster/api/log.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::api {

struct replica_follower_options {
    std::vector<std::string> servers;  // nats://host:port of the leader's cluster
    std::string stream = "ROSTER_EVENTS";
    std::uint64_t max_lag = 1'000;          // /readyz is 503 beyond this many unapplied events
    std::size_t batch_bytes = 1024 * 1024;  // envelope bytes per append_replicated call
    std::size_t batch_messages = 1024;      // and messages
    std::chrono::milliseconds retry{250};   // between connection attempts
    // The leader's checkpoints (every subject of the checkpoint stream: the one leader of the
    // events stream publishes there); no callback: not followed.
    std::function<void(std::string note)> on_checkpoint;  // on a NATS library thread
    std::function<std::optional<std::string>()> halted;   // why to stop following, polled
};

// The store meta key holding the leader origin (the Nats-Msg-Id prefix) this replica follows.
inline constexpr std::string_view replica_origin_key = "replica/leader_origin";

class replica_follower {
public:
    // `after_apply(head)` runs on the follower thread after each durable batch (fold the projections).
    replica_follower(eventstore::store& store, logger& log, replica_follower_options options,
                     std::function<void(eventstore::log_position)> after_apply);
    ~replica_follower();
    replica_follower(const replica_follower&) = delete;
    replica_follower& operator=(const replica_follower&) = delete;

    void start();
    void stop();

    std::uint64_t applied() const;
    // Stream last sequence - applied, as last seen (0 before the first message or stream info).
    std::uint64_t lag_events() const noexcept { return lag_events_.load(); }
    // Age of the oldest message received and not yet applied; 0 when caught up.
    double lag_seconds() const;
    bool connected() const noexcept { return connected_.load(); }
    std::optional<std::string> why_not_ready() const;
    // Set once the stream's content was refused; the follower has stopped.
    std::optional<std::string> stopped_reason() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
    std::atomic<std::uint64_t> lag_events_{0};
    std::atomic<bool> connected_{false};
};

}  // namespace roster::api
