#include "roster/api/domain_problem.hpp"

#include <boost/json/array.hpp>

#include "roster/replay/event_json.hpp"

namespace roster::api {

boost::json::array blockers_json(const std::vector<domain::blocker>& list) {
    boost::json::array blockers;
    for (const auto& b : list) {
        // SPEC §5: `roles` names the contact roles to reassign (or that the user cannot hold).
        boost::json::array roles;
        for (auto r : b.contact_roles) roles.emplace_back(domain::to_string(r));
        boost::json::object o{
            {"kind", b.kind}, {"account", b.account.value}, {"user", b.user.value}, {"roles", std::move(roles)}};
        // The access roles a contact needs, when that is why it is refused (ineligible_contact).
        if (!b.roles.empty()) o["required_roles"] = replay::roles_json(b.roles);
        blockers.emplace_back(std::move(o));
    }
    return blockers;
}

problem problem_from(const domain::domain_error& e) {
    auto p = make_problem(static_cast<unsigned>(domain::http_status(e.kind)), e.code, e.detail);
    if (!e.blockers.empty()) p.extra["blockers"] = blockers_json(e.blockers);
    if (!e.missing_portals.empty()) {
        boost::json::array portals;
        for (auto portal : e.missing_portals) portals.emplace_back(domain::to_string(portal));
        p.extra["missing_portals"] = std::move(portals);
    }
    return p;
}

}  // namespace roster::api
