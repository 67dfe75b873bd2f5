// Private: the definition of store::impl and the helpers its parts share (store_*.cpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include <capnp/message.h>
#include <kj/exception.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/slice.h>

#include "codec_capnp.hpp"
#include "envelope.capnp.h"
#include "histogram.hpp"
#include "keys.hpp"
#include "roster/eventstore/store.hpp"
#include "sha256.hpp"

namespace roster::eventstore {

struct subscription::registry {
    std::mutex mu;
    std::map<std::uint64_t, std::function<void(log_position)>> callbacks;
    std::uint64_t next_id = 1;

    void notify(log_position position) {
        // Held while calling so that unsubscribe() returning means "never called again".
        std::lock_guard lk(mu);
        for (auto& [id, cb] : callbacks) cb(position);
    }
};

constexpr std::uint64_t store_format_version = 1;
constexpr std::uint16_t envelope_schema_version = 1;
constexpr std::string_view head_key = "sys/head";
constexpr std::string_view format_key = "sys/format_version";
constexpr std::string_view user_meta_prefix = "kv/";

const std::string cf_log = "log";
const std::string cf_streams = "streams";
const std::string cf_idempotency = "idempotency";
const std::string cf_meta = "meta";

inline error make_error(errc c, std::string message) { return error{c, std::move(message), {}, 0, 0}; }
inline error storage_error(const rocksdb::Status& s) { return make_error(errc::storage_unavailable, s.ToString()); }

// Cap'n Proto requires 8-byte aligned words, RocksDB values carry no alignment guarantee.
// We read in place when the value happens to be aligned and otherwise copy into one word
// buffer reused across a whole scan: one memcpy per event, no allocation per event, and the
// pinned value is never copied twice.
class word_view {
public:
    kj::ArrayPtr<const capnp::word> view(const rocksdb::Slice& v) {
        const std::size_t n = v.size() / sizeof(capnp::word);
        if (reinterpret_cast<std::uintptr_t>(v.data()) % alignof(capnp::word) == 0)
            return kj::arrayPtr(reinterpret_cast<const capnp::word*>(v.data()), n);
        if (n > capacity_) {
            capacity_ = std::max(n, capacity_ * 2);
            buffer_ = std::make_unique<std::uint64_t[]>(capacity_);
        }
        std::memcpy(buffer_.get(), v.data(), n * sizeof(capnp::word));
        return kj::arrayPtr(reinterpret_cast<const capnp::word*>(buffer_.get()), n);
    }

private:
    std::unique_ptr<std::uint64_t[]> buffer_;
    std::size_t capacity_ = 0;
};

// Runs f(Envelope::Reader) over a stored value; a malformed value is errc::corrupt.
template <class F>
result<void> with_envelope(const rocksdb::Slice& value, word_view& words, F&& f) {
    if (value.size() == 0 || value.size() % sizeof(capnp::word) != 0)
        return make_error(errc::corrupt, "stored envelope is not a whole number of words");
    auto segment = words.view(value);
    try {
        capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&segment, 1), detail::reader_options(segment.size()));
        return f(reader.getRoot<schema::Envelope>());
    } catch (const kj::Exception& ex) {
        return make_error(errc::corrupt, std::string("malformed envelope: ") + ex.getDescription().cStr());
    }
}

inline void assign(std::string& out, capnp::Text::Reader t) { out.assign(t.begin(), t.size()); }

inline bool copy_hash(capnp::Data::Reader d, hash256& out) {
    if (d.size() != 32) return false;
    std::memcpy(out.data(), d.begin(), 32);
    return true;
}

result<void> fill_recorded(schema::Envelope::Reader env, recorded_event& out);

struct encoded_envelope {
    kj::Array<capnp::word> words;
    hash256 hash;
};

struct store::impl {
    struct request {
        std::vector<append_batch> batches;
        std::vector<result<append_result>> results;
        bool done = false;
    };

    store_options options;
    // The fault-injection Env of options.faults (null without): declared before db, which uses it.
    std::unique_ptr<rocksdb::Env> env;
    std::unique_ptr<rocksdb::DB> db;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;  // default, log, streams, idempotency, meta
    rocksdb::ColumnFamilyHandle* log = nullptr;
    rocksdb::ColumnFamilyHandle* streams = nullptr;
    rocksdb::ColumnFamilyHandle* idempotency = nullptr;
    rocksdb::ColumnFamilyHandle* meta = nullptr;

    // Committed state, changed only by the commit path after a successful write.
    mutable std::shared_mutex cache_mu;
    head_info head;
    std::unordered_map<std::string, std::uint64_t> versions;  // a cache; the streams CF is the truth

    std::mutex commit_mu;  // serializes commit_group (writer thread or inline callers)
    sha256 hasher;         // used under commit_mu only
    static constexpr std::size_t scratch_words = 1024;
    std::unique_ptr<std::uint64_t[]> scratch =
        std::make_unique<std::uint64_t[]>(scratch_words);  // zeroed; under commit_mu

    std::filesystem::path dir;
    std::atomic<std::uint64_t> stat_commits{0}, stat_batches{0}, stat_events{0}, stat_write_failures{0};
    atomic_histogram<11> stat_group_batches{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
    atomic_histogram<14> stat_write_seconds{
        {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};

    std::mutex queue_mu;
    std::condition_variable queue_cv;
    std::condition_variable done_cv;
    std::deque<request*> queue;
    bool stopping = false;
    std::thread writer;

    std::shared_ptr<subscription::registry> subscribers = std::make_shared<subscription::registry>();

    ~impl() {
        if (writer.joinable()) {
            {
                std::lock_guard lk(queue_mu);
                stopping = true;
            }
            queue_cv.notify_all();
            writer.join();
        }
        if (db) {
            for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
            db->Close();
        }
    }

    // The version of `stream` in the database (0 when absent).
    result<std::uint64_t> stored_version(std::string_view stream) const;
    // Committed version for the commit path; fills the cache on a miss (only the commit path
    // writes streams, so what it reads from the database is current).
    result<std::uint64_t> committed_version(const std::string& stream);
    encoded_envelope encode(const new_event& e, const std::string& stream, std::uint64_t position,
                            std::uint64_t version, timestamp at, const hash256& prev);
    // Numbers, hashes and writes every batch of `group` in one WriteBatch, with the batches'
    // idempotency records.
    void commit_group(const std::vector<request*>& group);
    void writer_loop();
    std::vector<result<append_result>> submit(std::vector<append_batch> batches);
    result<void> decode_at(const rocksdb::Slice& key, const rocksdb::Slice& value, word_view& words,
                           recorded_event& out) const;
    result<timestamp> recorded_at_of(log_position position) const;
    // The injected read fault of options.faults (write_faults::fail_reads), or nullopt.
    std::optional<error> injected_read_failure() const {
        if (options.faults && options.faults->reads_failing())
            return make_error(errc::storage_unavailable, "injected log read failure (write_faults)");
        return std::nullopt;
    }
};

}  // namespace roster::eventstore
