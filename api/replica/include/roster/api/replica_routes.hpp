// What a read replica answers itself and what it sends to the leader (issue 17, item 2).
#pragma once

#include <string>
#include <string_view>

#include "roster/api/http.hpp"

namespace roster::api {

// True for the requests a replica serves from its own store: every read (GET, HEAD, OPTIONS),
// the leader's checkpoints it verified and proofs from its own tree included, except evidence
// packs and signing-key routes (only the leader signs), plus
// the POSTs that change nothing in the log (stream tickets for its own /v1/stream, a backup of
// its own store) and the test hooks. Everything else is a command: the leader's log takes it.
bool replica_serves_locally(std::string_view method, std::string_view route);

// Wraps a route's handler: a request the replica does not serve is answered 307 Temporary
// Redirect to `leader_url` + the original target (method and body preserved by clients), with a
// read_replica problem naming the leader; without a leader URL, 503 read_replica.
handler replica_redirect(handler inner, std::string leader_url);

}  // namespace roster::api
