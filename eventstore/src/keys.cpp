#include "keys.hpp"

#include <cstring>

namespace roster::eventstore {

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

std::string encode_head(const head_info& h) {
    std::string v(48, '\0');
    put_be64(v.data(), h.position.value);
    std::memcpy(v.data() + 8, h.hash.data(), 32);
    put_be64(v.data() + 40, static_cast<std::uint64_t>(micros(h.recorded_at)));
    return v;
}
std::optional<head_info> decode_head(std::string_view v) {
    if (v.size() != 48) return std::nullopt;
    head_info h;
    h.position = log_position{get_be64(v.data())};
    std::memcpy(h.hash.data(), v.data() + 8, 32);
    h.recorded_at = from_micros(static_cast<std::int64_t>(get_be64(v.data() + 40)));
    return h;
}

}  // namespace roster::eventstore
