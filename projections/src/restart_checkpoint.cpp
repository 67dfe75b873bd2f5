#include "roster/projections/restart_checkpoint.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "byte_codec.hpp"

namespace roster::projections {
namespace {

// The record's format; the snapshot it names carries its own (read_model::restore_snapshot).
// v2: the history index is in segments beside the record, which lists their boundaries.
constexpr std::string_view magic = "roster-projection-checkpoint-v2\n";

struct record {
    eventstore::log_position position;
    eventstore::hash256 hash{};
    bool indexed = false;
    std::vector<std::uint64_t> boundaries;  // of the history segments, ascending
    std::uint64_t entries = 0;
};

std::string encode_record(const record& r) {
    std::string out(magic);
    bytes::writer w(out);
    w.u64(r.position.value);
    w.raw(std::string_view(reinterpret_cast<const char*>(r.hash.data()), r.hash.size()));
    w.u64(r.indexed ? 1 : 0);
    w.u64(r.boundaries.size());
    std::uint64_t previous = 0;
    for (auto b : r.boundaries) w.u64(b - std::exchange(previous, b));
    w.u64(r.entries);
    return out;
}

std::optional<record> decode_record(std::string_view in) {
    if (!in.starts_with(magic)) return std::nullopt;
    bytes::reader r(in.substr(magic.size()));
    record out;
    out.position = eventstore::log_position{r.u64()};
    const auto hash = r.raw(out.hash.size());
    out.indexed = r.u64() == 1;
    std::uint64_t boundary = 0;
    for (auto n = r.count(); n-- && r.ok();) {
        const auto delta = r.u64();
        if (delta == 0) return std::nullopt;
        out.boundaries.push_back(boundary += delta);
    }
    out.entries = r.u64();
    if (!r.done()) return std::nullopt;
    // The last segment ends at the checkpoint: the tail after it is what a start-up folds.
    if (out.indexed && (out.boundaries.empty() || out.boundaries.back() != out.position.value)) return std::nullopt;
    std::memcpy(out.hash.data(), hash.data(), out.hash.size());
    return out;
}

// Why the stored checkpoint cannot be used ("" = it was loaded into `model`).
std::string load(read_model& model, const eventstore::store& store, std::string_view stored) {
    auto rec = decode_record(stored);
    if (!rec) return "the checkpoint record does not decode (damaged, or another format version)";
    const auto head = store.head().position;
    if (rec->position.value == 0 || rec->position > head)
        return "the checkpoint is at position " + std::to_string(rec->position.value) + ", the log's head is " +
               std::to_string(head.value);
    auto at = store.read_at(rec->position);
    if (!at) return "the log cannot be read at the checkpoint: " + at.error().message;
    if (!*at || (*at)->hash != rec->hash)
        return "the log's hash at position " + std::to_string(rec->position.value) +
               " is not the one the checkpoint was taken at";
    auto snapshot = store.get_meta(past_states::snapshot_key(rec->position));
    if (!snapshot) return "the snapshot the checkpoint names is missing";
    if (!rec->indexed && model.read([](const read_view& v) { return v.history != nullptr; }))
        return "the checkpoint holds no history index";
    persisted_history history{&store, std::move(rec->boundaries), rec->entries};
    if (!model.restore_checkpoint(*snapshot, std::move(history)) || model.position() != rec->position)
        return "the checkpoint's snapshot does not decode (damaged, or another format version)";
    return {};
}

}  // namespace

eventstore::result<eventstore::log_position> write_checkpoint(eventstore::store& store, const read_model& model,
                                                              past_states& past) {
    auto parts = model.encode_checkpoint();
    if (parts.position.value == 0) return parts.position;
    auto at = store.read_at(parts.position);
    if (!at) return at.error();
    if (!*at) return eventstore::error{eventstore::errc::corrupt, "the model is ahead of the log", {}, 0, 0};
    record rec{parts.position, (*at)->hash, parts.indexed, std::move(parts.history.boundaries), parts.history.entries};
    // The history segment, the snapshot and the record in one atomic write: a kill -9 leaves
    // either all of them (the segment's events then leave memory) or none (the next start-up
    // folds them again from the previous checkpoint).
    auto entries = std::move(parts.history_segment);
    entries.emplace_back(std::string(checkpoint_key), encode_record(rec));
    if (auto r = past.add_snapshot(store, parts.position, std::move(parts.snapshot), std::move(entries)); !r)
        return r.error();
    model.history_persisted(store, parts.position);
    return parts.position;
}

eventstore::result<restart_outcome> restore_from_checkpoint(read_model& model, const eventstore::store& store,
                                                            bool rebuild) {
    restart_outcome out;
    if (!rebuild) {
        if (auto stored = store.get_meta(checkpoint_key)) {
            out.ignored = load(model, store, *stored);
            if (out.ignored.empty()) out.checkpoint = model.position();
        }
    }
    const auto from = model.position();
    if (auto r = model.catch_up(store); !r) return r.error();
    out.folded = model.position().value - from.value;
    return out;
}

projection_checkpointer::projection_checkpointer(eventstore::store& store, const read_model& model, past_states& past,
                                                 std::uint64_t every, std::function<void(std::string_view)> on_error)
    : store_(store),
      model_(model),
      past_(past),
      every_(std::max<std::uint64_t>(1, every)),
      on_error_(std::move(on_error)) {
    if (auto stored = store_.get_meta(checkpoint_key))
        if (auto rec = decode_record(*stored)) last_ = written_at_ = rec->position.value;
    committed_ = store_.head().position.value;
}

projection_checkpointer::~projection_checkpointer() { stop(); }

void projection_checkpointer::start() {
    subscription_ = store_.subscribe([this](eventstore::log_position committed) {
        // On the committing thread: record and wake only.
        bool due = false;
        {
            std::lock_guard lock(mutex_);
            committed_ = committed.value;
            due = committed_ >= last_ + every_;
        }
        if (due) wake_.notify_one();
    });
    thread_ = std::thread([this] { run(); });
}

void projection_checkpointer::stop() {
    subscription_.reset();
    {
        std::lock_guard lock(mutex_);
        if (stop_) return;
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    write_now();
}

std::uint64_t projection_checkpointer::written() const {
    std::lock_guard lock(mutex_);
    return written_;
}

void projection_checkpointer::write_now() {
    std::uint64_t due_at = 0;
    {
        std::lock_guard lock(mutex_);
        due_at = committed_;
    }
    // written_at_ is only ever touched here, by the thread or by stop() after joining it.
    eventstore::result<eventstore::log_position> r = eventstore::log_position{written_at_};
    if (model_.position().value != written_at_) r = write_checkpoint(store_, model_, past_);
    if (!r && on_error_) on_error_(r.error().message);
    std::lock_guard lock(mutex_);
    if (r && r->value != written_at_) {
        written_at_ = r->value;
        ++written_;
    }
    // The next one is due `every` events after the log this one was asked for: a model that
    // trails the log (or a failed write) waits for the next interval instead of looping.
    last_ = std::max(written_at_, due_at);
}

void projection_checkpointer::run() {
    while (true) {
        {
            std::unique_lock lock(mutex_);
            // The first pass also covers a start that folded more than `every` events.
            wake_.wait(lock, [&] { return stop_ || committed_ >= last_ + every_; });
            if (stop_) return;
        }
        write_now();
    }
}

}  // namespace roster::projections
