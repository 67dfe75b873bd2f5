#include "sha256.hpp"

#include <stdexcept>

#include <openssl/evp.h>

namespace roster::eventstore {

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {}
sha256::~sha256() { EVP_MD_CTX_free(ctx_); }

hash256 sha256::chain(const hash256& prev, const std::uint8_t* bytes, std::size_t size, std::size_t hash_offset) {
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

}  // namespace roster::eventstore
