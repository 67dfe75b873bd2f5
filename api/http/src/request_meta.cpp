#include "roster/api/request_meta.hpp"
#include "roster/api/secrets.hpp"

#include <cstdint>
#include <stdexcept>

#include <openssl/rand.h>

namespace roster::api {

namespace {
bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

bool is_token68_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
}
}  // namespace

std::optional<std::string_view> bearer_token(std::optional<std::string_view> header) {
    if (!header) return std::nullopt;
    std::string_view h = *header;
    while (!h.empty() && (h.front() == ' ' || h.front() == '\t')) h.remove_prefix(1);
    while (!h.empty() && (h.back() == ' ' || h.back() == '\t')) h.remove_suffix(1);
    auto sp = h.find(' ');
    if (sp == std::string_view::npos || !iequals(h.substr(0, sp), "bearer")) return std::nullopt;
    auto token = h.substr(sp + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    // token68: the characters above, then optional '=' padding only at the end.
    auto end = token.find_last_not_of('=');
    if (token.empty() || end == std::string_view::npos) return std::nullopt;
    for (std::size_t i = 0; i <= end; ++i)
        if (!is_token68_char(token[i])) return std::nullopt;
    return token;
}

bool is_sane_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool is_valid_traceparent(std::string_view h) {
    if (h.size() != 55 || !h.starts_with("00-") || h[35] != '-' || h[52] != '-') return false;
    auto hex = [&](std::size_t from, std::size_t n) {
        bool nonzero = false;
        for (std::size_t i = from; i < from + n; ++i) {
            const char c = h[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::optional<bool>{};
            nonzero = nonzero || c != '0';
        }
        return std::optional<bool>{nonzero};
    };
    const auto trace_id = hex(3, 32), parent_id = hex(36, 16), flags = hex(53, 2);
    return trace_id && *trace_id && parent_id && *parent_id && flags;
}

std::optional<std::string_view> valid_traceparent(std::optional<std::string_view> header) {
    if (header && is_valid_traceparent(*header)) return header;
    return std::nullopt;
}

namespace {
// splitmix64's finaliser: a bijection, so distinct counters give distinct halves.
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct id_source {
    std::uint64_t key[2] = {0, 0};
    std::uint64_t counter = 0;
    id_source() {
        if (RAND_bytes(reinterpret_cast<unsigned char*>(key), sizeof key) != 1)
            throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
};
}  // namespace

void generate_request_id(std::string& out) {
    static constexpr char digits[] = "0123456789abcdef";
    thread_local id_source source;
    const auto n = source.counter++;
    const std::uint64_t halves[2] = {mix(source.key[0] + n), mix(source.key[1] ^ n)};
    out.resize(32);
    for (std::size_t h = 0; h < 2; ++h)
        for (std::size_t i = 0; i < 16; ++i) out[h * 16 + i] = digits[(halves[h] >> (60 - 4 * i)) & 0xf];
}

std::string generate_request_id() {
    std::string id;
    generate_request_id(id);
    return id;
}

}  // namespace roster::api
