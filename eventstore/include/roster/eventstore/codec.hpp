// Domain event <-> stored bytes, without exposing Cap'n Proto. Free functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "roster/domain/events.hpp"
#include "roster/eventstore/errors.hpp"

namespace roster::eventstore {

// The canonical Cap'n Proto encoding of a Payload (schema/envelope.capnp) holding `e`.
// Deterministic: equal events give equal bytes (used for hashing and snapshots).
std::string encode_event(const domain::event& e);

// The inverse of encode_event. Malformed bytes, out-of-range ordinals or an email that
// domain::email::parse refuses are errc::corrupt, never an exception.
result<domain::event> decode_event(std::string_view bytes);

}  // namespace roster::eventstore
