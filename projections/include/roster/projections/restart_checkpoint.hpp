// Restart from persisted projections (issue 15): a start-up loads the newest restart checkpoint
// and folds only the events after it, instead of the whole log.
//
// A checkpoint is the read model's snapshot at position P (the as-of snapshot at P, the same
// bytes: one copy serves both), the history index's segment of the events since the previous
// checkpoint (history_index.hpp: the index stays in the store, a start-up reads none of it),
// plus a record under `checkpoint_key`: format version, P, the log's hash at P (the store's hash
// chain) and the history segments' boundaries. All go in one atomic write. The record is trusted only when P is in the log with that hash, and both
// parts decode in this format version; otherwise the start-up folds the whole log (and says
// why). The write model is not stored: it is the read model's domain state, copied at start.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "roster/eventstore/store.hpp"
#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"

namespace roster::projections {

inline constexpr std::string_view checkpoint_key = "projections/checkpoint";

// Writes a checkpoint of `model` at its position now (nothing when it has folded nothing).
// Holds the model's shared lock while encoding: readers go on, its committer waits that long.
// Then the model's memory drops the history segment written. One writer at a time per model.
// Returns the position written.
eventstore::result<eventstore::log_position> write_checkpoint(eventstore::store& store, const read_model& model,
                                                              past_states& past);

struct restart_outcome {
    eventstore::log_position checkpoint;  // the checkpoint started from; 0 = a full fold
    std::uint64_t folded = 0;             // events folded after it
    std::string ignored;                  // why a stored checkpoint was not used ("" = used, or none stored)
};

// Brings `model` (which has folded nothing) to the head: from the stored checkpoint when it holds
// up and `rebuild` is false, else by a full fold.
eventstore::result<restart_outcome> restore_from_checkpoint(read_model& model, const eventstore::store& store,
                                                            bool rebuild = false);

// Writes a checkpoint of the live read model each time the log has grown by `every` events
// since the last one, on its own thread, and a last one at stop (a clean restart then folds
// nothing; after kill -9 it folds at most about `every` events). Owned by rosterd main; start
// and stop on one thread; destroy before the store and the model.
class projection_checkpointer {
public:
    projection_checkpointer(eventstore::store& store, const read_model& model, past_states& past, std::uint64_t every,
                            std::function<void(std::string_view)> on_error = {});
    ~projection_checkpointer();
    projection_checkpointer(const projection_checkpointer&) = delete;
    projection_checkpointer& operator=(const projection_checkpointer&) = delete;

    void start();
    // Joins the thread, then writes a checkpoint at the model's position if it moved since the
    // last one. Call once nothing folds into the model any more (after the writer stopped).
    void stop();
    std::uint64_t written() const;

private:
    void run();
    void write_now();

    eventstore::store& store_;
    const read_model& model_;
    past_states& past_;
    std::uint64_t every_;
    std::function<void(std::string_view)> on_error_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t committed_ = 0;
    std::uint64_t last_ = 0;        // the next checkpoint is due at last_ + every_
    std::uint64_t written_at_ = 0;  // position of the last checkpoint written
    std::uint64_t written_ = 0;
    bool stop_ = false;
    eventstore::subscription subscription_;
    std::thread thread_;
};

}  // namespace roster::projections
