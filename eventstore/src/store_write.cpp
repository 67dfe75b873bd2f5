// The write side: the writer thread, group commit, append, subscriptions, metrics of commits.
#include "store_impl.hpp"

#include <capnp/any.h>
#include <rocksdb/write_batch.h>

namespace roster::eventstore {

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

result<std::uint64_t> store::impl::committed_version(const std::string& stream) {
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

encoded_envelope store::impl::encode(const new_event& e, const std::string& stream, std::uint64_t position,
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
    if (!e.meta.reference.empty()) env.setReference(detail::text(e.meta.reference));
    // Unset when empty, so an event without one encodes exactly as before the field existed.
    if (!e.meta.traceparent.empty()) env.setTraceparent(detail::text(e.meta.traceparent));
    if (!e.meta.labels.empty()) {
        auto labels = env.initLabels(static_cast<unsigned>(e.meta.labels.size()));
        for (unsigned i = 0; i < e.meta.labels.size(); ++i) {
            const auto& l = e.meta.labels[i];
            if (!l.user.empty()) labels[i].setUser(detail::text(l.user.value));
            if (!l.name.empty()) labels[i].setName(detail::text(l.name));
            if (!l.email.empty()) labels[i].setEmail(detail::text(l.email));
        }
    }
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

void store::impl::commit_group(const std::vector<request*>& group) {
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
            std::vector<std::string> stream_ids;
            stream_ids.reserve(b.events.size());
            for (auto& e : b.events) {
                std::string s = domain::stream_of(e.payload);
                if (s.empty() || s.find('\0') != std::string::npos) break;
                stream_ids.push_back(std::move(s));
            }
            if (stream_ids.size() != b.events.size()) {
                slot = make_error(errc::invalid_argument, "invalid stream id");
                continue;
            }
            // Number, hash and stage its events. Anything failing while staging (a storage
            // read, an event Cap'n Proto cannot encode, a numbering the caller disagrees with)
            // refuses this batch alone: the WriteBatch, the head and the overlay return to the
            // save point.
            append_result res{h.position.next(), log_position{h.position.value + b.events.size()}, at};
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
                    if (const auto& stated = b.events[i].version; stated && stated->value != version) {
                        // An invariant, not a client rule: see new_event::version.
                        failure = error{errc::version_conflict,
                                        "event numbered " + std::to_string(stated->value) + " in stream " +
                                            stream_ids[i] + ", which is at version " + std::to_string(*v),
                                        stream_ids[i], stated->value, version};
                        break;
                    }
                    const std::uint64_t position = h.position.value + 1;
                    auto enc = encode(b.events[i], stream_ids[i], position, version, at, h.hash);
                    auto bytes = enc.words.asBytes();
                    wb.Put(log, be64(position),
                           rocksdb::Slice(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
                    wb.Put(streams, stream_key(stream_ids[i], version), be64(position));
                    overlay[stream_ids[i]] = version;
                    h.position = log_position{position};
                    h.hash = enc.hash;
                }
            } catch (const kj::Exception& ex) {
                failure = make_error(errc::invalid_argument,
                                     std::string("event cannot be encoded: ") + ex.getDescription().cStr());
            }
            if (failure) {
                (void)wb.RollbackToSavePoint();
                h = saved_head;
                for (auto it = saved_overlay.rbegin(); it != saved_overlay.rend(); ++it) {
                    if (it->second)
                        overlay[it->first] = *it->second;
                    else
                        overlay.erase(it->first);
                }
                slot = std::move(*failure);
                continue;
            }
            (void)wb.PopSavePoint();
            if (!b.idempotency_key.empty())
                wb.Put(idempotency, b.idempotency_key,
                       encode_idempotency(b, res.first_position.value, res.last_position.value, at));
            accepted.push_back({&slot, std::move(res)});
        }
    }
    if (accepted.empty()) return;

    h.recorded_at = at;
    wb.Put(meta, std::string(head_key), encode_head(h));
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    const auto write_started = std::chrono::steady_clock::now();
    const rocksdb::Status status = db->Write(wo, &wb);
    stat_write_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - write_started).count());
    // RocksDB may stop accepting writes after an I/O error; try to leave that state so a
    // later commit can succeed once the disk is back.
    if (!status.ok()) (void)db->Resume();
    if (!status.ok()) {
        // Nothing of this group reached the caches: they still describe the last durable state.
        // Every batch of the group fails, refused ones too, so a caller never has to tell which
        // of its refusals were judged against batches that are now not written.
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
    stat_commits.fetch_add(1, std::memory_order_relaxed);
    stat_batches.fetch_add(accepted.size(), std::memory_order_relaxed);
    stat_events.fetch_add(h.position.value - accepted.front().value.first_position.value + 1,
                          std::memory_order_relaxed);
    stat_group_batches.observe(static_cast<double>(accepted.size()));
    for (auto& a : accepted) *a.slot = std::move(a.value);
    subscribers->notify(h.position);
}

void store::impl::writer_loop() {
    std::vector<request*> group;
    for (;;) {
        group.clear();
        {
            std::unique_lock lk(queue_mu);
            queue_cv.wait(lk, [&] { return stopping || !queue.empty(); });
            if (queue.empty()) return;  // stopping, and everything queued was served
            std::size_t batches = 0;
            while (!queue.empty() &&
                   (group.empty() || batches + queue.front()->batches.size() <= options.max_group_batches)) {
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

std::vector<result<append_result>> store::impl::submit(std::vector<append_batch> batches) {
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

subscription store::subscribe(std::function<void(log_position)> on_commit) {
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

result<void> store::delete_meta(std::string_view key) {
    if (impl_->options.read_only) return make_error(errc::invalid_argument, "store is open read-only");
    rocksdb::WriteOptions wo;
    wo.sync = impl_->options.sync;
    std::string k(user_meta_prefix);
    k.append(key);
    auto s = impl_->db->Delete(wo, impl_->meta, k);
    if (!s.ok()) return storage_error(s);
    return {};
}

result<void> store::put_meta_batch(const std::vector<std::pair<std::string, std::string>>& entries) {
    if (impl_->options.read_only) return make_error(errc::invalid_argument, "store is open read-only");
    rocksdb::WriteBatch batch;
    std::string k;
    for (const auto& [key, value] : entries) {
        k.assign(user_meta_prefix);
        k.append(key);
        if (auto s = batch.Put(impl_->meta, k, value); !s.ok()) return storage_error(s);
    }
    rocksdb::WriteOptions wo;
    wo.sync = impl_->options.sync;
    auto s = impl_->db->Write(wo, &batch);
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

}  // namespace roster::eventstore
