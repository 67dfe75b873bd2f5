// The hash chain: to_hex and verify.
//
// verify runs as a two-stage pipeline across two threads: the calling thread walks the RocksDB
// iterator and copies each value into a word-aligned batch (RocksDB values are only valid until
// Next(), and an aligned copy lets Cap'n Proto read in place), while a worker parses and hashes the
// batches in log order. Every event's hash is recomputed from its own stored prev_hash, so the
// hashing needs nothing from the previous event; the link to the previous event is a comparison,
// made in order by the worker. The checks, their order and their messages are those of a
// sequential walk, so the report (first bad position, message, checked) is the same.
#include <array>
#include <exception>
#include <stdexcept>

#include <openssl/evp.h>

#include "handoff.hpp"
#include "store_impl.hpp"

namespace roster::eventstore {

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

// The chain hash of sha256::chain, with the digest fetched once: EVP_DigestInit_ex with
// EVP_sha256() looks the implementation up again on every call under OpenSSL 3, which cost
// verify more than the hashing itself.
class chain_hasher {
public:
    chain_hasher() : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
        if (!ctx_ || !md_) throw std::runtime_error("OpenSSL SHA-256 is unavailable");
    }
    ~chain_hasher() {
        EVP_MD_free(md_);
        EVP_MD_CTX_free(ctx_);
    }
    chain_hasher(const chain_hasher&) = delete;
    chain_hasher& operator=(const chain_hasher&) = delete;

    hash256 chain(const hash256& prev, const std::uint8_t* bytes, std::size_t size, std::size_t hash_offset) {
        static constexpr std::uint8_t zeros[32] = {};
        hash256 out{};
        unsigned int len = 0;
        // Failures of EVP here mean a broken OpenSSL installation: a bug, not an expected failure.
        if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 || EVP_DigestUpdate(ctx_, prev.data(), prev.size()) != 1 ||
            EVP_DigestUpdate(ctx_, bytes, hash_offset) != 1 || EVP_DigestUpdate(ctx_, zeros, 32) != 1 ||
            EVP_DigestUpdate(ctx_, bytes + hash_offset + 32, size - hash_offset - 32) != 1 ||
            EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != 32)
            throw std::runtime_error("OpenSSL SHA-256 failed");
        return out;
    }

private:
    EVP_MD_CTX* ctx_;
    EVP_MD* md_;
};

// Up to this many bytes or events per batch, and this many batches in all (being filled, queued,
// being checked): verify holds at most ~batch_count MiB whatever the log size.
constexpr std::size_t batch_bytes = std::size_t{1} << 20;
constexpr std::size_t batch_events = 4096;
constexpr std::size_t batch_count = 3;

// A reader-side end of the walk, checked by the worker in its place in log order.
struct walk_end {
    std::optional<std::uint64_t> position;  // nullopt: a storage error, no position to blame
    std::string message;
};

struct batch {
    struct entry {
        std::uint64_t position;
        std::size_t word_offset;
        std::size_t size;  // bytes of the stored value (may not be a whole number of words)
    };
    std::unique_ptr<std::uint64_t[]> words;
    std::size_t capacity = 0, used = 0;  // in words
    std::vector<entry> entries;
    std::optional<walk_end> end;

    void clear() {
        used = 0;
        entries.clear();
        end.reset();
    }
    bool full() const { return used * sizeof(std::uint64_t) >= batch_bytes || entries.size() >= batch_events; }
    void add(std::uint64_t position, const rocksdb::Slice& v) {
        const std::size_t n = (v.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t);
        if (used + n > capacity) {
            const std::size_t grown = std::max({used + n, capacity * 2, batch_bytes / sizeof(std::uint64_t) + 64});
            auto bigger = std::make_unique<std::uint64_t[]>(grown);
            if (used) std::memcpy(bigger.get(), words.get(), used * sizeof(std::uint64_t));
            words = std::move(bigger);
            capacity = grown;
        }
        if (v.size()) std::memcpy(words.get() + used, v.data(), v.size());
        entries.push_back({position, used, v.size()});
        used += n;
    }
    rocksdb::Slice value(const entry& e) const {
        return {reinterpret_cast<const char*>(words.get() + e.word_offset), e.size};
    }
};

// The in-order checks of the worker: the chain state and the report.
class chain_checker {
public:
    chain_checker(const hash256& prev, verify_report& rep) : prev_(prev), rep_(rep) {}

    // False once the report holds a failure.
    bool check(const batch& b) {
        for (const auto& e : b.entries)
            if (!check(e.position, b.value(e))) return false;
        if (b.end) {
            rep_.ok = false;
            rep_.first_bad_position = b.end->position ? std::optional(log_position{*b.end->position}) : std::nullopt;
            rep_.message = b.end->message;
            return false;
        }
        return true;
    }

private:
    bool fail(std::uint64_t pos, std::string msg) {
        rep_.ok = false;
        rep_.first_bad_position = log_position{pos};
        rep_.message = std::move(msg);
        return false;
    }

    bool check(std::uint64_t expected, const rocksdb::Slice& value) {
        std::string problem;
        auto r = with_envelope(value, words_, [&](schema::Envelope::Reader env) -> result<void> {
            if (env.getPosition() != expected) {
                problem = "envelope carries position " + std::to_string(env.getPosition()) + " (reordered?)";
                return {};
            }
            auto prev_field = env.getPrevHash();
            auto hash_field = env.getHash();
            if (prev_field.size() != 32 || hash_field.size() != 32) {
                problem = "hash fields are not 32 bytes";
                return {};
            }
            // Compared in place: no copy of either hash unless the event is good.
            if (std::memcmp(prev_field.begin(), prev_.data(), 32) != 0) {
                problem = "prev_hash does not match the previous event's hash";
                return {};
            }
            auto segment = words_.view(value);  // same bytes the reader sees (in place: the batch is aligned)
            auto* base = reinterpret_cast<const std::uint8_t*>(segment.begin());
            const auto offset = static_cast<std::size_t>(hash_field.begin() - base);
            const auto computed = hasher_.chain(prev_, base, value.size(), offset);
            if (std::memcmp(computed.data(), hash_field.begin(), 32) != 0) {
                problem = "hash mismatch: the event was modified";
                return {};
            }
            prev_ = computed;
            return {};
        });
        if (!r) return fail(expected, r.error().message);
        if (!problem.empty()) return fail(expected, problem);
        ++rep_.checked;
        return true;
    }

    hash256 prev_;
    verify_report& rep_;
    word_view words_;
    chain_hasher hasher_;
};

// Batches handed between the reading thread and the checking worker, in order.
using batch_queue = handoff<batch, batch_count>;

}  // namespace

verify_report store::verify(log_position from_position, log_position to_position) const {
    // The chain walk below is arithmetic over raw positions; the typed ones are its interface.
    std::uint64_t from = from_position.value, to = to_position.value;
    verify_report rep;
    auto fail = [&](std::uint64_t pos, std::string msg) {
        rep.ok = false;
        rep.first_bad_position = log_position{pos};
        rep.message = std::move(msg);
        return rep;
    };
    from = std::max<std::uint64_t>(from, 1);
    std::uint64_t last = head().position.value;
    {
        std::string v;
        auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, std::string(head_key), &v);
        if (s.ok()) {
            auto mh = decode_head(v);
            if (!mh) return fail(last + 1, "undecodable head record");
            last = std::max(last, mh->position.value);
        } else if (!s.IsNotFound()) {
            rep.ok = false;
            rep.message = s.ToString();
            return rep;
        }
    }
    to = std::min(to, last);
    if (from > to) return rep;

    hash256 prev{};
    if (from > 1) {
        word_view words;
        rocksdb::PinnableSlice value;
        auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->log, be64(from - 1), &value);
        if (!s.ok()) return fail(from - 1, "the event before the range is missing: " + s.ToString());
        auto r = with_envelope(value, words, [&](schema::Envelope::Reader env) -> result<void> {
            if (!copy_hash(env.getHash(), prev)) return make_error(errc::corrupt, "bad hash field");
            return {};
        });
        if (!r) return fail(from - 1, r.error().message);
    }

    batch_queue queue;
    chain_checker checker(prev, rep);
    std::exception_ptr worker_failure;
    std::thread worker([&] {
        try {
            while (batch* b = queue.take_full()) {
                const bool good = checker.check(*b);
                queue.give_back(b);
                if (!good) return queue.stop();
            }
        } catch (...) {
            worker_failure = std::current_exception();
            queue.stop();
        }
    });

    // However the reading below ends, the worker is told and joined before the queue and the
    // report it uses go away.
    std::optional<joined_on_exit> joiner(std::in_place, worker, [&queue] { queue.finish(); });

    // The reader: on its own, any failure it meets goes at the end of the batch it fills, so the
    // worker reports it only if nothing before it failed (the order of a sequential walk).
    batch* b = queue.take_free();
    auto end_walk = [&](std::optional<std::uint64_t> position, std::string message) {
        if (b) b->end = walk_end{position, std::move(message)};
    };
    // A one-pass scan of the whole range: its blocks would only evict what readers keep cached
    // (and inserting each one costs the scan time). Checksums are verified as on every read.
    rocksdb::ReadOptions scan;
    scan.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(scan, impl_->log));
    std::uint64_t expected = from;
    bool ended = false;
    for (it->Seek(be64(from)); b && it->Valid() && expected <= to; it->Next()) {
        auto key = it->key();
        if (key.size() != 8 || get_be64(key.data()) != expected) {
            end_walk(expected, "position " + std::to_string(expected) + " is missing");
            ended = true;
            break;
        }
        b->add(expected, it->value());
        ++expected;
        if (b->full()) {
            queue.submit(b);
            b = queue.take_free();  // null once the worker has found a failure
        }
    }
    if (b && !ended) {
        if (!it->status().ok())
            end_walk(std::nullopt, it->status().ToString());
        else if (expected <= to)
            end_walk(expected, "position " + std::to_string(expected) + " is missing");
    }
    if (b) queue.submit(b);
    joiner.reset();
    if (worker_failure) std::rethrow_exception(worker_failure);
    return rep;
}

}  // namespace roster::eventstore
