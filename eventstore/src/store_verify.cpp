// The hash chain: to_hex and verify.
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

}  // namespace roster::eventstore
