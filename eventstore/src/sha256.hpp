// Private: the SHA-256 of the hash chain (OpenSSL EVP).
#pragma once

#include <cstddef>
#include <cstdint>

#include "roster/eventstore/store.hpp"

struct evp_md_ctx_st;

namespace roster::eventstore {

// SHA-256 over (prev_hash || envelope bytes with the 32 hash bytes at `hash_offset` read as zero).
// Feeding the zeros instead of patching a copy lets verify hash a value straight from RocksDB.
class sha256 {
public:
    sha256();
    ~sha256();
    sha256(const sha256&) = delete;
    sha256& operator=(const sha256&) = delete;

    hash256 chain(const hash256& prev, const std::uint8_t* bytes, std::size_t size, std::size_t hash_offset);

private:
    evp_md_ctx_st* ctx_;
};

}  // namespace roster::eventstore
