// Random identifiers and secrets, and the one-way hash secrets are kept as (OpenSSL).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace roster::api {

// `n` random bytes from OpenSSL as lower-case hex. Throws std::runtime_error when the CSPRNG
// fails (the process cannot do anything safe without it).
std::string random_hex(std::size_t n);

// Lower-case hex SHA-256 (tokens and invitation secrets are only ever kept as this).
std::string sha256_hex(std::string_view data);

}  // namespace roster::api
