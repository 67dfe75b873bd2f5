// The single writer of Roster (SPEC §2, DEVELOPERS "design decisions"): every command is decided
// against one in-memory write model by one thread, so rules that span accounts (removal
// cascades, key contacts elsewhere) are judged on one consistent state, and each command's
// events go to the store as one atomic batch. The write path, in order (README "Architecture"
// has the whole picture):
//
// 1. Judge the client preconditions, Idempotency-Key and If-Match (write_rules, the only place
//    they are judged), counting the group's earlier, not yet durable commands.
// 2. Decide, and apply the events to the write model at once (speculatively), so the next
//    command of the group is decided against them.
// 3. Append the batches of the whole group (each with its idempotency record) in one synced
//    RocksDB WriteBatch. The store assigns positions and versions and keeps the hash chain; it
//    judges no client rule.
// 4. If that fails, every command of the group is answered `unavailable` and the write model is
//    rebuilt from the log, so nothing that was not durable survives. If the log cannot be read
//    either, the writer fails closed: the write model is "lost", every command is answered
//    `unavailable` (503, /readyz not ready) and the rebuild is retried with a bounded backoff
//    until it succeeds. Nothing is ever decided against a partial model.
// 5. Fold the committed events into the read model, then answer: a client that got 2xx can read
//    its own write.
//
// It knows nothing of HTTP: a command ends as a `command_result`, which the routes turn into an
// answer. Owned by rosterd main. Thread-safe: `submit` may be called from any thread; completions run
// on the writer thread and must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "roster/api/log.hpp"
#include "roster/domain/commands.hpp"
#include "roster/domain/errors.hpp"
#include "roster/domain/state.hpp"
#include "roster/eventstore/store.hpp"
#include "roster/projections/read_model.hpp"

namespace roster::api {

class write_rules;

// What a response renderer may look at: the write model right after the command's events
// were applied (not yet durable) and the versions its streams will have once committed.
// Versions are asked for by id, so a renderer cannot put a user's version in an account's ETag.
class decided_view {
public:
    using version_lookup = std::function<domain::stream_version(std::string_view stream)>;
    decided_view(const domain::state& s, const std::vector<domain::event>& e, version_lookup lookup)
        : state(s), events(e), lookup_(std::move(lookup)) {}

    const domain::state& state;
    const std::vector<domain::event>& events;

    domain::account_version version_of(const domain::account_id& a) const {
        return domain::version_of(reader{this}, a);
    }
    domain::user_version version_of(const domain::user_id& u) const { return domain::version_of(reader{this}, u); }

private:
    struct reader {  // what domain::version_of reads: the one typed conversion per kind
        const decided_view* view;
        domain::stream_version stream_version(std::string_view s) const { return view->lookup_(s); }
    };
    version_lookup lookup_;
};

// What became of one command. `accepted` carries the bytes `render` produced (and, for a
// retry with a known Idempotency-Key, the bytes the first attempt produced, `replayed`).
namespace outcome {
struct accepted {
    std::string bytes;
    bool replayed = false;
};
struct refused {  // `decide` said no; nothing was appended
    domain::domain_error error;
};
struct version_mismatch {      // If-Match named none of the current versions of `stream` (a resource)
    std::string stream;        // the stream, or "account-<a>/user-<u>" for a user in an account
    std::uint64_t expected{};  // the first tag sent (0 for `*`)
    std::uint64_t actual{};    // the version now, as an ETag carries it; 0 = the resource does not exist
};
struct idempotency_key_reused {};  // the key was committed with another fingerprint
struct unavailable {               // nothing was changed: storage failed or the writer stopped
    std::string detail;
};
struct failed {};  // a defect (logged with the request id); nothing was changed
}  // namespace outcome

using command_result = std::variant<outcome::accepted, outcome::refused, outcome::version_mismatch,
                                    outcome::idempotency_key_reused, outcome::unavailable, outcome::failed>;

// One line for logs and operator messages, e.g. "refused: member_not_found".
std::string describe(const command_result& result);

// If-Match of a command: the resource the client read and the ETags it sent. Built by the
// routes from the resource's typed id (if_match_on), never from a free stream name.
struct stream_resource {  // an account or a profile stream: its version
    std::string stream;
};
struct member_resource {  // /v1/accounts/{a}/users/{u}: domain::member_version_of
    domain::account_id account;
    domain::user_id user;
};
// A command on the user as a whole (/v1/users/{u}: lock, profile update): the tag must be the
// current version of the user in one of their current accounts, i.e. an ETag of a GET that is
// still current. Each of those answers shows the whole profile, so any of them proves the client
// saw the profile as it is.
struct user_resource {
    domain::user_id user;
};
struct if_match_condition {
    std::variant<stream_resource, member_resource, user_resource> resource;
    std::vector<std::uint64_t> tags;  // matches if any is current; empty = `*` (the resource exists)
};

struct command_request {
    domain::command command;
    // Set instead of a command: this event is appended as it is, without `decide` (the refusal
    // guard's access_denied records). `command`, `render`, `if_match` and idempotency are unused.
    std::optional<domain::event> record;
    domain::actor actor;
    eventstore::event_metadata meta;
    // The resource the client read and the versions it saw (If-Match): refused when it moved on.
    std::optional<if_match_condition> if_match;
    // Scoped by the caller (principal + client key); empty = none.
    std::string idempotency_key;
    std::string fingerprint;
    // Builds the bytes of the success outcome, kept with the idempotency key and handed back on
    // a retry, so they must not contain secrets. Empty: the outcome has no bytes.
    std::function<std::string(const decided_view&)> render;
    // Called exactly once, on the writer thread; must not block.
    std::function<void(command_result)> done;
};

struct processor_stats {
    std::uint64_t commands = 0;
    std::uint64_t groups = 0;
    std::uint64_t storage_failures = 0;
};

class command_processor {
public:
    using clock_fn = std::function<domain::timestamp()>;

    command_processor(eventstore::store& store, projections::read_model& reads, logger& log, clock_fn now);
    ~command_processor();
    command_processor(const command_processor&) = delete;
    command_processor& operator=(const command_processor&) = delete;

    // Loads the write model (the read model's state plus the log after it) and starts the writer
    // thread. A rebuild after a failed commit still folds the whole log.
    eventstore::result<void> start();
    // Answers every queued command, then stops the writer. Idempotent.
    void stop();

    void submit(command_request request);

    // Runs `f` on the writer thread with the write model (e.g. bootstrap checks) and waits.
    // While the write model is lost `f` sees what could be read of it: check healthy() first.
    void run_on_writer(std::function<void(const domain::state&)> f);

    // Why commands are refused right now (the write model is lost: it could not be rebuilt from
    // the log), or nullopt while the writer serves. For /readyz; thread-safe and cheap.
    std::optional<std::string> why_not_healthy() const;
    bool healthy() const { return !why_not_healthy(); }

    processor_stats stats() const;
    std::size_t max_group_commands = 1024;
    // A group slower than this end to end is logged with the time of each phase.
    std::chrono::milliseconds slow_group_threshold{100};
    // While the write model is lost, the rebuild is retried after this delay, doubled after each
    // failed attempt up to the maximum. Set before start().
    std::chrono::milliseconds rebuild_backoff_initial{100};
    std::chrono::milliseconds rebuild_backoff_max{5000};

private:
    struct pending;
    void writer_loop();
    void process_group(std::vector<command_request>& group);
    eventstore::result<void> reload_write_model();
    // Rebuilds the write model from the log; on failure enters (or stays in) the lost state and
    // schedules the next attempt. Returns whether the writer may decide again.
    bool rebuild();

    eventstore::store& store_;
    projections::read_model& reads_;
    logger& log_;
    clock_fn now_;

    domain::state write_model_;
    std::unique_ptr<write_rules> rules_;

    // The lost state, on the writer thread only (lost_reason_ is also read by why_not_healthy).
    bool lost_ = false;
    std::chrono::milliseconds rebuild_backoff_{0};
    std::chrono::steady_clock::time_point next_rebuild_{};

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<command_request> queue_;
    std::deque<std::function<void()>> tasks_;
    bool stopping_ = false;
    std::optional<std::string> lost_reason_;
    processor_stats stats_;
    std::thread writer_;
};

}  // namespace roster::api
