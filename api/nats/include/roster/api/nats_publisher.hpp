// Publishes every committed event to a NATS JetStream stream, exactly once per log position
// (issue 17, item 1), on its own thread: commands never wait for NATS.
//
// Exactly once: the stream's sequence IS the log position. Position p is published with
// `Nats-Msg-Id: <log origin>:<p>` and `ExpectLastSeq = p - 1`, so the stream stores it only
// right after p - 1, and never twice. On every (re)connect and after any failed or missing ack
// the publisher reads the stream's last sequence and resumes at last + 1 (an ack lost in flight
// costs nothing, whatever the dedup window). The stream's last message carries `Roster-Hash`;
// when it is not the store's hash at that position, or the stream is behind the durable cursor
// (stream lost or purged) or ahead of the log, the publisher stops and says so (readyz, metric,
// log) rather than republish or skip.
//
// Signed checkpoints (issue 17): each new checkpoint note goes to a second stream,
// `<stream>_CHECKPOINTS` (subject roster.checkpoints.<origin token>, the last
// nats_checkpoint_messages kept), once JetStream acknowledged every event it covers, so a read
// replica never holds a checkpoint ahead of the events it can get.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "roster/api/log.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::api {

struct nats_publisher_options {
    std::vector<std::string> servers;  // nats://host:port of one cluster; empty: no publisher
    std::string stream = "ROSTER_EVENTS";
    int replicas = 1;                             // of the stream when the publisher creates it
    std::string log_origin = "roster.local/log";  // the Nats-Msg-Id prefix: one per log
    std::uint64_t max_lag = 100'000;              // /readyz is 503 beyond this many unpublished events
    std::size_t window_bytes = 8 * 1024 * 1024;   // message bytes published and not yet acknowledged
    std::size_t window_messages = 4096;           // and as many messages
    std::size_t slice_bytes = 1024 * 1024;        // one read of the log stops after this many bytes
    std::chrono::milliseconds ack_wait{5'000};    // no ack progress this long: rewind
    std::chrono::milliseconds retry{500};         // between connection attempts
    // The durable cursor is written after this many acknowledged events or this long.
    std::uint64_t cursor_every = 4096;
    std::chrono::milliseconds cursor_interval{1'000};
    // The latest signed checkpoint (tree size, note); empty: none published.
    std::function<std::optional<std::pair<std::uint64_t, std::string>>()> latest_checkpoint;
};

inline constexpr std::int64_t nats_checkpoint_messages = 64;
// The stream and subject the checkpoints of `log_origin` go to, beside the events' `stream`.
std::string nats_checkpoint_stream(std::string_view stream);
std::string nats_checkpoint_subject(std::string_view log_origin);

// A NATS message of one event: subject, headers and body (see build_nats_message).
struct nats_event_message {
    std::string subject;
    std::vector<std::pair<std::string, std::string>> headers;  // Nats-Msg-Id first
    std::string data;
};

// The subject token of an account id: [A-Za-z0-9_-] as they are, every other byte as %XX (upper
// hex; '%' itself too), so no id can add a token or a wildcard. Roster's ids are [a-z0-9-], and
// "_system" (events naming no account) can be no account's token.
std::string nats_subject_token(std::string_view account);
// The message of the event stored as `raw` at `e.position`: subject
// roster.events.<account>.<type> (the first account domain::concerned names), headers Nats-Msg-Id,
// Roster-Position, Roster-Type, Roster-Account, Roster-Hash, and a JSON body {position, type,
// account, stream, recorded_at, hash, event: <GET /v1/events form>, envelope: base64(raw)}.
nats_event_message build_nats_message(const eventstore::recorded_event& e, std::string_view raw,
                                      std::string_view log_origin);

// The store meta key of the durable cursor of `stream`.
std::string nats_cursor_key(std::string_view stream);

// Owned by rosterd main; thread-safe. start() spawns the thread, which connects (retrying while
// NATS is down), follows the store and publishes; stop() flushes the cursor and joins.
class nats_publisher {
public:
    nats_publisher(eventstore::store& store, logger& log, nats_publisher_options options);
    ~nats_publisher();
    nats_publisher(const nats_publisher&) = delete;
    nats_publisher& operator=(const nats_publisher&) = delete;

    void start();
    void stop();

    // The highest position JetStream acknowledged (or found in the stream).
    std::uint64_t published() const noexcept { return acked_.load(); }
    std::uint64_t lag() const;
    bool connected() const noexcept { return connected_.load(); }
    // Failed or missing acks, refused publishes and lost connections.
    std::uint64_t errors() const noexcept { return errors_.load(); }
    // Why /readyz should say 503: stopped for a stream that does not hold this log, or too far behind.
    std::optional<std::string> why_not_ready() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
    std::atomic<std::uint64_t> acked_{0};
    std::atomic<bool> connected_{false};
    std::atomic<std::uint64_t> errors_{0};
};

}  // namespace roster::api
