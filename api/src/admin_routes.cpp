#include "roster/api/admin_routes.hpp"

#include <boost/json.hpp>

#include "roster/api/json_input.hpp"
#include "roster/replay/backup.hpp"

namespace roster::api {

namespace {

problem conflict(std::string code, std::string detail) {
    return make_problem(409, std::move(code), "Conflict", std::move(detail));
}

// `to` must name a path strictly inside `root` after normalization ("..", duplicate slashes),
// so an operator request cannot write anywhere else on the server's disk.
bool inside(const std::filesystem::path& root, const std::filesystem::path& to) {
    auto r = root.lexically_normal();
    auto t = to.lexically_normal();
    auto rel = t.lexically_relative(r);
    return !rel.empty() && rel != "." && *rel.begin() != "..";
}

}  // namespace

void add_admin_routes(router& routes, service& svc, std::filesystem::path backup_root) {
    if (!backup_root.empty()) backup_root = std::filesystem::absolute(backup_root).lexically_normal();
    routes.add("POST", "/v1/admin/backup",
               route_doc::of("Online consistent backup of the event store (operator only).")
                   .describe("Body {\"to\": \"/absolute/dir\"}: a RocksDB checkpoint into `to`/eventstore plus "
                             "`to`/backup.json holding the head position and hash. `to` must be inside the "
                             "server's --backup-dir and must not exist. Commands keep being served meanwhile.")
                   .in_tag("operations")
                   .json_body()
                   .responds({201, 400, 401, 403, 409, 503}),
               [&svc, backup_root](request_context& ctx, responder reply) {
                   auto cmd = begin_json_command(svc, ctx, reply);
                   if (!cmd) return;
                   if (!std::holds_alternative<domain::operator_principal>(cmd->who.actor)) {
                       return void(reply(make_problem(403, "operator_only", "Forbidden", "You do not have access to this feature.")
                                             .to_response()));
                   }
                   json_reader in(cmd->body);
                   auto to = in.required_string("to");
                   if (auto bad = in.finish()) return void(reply(bad->to_response()));
                   if (backup_root.empty())
                       return void(reply(conflict("backups_disabled",
                                                  "This server has no --backup-dir; backups over HTTP are disabled.")
                                             .to_response()));
                   const std::filesystem::path dest(to);
                   if (!dest.is_absolute() || !inside(backup_root, dest))
                       return void(reply(bad_request("backup_path_not_allowed",
                                                     "to must be an absolute path inside the server's --backup-dir (" +
                                                         backup_root.string() + ").")
                                             .to_response()));
                   std::error_code ec;
                   if (std::filesystem::exists(dest, ec))
                       return void(reply(conflict("backup_exists", "to already exists; choose a new directory.").to_response()));
                   // The checkpoint flushes the memtable and links files: it takes milliseconds to
                   // seconds, on this I/O thread, which is acceptable for a rare operator call.
                   auto m = replay::create_backup(svc.store, dest);
                   if (!m) {
                       svc.log.error("backup failed", {{"request_id", ctx.request_id}, {"error", m.error().message}});
                       return void(reply(service_unavailable("The backup failed: " + m.error().message).to_response()));
                   }
                   svc.log.info("backup created",
                                {{"request_id", ctx.request_id}, {"path", dest.string()}, {"position", m->position}});
                   auto body = boost::json::parse(replay::manifest_json(*m)).as_object();
                   body["path"] = dest.string();
                   reply(json_response(201, body));
               });
}

}  // namespace roster::api
