// The operator's webhook endpoints (issue 17, item 3): /v1/admin/webhooks and their dead letters.
#pragma once

#include "roster/api/router.hpp"

namespace roster::api {

struct service;
class webhook_dispatcher;

// `svc` and `hooks` must outlive the server.
void add_webhook_routes(router& routes, service& svc, webhook_dispatcher& hooks);

}  // namespace roster::api
