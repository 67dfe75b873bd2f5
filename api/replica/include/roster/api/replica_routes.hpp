// What a read replica answers itself and what it sends to the leader (issue 17, item 2).
#pragma once

#include <string>
#include <string_view>

#include "roster/api/http.hpp"

namespace roster::api {

// The handler of a route a replica does not answer itself (route::answered_by_replica: commands,
// and the reads only the leader can sign): 307 Temporary Redirect to `leader_url` + the original
// target (method and body preserved by clients), with a read_replica problem naming the leader;
// without a leader URL, 503 read_replica.
handler replica_redirect(std::string leader_url);

}  // namespace roster::api
