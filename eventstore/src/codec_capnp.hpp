// Private: the Cap'n Proto side of the codec, shared by codec.cpp and store.cpp.
#pragma once

#include <string>
#include <string_view>

#include <capnp/blob.h>
#include <capnp/message.h>

#include "envelope.capnp.h"
#include "roster/domain/events.hpp"
#include "roster/eventstore/errors.hpp"

namespace roster::eventstore::detail {

inline capnp::Text::Reader text(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }
inline std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

// Reader options for a stored message of `words` words. Cap'n Proto charges a list of zero-sized
// structs one word per element against the traversal limit whatever its encoded size, so under
// the default limit (8 Mi words) a 100-byte payload can claim millions of list elements: decoding
// then allocates hundreds of MB, and the event re-encodes (every element then has a pointer) to
// more than the default limit, so it could not be read back. A limit proportional to the message
// bounds what a reader materialises by the size of what it was given. The factor leaves room for
// lists read twice (size, then elements) and for callers reading a field more than once.
inline capnp::ReaderOptions reader_options(std::size_t words) {
    capnp::ReaderOptions o;
    o.traversalLimitInWords = 8 * words + 64;
    return o;
}

void write_payload(schema::Payload::Builder b, const domain::event& e);
// Reading a malformed message may throw kj::Exception; callers catch it and report corrupt.
result<domain::event> read_payload(schema::Payload::Reader r);

}  // namespace roster::eventstore::detail
