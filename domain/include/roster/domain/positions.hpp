// Positions in the global log and versions of streams as distinct types, so the compiler refuses
// to mix them: handing a user stream's version where an account's is expected is how a client got
// 412 for the ETag it had just been given. Pure values, no I/O; the wire and the stored bytes
// still carry the plain number (`.value`).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>

namespace roster::domain {

// A position in the global log: 1 is the first event, 0 = before the first event (empty log).
struct log_position {
    std::uint64_t value = 0;

    constexpr log_position() noexcept = default;
    constexpr explicit log_position(std::uint64_t v) noexcept : value(v) {}
    constexpr log_position next() const noexcept { return log_position{value + 1}; }
    // The position before this one; 0 stays 0 (there is nothing before the empty log).
    constexpr log_position prev() const noexcept { return log_position{value == 0 ? 0 : value - 1}; }
    static constexpr log_position max() noexcept { return log_position{std::numeric_limits<std::uint64_t>::max()}; }
    constexpr auto operator<=>(const log_position&) const noexcept = default;
};

// The version of one stream: the number of events in it, 0 = the stream does not exist. The tag
// names the kind of stream, so versions of different kinds neither convert nor compare.
template <class Tag>
struct stream_version_of {
    std::uint64_t value = 0;

    constexpr stream_version_of() noexcept = default;
    constexpr explicit stream_version_of(std::uint64_t v) noexcept : value(v) {}
    constexpr stream_version_of next() const noexcept { return stream_version_of{value + 1}; }
    constexpr bool exists() const noexcept { return value != 0; }
    constexpr auto operator<=>(const stream_version_of&) const noexcept = default;
};

struct any_stream_tag;
struct account_stream_tag;
struct user_stream_tag;
struct token_stream_tag;
struct security_stream_tag;

// Untyped: only the store, which versions arbitrary stream names, speaks it. Typed versions come
// from it in one place per kind, `version_of` (events.hpp), next to the stream's name.
using stream_version = stream_version_of<any_stream_tag>;
using account_version = stream_version_of<account_stream_tag>;
using user_version = stream_version_of<user_stream_tag>;
using token_version = stream_version_of<token_stream_tag>;
using security_version = stream_version_of<security_stream_tag>;

// The version of one user-in-account resource (`/v1/accounts/{a}/users/{u}`: the profile, that
// membership and its contact roles, the open invitation): the log position of the last event
// that changed what that URL shows. A log position rather than a count of events, so it is never
// reused: after a removal and a new membership, an ETag of the old membership cannot match the
// new one. Its own type, so it cannot be compared with a stream version (the bug of issue 14).
struct member_version {
    std::uint64_t value = 0;

    constexpr member_version() noexcept = default;
    constexpr explicit member_version(std::uint64_t v) noexcept : value(v) {}
    constexpr explicit member_version(log_position p) noexcept : value(p.value) {}
    constexpr auto operator<=>(const member_version&) const noexcept = default;
};

}  // namespace roster::domain

template <>
struct std::hash<roster::domain::log_position> {
    std::size_t operator()(roster::domain::log_position p) const noexcept {
        return std::hash<std::uint64_t>{}(p.value);
    }
};

template <class Tag>
struct std::hash<roster::domain::stream_version_of<Tag>> {
    std::size_t operator()(roster::domain::stream_version_of<Tag> v) const noexcept {
        return std::hash<std::uint64_t>{}(v.value);
    }
};
