// GET /v1/stream: the WebSocket live stream of events (SPEC §3 "Live", §5).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "roster/api/live_hub.hpp"
#include "roster/api/live_upgrade.hpp"
#include "roster/api/log.hpp"
#include "roster/api/router.hpp"
#include "roster/api/service.hpp"

namespace roster::api {

// The takeover of one authorized request: after the handshake it sends every matching event
// after `from` from the log (catch-up), then the hub's live events, with no gap or duplicate at
// the switch; without `from` it starts with the next commit. One JSON text message per event.
std::shared_ptr<websocket_upgrade> make_live_upgrade(live_hub& hub, logger& log, live_filter filter,
                                                     std::optional<std::uint64_t> from, std::string request_id);

// GET /v1/stream?from=&account=&types= ; `svc` and `hub` must outlive the server.
void add_stream_routes(router& routes, service& svc, live_hub& hub);


}  // namespace roster::api
