#include "roster/eventstore/store.hpp"

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

#include <fcntl.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

#include <capnp/any.h>
#include <capnp/message.h>
#include <kj/exception.h>
#include <openssl/evp.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "codec_capnp.hpp"
#include "envelope.capnp.h"

namespace roster::eventstore {

// ---------------------------------------------------------------------------------------------
// subscription

struct subscription::registry {
    std::mutex mu;
    std::map<std::uint64_t, std::function<void(std::uint64_t)>> callbacks;
    std::uint64_t next_id = 1;

    void notify(std::uint64_t position) {
        // Held while calling so that unsubscribe() returning means "never called again".
        std::lock_guard lk(mu);
        for (auto& [id, cb] : callbacks) cb(position);
    }
};

subscription& subscription::operator=(subscription&& o) noexcept {
    if (this != &o) {
        reset();
        registry_ = std::move(o.registry_);
        id_ = o.id_;
    }
    return *this;
}

subscription::~subscription() { reset(); }

void subscription::reset() {
    if (!registry_) return;
    {
        std::lock_guard lk(registry_->mu);
        registry_->callbacks.erase(id_);
    }
    registry_.reset();
}

std::filesystem::path store_dir(const std::filesystem::path& data_dir) { return data_dir / "eventstore"; }

std::string to_hex(const hash256& h) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(64, '0');
    for (std::size_t i = 0; i < h.size(); ++i) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 0xf];
    }
    return out;
}

namespace {

constexpr std::uint64_t store_format_version = 1;
constexpr std::uint16_t envelope_schema_version = 1;
constexpr std::string_view head_key = "sys/head";
constexpr std::string_view format_key = "sys/format_version";
constexpr std::string_view user_meta_prefix = "kv/";

const std::string cf_log = "log";
const std::string cf_streams = "streams";
const std::string cf_idempotency = "idempotency";
const std::string cf_meta = "meta";

void put_be64(char* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
}
std::uint64_t get_be64(const char* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
std::string be64(std::uint64_t v) {
    std::string s(8, '\0');
    put_be64(s.data(), v);
    return s;
}
// Stream ids never contain NUL (checked on append), so "stream\0" is a prefix no other stream shares.
std::string stream_key(std::string_view stream, std::uint64_t version) {
    std::string s;
    s.reserve(stream.size() + 9);
    s.append(stream);
    s.push_back('\0');
    s.append(be64(version));
    return s;
}

std::int64_t micros(timestamp t) { return t.time_since_epoch().count(); }
timestamp from_micros(std::int64_t v) { return timestamp(std::chrono::microseconds(v)); }
timestamp now_micros() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

error make_error(errc c, std::string message) { return error{c, std::move(message), {}, 0, 0}; }
error storage_error(const rocksdb::Status& s) { return make_error(errc::storage_unavailable, s.ToString()); }

// Idempotency record: be64 first | be64 last | be64 recorded_at | be32 fingerprint size |
// fingerprint | outcome (rest).
std::string encode_idempotency(const append_batch& b, std::uint64_t first, std::uint64_t last, timestamp at) {
    std::string v(28, '\0');
    put_be64(v.data(), first);
    put_be64(v.data() + 8, last);
    put_be64(v.data() + 16, static_cast<std::uint64_t>(micros(at)));
    const auto n = static_cast<std::uint32_t>(b.fingerprint.size());
    for (int i = 0; i < 4; ++i) v[24 + i] = static_cast<char>((n >> (8 * (3 - i))) & 0xff);
    v += b.fingerprint;
    v += b.outcome;
    return v;
}
struct stored_idempotency {
    std::uint64_t first = 0, last = 0;
    timestamp at{};
    std::string fingerprint, outcome;
};
std::optional<stored_idempotency> decode_idempotency(std::string_view v) {
    if (v.size() < 28) return std::nullopt;
    stored_idempotency r;
    r.first = get_be64(v.data());
    r.last = get_be64(v.data() + 8);
    r.at = from_micros(static_cast<std::int64_t>(get_be64(v.data() + 16)));
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(v[24 + i]);
    if (v.size() < 28 + std::size_t{n}) return std::nullopt;
    r.fingerprint.assign(v.substr(28, n));
    r.outcome.assign(v.substr(28 + n));
    return r;
}

// Head record in meta: be64 position | 32-byte hash | be64 recorded_at.
std::string encode_head(const head_info& h) {
    std::string v(48, '\0');
    put_be64(v.data(), h.position);
    std::memcpy(v.data() + 8, h.hash.data(), 32);
    put_be64(v.data() + 40, static_cast<std::uint64_t>(micros(h.recorded_at)));
    return v;
}
std::optional<head_info> decode_head(std::string_view v) {
    if (v.size() != 48) return std::nullopt;
    head_info h;
    h.position = get_be64(v.data());
    std::memcpy(h.hash.data(), v.data() + 8, 32);
    h.recorded_at = from_micros(static_cast<std::int64_t>(get_be64(v.data() + 40)));
    return h;
}

// SHA-256 over (prev_hash || envelope bytes with the 32 hash bytes at `hash_offset` read as zero).
// Feeding the zeros instead of patching a copy lets verify hash a value straight from RocksDB.
class sha256 {
public:
    sha256() : ctx_(EVP_MD_CTX_new()) {}
    ~sha256() { EVP_MD_CTX_free(ctx_); }
    sha256(const sha256&) = delete;
    sha256& operator=(const sha256&) = delete;

    hash256 chain(const hash256& prev, const std::uint8_t* bytes, std::size_t size, std::size_t hash_offset) {
        static constexpr std::uint8_t zeros[32] = {};
        hash256 out{};
        unsigned int len = 0;
        // Failures of EVP here mean a broken OpenSSL installation: a bug, not an expected failure.
        if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1 || EVP_DigestUpdate(ctx_, prev.data(), prev.size()) != 1 ||
            EVP_DigestUpdate(ctx_, bytes, hash_offset) != 1 || EVP_DigestUpdate(ctx_, zeros, 32) != 1 ||
            EVP_DigestUpdate(ctx_, bytes + hash_offset + 32, size - hash_offset - 32) != 1 ||
            EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != 32)
            throw std::runtime_error("OpenSSL SHA-256 failed");
        return out;
    }

private:
    EVP_MD_CTX* ctx_;
};

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

void assign(std::string& out, capnp::Text::Reader t) { out.assign(t.begin(), t.size()); }

bool copy_hash(capnp::Data::Reader d, hash256& out) {
    if (d.size() != 32) return false;
    std::memcpy(out.data(), d.begin(), 32);
    return true;
}

result<void> fill_recorded(schema::Envelope::Reader env, recorded_event& out) {
    out.position = env.getPosition();
    assign(out.stream, env.getStream());
    out.version = env.getStreamVersion();
    assign(out.type, env.getType());
    out.recorded_at = from_micros(env.getRecordedAt());
    auto actor = env.getActor();
    assign(out.meta.actor.principal, actor.getPrincipal());
    assign(out.meta.actor.token_id, actor.getTokenId());
    assign(out.meta.actor.address, actor.getAddress());
    assign(out.meta.request_id, env.getRequestId());
    assign(out.meta.correlation_id, env.getCorrelationId());
    assign(out.meta.causation_id, env.getCausationId());
    assign(out.meta.reason, env.getReason());
    if (!copy_hash(env.getPrevHash(), out.prev_hash) || !copy_hash(env.getHash(), out.hash))
        return make_error(errc::corrupt, "hash fields are not 32 bytes");
    out.schema_version = env.getSchemaVersion();
    auto payload = detail::read_payload(env.getPayload());
    if (!payload) return payload.error();
    out.payload = std::move(*payload);
    return {};
}

struct encoded_envelope {
    kj::Array<capnp::word> words;
    hash256 hash;
};

// Fixed buckets counted with relaxed atomics: the commit path pays two increments and a
// fetch_add per observation, and never a lock.
template <std::size_t N>
class atomic_histogram {
public:
    explicit constexpr atomic_histogram(std::array<double, N> bounds) : bounds_(bounds) {}
    void observe(double v) noexcept {
        const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
        counts_[i].fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(v, std::memory_order_relaxed);
    }
    histogram_snapshot snapshot() const {
        histogram_snapshot out;
        out.upper_bounds.assign(bounds_.begin(), bounds_.end());
        for (const auto& c : counts_) {
            out.counts.push_back(c.load(std::memory_order_relaxed));
            out.count += out.counts.back();
        }
        out.sum = sum_.load(std::memory_order_relaxed);
        return out;
    }

private:
    std::array<double, N> bounds_;
    std::array<std::atomic<std::uint64_t>, N + 1> counts_{};
    std::atomic<double> sum_{0};
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// store::impl

struct store::impl {
    struct request {
        std::vector<append_batch> batches;
        std::vector<result<append_result>> results;
        bool done = false;
    };

    store_options options;
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
    std::unique_ptr<std::uint64_t[]> scratch = std::make_unique<std::uint64_t[]>(scratch_words);  // zeroed; under commit_mu
    std::atomic<int> fail_writes{0};

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
    result<std::uint64_t> stored_version(std::string_view stream) const {
        const std::string upper = stream_key(stream, UINT64_MAX);
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), streams));
        it->SeekForPrev(upper);
        if (!it->status().ok()) return storage_error(it->status());
        if (!it->Valid()) return std::uint64_t{0};
        auto k = it->key();
        if (k.size() != stream.size() + 9 || std::memcmp(k.data(), stream.data(), stream.size()) != 0 ||
            k[stream.size()] != '\0')
            return std::uint64_t{0};
        return get_be64(k.data() + stream.size() + 1);
    }

    // Committed version for the commit path; fills the cache on a miss (only the commit path
    // writes streams, so what it reads from the database is current).
    result<std::uint64_t> committed_version(const std::string& stream) {
        {
            std::shared_lock lk(cache_mu);
            if (auto it = versions.find(stream); it != versions.end()) return it->second;
        }
        auto v = stored_version(stream);
        if (!v) return v;
        std::unique_lock lk(cache_mu);
        versions.emplace(stream, *v);
        return v;
    }

    encoded_envelope encode(const new_event& e, const std::string& stream, std::uint64_t position,
                            std::uint64_t version, timestamp at, const hash256& prev) {
        static constexpr std::uint8_t zeros[32] = {};
        // Reused first segment: the builder re-zeroes what it used, so no allocation per event.
        capnp::MallocMessageBuilder mb(kj::arrayPtr(reinterpret_cast<capnp::word*>(scratch.get()), scratch_words));
        auto env = mb.initRoot<schema::Envelope>();
        env.setPosition(position);
        env.setStream(detail::text(stream));
        env.setStreamVersion(version);
        auto type = domain::type_name(e.payload);
        env.setType(capnp::Text::Reader(type.data(), type.size()));
        env.setRecordedAt(micros(at));
        auto actor = env.initActor();
        if (!e.meta.actor.principal.empty()) actor.setPrincipal(detail::text(e.meta.actor.principal));
        if (!e.meta.actor.token_id.empty()) actor.setTokenId(detail::text(e.meta.actor.token_id));
        if (!e.meta.actor.address.empty()) actor.setAddress(detail::text(e.meta.actor.address));
        if (!e.meta.request_id.empty()) env.setRequestId(detail::text(e.meta.request_id));
        if (!e.meta.correlation_id.empty()) env.setCorrelationId(detail::text(e.meta.correlation_id));
        if (!e.meta.causation_id.empty()) env.setCausationId(detail::text(e.meta.causation_id));
        if (!e.meta.reason.empty()) env.setReason(detail::text(e.meta.reason));
        env.setPrevHash(capnp::Data::Reader(prev.data(), prev.size()));
        env.setHash(capnp::Data::Reader(zeros, 32));
        env.setSchemaVersion(envelope_schema_version);
        detail::write_payload(env.initPayload(), e.payload);

        encoded_envelope out{capnp::AnyStruct::Reader(env.asReader()).canonicalize(), {}};
        kj::ArrayPtr<const capnp::word> segment = out.words;
        capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&segment, 1));
        auto hash_field = reader.getRoot<schema::Envelope>().getHash();
        auto* base = reinterpret_cast<std::uint8_t*>(out.words.begin());
        const auto offset = static_cast<std::size_t>(hash_field.begin() - base);
        const auto size = out.words.size() * sizeof(capnp::word);
        out.hash = hasher.chain(prev, base, size, offset);
        std::memcpy(base + offset, out.hash.data(), 32);
        return out;
    }

    // Checks, numbers, hashes and writes every batch of `group` in one WriteBatch.
    void commit_group(const std::vector<request*>& group) {
        std::lock_guard commit_lk(commit_mu);
        head_info h;
        {
            std::shared_lock lk(cache_mu);
            h = head;
        }
        const timestamp at = std::max(now_micros(), h.recorded_at);
        std::unordered_map<std::string, std::uint64_t> overlay;  // stream versions after this group
        struct accepted_batch {
            result<append_result>* slot;
            append_result value;
        };
        std::vector<accepted_batch> accepted;
        // Retries of a key first used earlier in this same group: they share its fate.
        struct pending_duplicate {
            result<append_result>* slot;
            std::size_t original;  // index into accepted
        };
        std::vector<pending_duplicate> duplicates;
        std::unordered_map<std::string, std::pair<std::size_t, const std::string*>> pending_keys;
        rocksdb::WriteBatch wb;

        auto version_of = [&](const std::string& s) -> result<std::uint64_t> {
            if (auto it = overlay.find(s); it != overlay.end()) return it->second;
            return committed_version(s);
        };

        for (auto* r : group) {
            r->results.clear();
            r->results.reserve(r->batches.size());
            for (std::size_t i = 0; i < r->batches.size(); ++i)
                r->results.emplace_back(make_error(errc::closed, "not processed"));
            for (std::size_t bi = 0; bi < r->batches.size(); ++bi) {
                auto& b = r->batches[bi];
                auto& slot = r->results[bi];
                if (b.events.empty()) {
                    slot = make_error(errc::invalid_argument, "empty batch");
                    continue;
                }
                if (!b.idempotency_key.empty()) {
                    if (auto it = pending_keys.find(b.idempotency_key); it != pending_keys.end()) {
                        if (*it->second.second == b.fingerprint)
                            duplicates.push_back({&slot, it->second.first});
                        else
                            slot = make_error(errc::idempotency_mismatch, "idempotency key reused with another request");
                        continue;
                    }
                    std::string stored;
                    auto s = db->Get(rocksdb::ReadOptions(), idempotency, b.idempotency_key, &stored);
                    if (s.ok()) {
                        auto rec = decode_idempotency(stored);
                        if (!rec) {
                            slot = make_error(errc::corrupt, "undecodable idempotency record");
                        } else if (rec->fingerprint != b.fingerprint) {
                            slot = make_error(errc::idempotency_mismatch, "idempotency key reused with another request");
                        } else {
                            slot = append_result{rec->first, rec->last, true, std::move(rec->outcome), rec->at};
                        }
                        continue;
                    }
                    if (!s.IsNotFound()) {
                        slot = storage_error(s);
                        continue;
                    }
                }
                // Check every event against the versions before this batch.
                std::vector<std::string> stream_ids;
                stream_ids.reserve(b.events.size());
                std::optional<error> refusal;
                for (auto& e : b.events) {
                    std::string s = domain::stream_of(e.payload);
                    if (s.empty() || s.find('\0') != std::string::npos) {
                        refusal = make_error(errc::invalid_argument, "invalid stream id");
                        break;
                    }
                    if (e.expected_version) {
                        auto v = version_of(s);
                        if (!v) {
                            refusal = v.error();
                            break;
                        }
                        if (*v != *e.expected_version) {
                            refusal = error{errc::version_conflict, "stream " + s + " is at version " + std::to_string(*v),
                                            s, *e.expected_version, *v};
                            break;
                        }
                    }
                    stream_ids.push_back(std::move(s));
                }
                if (refusal) {
                    slot = std::move(*refusal);
                    continue;
                }
                // Accepted so far: number, hash and stage its events. Anything failing while
                // staging (a storage read, an event Cap'n Proto cannot encode) refuses this batch
                // alone: the WriteBatch, the head and the overlay return to the save point.
                append_result res{h.position + 1, h.position + b.events.size(), false, b.outcome, at};
                const head_info saved_head = h;
                std::vector<std::pair<std::string, std::optional<std::uint64_t>>> saved_overlay;
                for (const auto& sid : stream_ids) {
                    auto it = overlay.find(sid);
                    saved_overlay.emplace_back(sid, it == overlay.end() ? std::nullopt : std::optional(it->second));
                }
                wb.SetSavePoint();
                std::optional<error> failure;
                try {
                    for (std::size_t i = 0; i < b.events.size(); ++i) {
                        auto v = version_of(stream_ids[i]);
                        if (!v) {
                            failure = v.error();
                            break;
                        }
                        const std::uint64_t version = *v + 1;
                        const std::uint64_t position = h.position + 1;
                        auto enc = encode(b.events[i], stream_ids[i], position, version, at, h.hash);
                        auto bytes = enc.words.asBytes();
                        wb.Put(log, be64(position),
                               rocksdb::Slice(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
                        wb.Put(streams, stream_key(stream_ids[i], version), be64(position));
                        overlay[stream_ids[i]] = version;
                        h.position = position;
                        h.hash = enc.hash;
                    }
                } catch (const kj::Exception& ex) {
                    failure = make_error(errc::invalid_argument, std::string("event cannot be encoded: ") + ex.getDescription().cStr());
                }
                if (failure) {
                    (void)wb.RollbackToSavePoint();
                    h = saved_head;
                    for (auto it = saved_overlay.rbegin(); it != saved_overlay.rend(); ++it) {
                        if (it->second) overlay[it->first] = *it->second;
                        else overlay.erase(it->first);
                    }
                    slot = std::move(*failure);
                    continue;
                }
                (void)wb.PopSavePoint();
                if (!b.idempotency_key.empty()) {
                    wb.Put(idempotency, b.idempotency_key, encode_idempotency(b, res.first_position, res.last_position, at));
                    pending_keys.emplace(b.idempotency_key, std::make_pair(accepted.size(), &b.fingerprint));
                }
                accepted.push_back({&slot, std::move(res)});
            }
        }
        if (accepted.empty()) return;

        h.recorded_at = at;
        wb.Put(meta, std::string(head_key), encode_head(h));
        rocksdb::Status status;
        if (fail_writes.load() > 0 && fail_writes.fetch_sub(1) > 0) {
            status = rocksdb::Status::IOError("injected write failure (test hook)");
        } else {
            rocksdb::WriteOptions wo;
            wo.sync = options.sync;
            const auto write_started = std::chrono::steady_clock::now();
            status = db->Write(wo, &wb);
            stat_write_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - write_started).count());
            // RocksDB may stop accepting writes after an I/O error; try to leave that state so a
            // later commit can succeed once the disk is back.
            if (!status.ok()) (void)db->Resume();
        }
        if (!status.ok()) {
            // Nothing of this group reached the caches: they still describe the last durable state.
            // Every batch of the group fails, refused ones too: their checks may have been made
            // against earlier batches of the group that are now not written.
            stat_write_failures.fetch_add(1, std::memory_order_relaxed);
            const error e = storage_error(status);
            for (auto* r : group)
                for (auto& slot : r->results) slot = e;
            return;
        }
        {
            std::unique_lock lk(cache_mu);
            head = h;
            for (auto& [s, v] : overlay) versions[s] = v;
        }
        for (auto& d : duplicates) {
            auto copy = accepted[d.original].value;
            copy.duplicate = true;
            *d.slot = std::move(copy);
        }
        stat_commits.fetch_add(1, std::memory_order_relaxed);
        stat_batches.fetch_add(accepted.size(), std::memory_order_relaxed);
        stat_events.fetch_add(h.position - accepted.front().value.first_position + 1, std::memory_order_relaxed);
        stat_group_batches.observe(static_cast<double>(accepted.size()));
        for (auto& a : accepted) *a.slot = std::move(a.value);
        subscribers->notify(h.position);
    }

    void writer_loop() {
        std::vector<request*> group;
        for (;;) {
            group.clear();
            {
                std::unique_lock lk(queue_mu);
                queue_cv.wait(lk, [&] { return stopping || !queue.empty(); });
                if (queue.empty()) return;  // stopping, and everything queued was served
                std::size_t batches = 0;
                while (!queue.empty() && (group.empty() || batches + queue.front()->batches.size() <= options.max_group_batches)) {
                    batches += queue.front()->batches.size();
                    group.push_back(queue.front());
                    queue.pop_front();
                }
            }
            commit_group(group);
            {
                std::lock_guard lk(queue_mu);
                for (auto* r : group) r->done = true;
            }
            done_cv.notify_all();
        }
    }

    std::vector<result<append_result>> submit(std::vector<append_batch> batches) {
        request r;
        r.batches = std::move(batches);
        if (options.read_only) {
            for (std::size_t i = 0; i < r.batches.size(); ++i)
                r.results.emplace_back(make_error(errc::invalid_argument, "store is open read-only"));
            return std::move(r.results);
        }
        if (options.mode == commit_mode::inline_per_call) {
            commit_group({&r});
            return std::move(r.results);
        }
        {
            std::unique_lock lk(queue_mu);
            if (stopping) {
                for (std::size_t i = 0; i < r.batches.size(); ++i)
                    r.results.emplace_back(make_error(errc::closed, "store is closing"));
                return std::move(r.results);
            }
            queue.push_back(&r);
        }
        queue_cv.notify_one();
        std::unique_lock lk(queue_mu);
        done_cv.wait(lk, [&] { return r.done; });
        return std::move(r.results);
    }

    result<void> decode_at(const rocksdb::Slice& key, const rocksdb::Slice& value, word_view& words, recorded_event& out) const {
        if (key.size() != 8) return make_error(errc::corrupt, "log key is not 8 bytes");
        const std::uint64_t position = get_be64(key.data());
        auto r = with_envelope(value, words, [&](schema::Envelope::Reader env) { return fill_recorded(env, out); });
        if (!r) return r;
        if (out.position != position)
            return error{errc::corrupt, "envelope position does not match its key", {}, position, out.position};
        return {};
    }

    result<timestamp> recorded_at_of(std::uint64_t position) const {
        rocksdb::PinnableSlice value;
        auto s = db->Get(rocksdb::ReadOptions(), log, be64(position), &value);
        if (!s.ok()) return storage_error(s);
        word_view words;
        timestamp at{};
        auto r = with_envelope(value, words, [&](schema::Envelope::Reader env) -> result<void> {
            at = from_micros(env.getRecordedAt());
            return {};
        });
        if (!r) return r.error();
        return at;
    }
};

// RocksDB's info log (the LOG file), written with plain write(2) whose failures are ignored.
// RocksDB's own LOG writer sits on the data disk, and Debian's librocksdb is built with
// assertions: when that disk fails (full, I/O error) the second write to the broken LOG aborts
// the whole process, so a storage fault became a crash instead of a 503.
class tolerant_file_logger final : public rocksdb::Logger {
public:
    explicit tolerant_file_logger(const std::filesystem::path& file)
        : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL),  // appended across restarts: keep it small
          fd_(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {}
    ~tolerant_file_logger() override {
        if (fd_ >= 0) ::close(fd_);
    }
    using rocksdb::Logger::Logv;
    void Logv(const char* format, va_list ap) override {
        if (fd_ < 0) return;
        char line[1024];
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        int n = std::snprintf(line, sizeof line, "%lld ",
                              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
        if (n < 0) return;
        int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n), format, ap);
        if (m < 0) return;
        std::size_t len = std::min(sizeof line - 1, static_cast<std::size_t>(n) + static_cast<std::size_t>(m));
        line[len++] = '\n';
        (void)!::write(fd_, line, len);
    }

private:
    int fd_;
};

// ---------------------------------------------------------------------------------------------
// store

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

result<std::unique_ptr<store>> store::open(const std::filesystem::path& dir, store_options options) {
    auto p = std::make_unique<impl>();
    p->options = options;
    p->dir = dir;

    rocksdb::Options db_options;
    db_options.create_if_missing = options.create_if_missing && !options.read_only;
    db_options.create_missing_column_families = !options.read_only;
    db_options.max_background_jobs = 2;
    if (!options.read_only) {
        std::error_code ec;
        if (db_options.create_if_missing) std::filesystem::create_directories(dir, ec);
        if (std::filesystem::is_directory(dir, ec)) db_options.info_log = std::make_shared<tolerant_file_logger>(dir / "LOG");
    }
    rocksdb::ColumnFamilyOptions cf_options;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, cf_options}, {cf_log, cf_options},   {cf_streams, cf_options},
        {cf_idempotency, cf_options},                    {cf_meta, cf_options},
    };
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = options.read_only
                            ? rocksdb::DB::OpenForReadOnly(db_options, dir.string(), cfs, &p->handles, &raw)
                            : rocksdb::DB::Open(db_options, dir.string(), cfs, &p->handles, &raw);
    if (!s.ok()) return storage_error(s);
    p->db.reset(raw);
    p->log = p->handles[1];
    p->streams = p->handles[2];
    p->idempotency = p->handles[3];
    p->meta = p->handles[4];

    std::string format;
    s = p->db->Get(rocksdb::ReadOptions(), p->meta, std::string(format_key), &format);
    if (s.ok()) {
        if (format.size() != 8 || get_be64(format.data()) != store_format_version)
            return make_error(errc::corrupt, "unsupported store format version");
    } else if (s.IsNotFound()) {
        if (!options.read_only) {
            rocksdb::WriteOptions wo;
            wo.sync = options.sync;
            s = p->db->Put(wo, p->meta, std::string(format_key), be64(store_format_version));
            if (!s.ok()) return storage_error(s);
        }
    } else {
        return storage_error(s);
    }

    // The head is the last event of the log itself; the meta copy only lets verify notice a
    // log whose tail was deleted.
    {
        std::unique_ptr<rocksdb::Iterator> it(p->db->NewIterator(rocksdb::ReadOptions(), p->log));
        it->SeekToLast();
        if (!it->status().ok()) return storage_error(it->status());
        if (it->Valid()) {
            word_view words;
            recorded_event last;
            auto r = p->decode_at(it->key(), it->value(), words, last);
            if (!r) return r.error();
            p->head = head_info{last.position, last.hash, last.recorded_at};
        }
    }

    if (!options.read_only && options.mode == commit_mode::writer_thread)
        p->writer = std::thread([raw_impl = p.get()] { raw_impl->writer_loop(); });
    return std::unique_ptr<store>(new store(std::move(p)));
}

result<append_result> store::append(append_batch batch) {
    std::vector<append_batch> one;
    one.push_back(std::move(batch));
    auto results = impl_->submit(std::move(one));
    return std::move(results.front());
}

std::vector<result<append_result>> store::append_group(std::vector<append_batch> batches) {
    if (batches.empty()) return {};
    return impl_->submit(std::move(batches));
}

head_info store::head() const {
    std::shared_lock lk(impl_->cache_mu);
    return impl_->head;
}

std::uint64_t store::stream_version(std::string_view stream) const {
    {
        std::shared_lock lk(impl_->cache_mu);
        if (auto it = impl_->versions.find(std::string(stream)); it != impl_->versions.end()) return it->second;
    }
    // Not cached: the database is the truth (only the commit path fills the cache, so a reader
    // never installs a value a concurrent commit has already superseded).
    auto v = impl_->stored_version(stream);
    return v ? *v : 0;
}

result<void> store::read_from(std::uint64_t from_position, std::size_t limit, const event_callback& cb) const {
    if (limit == 0) return {};
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->log));
    word_view words;
    recorded_event ev;  // reused: its strings keep their capacity across events
    std::size_t n = 0;
    for (it->Seek(be64(std::max<std::uint64_t>(from_position, 1))); it->Valid() && n < limit; it->Next(), ++n) {
        auto r = impl_->decode_at(it->key(), it->value(), words, ev);
        if (!r) return r;
        if (!cb(ev)) return {};
    }
    if (!it->status().ok()) return storage_error(it->status());
    return {};
}

result<void> store::read_stream(std::string_view stream, std::uint64_t from_version, std::size_t limit,
                                const event_callback& cb) const {
    if (limit == 0) return {};
    rocksdb::ReadOptions ro;
    const rocksdb::Snapshot* snap = impl_->db->GetSnapshot();
    ro.snapshot = snap;
    struct release {
        rocksdb::DB* db;
        const rocksdb::Snapshot* s;
        ~release() { db->ReleaseSnapshot(s); }
    } guard{impl_->db.get(), snap};
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->streams));
    word_view words;
    recorded_event ev;
    std::size_t n = 0;
    const std::string start = stream_key(stream, std::max<std::uint64_t>(from_version, 1));
    const rocksdb::Slice prefix(start.data(), stream.size() + 1);
    for (it->Seek(start); it->Valid() && n < limit && it->key().starts_with(prefix); it->Next(), ++n) {
        if (it->key().size() != prefix.size() + 8 || it->value().size() != 8)
            return make_error(errc::corrupt, "malformed stream index entry");
        rocksdb::PinnableSlice value;
        const std::string key(it->value().data(), 8);
        auto s = impl_->db->Get(ro, impl_->log, key, &value);
        if (s.IsNotFound()) return make_error(errc::corrupt, "stream index points at a missing position");
        if (!s.ok()) return storage_error(s);
        auto r = impl_->decode_at(key, value, words, ev);
        if (!r) return r;
        if (!cb(ev)) return {};
    }
    if (!it->status().ok()) return storage_error(it->status());
    return {};
}

result<std::optional<recorded_event>> store::read_at(std::uint64_t position) const {
    rocksdb::PinnableSlice value;
    const std::string key = be64(position);
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->log, key, &value);
    if (s.IsNotFound()) return std::optional<recorded_event>();
    if (!s.ok()) return storage_error(s);
    word_view words;
    recorded_event ev;
    auto r = impl_->decode_at(key, value, words, ev);
    if (!r) return r.error();
    return std::optional<recorded_event>(std::move(ev));
}

std::optional<std::uint64_t> store::position_at(timestamp t) const {
    std::uint64_t lo = 1, hi = head().position;  // invariant: answer in [lo-1, hi]
    std::optional<std::uint64_t> best;
    while (lo <= hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        auto at = impl_->recorded_at_of(mid);
        if (!at) return std::nullopt;  // a hole in the log: verify reports it; no answer here
        if (*at <= t) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

verify_report store::verify(std::uint64_t from, std::uint64_t to) const {
    verify_report rep;
    auto fail = [&](std::uint64_t pos, std::string msg) {
        rep.ok = false;
        rep.first_bad_position = pos;
        rep.message = std::move(msg);
        return rep;
    };
    from = std::max<std::uint64_t>(from, 1);
    std::uint64_t last = head().position;
    {
        std::string v;
        auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, std::string(head_key), &v);
        if (s.ok()) {
            auto mh = decode_head(v);
            if (!mh) return fail(last + 1, "undecodable head record");
            last = std::max(last, mh->position);
        } else if (!s.IsNotFound()) {
            rep.ok = false;
            rep.message = s.ToString();
            return rep;
        }
    }
    to = std::min(to, last);
    if (from > to) return rep;

    hash256 prev{};
    word_view words;
    if (from > 1) {
        rocksdb::PinnableSlice value;
        auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->log, be64(from - 1), &value);
        if (!s.ok()) return fail(from - 1, "the event before the range is missing: " + s.ToString());
        auto r = with_envelope(value, words, [&](schema::Envelope::Reader env) -> result<void> {
            if (!copy_hash(env.getHash(), prev)) return make_error(errc::corrupt, "bad hash field");
            return {};
        });
        if (!r) return fail(from - 1, r.error().message);
    }

    sha256 hasher;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->log));
    std::uint64_t expected = from;
    for (it->Seek(be64(from)); it->Valid() && expected <= to; it->Next()) {
        auto key = it->key();
        if (key.size() != 8 || get_be64(key.data()) != expected)
            return fail(expected, "position " + std::to_string(expected) + " is missing");
        auto value = it->value();
        std::string problem;
        auto r = with_envelope(value, words, [&](schema::Envelope::Reader env) -> result<void> {
            if (env.getPosition() != expected) {
                problem = "envelope carries position " + std::to_string(env.getPosition()) + " (reordered?)";
                return {};
            }
            hash256 stored_prev{}, stored_hash{};
            if (!copy_hash(env.getPrevHash(), stored_prev) || !copy_hash(env.getHash(), stored_hash)) {
                problem = "hash fields are not 32 bytes";
                return {};
            }
            if (stored_prev != prev) {
                problem = "prev_hash does not match the previous event's hash";
                return {};
            }
            auto hash_field = env.getHash();
            auto segment = words.view(value);  // same bytes the reader sees
            auto* base = reinterpret_cast<const std::uint8_t*>(segment.begin());
            const auto offset = static_cast<std::size_t>(hash_field.begin() - base);
            const auto computed = hasher.chain(prev, base, value.size(), offset);
            if (computed != stored_hash) {
                problem = "hash mismatch: the event was modified";
                return {};
            }
            prev = computed;
            return {};
        });
        if (!r) return fail(expected, r.error().message);
        if (!problem.empty()) return fail(expected, problem);
        ++rep.checked;
        ++expected;
    }
    if (!it->status().ok()) {
        rep.ok = false;
        rep.message = it->status().ToString();
        return rep;
    }
    if (expected <= to) return fail(expected, "position " + std::to_string(expected) + " is missing");
    return rep;
}

subscription store::subscribe(std::function<void(std::uint64_t)> on_commit) {
    std::lock_guard lk(impl_->subscribers->mu);
    const auto id = impl_->subscribers->next_id++;
    impl_->subscribers->callbacks.emplace(id, std::move(on_commit));
    return subscription(impl_->subscribers, id);
}

result<void> store::put_meta(std::string_view key, std::string_view value) {
    if (impl_->options.read_only) return make_error(errc::invalid_argument, "store is open read-only");
    rocksdb::WriteOptions wo;
    wo.sync = impl_->options.sync;
    std::string k(user_meta_prefix);
    k.append(key);
    auto s = impl_->db->Put(wo, impl_->meta, k, rocksdb::Slice(value.data(), value.size()));
    if (!s.ok()) return storage_error(s);
    return {};
}

result<std::optional<idempotency_record>> store::find_idempotency(std::string_view key) const {
    std::string v;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->idempotency, key, &v);
    if (s.IsNotFound()) return std::optional<idempotency_record>{};
    if (!s.ok()) return storage_error(s);
    auto rec = decode_idempotency(v);
    if (!rec) return make_error(errc::corrupt, "undecodable idempotency record");
    return std::optional<idempotency_record>{
        idempotency_record{rec->first, rec->last, rec->at, std::move(rec->fingerprint), std::move(rec->outcome)}};
}

std::optional<std::string> store::get_meta(std::string_view key) const {
    std::string k(user_meta_prefix);
    k.append(key);
    std::string v;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, k, &v);
    if (!s.ok()) return std::nullopt;
    return v;
}

result<void> store::checkpoint(const std::filesystem::path& dir) const {
    rocksdb::Checkpoint* raw = nullptr;
    auto s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
    if (!s.ok()) return storage_error(s);
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    s = cp->CreateCheckpoint(dir.string());
    if (!s.ok()) return storage_error(s);
    return {};
}

store_stats store::stats() const {
    store_stats out;
    out.commits = impl_->stat_commits.load(std::memory_order_relaxed);
    out.batches = impl_->stat_batches.load(std::memory_order_relaxed);
    out.events = impl_->stat_events.load(std::memory_order_relaxed);
    out.write_failures = impl_->stat_write_failures.load(std::memory_order_relaxed);
    out.group_batches = impl_->stat_group_batches.snapshot();
    out.write_seconds = impl_->stat_write_seconds.snapshot();
    out.head_position = head().position;
    // Files come and go under compaction: one that vanished mid-walk is simply not counted.
    std::error_code ec;
    for (std::filesystem::directory_iterator it(impl_->dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code size_ec;
        if (!it->is_regular_file(size_ec)) continue;
        const auto size = it->file_size(size_ec);
        if (!size_ec) out.size_bytes += size;
    }
    return out;
}

void store::fail_next_writes_for_testing(int n) { impl_->fail_writes.store(n); }

bool store::read_only() const noexcept { return impl_->options.read_only; }

}  // namespace roster::eventstore
