// Private: the Cap'n Proto side of the codec, shared by codec.cpp and store.cpp.
#pragma once

#include <algorithm>
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
// the default limit (8 Mi words) a 48-byte payload can claim millions of list elements: decoding
// then allocates hundreds of MB, and the event re-encodes (each element then holds a pointer) to
// more than the default limit, so it could not be read back. The limit follows the message size
// (the factor leaves room for lists read twice, size then elements), with a floor for the one
// legitimate amplification: a list whose elements are all default values (e.g. contacts_saved
// unassigning primary_customer_admin) encodes as zero-sized structs. At most 32 Ki of those.
inline capnp::ReaderOptions reader_options(std::size_t words) {
    capnp::ReaderOptions o;
    o.traversalLimitInWords = std::max<std::size_t>(8 * words, std::size_t{64} * 1024);
    return o;
}

void write_payload(schema::Payload::Builder b, const domain::event& e);
// Reading a malformed message may throw kj::Exception; callers catch it and report corrupt.
result<domain::event> read_payload(schema::Payload::Reader r);

}  // namespace roster::eventstore::detail
