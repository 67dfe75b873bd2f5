// What the publisher (api/nats) and a read replica's follower (api/replica) share of the NATS C
// client: connections that reconnect for ever, and readable errors.
#pragma once

#include <nats/nats.h>

#include <string>
#include <vector>

namespace roster::api {

// The status with the library's last error detail, for logs and readiness reasons.
std::string nats_status_text(natsStatus s);

// Options for a connection to any of `servers` that, once connected, keeps reconnecting for ever
// (250 ms apart; 2 s to connect). The caller adds its own settings, connects and destroys them.
// nullptr when the library cannot create options.
natsOptions* nats_reconnecting_options(const std::vector<std::string>& servers);

}  // namespace roster::api
