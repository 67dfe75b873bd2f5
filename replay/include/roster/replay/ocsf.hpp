// Roster events in OCSF 1.1.0 (Open Cybersecurity Schema Framework, schema.ocsf.io), for SIEMs
// (issue 17, item 4): the export's and the live stream's `format=ocsf`. One Roster event gives
// one OCSF event object, or none. Pure functions of the event; thread-safe.
//
// Mapped (Account Change, class_uid 3001, category IAM 3; the target user in `user`):
//   user_created                      1 Create
//   member_added                      1 Create         (user.org = the account joined)
//   roles_granted                     7 Attach Policy  (policy.name = the roles, "support:admin, ...")
//   roles_revoked, all_roles_removed  8 Detach Policy
//   user_locked                       9 Lock           (not 5 Disable: Roster's lock is the
//                                     reversible "locked out" state OCSF's Lock names; Disable would
//                                     read as a deprovisioned account, which is profile_retired)
//   user_unlocked                     2 Enable         (1.1.0 has no Unlock; 12 Unlock came in a
//                                     later schema version, and Enable is the state it returns to)
//   member_removed                    6 Delete         (user.org = the account left)
//   profile_retired                   6 Delete         (the user itself)
// Refusals, access_denied: API Activity (class_uid 6003, category Application Activity 6) with
// status Failure. OCSF 1.1.0 has no authorization finding; Authorize Session (3003) reports the
// privileges given to a new session at sign-in, not a refused request. A refusal is an API call
// that failed: activity from the HTTP method (POST 1 Create, GET/HEAD 2 Read, PUT/PATCH
// 3 Update, DELETE 4 Delete, older command-name records 99 Other), api.operation = the route,
// status_code = the problem code, count/start_time/end_time = the coalesced refusals.
//
// Not mapped (no OCSF class describes them as what they are, or they concern no user account):
// account_opened, partner_linked (a tenant's set-up: Roster accounts are not user accounts),
// invitation_issued, invitation_accepted (an invitation is neither the account's creation,
// which user_created records, nor a credential change), contacts_saved, contact_handed_over,
// watchlist_changed (Roster's own contact and notification lists), profile_updated (a name or
// email edit: Account Change has no activity for it but Other), token_issued, token_rotated,
// token_revoked (API tokens: no class in 1.1.0 is about credentials issued to a principal),
// signing_key_rotated (the log's own signing key), webhook_registered, webhook_changed,
// webhook_removed (the operator's delivery endpoints, not a user account). Their positions still count: a consumer
// resumes by metadata.sequence.
//
// Every object carries: activity_id, activity_name, category_uid, category_name, class_uid,
// class_name, type_uid = class_uid * 100 + activity_id, type_name, severity_id, severity,
// status_id, status, time (ms since the epoch, the event's recorded_at), actor, metadata
// {version "1.1.0", product {name "Roster", vendor_name "Roster", version}, uid = the event's
// hash (hex), sequence = its log position, original_time (RFC 3339), logged_time (ms),
// event_code = the Roster type, correlation_uid}, and `unmapped` with what OCSF has no place
// for (stream, version, request_id, causation_id, reason, reference, traceparent, prev_hash,
// token_id, and the Roster `data` object) so the record can be cited against the log.
#pragma once

#include <optional>
#include <string_view>

#include <boost/json/object.hpp>

#include "roster/domain/events.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::replay {

inline constexpr std::string_view ocsf_schema_version = "1.1.0";

// Whether events of this type have an OCSF form (ocsf_event gives one).
bool ocsf_maps(std::string_view event_type);
// The OCSF object of `e`; nullopt for the types above that have none.
std::optional<boost::json::object> ocsf_event(const eventstore::recorded_event& e);

}  // namespace roster::replay
