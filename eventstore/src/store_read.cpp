// The read side: decoding envelopes, reads and iteration, position_at, idempotency and meta lookups.
#include "handoff.hpp"
#include "store_impl.hpp"

namespace roster::eventstore {

result<void> fill_recorded(schema::Envelope::Reader env, recorded_event& out) {
    out.position = log_position{env.getPosition()};
    assign(out.stream, env.getStream());
    out.version = domain::stream_version{env.getStreamVersion()};
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
    assign(out.meta.reference, env.getReference());
    assign(out.meta.traceparent, env.getTraceparent());
    out.meta.labels.clear();
    out.meta.labels.reserve(env.getLabels().size());
    for (auto l : env.getLabels()) {
        domain::user_label label;
        assign(label.user.value, l.getUser());
        assign(label.name, l.getName());
        assign(label.email, l.getEmail());
        out.meta.labels.push_back(std::move(label));
    }
    if (!copy_hash(env.getPrevHash(), out.prev_hash) || !copy_hash(env.getHash(), out.hash))
        return make_error(errc::corrupt, "hash fields are not 32 bytes");
    out.schema_version = env.getSchemaVersion();
    auto payload = detail::read_payload(env.getPayload());
    if (!payload) return payload.error();
    out.payload = std::move(*payload);
    return {};
}

result<std::uint64_t> store::impl::stored_version(std::string_view stream) const {
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

result<void> store::impl::decode_at(const rocksdb::Slice& key, const rocksdb::Slice& value, word_view& words,
                                    recorded_event& out) const {
    if (key.size() != 8) return make_error(errc::corrupt, "log key is not 8 bytes");
    const std::uint64_t position = get_be64(key.data());
    auto r = with_envelope(value, words, [&](schema::Envelope::Reader env) { return fill_recorded(env, out); });
    if (!r) return r;
    if (out.position.value != position)
        return error{errc::corrupt, "envelope position does not match its key", {}, position, out.position.value};
    return {};
}

result<timestamp> store::impl::recorded_at_of(log_position position) const {
    rocksdb::PinnableSlice value;
    auto s = db->Get(rocksdb::ReadOptions(), log, be64(position.value), &value);
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

head_info store::head() const {
    std::shared_lock lk(impl_->cache_mu);
    return impl_->head;
}

stream_version store::stream_version(std::string_view stream) const {
    {
        std::shared_lock lk(impl_->cache_mu);
        if (auto it = impl_->versions.find(std::string(stream)); it != impl_->versions.end())
            return domain::stream_version{it->second};
    }
    // Not cached: the database is the truth (only the commit path fills the cache, so a reader
    // never installs a value a concurrent commit has already superseded).
    auto v = impl_->stored_version(stream);
    return domain::stream_version{v ? *v : 0};
}

result<void> store::read_from(log_position from_position, std::size_t limit, const event_callback& cb) const {
    if (limit == 0) return {};
    if (auto f = impl_->injected_read_failure()) return *f;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->log));
    word_view words;
    recorded_event ev;  // reused: its strings keep their capacity across events
    std::size_t n = 0;
    for (it->Seek(be64(std::max<std::uint64_t>(from_position.value, 1))); it->Valid() && n < limit; it->Next(), ++n) {
        auto r = impl_->decode_at(it->key(), it->value(), words, ev);
        if (!r) return r;
        if (!cb(ev)) return {};
    }
    if (!it->status().ok()) return storage_error(it->status());
    return {};
}

namespace {

// Decoded events read ahead by read_bulk_from's reading thread. The slots are reused, so their
// strings keep their capacity from one chunk to the next (no allocation per event once warm).
struct decoded_chunk {
    static constexpr std::size_t max_events = 256;
    static constexpr std::size_t max_bytes = std::size_t{256} << 10;  // of stored envelopes
    static constexpr std::size_t count_in_flight = 3;                 // being filled, queued, being called back

    std::vector<recorded_event> slots;
    std::size_t count = 0, bytes = 0;
    std::optional<error> failure;  // the read ended here, after `count` good events

    void clear() {
        count = bytes = 0;
        failure.reset();
    }
    bool full() const { return count >= max_events || bytes >= max_bytes; }
    recorded_event& next_slot() {
        if (count == slots.size()) slots.emplace_back();
        return slots[count];
    }
};

}  // namespace

result<void> store::read_bulk_from(log_position from_position, std::size_t limit, const event_callback& cb) const {
    if (limit == 0) return {};
    if (auto f = impl_->injected_read_failure()) return *f;
    using chunk_queue = handoff<decoded_chunk, decoded_chunk::count_in_flight>;
    chunk_queue queue;
    std::exception_ptr reader_failure;
    std::thread reader([&] {
        try {
            std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->log));
            word_view words;
            decoded_chunk* c = queue.take_free();
            std::size_t n = 0;
            for (it->Seek(be64(std::max<std::uint64_t>(from_position.value, 1))); c && it->Valid() && n < limit;
                 it->Next(), ++n) {
                auto r = impl_->decode_at(it->key(), it->value(), words, c->next_slot());
                if (!r) {
                    c->failure = r.error();
                    break;
                }
                ++c->count;
                c->bytes += it->value().size();
                if (c->full()) {
                    queue.submit(c);
                    c = queue.take_free();  // null once the caller has stopped
                }
            }
            if (c) {
                if (!c->failure && !it->status().ok()) c->failure = storage_error(it->status());
                queue.submit(c);
            }
        } catch (...) {
            reader_failure = std::current_exception();
        }
        queue.finish();
    });
    // However the callbacks end, the reader is stopped and joined before its queue goes away.
    std::optional<joined_on_exit> joiner(std::in_place, reader, [&queue] { queue.stop(); });
    result<void> outcome;
    while (auto* c = queue.take_full()) {
        bool more = true;
        for (std::size_t i = 0; i < c->count && more; ++i) more = cb(c->slots[i]);
        if (more && c->failure) outcome = *c->failure;
        queue.give_back(c);
        if (!more || !outcome) break;
    }
    joiner.reset();
    if (reader_failure) std::rethrow_exception(reader_failure);
    return outcome;
}

result<void> store::read_raw_from(std::uint64_t from_position, std::size_t limit,
                                  const std::function<bool(std::uint64_t, std::string_view)>& fn) const {
    if (limit == 0) return {};
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->log));
    std::size_t n = 0;
    for (it->Seek(be64(std::max<std::uint64_t>(from_position, 1))); it->Valid() && n < limit; it->Next(), ++n) {
        if (it->key().size() != 8) return make_error(errc::corrupt, "log key is not 8 bytes");
        if (!fn(get_be64(it->key().data()), std::string_view(it->value().data(), it->value().size()))) return {};
    }
    if (!it->status().ok()) return storage_error(it->status());
    return {};
}

result<void> store::read_stream(std::string_view stream, domain::stream_version from_version, std::size_t limit,
                                const event_callback& cb) const {
    if (limit == 0) return {};
    if (auto f = impl_->injected_read_failure()) return *f;
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
    const std::string start = stream_key(stream, std::max<std::uint64_t>(from_version.value, 1));
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

result<std::optional<recorded_event>> store::read_at(log_position position) const {
    if (auto f = impl_->injected_read_failure()) return *f;
    rocksdb::PinnableSlice value;
    const std::string key = be64(position.value);
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->log, key, &value);
    if (s.IsNotFound()) return std::optional<recorded_event>();
    if (!s.ok()) return storage_error(s);
    word_view words;
    recorded_event ev;
    auto r = impl_->decode_at(key, value, words, ev);
    if (!r) return r.error();
    return std::optional<recorded_event>(std::move(ev));
}

result<recorded_event> decode_envelope(std::string_view bytes) {
    word_view words;
    recorded_event ev;
    auto r = with_envelope(rocksdb::Slice(bytes.data(), bytes.size()), words,
                           [&](schema::Envelope::Reader env) { return fill_recorded(env, ev); });
    if (!r) return r.error();
    return ev;
}

std::optional<log_position> store::position_at(timestamp t) const {
    std::uint64_t lo = 1, hi = head().position.value;  // invariant: answer in [lo-1, hi]
    std::optional<log_position> best;
    while (lo <= hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        auto at = impl_->recorded_at_of(log_position{mid});
        if (!at) return std::nullopt;  // a hole in the log: verify reports it; no answer here
        if (*at <= t) {
            best = log_position{mid};
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return best;
}

result<std::optional<idempotency_record>> store::find_idempotency(std::string_view key) const {
    std::string v;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->idempotency, key, &v);
    if (s.IsNotFound()) return std::optional<idempotency_record>{};
    if (!s.ok()) return storage_error(s);
    auto rec = decode_idempotency(v);
    if (!rec) return make_error(errc::corrupt, "undecodable idempotency record");
    return std::optional<idempotency_record>{idempotency_record{log_position{rec->first}, log_position{rec->last},
                                                                rec->at, std::move(rec->fingerprint),
                                                                std::move(rec->outcome)}};
}

std::optional<std::string> store::get_meta(std::string_view key) const {
    std::string k(user_meta_prefix);
    k.append(key);
    std::string v;
    auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, k, &v);
    if (!s.ok()) return std::nullopt;
    return v;
}

result<void> store::scan_meta(std::string_view prefix,
                              const std::function<bool(std::string_view, std::string_view)>& fn) const {
    std::string start(user_meta_prefix);
    start.append(prefix);
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->meta));
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
        auto key = it->key();
        key.remove_prefix(user_meta_prefix.size());
        if (!fn(std::string_view(key.data(), key.size()), std::string_view(it->value().data(), it->value().size())))
            break;
    }
    if (!it->status().ok()) return storage_error(it->status());
    return {};
}

}  // namespace roster::eventstore
