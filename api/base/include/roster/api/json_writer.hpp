// Writes JSON text straight into a string, for answers on the read path that would otherwise be
// built as a Boost.JSON DOM only to be serialized once (an allocation per string, object and
// array, then a copy). The bytes are those boost::json::serialize writes for the same values
// (same escapes, same numbers), so a route can switch without its clients seeing a difference.
// Not thread-safe; owned by the code writing one answer, and the string outlives it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace roster::api {

class json_writer {
public:
    explicit json_writer(std::string& out) noexcept : out_(out) {}

    json_writer& begin_object() { return open('{'); }
    json_writer& end_object() { return close('}'); }
    json_writer& begin_array() { return open('['); }
    json_writer& end_array() { return close(']'); }

    // The key of the next member, escaped as a string.
    json_writer& key(std::string_view k);

    json_writer& value(std::string_view s);
    json_writer& value(const char* s) { return value(std::string_view(s)); }
    json_writer& value(std::uint64_t n);
    json_writer& value(std::int64_t n);
    json_writer& value(bool b);
    json_writer& null();

    // Both at once: key(k).value(v).
    template <class T>
    json_writer& member(std::string_view k, const T& v) {
        return key(k).value(v);
    }

    // Appends `s` as a JSON string (quotes and escapes) to `out`.
    static void append_string(std::string& out, std::string_view s);

private:
    void separate() {
        if (need_comma_) out_.push_back(',');
        need_comma_ = false;
    }
    json_writer& open(char c) {
        separate();
        out_.push_back(c);
        return *this;
    }
    json_writer& close(char c) {
        out_.push_back(c);
        need_comma_ = true;
        return *this;
    }

    std::string& out_;
    bool need_comma_ = false;  // a value was written at this level: the next one needs a comma
};

}  // namespace roster::api
