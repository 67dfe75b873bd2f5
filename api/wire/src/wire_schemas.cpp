#include "roster/api/wire_schemas.hpp"

#include <initializer_list>
#include <string>
#include <utility>

#include <boost/json/array.hpp>

#include "roster/domain/events.hpp"
#include "roster/domain/queries.hpp"
#include "roster/domain/types.hpp"

namespace roster::api::wire {
namespace json = boost::json;
using namespace roster::domain;

namespace {

using props = std::initializer_list<std::pair<std::string_view, json::value>>;

// An object whose shape the server controls: exactly these properties, `required` always present.
json::object strict(props properties, std::initializer_list<std::string_view> required) {
    json::object p;
    for (const auto& [name, schema] : properties) p[name] = schema;
    json::array req;
    for (auto r : required) req.emplace_back(r);
    return json::object{{"type", "object"},
                        {"properties", std::move(p)},
                        {"required", std::move(req)},
                        {"additionalProperties", false}};
}

json::object strict(json::object properties, std::initializer_list<std::string_view> required) {
    json::array req;
    for (auto r : required) req.emplace_back(r);
    return json::object{{"type", "object"},
                        {"properties", std::move(properties)},
                        {"required", std::move(req)},
                        {"additionalProperties", false}};
}

json::object of_type(std::string_view t) { return json::object{{"type", t}}; }
json::object str() { return of_type("string"); }
json::object integer() { return json::object{{"type", "integer"}, {"minimum", 0}}; }
json::object boolean() { return of_type("boolean"); }
json::object date_time() { return json::object{{"type", "string"}, {"format", "date-time"}}; }
json::object nullable(std::string_view t) { return json::object{{"type", json::array{t, "null"}}}; }
json::object nullable_date_time() {
    return json::object{{"type", json::array{"string", "null"}}, {"format", "date-time"}};
}
json::object ref(std::string_view name) { return json::object{{"$ref", "#/components/schemas/" + std::string(name)}}; }
json::object ref_or_null(std::string_view name) {
    return json::object{{"anyOf", json::array{ref(name), of_type("null")}}};
}
json::object array_of(json::value items) { return json::object{{"type", "array"}, {"items", std::move(items)}}; }

template <class Names>
json::object enum_of(const Names& names) {
    json::array e;
    for (const auto& n : names) e.emplace_back(n);
    return json::object{{"type", "string"}, {"enum", std::move(e)}};
}
json::object enum_of(std::initializer_list<std::string_view> names) {
    return enum_of<std::initializer_list<std::string_view>>(names);
}

// The domain's own names, so an enum here cannot fall behind the domain.
std::vector<std::string_view> portal_names() {
    std::vector<std::string_view> out;
    for (auto p : all_portals) out.push_back(to_string(p));
    return out;
}
std::vector<std::string_view> roles_of(portal p) {
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < role_count; ++i)
        if (portal_of(static_cast<role>(i)) == p) out.push_back(role_name(static_cast<role>(i)));
    return out;
}
std::vector<std::string_view> contact_role_names() {
    std::vector<std::string_view> out;
    for (auto r : all_contact_roles) out.push_back(to_string(r));
    return out;
}
std::vector<std::string_view> topic_names() {
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < topic_count; ++i) out.push_back(to_string(static_cast<topic>(i)));
    return out;
}

json::array names_array(const std::vector<std::string_view>& names) {
    json::array out;
    for (auto n : names) out.emplace_back(n);
    return out;
}

// {"support": [...], "impact": [...], "learning": [...]}: every portal present (`all`) in what
// the server writes (roles_json), any subset in what a client sends or in one-portal answers.
json::object roles(bool all) {
    json::object p;
    for (auto portal : all_portals) p[to_string(portal)] = array_of(enum_of(roles_of(portal)));
    json::object out{{"type", "object"}, {"properties", std::move(p)}, {"additionalProperties", false}};
    if (all) out["required"] = names_array(portal_names());
    return out;
}

// reason and reference: the why every command body may carry (take_why).
void add_why(json::object& schema) {
    auto& p = schema["properties"].as_object();
    p["reason"] = json::object{{"type", "string"}, {"maxLength", 1000}, {"description", "Why (recorded)."}};
    p["reference"] = json::object{{"type", "string"}, {"maxLength", 200}, {"description", "E.g. a change ticket."}};
}
json::object command(json::object schema) {
    add_why(schema);
    return schema;
}

json::object user_properties() {
    return json::object{
        {"id", str()},
        {"email", json::object{{"type", "string"}, {"format", "email"}}},
        {"name", str()},
        {"employer", str()},
        {"status", enum_of({"active", "locked", "removed"})},
        {"registration", enum_of({to_string(registration_status::registered), to_string(registration_status::invited),
                                  to_string(registration_status::not_invited)})},
        {"type", enum_of({to_string(membership_type::employee), to_string(membership_type::third_party)})},
        {"roles", ref("Roles")},
        {"removed", boolean()},
    };
}
#define ROSTER_USER_REQUIRED "id", "email", "name", "employer", "status", "registration", "type", "roles", "removed"

json::object principal() {
    return json::object{
        {"oneOf", json::array{strict({{"operator", json::object{{"const", true}}}}, {"operator"}),
                              strict({{"auditor", json::object{{"const", true}}}}, {"auditor"}),
                              strict({{"service", str()}}, {"service"}), strict({{"user_id", str()}}, {"user_id"})}}};
}

json::object event() {
    json::object actor = strict({{"principal", str()},
                                 {"token_id", nullable("string")},
                                 {"address", nullable("string")},
                                 {"name", str()},
                                 {"email", str()}},
                                {"principal", "token_id", "address"});
    // data is the event type's own payload (one shape per type, see SPEC's event catalogue).
    return strict(
        {{"position", integer()},
         {"stream", str()},
         {"version", integer()},
         {"type", str()},
         {"recorded_at", date_time()},
         {"actor", std::move(actor)},
         {"request_id", nullable("string")},
         {"correlation_id", nullable("string")},
         {"causation_id", nullable("string")},
         {"reason", nullable("string")},
         {"reference", nullable("string")},
         {"traceparent", nullable("string")},
         {"data", of_type("object")},
         {"prev_hash", str()},
         {"hash", str()},
         {"labels", array_of(strict({{"user", str()}, {"name", str()}, {"email", str()}}, {"user", "name", "email"}))}},
        {"position", "stream", "version", "type", "recorded_at", "actor", "request_id", "correlation_id",
         "causation_id", "reason", "reference", "traceparent", "data", "prev_hash", "hash"});
}

json::object stats() {
    json::object users;
    for (auto k : {"active", "locked", "removed", "invited", "registered", "not_invited", "total"})
        users[k] = integer();
    json::object portals;
    for (auto p : all_portals) {
        json::object counts;
        for (auto r : roles_of(p)) counts[r] = integer();
        portals[to_string(p)] =
            strict(json::object{{"users", integer()}, {"roles", strict(counts, {})}}, {"users", "roles"});
    }
    auto& counted = portals;
    json::object users_schema =
        strict(users, {"active", "locked", "removed", "invited", "registered", "not_invited", "total"});
    json::object portals_schema{{"type", "object"}, {"properties", counted}, {"additionalProperties", false}};
    portals_schema["required"] = names_array(portal_names());
    return strict({{"account", str()},
                   {"position", integer()},
                   {"users", users_schema},
                   {"portals", portals_schema},
                   {"contacts", strict({{"required_roles_filled", integer()},
                                        {"required_roles_missing", array_of(enum_of(contact_role_names()))},
                                        {"warnings", array_of(ref("ContactWarning"))}},
                                       {"required_roles_filled", "required_roles_missing", "warnings"})}},
                  {"account", "position", "users", "portals", "contacts"});
}

json::object save_contacts() {
    json::object p;
    for (auto r : contact_role_names()) p[r] = nullable("string");
    json::object out{{"type", "object"},
                     {"properties", std::move(p)},
                     {"additionalProperties", false},
                     {"description", "Any subset of the contact roles: a user id, or null to clear."}};
    return command(std::move(out));
}

json::object text(std::string_view media, std::string_view description) {
    return json::object{{"type", "string"}, {"contentMediaType", media}, {"description", description}};
}

}  // namespace

json::object schemas() {
    json::object s;
    // Shared pieces.
    s["Roles"] = roles(true);
    s["PortalRoles"] = roles(false);
    s["Portal"] = enum_of(portal_names());
    s["Principal"] = principal();
    s["ContactWarning"] =
        strict({{"code", str()}, {"message", str()}, {"role", enum_of(contact_role_names())}, {"user", str()}},
               {"code", "message"});
    s["Invitation"] = strict(
        {{"id", str()},
         {"expires_at", date_time()},
         {"secret", json::object{{"type", "string"}, {"description", "In the first answer only; never stored."}}}},
        {"id", "expires_at"});
    s["RemovedMembership"] = strict({{"account", str()},
                                     {"type", enum_of({"employee", "third_party"})},
                                     {"roles", ref("Roles")},
                                     {"cascade", boolean()}},
                                    {"account", "type", "roles", "cascade"});
    s["Event"] = event();

    // Accounts.
    s["Account"] = strict({{"id", str()},
                           {"name", str()},
                           {"kind", enum_of({to_string(account_kind::customer), to_string(account_kind::partner)})},
                           {"version", integer()},
                           {"partners", array_of(str())},
                           {"customers", array_of(str())}},
                          {"id", "name", "kind", "version", "partners", "customers"});
    s["AccountList"] = strict({{"accounts", array_of(ref("Account"))}, {"next_cursor", nullable("string")}},
                              {"accounts", "next_cursor"});
    s["OpenAccount"] = command(strict({{"id", json::object{{"type", "string"}, {"pattern", "^[a-z0-9-]{1,64}$"}}},
                                       {"name", str()},
                                       {"kind", enum_of({"customer", "partner"})}},
                                      {"name", "kind"}));
    s["LinkPartner"] = command(strict({{"partner_id", str()}}, {"partner_id"}));

    // Users.
    s["User"] = strict(user_properties(), {ROSTER_USER_REQUIRED});
    auto profile = user_properties();
    profile["contact_roles"] = array_of(enum_of(contact_role_names()));
    profile["version"] = json::object{{"type", "integer"},
                                      {"minimum", 0},
                                      {"description",
                                       "The version of the user in this account (= the ETag): If-Match of the "
                                       "user's commands (roles, removal, lock, unlock, profile update)."}};
    profile["invitation"] = ref("Invitation");
    s["UserProfile"] = strict(std::move(profile), {ROSTER_USER_REQUIRED, "contact_roles", "version"});
    s["UserAnswer"] = strict({{"user", ref("User")}}, {"user"});
    s["UserProfileAnswer"] = strict({{"user", ref("UserProfile")}}, {"user"});
    s["UserCreated"] = strict({{"user", ref("User")}, {"invitation", ref("Invitation")}}, {"user"});
    s["UserList"] = strict({{"users", array_of(ref("User"))},
                            {"total", integer()},
                            {"total_active", integer()},
                            {"next_cursor", nullable("string")}},
                           {"users", "total", "total_active", "next_cursor"});
    s["EmailLookup"] =
        strict({{"exists", boolean()}, {"member_of_account", boolean()}, {"portals", array_of(ref("Portal"))}},
               {"exists", "member_of_account", "portals"});
    s["RemovalPreview"] =
        strict({{"roles_revoked", ref("Roles")},
                {"accounts_removed_from", array_of(ref("RemovedMembership"))},
                {"profile_retired", boolean()},
                {"blockers", array_of(ref("Blocker"))},
                {"missing_portals", array_of(ref("Portal"))},
                {"version", integer()}},
               {"roles_revoked", "accounts_removed_from", "profile_retired", "blockers", "missing_portals", "version"});
    s["Blocker"] = strict({{"kind", str()},
                           {"account", str()},
                           {"user", str()},
                           {"roles", array_of(enum_of(contact_role_names()))},
                           {"required_roles", ref("Roles")}},
                          {"kind", "account", "user", "roles"});
    s["UserRemoved"] = strict({{"removed", str()},
                               {"accounts_removed_from", array_of(ref("RemovedMembership"))},
                               {"profile_retired", boolean()},
                               {"version", integer()}},
                              {"removed", "accounts_removed_from", "profile_retired", "version"});
    s["InvitationIssued"] = strict({{"invitation", ref("Invitation")}}, {"invitation"});
    s["InvitationAccepted"] = strict({{"user", ref("User")}}, {});
    s["CreateUser"] = command(strict({{"email", json::object{{"type", "string"}, {"format", "email"}}},
                                      {"name", str()},
                                      {"roles", ref("PortalRoles")},
                                      {"invite", json::object{{"type", "boolean"}, {"default", true}}}},
                                     {"email", "name"}));
    auto add_member = strict({{"user_id", str()}, {"email", str()}, {"roles", ref("PortalRoles")}}, {});
    add_member["oneOf"] = json::array{json::object{{"required", json::array{"user_id"}}},
                                      json::object{{"required", json::array{"email"}}}};
    s["AddMember"] = command(std::move(add_member));
    s["ChangeRoles"] = command(strict({{"grant", ref("PortalRoles")}, {"revoke", ref("PortalRoles")}}, {}));
    s["CommandWhy"] = command(strict(json::object{}, {}));
    s["UpdateProfile"] =
        command(strict({{"name", str()}, {"email", json::object{{"type", "string"}, {"format", "email"}}}}, {}));
    s["AcceptInvitation"] = command(strict({{"secret", str()}}, {"secret"}));
    s["Me"] = strict(
        {{"principal", ref("Principal")},
         {"token_id", str()},
         {"user",
          json::object{
              {"anyOf", json::array{strict({{"id", str()}, {"name", str()}, {"email", str()}, {"employer", str()}},
                                           {"id", "name", "email", "employer"}),
                                    of_type("null")}}}},
         {"accounts",
          array_of(strict({{"id", str()}, {"roles", ref("Roles")}, {"type", enum_of({"employee", "third_party"})}},
                          {"id", "roles", "type"}))}},
        {"principal", "token_id", "user", "accounts"});

    // Contacts, watchlist, recipients, stats.
    json::object contact_map;
    for (auto r : contact_role_names()) contact_map[r] = ref_or_null("User");
    s["Contacts"] = strict({{"contacts", json::object{{"type", "object"},
                                                      {"properties", std::move(contact_map)},
                                                      {"additionalProperties", false},
                                                      {"description", "The roles that apply to the account's kind."}}},
                            {"warnings", array_of(ref("ContactWarning"))},
                            {"version", integer()}},
                           {"contacts", "warnings", "version"});
    s["SaveContacts"] = save_contacts();
    s["HandOverContact"] = command(strict({{"to_user_id", str()}}, {"to_user_id"}));
    auto subscription =
        strict({{"user_id", str()}, {"topics", array_of(enum_of(topic_names()))}}, {"user_id", "topics"});
    s["Watchlist"] =
        strict({{"subscriptions", array_of(subscription)}, {"version", integer()}}, {"subscriptions", "version"});
    s["SetWatchlist"] = command(strict({{"subscriptions", array_of(subscription)}}, {"subscriptions"}));
    s["Recipients"] =
        strict({{"topic", enum_of(topic_names())}, {"recipients", array_of(ref("User"))}}, {"topic", "recipients"});
    s["AccountStats"] = stats();

    // Tokens and access.
    s["IssueToken"] = command(
        strict({{"principal", ref("Principal")},
                {"expires_in", json::object{{"type", "integer"},
                                            {"minimum", 60},
                                            {"maximum", 34560000},
                                            {"description", "Seconds until the token expires; absent: never."}}}},
               {"principal"}));
    s["RotateToken"] = command(strict(json::object{}, {}));
    auto secret_answer = [&] {
        return strict(
            {{"token_id", str()},
             {"principal", ref("Principal")},
             {"expires_at", nullable_date_time()},
             {"token", json::object{{"type", "string"}, {"description", "The secret, in the first answer only."}}}},
            {"token_id", "principal", "expires_at"});
    };
    s["TokenIssued"] = secret_answer();
    s["TokenRotated"] = secret_answer();
    s["Token"] = strict({{"token_id", str()},
                         {"principal", ref("Principal")},
                         {"status", enum_of({"active", "expired", "revoked"})},
                         {"issued_at", nullable_date_time()},
                         {"issued_by", nullable("string")},
                         {"expires_at", nullable_date_time()},
                         {"revoked_at", nullable_date_time()},
                         {"rotated_at", nullable_date_time()},
                         {"rotations", integer()}},
                        {"token_id", "principal", "status", "issued_at", "issued_by", "expires_at", "revoked_at",
                         "rotated_at", "rotations"});
    s["TokenPage"] =
        strict({{"tokens", array_of(ref("Token"))}, {"next_cursor", nullable("string")}}, {"tokens", "next_cursor"});
    s["TokenRevoked"] =
        strict({{"token_id", str()}, {"revoked", json::object{{"const", true}}}}, {"token_id", "revoked"});
    json::array reasons;
    for (auto r : {access_reason::locked, access_reason::not_member, access_reason::no_role, access_reason::removed})
        reasons.emplace_back(to_string(r));
    reasons.emplace_back(nullptr);
    s["AccessDecision"] = strict({{"allowed", boolean()},
                                  {"roles", ref("PortalRoles")},
                                  {"reason", json::object{{"type", json::array{"string", "null"}}, {"enum", reasons}}},
                                  {"message", nullable("string")}},
                                 {"allowed", "roles", "reason", "message"});

    // The log, history and audit.
    s["EventPage"] =
        strict({{"events", array_of(ref("Event"))}, {"next_from", nullable("integer")}, {"head", integer()}},
               {"events", "next_from", "head"});
    s["HistoryPage"] =
        strict({{"events", array_of(ref("Event"))}, {"next_cursor", nullable("string")}}, {"events", "next_cursor"});
    s["ChainVerification"] = strict({{"ok", boolean()},
                                     {"checked", integer()},
                                     {"first_bad_position", nullable("integer")},
                                     {"message", str()},
                                     {"head_position", integer()},
                                     {"head_hash", str()}},
                                    {"ok", "checked", "first_bad_position", "head_position", "head_hash"});
    s["ExportJsonLines"] =
        text("application/x-ndjson", "One Event object per line (format=ocsf: one OCSF 1.1.0 object per line).");
    s["ExportCsv"] = text("text/csv", "RFC 4180 with a header line.");
    s["EvidencePack"] = text("application/x-tar", "A tar an outsider verifies offline.");
    s["SignedCheckpoint"] = text("text/plain", "A C2SP tlog-checkpoint in a C2SP signed note.");
    s["InclusionProof"] = strict({{"position", integer()},
                                  {"leaf_index", integer()},
                                  {"tree_size", integer()},
                                  {"leaf_hash", str()},
                                  {"hashes", array_of(str())},
                                  {"root", str()}},
                                 {"position", "leaf_index", "tree_size", "leaf_hash", "hashes", "root"});
    s["ConsistencyProof"] = strict(
        {{"from", integer()}, {"to", integer()}, {"hashes", array_of(str())}, {"from_root", str()}, {"to_root", str()}},
        {"from", "to", "hashes", "from_root", "to_root"});
    s["PublicKey"] = strict({{"verifier_key", str()},
                             {"name", str()},
                             {"key_id", str()},
                             {"algorithm", json::object{{"const", "Ed25519"}}},
                             {"public_key", str()}},
                            {"verifier_key", "name", "key_id", "algorithm", "public_key"});
    s["KeyRotated"] = strict({{"verifier_key", str()},
                              {"previous_verifier_key", str()},
                              {"key_id", str()},
                              {"tree_size", integer()},
                              {"statement", str()},
                              {"checkpoint_signed", boolean()},
                              {"checkpoint_size", integer()}},
                             {"verifier_key", "previous_verifier_key", "key_id", "tree_size", "statement",
                              "checkpoint_signed", "checkpoint_size"});
    s["KeyRotationList"] =
        strict({{"rotations",
                 array_of(strict({{"position", integer()},
                                  {"recorded_at", date_time()},
                                  {"old_verifier_key", str()},
                                  {"new_verifier_key", str()},
                                  {"tree_size", integer()},
                                  {"statement", str()}},
                                 {"position", "old_verifier_key", "new_verifier_key", "tree_size", "statement"}))}},
               {"rotations"});

    // Stream, operations.
    s["StreamTicketRequest"] = strict({{"account", str()}}, {});
    s["StreamTicket"] = strict({{"ticket", str()}, {"expires_at", date_time()}}, {"ticket", "expires_at"});
    s["BackupRequest"] =
        strict({{"to", json::object{{"type", "string"}, {"description", "Directory under --backup-dir."}}}}, {"to"});
    s["Backup"] = strict(
        {{"format", integer()}, {"position", integer()}, {"hash", str()}, {"created_at", str()}, {"path", str()}},
        {"format", "position", "hash", "created_at", "path"});
    // Webhooks (issue 17, item 3).
    auto event_types = [] {
        json::array names;
        for (auto n : event_type_names) names.emplace_back(n);
        return json::object{{"type", "string"}, {"enum", std::move(names)}};
    };
    s["RegisterWebhook"] = command(strict(
        {{"url", str()}, {"accounts", array_of(str())}, {"types", array_of(event_types())}, {"description", str()}},
        {"url"}));
    s["ChangeWebhook"] = command(strict({{"url", str()},
                                         {"accounts", array_of(str())},
                                         {"types", array_of(event_types())},
                                         {"description", str()},
                                         {"enabled", boolean()}},
                                        {}));
    auto webhook_props = [&] {
        return json::object{{"webhook_id", str()},      {"url", str()},         {"accounts", array_of(str())},
                            {"types", array_of(str())}, {"description", str()}, {"enabled", boolean()}};
    };
    auto registered = webhook_props();
    registered["secret"] =
        json::object{{"type", "string"}, {"description", "whsec_<base64>: in the first answer only."}};
    s["WebhookRegistered"] =
        strict(std::move(registered), {"webhook_id", "url", "accounts", "types", "description", "enabled"});
    auto with_status = webhook_props();
    with_status["status"] = strict({{"running", boolean()},
                                    {"cursor", integer()},
                                    {"lag", integer()},
                                    {"last_attempt_at", nullable_date_time()},
                                    {"last_status", nullable("integer")},
                                    {"last_error", nullable("string")},
                                    {"delivered", integer()},
                                    {"failed_attempts", integer()},
                                    {"dead_letters", integer()}},
                                   {"running", "cursor", "lag", "last_attempt_at", "last_status", "last_error",
                                    "delivered", "failed_attempts", "dead_letters"});
    s["Webhook"] =
        strict(std::move(with_status), {"webhook_id", "url", "accounts", "types", "description", "enabled", "status"});
    s["WebhookList"] = strict({{"webhooks", array_of(ref("Webhook"))}}, {"webhooks"});
    s["WebhookRemoved"] =
        strict({{"webhook_id", str()}, {"removed", json::object{{"const", true}}}}, {"webhook_id", "removed"});
    s["WebhookDeadLetters"] =
        strict({{"webhook_id", str()},
                {"dropped", integer()},
                {"dead_letters", array_of(strict({{"position", integer()},
                                                  {"message_id", str()},
                                                  {"type", str()},
                                                  {"attempts", integer()},
                                                  {"error", str()},
                                                  {"at", nullable_date_time()}},
                                                 {"position", "message_id", "type", "attempts", "error", "at"}))}},
               {"webhook_id", "dropped", "dead_letters"});
    s["ReplayDeadLetters"] = strict({{"positions", array_of(integer())}}, {});
    s["DeadLettersQueued"] = strict({{"webhook_id", str()}, {"queued", integer()}}, {"webhook_id", "queued"});
    s["ConsoleFile"] = json::object{{"type", "string"}, {"description", "A static file of the web console."}};
    s["PrometheusMetrics"] = text("text/plain", "Prometheus text exposition format 0.0.4.");
    s["Health"] = strict({{"status", json::object{{"const", "ok"}}}}, {"status"});
    s["Readiness"] = strict({{"status", json::object{{"const", "ready"}}}}, {"status"});
    s["OpenApiDocument"] = json::object{{"type", "object"},
                                        {"required", json::array{"openapi", "info", "paths", "components"}},
                                        {"description", "This document."}};
    return s;
}

}  // namespace roster::api::wire
