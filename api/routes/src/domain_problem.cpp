#include "roster/api/domain_problem.hpp"

#include <boost/json/array.hpp>

#include "roster/replay/event_json.hpp"

namespace roster::api {

boost::json::array blockers_json(const std::vector<domain::blocker>& list) {
    boost::json::array blockers;
    for (const auto& b : list) {
        boost::json::array contact_roles;
        for (auto r : b.contact_roles) contact_roles.emplace_back(domain::to_string(r));
        blockers.emplace_back(boost::json::object{{"kind", b.kind},
                                                  {"account", b.account.value},
                                                  {"user", b.user.value},
                                                  {"roles", replay::roles_json(b.roles)},
                                                  {"contact_roles", std::move(contact_roles)}});
    }
    return blockers;
}

problem problem_from(const domain::domain_error& e) {
    auto p = make_problem(static_cast<unsigned>(domain::http_status(e.kind)), e.code,
                          std::string(domain::to_string(e.kind)), e.detail);
    if (!e.blockers.empty()) p.extra["blockers"] = blockers_json(e.blockers);
    if (!e.missing_portals.empty()) {
        boost::json::array portals;
        for (auto portal : e.missing_portals) portals.emplace_back(domain::to_string(portal));
        p.extra["missing_portals"] = std::move(portals);
    }
    return p;
}

}  // namespace roster::api
