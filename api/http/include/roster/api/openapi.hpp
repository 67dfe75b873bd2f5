// The OpenAPI 3.1 document, generated from the router so it always lists what is served.
#pragma once

#include <boost/json/object.hpp>

#include "roster/api/router.hpp"

namespace roster::api {

// Every route of `routes` becomes an operation under `paths[template][method]` with its
// summary, description, tag, parameters and responses (problem responses use the shared
// `Problem` schema). `schemas` (name → JSON Schema 2020-12) become components.schemas: the
// names route_doc::request and route_doc::returns refer to (roster::api::wire::schemas()).
boost::json::object make_openapi_document(const router& routes, const boost::json::object& schemas = {});

}  // namespace roster::api
