// The read replica's write path: envelopes checked and stored verbatim (store::append_replicated).
#include <rocksdb/write_batch.h>

#include "store_impl.hpp"

namespace roster::eventstore {

result<head_info> store::append_replicated(const std::vector<std::string>& envelopes) {
    auto& d = *impl_;
    if (d.options.read_only) return make_error(errc::invalid_argument, "store is open read-only");
    // Under the commit lock: a local append (there should be none on a replica) cannot interleave.
    std::lock_guard commit_lk(d.commit_mu);
    head_info h;
    {
        std::shared_lock lk(d.cache_mu);
        h = d.head;
    }
    if (envelopes.empty()) return h;
    std::unordered_map<std::string, std::uint64_t> overlay;
    rocksdb::WriteBatch wb;
    word_view words;
    for (const auto& bytes : envelopes) {
        const std::uint64_t expected = h.position.value + 1;
        auto refuse = [&](std::string why) {
            return error{
                errc::corrupt, "replicated event " + std::to_string(expected) + ": " + std::move(why), {}, expected, 0};
        };
        std::string stream;
        std::uint64_t version = 0;
        std::optional<error> failure;
        hash256 computed{};
        timestamp at{};
        auto r = with_envelope(rocksdb::Slice(bytes.data(), bytes.size()), words,
                               [&](schema::Envelope::Reader env) -> result<void> {
                                   recorded_event ev;
                                   if (auto f = fill_recorded(env, ev); !f) return f;
                                   if (ev.position.value != expected) {
                                       failure = refuse("carries position " + std::to_string(ev.position.value));
                                       return {};
                                   }
                                   if (ev.prev_hash != h.hash) {
                                       failure = refuse("prev_hash is not the hash of the head");
                                       return {};
                                   }
                                   auto segment = words.view(rocksdb::Slice(bytes.data(), bytes.size()));
                                   auto* base = reinterpret_cast<const std::uint8_t*>(segment.begin());
                                   const auto offset = static_cast<std::size_t>(env.getHash().begin() - base);
                                   computed = d.hasher.chain(h.hash, base, bytes.size(), offset);
                                   if (computed != ev.hash) {
                                       failure = refuse("hash mismatch: the envelope does not hash to its hash");
                                       return {};
                                   }
                                   stream = std::move(ev.stream);
                                   version = ev.version.value;
                                   at = ev.recorded_at;
                                   return {};
                               });
        if (!r) return refuse(r.error().message);
        if (failure) return std::move(*failure);
        std::uint64_t current = 0;
        if (auto it = overlay.find(stream); it != overlay.end())
            current = it->second;
        else if (auto v = d.committed_version(stream); v)
            current = *v;
        else
            return v.error();
        if (version != current + 1)
            return error{errc::version_conflict,
                         "replicated event " + std::to_string(expected) + " has version " + std::to_string(version) +
                             " of stream " + stream + ", which is at version " + std::to_string(current),
                         stream, version, current + 1};
        wb.Put(d.log, be64(expected), rocksdb::Slice(bytes.data(), bytes.size()));
        wb.Put(d.streams, stream_key(stream, version), be64(expected));
        overlay[stream] = version;
        h.position = log_position{expected};
        h.hash = computed;
        h.recorded_at = std::max(h.recorded_at, at);
    }
    wb.Put(d.meta, std::string(head_key), encode_head(h));
    rocksdb::WriteOptions wo;
    wo.sync = d.options.sync;
    const auto write_started = std::chrono::steady_clock::now();
    const rocksdb::Status status = d.db->Write(wo, &wb);
    d.stat_write_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - write_started).count());
    if (!status.ok()) {
        (void)d.db->Resume();
        d.stat_write_failures.fetch_add(1, std::memory_order_relaxed);
        return storage_error(status);
    }
    {
        std::unique_lock lk(d.cache_mu);
        d.head = h;
        for (auto& [s, v] : overlay) d.versions[s] = v;
    }
    d.stat_commits.fetch_add(1, std::memory_order_relaxed);
    d.stat_batches.fetch_add(1, std::memory_order_relaxed);
    d.stat_events.fetch_add(envelopes.size(), std::memory_order_relaxed);
    d.stat_group_batches.observe(1.0);
    d.subscribers->notify(h.position);
    return h;
}

}  // namespace roster::eventstore
