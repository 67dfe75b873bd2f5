// The JSON wire shape of events (SPEC §5 "event"), shared by GET /v1/events, history,
// the live stream and the JSONL/CSV export so that all of them show one shape.
// Secrets never appear: invitation and token events carry only hashes in the log, and even
// those are left out of the wire form.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "roster/domain/events.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::replay {

// {"support":["admin"],"impact":[],"learning":["learner"]}: every portal present, catalog order.
boost::json::object roles_json(domain::role_set roles);
// {"operator":true} | {"auditor":true} | {"service":"name"} | {"user_id":"..."} (the SPEC's principal form).
boost::json::object principal_json(const domain::principal& p);
// The `data` member: the event's business fields.
boost::json::object event_data_json(const domain::event& e);
// The whole event object: position, stream, version, type, recorded_at, actor, ids, reason,
// data, prev_hash, hash (hashes as lower-case hex).
boost::json::object event_json(const eventstore::recorded_event& e);
// [{user, name, email}]: the labels an event's envelope recorded (domain::labels_of).
boost::json::array labels_json(const std::vector<domain::user_label>& labels);

}  // namespace roster::replay
