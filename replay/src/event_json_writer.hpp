// Private: the export's direct JSON writer (event_json_writer.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "roster/eventstore/store.hpp"

namespace roster::replay::detail {

// Appends boost::json::serialize(event_json(e)) to `out`, and with `envelope` the "envelope"
// member jsonl_row adds; the same bytes, without building the value. No hidden-control escaping
// (jsonl_row's) and no newline.
void append_event_json(std::string& out, const eventstore::recorded_event& e,
                       std::optional<std::string_view> envelope = std::nullopt);

}  // namespace roster::replay::detail
