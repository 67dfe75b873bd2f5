#include "roster/api/json_writer.hpp"

#include <array>
#include <charconv>

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

void json_writer::append_string(std::string& out, std::string_view s) {
    // Boost.JSON's escapes (boost/json/impl/serializer.ipp): the short forms of \b \t \n \f \r,
    // \u00xx in lower-case hex for the other control characters, '"' and '\\'; everything else,
    // DEL and non-ASCII bytes included, as it is. Names and emails rarely hold any: one scan,
    // then one copy.
    static constexpr char hex[] = "0123456789abcdef";
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t i = 0;
    while (i < s.size() && !escaped[p[i]]) ++i;
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    if (i == s.size()) {
        out.append(s);
        out += '"';
        return;
    }
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
}

json_writer& json_writer::key(std::string_view k) {
    separate();
    append_string(out_, k);
    out_.push_back(':');
    return *this;
}

json_writer& json_writer::value(std::string_view s) {
    separate();
    append_string(out_, s);
    need_comma_ = true;
    return *this;
}

json_writer& json_writer::value(std::uint64_t n) {
    separate();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    need_comma_ = true;
    return *this;
}

json_writer& json_writer::value(std::int64_t n) {
    separate();
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, r.ptr);
    need_comma_ = true;
    return *this;
}

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
