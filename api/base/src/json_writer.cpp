#include "roster/api/json_writer.hpp"

#include <charconv>

namespace roster::api {

void json_writer::append_string(std::string& out, std::string_view s) {
    // Boost.JSON's escapes (boost/json/impl/serializer.ipp): the short forms of \b \t \n \f \r,
    // \u00xx in lower-case hex for the other control characters, '"' and '\\'; everything else,
    // DEL and non-ASCII bytes included, as it is.
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the bytes not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        out.push_back('\\');
        switch (c) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '\b': out.push_back('b'); break;
            case '\t': out.push_back('t'); break;
            case '\n': out.push_back('n'); break;
            case '\f': out.push_back('f'); break;
            case '\r': out.push_back('r'); break;
            default:
                out.append("u00");
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xf]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
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
