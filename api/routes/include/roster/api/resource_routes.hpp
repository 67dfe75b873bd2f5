// The resource routes of SPEC §5 (accounts, users, roles, removal, invitations, contacts,
// watchlist, recipients, access decisions, tokens, events).
#pragma once

#include "roster/api/router.hpp"

namespace roster::api {

struct service;
class live_hub;

// Registers every resource route on `routes`; `svc` must outlive the server.
void add_resource_routes(router& routes, service& svc);

// GET /v1/stream?from=&account=&types= ; `svc` and `hub` must outlive the server.
void add_stream_routes(router& routes, service& svc, live_hub& hub);

}  // namespace roster::api
