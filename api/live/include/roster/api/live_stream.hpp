// The WebSocket live stream of events (SPEC §3 "Live", §5): the session behind GET /v1/stream.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "roster/api/live_hub.hpp"
#include "roster/api/live_upgrade.hpp"
#include "roster/api/log.hpp"

namespace roster::api {

// Whether the subscriber may still have its stream, judged on the read model once it has folded
// the log up to the position asked about (not_yet until then).
enum class live_access { allowed, unauthenticated, forbidden, not_yet };
using live_access_check = std::function<live_access(eventstore::log_position)>;

// The takeover of one authorized request: after the handshake it sends every matching event
// after `from` (the last position the subscriber already has: the route turns the API's
// inclusive from=N into N - 1) from the log (catch-up), then the hub's live events, with no gap or duplicate at
// the switch; without `from` it starts with the next commit. One JSON text message per event.
// `access` is asked again after every event that withdraws_access (nothing from that event on
// is sent until it answers) and at every ping interval (expiry); unauthenticated closes with
// 4401, forbidden with 4403.
std::shared_ptr<websocket_upgrade> make_live_upgrade(live_hub& hub, logger& log, live_filter filter,
                                                     std::optional<eventstore::log_position> from,
                                                     std::string request_id, live_access_check access);

}  // namespace roster::api
