// JSON Schemas (2020-12, the dialect of OpenAPI 3.1) of the wire types, declared beside the
// builders in wire.hpp and the parsers in wire_requests.hpp. Routes name them in their route_doc
// (.request("CreateUser"), .returns(201, "UserCreated")); the OpenAPI document lists them under
// components.schemas, and the tests validate real answers against them, so a field added to a
// builder without its schema fails a test. Enumerations are generated from the domain's names.
#pragma once

#include <boost/json/object.hpp>

namespace roster::api::wire {

// Every schema, by name (the components.schemas map).
boost::json::object schemas();

}  // namespace roster::api::wire
