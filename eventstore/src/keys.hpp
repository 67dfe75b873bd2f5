// Private: the big-endian key and record codecs of the store's column families (layout: README.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "roster/eventstore/store.hpp"

namespace roster::eventstore {

void put_be64(char* p, std::uint64_t v);
std::uint64_t get_be64(const char* p);
std::string be64(std::uint64_t v);
// Stream ids never contain NUL (checked on append), so "stream\0" is a prefix no other stream shares.
std::string stream_key(std::string_view stream, std::uint64_t version);

inline std::int64_t micros(timestamp t) { return t.time_since_epoch().count(); }
inline timestamp from_micros(std::int64_t v) { return timestamp(std::chrono::microseconds(v)); }
inline timestamp now_micros() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// Idempotency record: be64 first | be64 last | be64 recorded_at | be32 fingerprint size |
// fingerprint | outcome (rest).
std::string encode_idempotency(const append_batch& b, std::uint64_t first, std::uint64_t last, timestamp at);
struct stored_idempotency {
    std::uint64_t first = 0, last = 0;
    timestamp at{};
    std::string fingerprint, outcome;
};
std::optional<stored_idempotency> decode_idempotency(std::string_view v);

// Head record in meta: be64 position | 32-byte hash | be64 recorded_at.
std::string encode_head(const head_info& h);
std::optional<head_info> decode_head(std::string_view v);

}  // namespace roster::eventstore
