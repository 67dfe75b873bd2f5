#include "roster/api/secrets.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace roster::api {
namespace {

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * size);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[bytes[i] >> 4]);
        out.push_back(digits[bytes[i] & 0xf]);
    }
    return out;
}

}  // namespace

std::string random_hex(std::size_t n) {
    std::string bytes(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("OpenSSL RAND_bytes failed");
    return to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
}

std::string sha256_hex(std::string_view data) {
    // Every authenticated request hashes its token. EVP_Digest(EVP_sha256()) looks the
    // algorithm up in OpenSSL 3's provider store (locks included) and allocates a context on
    // each call; the algorithm is fetched once per process and each thread keeps its context.
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    struct context {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        ~context() { EVP_MD_CTX_free(ctx); }
    };
    thread_local context local;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (md == nullptr || local.ctx == nullptr || EVP_DigestInit_ex2(local.ctx, md, nullptr) != 1 ||
        EVP_DigestUpdate(local.ctx, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(local.ctx, digest, &size) != 1)
        throw std::runtime_error("SHA-256 failed");
    return to_hex(digest, size);
}

}  // namespace roster::api
