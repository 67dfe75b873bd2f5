// The resource routes of SPEC §5 (accounts, users, roles, removal, invitations, contacts,
// watchlist, recipients, access decisions, tokens, events).
#pragma once

#include "roster/api/router.hpp"

namespace roster::api {

struct service;
class live_hub;
class stream_tickets;

// Registers every resource route on `routes`; `svc` must outlive the server.
void add_resource_routes(router& routes, service& svc);

// GET /v1/stream?from=&account=&types=&ticket= and POST /v1/stream/tickets; `svc`, `hub` and
// `tickets` must outlive the server.
void add_stream_routes(router& routes, service& svc, live_hub& hub, stream_tickets& tickets);

}  // namespace roster::api
