// Domain refusals as RFC 9457 problems (status from the error kind, SPEC §5).
#pragma once

#include <boost/json/array.hpp>

#include "roster/api/problem.hpp"
#include "roster/domain/errors.hpp"

namespace roster::api {

// status = http_status(kind), title its reason phrase; code/detail as given; `blockers`
// ([{kind, account, user, roles, required_roles?}]) and `missing_portals` when the rule names them.
problem problem_from(const domain::domain_error& e);

// [{kind, account, user, roles, required_roles?}] as in problem bodies and the removal preview:
// `roles` lists contact role names (SPEC §5), `required_roles` (portal → access roles) is present
// only when the blocker is about the access roles a contact needs.
boost::json::array blockers_json(const std::vector<domain::blocker>& blockers);

}  // namespace roster::api
