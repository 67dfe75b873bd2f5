#include "roster/api/json_writer.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace roster::api {

namespace {

// Bytes Boost.JSON escapes: the control characters, '"' and '\\'.
constexpr auto escaped = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[c] = true;
    t['"'] = t['\\'] = true;
    return t;
}();

}  // namespace

namespace {

// `lead` (0: none), then `s` as a JSON string, then `tail` (0: none). Boost.JSON's escapes
// (boost/json/impl/serializer.ipp): the short forms of \b \t \n \f \r, \u00xx in lower-case hex
// for the other control characters, '"' and '\\'; everything else, DEL and non-ASCII bytes
// included, as it is. Names, emails and keys rarely hold any: one scan, then one resize and
// one copy (a member's key was four appends, its comma and colon included).
void put_string(std::string& out, char lead, std::string_view s, char tail) {
    static constexpr char hex[] = "0123456789abcdef";
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t i = 0;
    // Eight bytes at a time while none is a control character, '"' or '\\' (the usual string
    // has none, and a search page writes hundreds); the byte loop then finds the exact one.
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
    for (std::uint64_t w; i + 8 <= s.size(); i += 8) {
        std::memcpy(&w, p + i, 8);
        if (((w - 0x20 * ones) & ~w & highs) | has_zero(w ^ ('"' * ones)) | has_zero(w ^ ('\\' * ones))) break;
    }
    while (i < s.size() && !escaped[p[i]]) ++i;
    if (i == s.size()) {
        const auto at = out.size();
        const std::size_t extra = (lead != 0) + (tail != 0);
        out.resize(at + s.size() + 2 + extra);
        char* d = out.data() + at;
        if (lead != 0) *d++ = lead;
        *d++ = '"';
        std::memcpy(d, s.data(), s.size());
        d += s.size();
        *d++ = '"';
        if (tail != 0) *d = tail;
        return;
    }
    if (lead != 0) out += lead;
    out += '"';
    std::size_t run = 0;  // start of the bytes not yet copied
    for (; i < s.size(); ++i) {
        const auto c = p[i];
        if (!escaped[c]) continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        out += '\\';
        switch (c) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '\b': out += 'b'; break;
            case '\t': out += 't'; break;
            case '\n': out += 'n'; break;
            case '\f': out += 'f'; break;
            case '\r': out += 'r'; break;
            default:
                out.append("u00");
                out += hex[c >> 4];
                out += hex[c & 0xf];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
    if (tail != 0) out += tail;
}

}  // namespace

void json_writer::append_string(std::string& out, std::string_view s) { put_string(out, 0, s, 0); }

json_writer& json_writer::key(std::string_view k) {
    put_string(out_, need_comma_ ? ',' : 0, k, ':');
    need_comma_ = false;
    return *this;
}

json_writer& json_writer::value(std::string_view s) {
    put_string(out_, need_comma_ ? ',' : 0, s, 0);
    need_comma_ = true;
    return *this;
}

template <class Integer>
json_writer& json_writer::integer(Integer n) {
    separate();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    need_comma_ = true;
    return *this;
}

json_writer& json_writer::value(std::uint64_t n) { return integer(n); }
json_writer& json_writer::value(std::int64_t n) { return integer(n); }

json_writer& json_writer::value(bool b) {
    separate();
    out_.append(b ? "true" : "false");
    need_comma_ = true;
    return *this;
}

json_writer& json_writer::null() {
    separate();
    out_.append("null");
    need_comma_ = true;
    return *this;
}

}  // namespace roster::api
