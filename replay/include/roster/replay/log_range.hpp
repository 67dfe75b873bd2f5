// Points of the log named by a position or a time, as `since`, `until` and `as_of` take them
// ("1234" or "2026-03-01T00:00:00Z").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "roster/domain/types.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::replay {

using log_point = std::variant<eventstore::log_position, domain::timestamp>;

// All digits: a position; otherwise RFC 3339. nullopt for anything else.
std::optional<log_point> parse_log_point(std::string_view text);

// The first position at or after the point (inclusive lower bound of a range).
eventstore::log_position first_position_since(const eventstore::store& store, const log_point& p);
// The last position at or before the point (inclusive upper bound; 0 = before the first event).
eventstore::log_position last_position_until(const eventstore::store& store, const log_point& p);

}  // namespace roster::replay
