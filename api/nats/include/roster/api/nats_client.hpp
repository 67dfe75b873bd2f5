// What the publisher (api/nats) and a read replica's follower (api/replica) share of the NATS C
// client: connections that reconnect for ever, and readable errors.
#pragma once

#include <nats/nats.h>

#include <functional>
#include <string>
#include <vector>

#include "roster/api/log.hpp"

namespace roster::api {

// The status with the library's last error detail, for logs and readiness reasons.
std::string nats_status_text(natsStatus s);

// Options for a connection to any of `servers` that, once connected, keeps reconnecting for ever
// (250 ms apart; 2 s to connect). The caller adds its own settings, connects and destroys them.
// nullptr when the library cannot create options.
natsOptions* nats_reconnecting_options(const std::vector<std::string>& servers);

// The info of the JetStream stream `name`, which is created first when missing (file storage, the
// one subject `subject`, `replicas` copies, and whatever else `configure` sets). Logs the creation
// (nats_stream_created) and a failure (nats_stream_unavailable). nullptr when neither worked; the
// caller destroys the info.
jsStreamInfo* nats_ensure_stream(jsCtx* js, const std::string& name, const char* subject, int replicas, logger& log,
                                 const std::function<void(jsStreamConfig&)>& configure = {});

}  // namespace roster::api
