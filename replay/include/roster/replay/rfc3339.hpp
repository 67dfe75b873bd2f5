// RFC 3339 timestamps for the wire, exports and CLI arguments (UTC, microsecond precision).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "roster/domain/types.hpp"

namespace roster::replay {

// "2026-11-23T11:09:15.123456Z" (always UTC, always six fractional digits, sorts as text).
std::string format_rfc3339(domain::timestamp t);
// The same text appended to `out`, without a temporary (the export writes one per event).
void append_rfc3339(std::string& out, domain::timestamp t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t'/'z'/' ' separators as RFC 3339
// allows); fractions beyond microseconds are truncated. nullopt for anything else, including
// impossible dates (Feb 30) and leap seconds (the log's clock never records one).
std::optional<domain::timestamp> parse_rfc3339(std::string_view text);

}  // namespace roster::replay
