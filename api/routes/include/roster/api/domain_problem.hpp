// Domain refusals as RFC 9457 problems (status from the error kind, SPEC §5).
#pragma once

#include <boost/json/array.hpp>

#include "roster/api/problem.hpp"
#include "roster/domain/errors.hpp"

namespace roster::api {

// status = http_status(kind); code/detail as given; `blockers` ([{kind, account, user, roles,
// contact_roles}]) and `missing_portals` when the rule names them.
problem problem_from(const domain::domain_error& e);

// [{kind, account, user, roles, contact_roles}] as in problem bodies and the removal preview.
boost::json::array blockers_json(const std::vector<domain::blocker>& blockers);

}  // namespace roster::api
