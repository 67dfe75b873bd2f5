// Private: the Cap'n Proto side of the codec, shared by codec.cpp and store.cpp.
#pragma once

#include <string>
#include <string_view>

#include <capnp/blob.h>

#include "envelope.capnp.h"
#include "roster/domain/events.hpp"
#include "roster/eventstore/errors.hpp"

namespace roster::eventstore::detail {

inline capnp::Text::Reader text(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }
inline std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

void write_payload(schema::Payload::Builder b, const domain::event& e);
// Reading a malformed message may throw kj::Exception; callers catch it and report corrupt.
result<domain::event> read_payload(schema::Payload::Reader r);

}  // namespace roster::eventstore::detail
