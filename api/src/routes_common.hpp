// Registration functions of the resource route groups (one translation unit each).
#pragma once

#include "roster/api/router.hpp"
#include "roster/api/service.hpp"

namespace roster::api {

void add_account_routes(router& routes, service& svc);
void add_user_routes(router& routes, service& svc);
void add_contact_routes(router& routes, service& svc);

// 404 problem for an id the caller may not see or that does not exist.
response not_found_response(std::string code, std::string detail);

}  // namespace roster::api
