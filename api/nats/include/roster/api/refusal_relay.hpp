// Refusals seen by a read replica go on record in the leader's log (issue 17, "every refusal is
// on record"). A replica has no writer and its log must stay the leader's byte for byte, so its
// refusal guard hands each access_denied record to a `refusal_forwarder`, which publishes it to
// the JetStream stream `<events stream>_REFUSALS` (subject roster.refusals.<replica token>); the
// leader's `refusal_intake` consumes that stream with a durable consumer and appends each record
// through its writer like a local refusal. The record then reaches every replica with the log.
//
// Once: each message has a unique Nats-Msg-Id ("refusal:<replica>:<random 128-bit hex>"), the
// stream drops a republished id within its duplicate window, and the leader stores the id as the
// event's causation_id and acks only after the commit. A redelivery (the leader crashed between
// commit and ack) is recognised by that id: the intake remembers the ids it committed, and at
// start reads them back from the tail of the log (intake_recent_events), which is where the
// unacknowledged ones of a crash are.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/api/log.hpp"
#include "roster/domain/events.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::api {

std::string nats_refusal_stream(std::string_view stream);
std::string nats_refusal_subject(std::string_view replica);

struct forwarded_refusal {
    domain::access_denied record;
    eventstore::event_metadata meta;
};

// JSON body of one forwarded record: the record's fields and the request's meta.
std::string encode_refusal(const domain::access_denied& record, const eventstore::event_metadata& meta);
// The record of a body, every field as well-formed as the guard would have made it; nullopt for
// anything else (a malformed or hostile message never becomes an event).
std::optional<forwarded_refusal> decode_refusal(std::string_view body);
// A message id as the forwarder makes them: "refusal:<replica token>:<32 hex>".
bool is_refusal_message_id(std::string_view id);

struct refusal_forwarder_options {
    std::vector<std::string> servers;  // the leader's cluster (--follow)
    std::string stream = "ROSTER_EVENTS";
    std::string replica = "replica";            // this replica's name, on record with each refusal
    std::size_t buffer_bytes = 1024 * 1024;     // records waiting while NATS is unreachable
    std::chrono::milliseconds retry{250};       // between connection attempts and failed publishes
    std::chrono::milliseconds ack_wait{2'000};  // one publish's acknowledgement
};

struct refusal_forwarder_stats {
    std::uint64_t forwarded = 0;  // acknowledged by JetStream
    std::uint64_t dropped = 0;    // did not fit the buffer
    std::uint64_t errors = 0;     // failed publishes (retried)
    std::size_t buffered_bytes = 0;
};

// Owned by rosterd main on a replica; thread-safe. forward() never blocks: it queues (or drops,
// counted and logged, when the buffer is full) and a thread publishes in order, retrying each
// record until JetStream acknowledges it. stop() gives the queue up to one ack_wait.
class refusal_forwarder {
public:
    refusal_forwarder(logger& log, refusal_forwarder_options options);
    ~refusal_forwarder();
    refusal_forwarder(const refusal_forwarder&) = delete;
    refusal_forwarder& operator=(const refusal_forwarder&) = delete;

    void start();
    void stop();
    void forward(domain::access_denied record, eventstore::event_metadata meta);
    refusal_forwarder_stats stats() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

// Ids of committed records read back from this many events at the log's tail when the intake starts.
inline constexpr std::uint64_t intake_recent_events = 65'536;

struct refusal_intake_options {
    std::vector<std::string> servers;  // --nats
    std::string stream = "ROSTER_EVENTS";
    int replicas = 1;  // of the refusal stream when the intake creates it
    std::string durable = "roster-leader-refusals";
    std::chrono::milliseconds retry{500};
    std::chrono::milliseconds ack_wait{30'000};  // unacknowledged this long: redelivered
};

struct refusal_intake_stats {
    std::uint64_t recorded = 0;    // committed and acknowledged
    std::uint64_t duplicates = 0;  // redeliveries of a record already committed, acknowledged
    std::uint64_t malformed = 0;   // acknowledged, not recorded
    std::uint64_t failed = 0;      // not committed: left for redelivery
};

// Owned by rosterd main on a leader with --nats. `submit(record, done)` appends one record
// through the writer and calls done(committed) once, on any thread.
class refusal_intake {
public:
    using submit_fn = std::function<void(forwarded_refusal, std::function<void(bool)>)>;
    refusal_intake(eventstore::store& store, logger& log, refusal_intake_options options, submit_fn submit);
    ~refusal_intake();
    refusal_intake(const refusal_intake&) = delete;
    refusal_intake& operator=(const refusal_intake&) = delete;

    // Reads back the ids on record (intake_recent_events), then consumes on its own thread.
    void start();
    // Before the writer stops: waits for the records in flight.
    void stop();
    refusal_intake_stats stats() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace roster::api
