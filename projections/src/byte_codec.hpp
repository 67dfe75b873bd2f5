// The varint byte layout shared by the private formats of projections/ (snapshots, the history
// index of a restart checkpoint). Private to the library: not installed under include/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "roster/domain/types.hpp"

namespace roster::projections::bytes {

class writer {
public:
    explicit writer(std::string& out) : out_(out) {}
    void u64(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    void str(std::string_view s) {
        u64(s.size());
        out_.append(s);
    }
    void time(domain::timestamp t) { u64(static_cast<std::uint64_t>(t.time_since_epoch().count())); }
    void raw(std::string_view s) { out_.append(s); }

private:
    std::string& out_;
};

class reader {
public:
    explicit reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool done() const { return ok_ && in_.empty(); }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (in_.empty()) return fail();
            const auto b = static_cast<unsigned char>(in_.front());
            in_.remove_prefix(1);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        return fail();
    }
    std::string str() {
        const auto n = u64();
        if (!ok_ || n > in_.size()) return fail(), std::string{};
        std::string s(in_.substr(0, n));
        in_.remove_prefix(n);
        return s;
    }
    // The next `n` bytes as they are (empty and failed when fewer are left).
    std::string_view raw(std::size_t n) {
        if (!ok_ || n > in_.size()) return fail(), std::string_view{};
        auto s = in_.substr(0, n);
        in_.remove_prefix(n);
        return s;
    }
    domain::timestamp time() { return domain::timestamp(std::chrono::microseconds(static_cast<std::int64_t>(u64()))); }
    // A count of items that each take at least one byte: a corrupt count cannot ask for more
    // memory than the input could describe.
    std::uint64_t count() {
        const auto n = u64();
        if (n > in_.size()) return fail();
        return n;
    }
    // The count() that comes next, without reading it (0 when it would fail): for a reserve().
    std::uint64_t peek_count() const {
        reader ahead = *this;
        return ahead.count();
    }
    template <class E>
    E enumeration(std::size_t limit) {
        const auto v = u64();
        if (v >= limit) fail();
        return static_cast<E>(v);
    }

private:
    std::uint64_t fail() {
        ok_ = false;
        in_ = {};
        return 0;
    }
    std::string_view in_;
    bool ok_ = true;
};

}  // namespace roster::projections::bytes
