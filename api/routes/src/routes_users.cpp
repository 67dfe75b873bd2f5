// Users: unified creation, third-party members, list/search, profile, lookup, roles, lock,
// removal (preview and command) and invitations.
#include <boost/json/array.hpp>
#include <charconv>

#include "roster/api/domain_problem.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/request_meta.hpp"
#include "roster/api/secrets.hpp"
#include "roster/api/wire.hpp"
#include "roster/api/wire_requests.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/rfc3339.hpp"
#include "routes_common.hpp"

namespace roster::api {
namespace json = boost::json;
using namespace roster::domain;

json::value time_or_null(timestamp t) {
    return t == timestamp{} ? json::value(nullptr) : json::value(replay::format_rfc3339(t));
}

response not_found_response(std::string code, std::string detail) {
    return make_problem(404, std::move(code), std::move(detail)).to_response();
}

namespace {

// A fresh invitation: the secret goes to the client once; only its hash enters the domain.
struct new_invitation {
    invitation_request request;
    std::shared_ptr<std::string> secret;
};

new_invitation make_invitation() {
    new_invitation inv;
    inv.secret = std::make_shared<std::string>("ris_" + random_hex(32));
    inv.request.id = invitation_id{"inv_" + random_hex(12)};
    inv.request.secret_sha256_hex = sha256_hex(*inv.secret);
    return inv;
}

json::object invitation_json(const state& s, const invitation_id& id) {
    const auto* inv = s.invitation(id);
    if (!inv) return {};
    return json::object{{"id", id.value}, {"expires_at", replay::format_rfc3339(inv->expires_at)}};
}

// Splices the secret into the first answer's "invitation" object; retries never see it.
std::function<void(response&)> reveal_invitation_secret(std::shared_ptr<std::string> secret) {
    return [secret](response& r) {
        const std::string marker = "\"invitation\":{";
        auto pos = r.body.find(marker);
        if (pos != std::string::npos) r.body.insert(pos + marker.size(), "\"secret\":\"" + *secret + "\",");
    };
}

response user_response(const decided_view& v, const account_id& a, const user_id& u, unsigned status) {
    const auto* user = v.state.user(u);
    if (!user) return not_found_response("user_not_found", "No such user.");
    return member_response(status, json::object{{"user", wire::user(v.state, *user, a)}}, v.state, a, u);
}

}  // namespace

void add_user_routes(router& routes, service& svc) {
    routes.add(
        "POST", "/v1/accounts/{a}/users",
        command_doc(
            route_doc::of("Create a user (unified creation)")
                .request("CreateUser")
                .request_example_json(
                    R"({"email": "ada@example.com", "name": "Ada", "roles": {"support": ["admin"], "impact": ["member"]}})")
                .returns(201, "UserCreated")
                .with_etag()
                .with_location()
                .in_tag("users")
                .json_body()
                .responds({201})
                .param(path_param("a", "Employer account id"))
                .describe("Profile + employee membership + roles in all portals in one command; issues an "
                          "invitation unless invite is false. Admin of {a}.")),
        [&svc](request_context& ctx, responder reply) {
            auto req = begin_json_command(svc, ctx, reply);
            if (!req) return;
            const auto* who = &req->who;
            const auto* body = &req->body;
            account_id a{std::string(ctx.param("a"))};
            user_id u{"usr_" + random_hex(12)};
            auto inv = make_invitation();
            auto cmd = wire::parse_create_user(*body, a, u, inv.request);
            if (!cmd) return void(reply(cmd.error().to_response()));
            command_options options;
            if (cmd->invitation) options.reveal_once = reveal_invitation_secret(inv.secret);
            const auto inv_id = cmd->invitation ? cmd->invitation->id : invitation_id{};
            submit_command(
                svc, ctx, reply, *who, std::move(*cmd),
                [a, u, inv_id](const decided_view& v) {
                    const auto* user = v.state.user(u);
                    if (!user) return not_found_response("user_not_found", "No such user.");
                    json::object out{{"user", wire::user(v.state, *user, a)}};
                    if (!inv_id.empty()) out["invitation"] = invitation_json(v.state, inv_id);
                    return created_at(member_response(201, out, v.state, a, u),
                                      "/v1/accounts/" + a.value + "/users/" + u.value);
                },
                std::move(options));
        });

    routes.add("POST", "/v1/accounts/{a}/members",
               command_doc(route_doc::of("Add a linked partner's employee as a third-party member")
                               .request("AddMember")
                               .returns(201, "UserAnswer")
                               .with_etag()
                               .with_location()
                               .header("If-Match")
                               .in_tag("users")
                               .json_body()
                               .responds({201})
                               .param(path_param("a", "Customer account id"))),
               [&svc](request_context& ctx, responder reply) {
                   auto req = begin_json_command(svc, ctx, reply);
                   if (!req) return;
                   const auto* who = &req->who;
                   const auto* body = &req->body;
                   account_id a{std::string(ctx.param("a"))};
                   auto cmd = wire::parse_add_member(*body, a);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(
                       svc, ctx, reply, *who, std::move(*cmd),
                       [a](const decided_view& v) {
                           for (const auto& e : v.events)
                               if (auto* added = std::get_if<member_added>(&e))
                                   return created_at(user_response(v, a, added->user, 201),
                                                     "/v1/accounts/" + a.value + "/users/" + added->user.value);
                           return json_with_etag(200, json::object{}, v.version_of(a));
                       },
                       if_match_on(a));
               });

    routes.add(
        "GET", "/v1/accounts/{a}/users",
        route_doc::of("List and search an account's users")
            .returns(200, "UserList")
            .with_etag()
            .in_tag("users")
            .param(path_param("a", "Account id"))
            .param(query_param("q", "Case-insensitive substring of name or email"))
            .param(query_param("portal", "Only users with a role in this portal"))
            .param(query_param("role",
                               "Only users holding this role, written portal:role (e.g. support:admin); a bare role "
                               "name with portal= is also accepted"))
            .param(query_param("status",
                               "Comma list of active, locked, removed (default active; \"show inactive\" is "
                               "active,locked)"))
            .param(query_param("registration", "invited, registered or not_invited"))
            .param(query_param("type", "employee or third_party"))
            .param(query_param("include_removed", "true adds removed to status (alias)", false, "boolean"))
            .param(query_param("limit",
                               "Page size, 1 to 500 (default 50); above 500 is 400 invalid_query "
                               "with field limit, never a silent cap",
                               false, "integer"))
            .param(query_param("cursor", "next_cursor of the previous page"))
            .param(as_of_param())
            .describe("Answer: {users, total, total_active, next_cursor}. total = the rows of the filtered list "
                      "(all pages); total_active = the account's active members (neither locked nor removed)."),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            auto invalid = [&](std::string field, std::string detail) {
                reply(query_problem("invalid_query", std::move(field), std::move(detail)).to_response());
            };
            projections::directory_query q;
            q.q = std::string(ctx.query.get("q").value_or(""));
            auto p = wire::query_enum<portal>(ctx.query, "portal", &parse_portal);
            auto ty = wire::query_enum<membership_type>(ctx.query, "type",
                                                        [](std::string_view s) -> std::optional<membership_type> {
                                                            if (s == "employee") return membership_type::employee;
                                                            if (s == "third_party") return membership_type::third_party;
                                                            return std::nullopt;
                                                        });
            if (!p) return void(reply(p.error().to_response()));
            if (!ty) return void(reply(ty.error().to_response()));
            q.portal = *p;
            q.type = *ty;
            if (auto st = ctx.query.get("status"); st && !st->empty()) {
                q.statuses = {false, false, false};
                std::string_view rest = *st;
                while (true) {
                    const auto comma = rest.find(',');
                    const auto item = rest.substr(0, comma);
                    if (item == "active")
                        q.statuses.active = true;
                    else if (item == "locked")
                        q.statuses.locked = true;
                    else if (item == "removed")
                        q.statuses.removed = true;
                    else
                        return invalid("status", "status must be a comma list of active, locked and removed.");
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
            }
            if (auto r = ctx.query.get("registration"); r && !r->empty()) {
                q.registration = parse_registration_status(*r);
                if (!q.registration)
                    return invalid("registration", "registration must be invited, registered or not_invited.");
            }
            if (auto r = ctx.query.get("role"); r && !r->empty()) {
                auto parsed = r->find(':') != std::string_view::npos ? parse_role(*r)
                              : q.portal                             ? parse_role(*q.portal, *r)
                                                                     : std::nullopt;
                if (!parsed)
                    return invalid("role",
                                   "role must be portal:role (e.g. support:admin), or a role name with portal=.");
                q.role = parsed;
            }
            auto inc = ctx.query.get("include_removed").value_or("false");
            if (inc != "true" && inc != "false")
                return invalid("include_removed", "include_removed must be true or false.");
            if (inc == "true") q.statuses.removed = true;
            const auto page = page_limit(ctx, q.limit);
            if (!page) return void(reply(page.error().to_response()));
            q.limit = *page;
            if (auto c = ctx.query.get("cursor"); c && !c->empty()) q.after = user_id{std::string(*c)};
            account_id a{std::string(ctx.param("a"))};
            answer_read(
                svc, ctx, reply, *who,
                [=](const state& s) { return authorize_read(s, who->actor, read_kind::user_list, a); },
                [=](const projections::read_view& v) {
                    auto page = v.directory.query(a, q);
                    if (!page)
                        return query_problem("invalid_cursor", "cursor", "The cursor does not name a row of this list.")
                            .to_response();
                    // Written straight into the body: a DOM of the page cost more than finding it.
                    std::string body;
                    body.reserve(128 + 384 * page->users.size());
                    json_writer w(body);
                    w.begin_object().key("users").begin_array();
                    for (const auto& e : page->users) wire::write_user(w, e);
                    w.end_array()
                        .member("total", std::uint64_t{page->total})
                        .member("total_active", std::uint64_t{page->total_active})
                        .key("next_cursor");
                    if (page->next_cursor)
                        w.value(page->next_cursor->value);
                    else
                        w.null();
                    w.end_object();
                    return json_text_with_etag(200, std::move(body), v.version_of(a));
                });
        });

    routes.add("GET", "/v1/accounts/{a}/users/{u}",
               route_doc::of("A user's profile view in an account")
                   .returns(200, "UserProfileAnswer")
                   .with_etag()
                   .in_tag("users")
                   .param(path_param("a", "Account id"))
                   .param(path_param("u", "User id"))
                   .param(as_of_param())
                   .describe("ETag and `version`: the version of this user in this account, which changes exactly "
                             "when this answer does (profile, lock, invitation, roles and contact roles here, "
                             "membership) and never when another user changes. Send it as If-Match on the user's "
                             "commands (roles, removal, lock, unlock, profile update); If-None-Match answers 304."),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   user_id u{std::string(ctx.param("u"))};
                   answer_read(
                       svc, ctx, reply, *who,
                       [=](const state& s) { return authorize_read(s, who->actor, read_kind::user_profile, a, u); },
                       [=](const projections::read_view& v) {
                           const auto* user = v.state.user(u);
                           const auto* acc = v.state.account(a);
                           if (!user || !acc)
                               return not_found_response("user_not_found", "No such user in this account.");
                           const auto version = member_version_of(v.state, a, u);
                           if (!version) return not_found_response("user_not_found", "No such user in this account.");
                           std::string body;
                           body.reserve(512);
                           json_writer w(body);
                           w.begin_object().key("user").begin_object();
                           wire::write_user_members(w, v.state, *user, a);
                           w.key("contact_roles").begin_array();
                           for (auto r : acc->contact_roles_of(u)) w.value(to_string(r));
                           w.end_array().member("version", std::uint64_t{version->value});
                           if (!user->open_invitation.empty()) {
                               // invitation_json's object ({} for an invitation the state lacks).
                               w.key("invitation").begin_object();
                               if (const auto* inv = v.state.invitation(user->open_invitation))
                                   w.member("id", user->open_invitation.value)
                                       .member("expires_at", replay::format_rfc3339(inv->expires_at));
                               w.end_object();
                           }
                           w.end_object().end_object();
                           return json_text_with_etag(200, std::move(body), *version);
                       });
               });

    routes.add(
        "GET", "/v1/users/lookup",
        route_doc::of("Instant verification of an email")
            .returns(200, "EmailLookup")
            .in_tag("users")
            .param(query_param("email", "The email to check", true))
            .param(query_param("account", "The admin's account", true))
            .param(as_of_param()),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            auto mail = ctx.query.get("email");
            auto account = ctx.query.get("account");
            if (!mail) return void(reply(query_problem("missing_query", "email", "email is required.").to_response()));
            if (!account)
                return void(reply(query_problem("missing_query", "account", "account is required.").to_response()));
            const account_id in_account{std::string(*account)};
            answer_read(
                svc, ctx, reply, *who,
                // The query's own refusals (rights first, then a bad email) are the check.
                [=](const state& s) -> result<void> {
                    if (auto r = lookup_email(s, who->actor, in_account, *mail); !r) return r.error();
                    return {};
                },
                [=](const projections::read_view& v) {
                    auto r = lookup_email(v.state, who->actor, in_account, *mail);
                    if (!r) return problem_from(r.error()).to_response();
                    return json_response(200, json::object{{"exists", r->exists},
                                                           {"member_of_account", r->member_of_account},
                                                           {"portals", wire::portals(r->portals)}});
                });
        });

    routes.add(
        "POST", "/v1/accounts/{a}/users/{u}/roles",
        command_doc(
            route_doc::of("Grant and revoke roles")
                .request("ChangeRoles")
                .returns(200, "UserAnswer")
                .with_etag()
                .header("If-Match")
                .in_tag("users")
                .json_body()
                .param(path_param("a", "Account id"))
                .param(path_param("u", "User id"))
                .describe("Needs admin in every portal touched. If-Match: the ETag of the user in this account.")),
        [&svc](request_context& ctx, responder reply) {
            auto req = begin_json_command(svc, ctx, reply);
            if (!req) return;
            const auto* who = &req->who;
            const auto* body = &req->body;
            account_id a{std::string(ctx.param("a"))};
            user_id u{std::string(ctx.param("u"))};
            auto cmd = wire::parse_change_roles(*body, a, u);
            if (!cmd) return void(reply(cmd.error().to_response()));
            submit_command(
                svc, ctx, reply, *who, std::move(*cmd),
                [a, u](const decided_view& v) { return user_response(v, a, u, 200); }, if_match_on(a, u));
        });

    routes.add("DELETE", "/v1/accounts/{a}/users/{u}/roles",
               command_doc(route_doc::of("Remove all access roles (the membership stays)")
                               .returns(200, "UserAnswer")
                               .with_etag()
                               .header("If-Match")
                               .in_tag("users")
                               .param(path_param("a", "Account id"))
                               .param(path_param("u", "User id"))
                               .describe("If-Match: the ETag of the user in this account.")),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   user_id u{std::string(ctx.param("u"))};
                   auto cmd = wire::parse_remove_all_roles(a, u);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   submit_command(
                       svc, ctx, reply, *who, *cmd,
                       [a, u](const decided_view& v) { return user_response(v, a, u, 200); }, if_match_on(a, u));
               });

    for (const bool lock : {true, false}) {
        routes.add(
            "POST", lock ? "/v1/users/{u}/lock" : "/v1/users/{u}/unlock",
            command_doc(
                route_doc::of(lock ? "Lock a user" : "Unlock a user")
                    .request("CommandWhy", false)
                    .returns(200, "UserAnswer")
                    .with_etag()
                    .header("If-Match")
                    .in_tag("users")
                    .param(path_param("u", "User id"))
                    .describe("Admin of the user's employer (any portal) or the operator. Optional body {reason}. "
                              "If-Match: the ETag of the user in any of their accounts (GET "
                              "/v1/accounts/{a}/users/{u}); the answer carries the ETag in the employer account.")),
            [&svc, lock](request_context& ctx, responder reply) {
                auto req = begin_json_command(svc, ctx, reply, true);
                if (!req) return;
                const auto* who = &req->who;
                const auto* body = &req->body;
                user_id u{std::string(ctx.param("u"))};
                command cmd;
                std::string reason;
                if (lock) {
                    auto parsed = wire::parse_lock_user(*body, u);
                    if (!parsed) return void(reply(parsed.error().to_response()));
                    cmd = parsed->command;
                    reason = std::move(parsed->reason);
                } else {
                    auto parsed = wire::parse_unlock_user(*body, u);
                    if (!parsed) return void(reply(parsed.error().to_response()));
                    cmd = parsed->command;
                    reason = std::move(parsed->reason);
                }
                submit_command(
                    svc, ctx, reply, *who, std::move(cmd),
                    [u](const decided_view& v) {
                        const auto* user = v.state.user(u);
                        if (!user) return not_found_response("user_not_found", "No such user.");
                        return member_response(200, json::object{{"user", wire::user(v.state, *user, user->employer)}},
                                               v.state, user->employer, u);
                    },
                    if_match_on(u, std::move(reason)));
            });
    }

    // On /v1/users/{u}, not under an account: a profile is one person, shown alike in every
    // account they belong to, so its update is no account's command (as lock and unlock).
    routes.add(
        "PATCH", "/v1/users/{u}",
        command_doc(
            route_doc::of("Update a user's profile")
                .request("UpdateProfile")
                .returns(200, "UserAnswer")
                .with_etag()
                .header("If-Match")
                .in_tag("users")
                .json_body()
                .param(path_param("u", "User id"))
                .describe("Body {name?, email?}: the fields to change; unchanged or absent fields are left alone and "
                          "a request that changes nothing appends nothing. Admins of the user's employer (any portal) "
                          "and the operator; a user may change their own name but not their own email. 409 "
                          "email_in_use when another user has the email. Appends profile_updated with each changed "
                          "field before and after. If-Match: the ETag of the user in any of their accounts (GET "
                          "/v1/accounts/{a}/users/{u}); the answer is the user in their employer account, with its "
                          "ETag.")),
        [&svc](request_context& ctx, responder reply) {
            auto req = begin_json_command(svc, ctx, reply);
            if (!req) return;
            user_id u{std::string(ctx.param("u"))};
            auto cmd = wire::parse_update_profile(req->body, u);
            if (!cmd) return void(reply(cmd.error().to_response()));
            submit_command(
                svc, ctx, reply, req->who, std::move(*cmd),
                [u](const decided_view& v) {
                    const auto* user = v.state.user(u);
                    if (!user) return not_found_response("user_not_found", "No such user.");
                    return member_response(200, json::object{{"user", wire::user(v.state, *user, user->employer)}},
                                           v.state, user->employer, u);
                },
                if_match_on(u));
        });

    routes.add("GET", "/v1/accounts/{a}/users/{u}/removal",
               route_doc::of("Removal preview: exactly what DELETE would do")
                   .returns(200, "RemovalPreview")
                   .with_etag()
                   .in_tag("users")
                   .param(path_param("a", "Account id"))
                   .param(path_param("u", "User id"))
                   .param(as_of_param())
                   .describe("`version` (and the ETag) is the version of the user in this account, as GET "
                             "/v1/accounts/{a}/users/{u} answers it; send it as If-Match on the DELETE."),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   user_id u{std::string(ctx.param("u"))};
                   answer_read(
                       svc, ctx, reply, *who,
                       [=](const state& s) -> result<void> {
                           if (auto r = removal_preview(s, who->actor, a, u); !r) return r.error();
                           return {};
                       },
                       [=](const projections::read_view& v) {
                           auto r = removal_preview(v.state, who->actor, a, u);
                           if (!r) return problem_from(r.error()).to_response();
                           json::object per_portal;
                           for (auto p : all_portals) {
                               json::array names;
                               for (std::size_t i = 0; i < role_count; ++i) {
                                   auto role_i = static_cast<role>(i);
                                   if (portal_of(role_i) == p && r->roles_revoked.contains(role_i))
                                       names.emplace_back(role_name(role_i));
                               }
                               per_portal[to_string(p)] = std::move(names);
                           }
                           json::array accounts;
                           for (const auto& m : r->accounts_removed_from)
                               accounts.emplace_back(wire::removed_membership(m.account, m.type, m.roles, m.cascade));
                           const auto version = member_version_of(v.state, a, u);
                           if (!version) return not_found_response("user_not_found", "No such user in this account.");
                           json::object out{{"roles_revoked", std::move(per_portal)},
                                            {"accounts_removed_from", std::move(accounts)},
                                            {"profile_retired", r->profile_retired},
                                            {"blockers", blockers_json(r->blockers)},
                                            {"missing_portals", wire::portals(r->missing_portals)},
                                            {"version", version->value}};
                           return json_with_etag(200, out, *version);
                       });
               });

    routes.add(
        "DELETE", "/v1/accounts/{a}/users/{u}",
        command_doc(route_doc::of("Remove a user from an account (permanent)")
                        .returns(200, "UserRemoved")
                        .with_etag()
                        .header("If-Match")
                        .in_tag("users")
                        .param(path_param("a", "Account id"))
                        .param(path_param("u", "User id"))
                        .responds({200})
                        .describe("403 with missing_portals, 409 with blockers. If-Match: the ETag of the user in this "
                                  "account (the preview's version).")),
        [&svc](request_context& ctx, responder reply) {
            auto who = authenticate(svc, ctx, reply);
            if (!who) return;
            account_id a{std::string(ctx.param("a"))};
            user_id u{std::string(ctx.param("u"))};
            auto cmd = wire::parse_remove_member(a, u);
            if (!cmd) return void(reply(cmd.error().to_response()));
            submit_command(
                svc, ctx, reply, *who, *cmd,
                [a, u](const decided_view& v) {
                    json::array accounts;
                    bool retired = false;
                    for (const auto& e : v.events) {
                        if (auto* m = std::get_if<member_removed>(&e))
                            accounts.emplace_back(wire::removed_membership(m->account, m->type, m->roles, m->cascade));
                        if (std::holds_alternative<profile_retired>(e)) retired = true;
                    }
                    const auto version = member_version_of(v.state, a, u);
                    json::object out{{"removed", u.value},
                                     {"accounts_removed_from", std::move(accounts)},
                                     {"profile_retired", retired},
                                     {"version", version ? version->value : 0}};
                    return version ? json_with_etag(200, out, *version) : json_response(200, out);
                },
                if_match_on(a, u));
        });

    routes.add("POST", "/v1/accounts/{a}/users/{u}/invitation",
               command_doc(route_doc::of("(Re-)invite a user")
                               .returns(201, "InvitationIssued")
                               .with_location()
                               .in_tag("users")
                               .param(path_param("a", "Account id"))
                               .param(path_param("u", "User id"))
                               .responds({201})
                               .describe("Revokes any open invitation. The secret is in this answer only.")),
               [&svc](request_context& ctx, responder reply) {
                   auto who = authenticate(svc, ctx, reply);
                   if (!who) return;
                   account_id a{std::string(ctx.param("a"))};
                   user_id u{std::string(ctx.param("u"))};
                   auto inv = make_invitation();
                   auto cmd = wire::parse_invite_user(a, u, inv.request);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   command_options options;
                   options.reveal_once = reveal_invitation_secret(inv.secret);
                   submit_command(
                       svc, ctx, reply, *who, *cmd,
                       [id = inv.request.id, a, u](const decided_view& v) {
                           return created_at(
                               json_response(201, json::object{{"invitation", invitation_json(v.state, id)}}),
                               "/v1/accounts/" + a.value + "/users/" + u.value + "/invitation");
                       },
                       std::move(options));
               });

    routes.add("POST", "/v1/invitations/accept",
               command_doc(route_doc::of("Accept an invitation")
                               .request("AcceptInvitation")
                               .returns(200, "InvitationAccepted")
                               .no_token()
                               .in_tag("users")
                               .json_body()
                               .describe("Authorized by the secret alone; no token needed.")),
               [&svc](request_context& ctx, responder reply) {
                   auto body = parse_json_object_body(ctx);
                   if (!body) return void(reply(body.error().to_response()));
                   if (auto why = wire::take_why(*body); !why) return void(reply(why.error().to_response()));
                   auto cmd = wire::parse_accept_invitation(*body, &sha256_hex);
                   if (!cmd) return void(reply(cmd.error().to_response()));
                   // The secret is the credential: `decide` ignores the actor for this command, and
                   // the envelope records the caller as anonymous (with its address).
                   caller anonymous{operator_principal{}, ""};
                   command_options options;
                   options.actor_label = "anonymous";
                   submit_command(
                       svc, ctx, reply, anonymous, std::move(*cmd),
                       [](const decided_view& v) {
                           for (const auto& e : v.events)
                               if (auto* a = std::get_if<invitation_accepted>(&e))
                                   if (const auto* user = v.state.user(a->user))
                                       return json_response(
                                           200, json::object{{"user", wire::user(v.state, *user, user->employer)}});
                           return json_response(200, json::object{});
                       },
                       std::move(options));
               });
}

}  // namespace roster::api
