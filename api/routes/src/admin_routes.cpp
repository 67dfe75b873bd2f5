#include "roster/api/admin_routes.hpp"
#include "roster/api/http_commands.hpp"

#include <boost/json.hpp>

#include "roster/api/wire_requests.hpp"
#include "roster/replay/backup.hpp"
#include "roster/replay/backup_path.hpp"

namespace roster::api {

namespace {

problem conflict(std::string code, std::string detail) { return make_problem(409, std::move(code), std::move(detail)); }

// Stable problem codes for the replay library's path errors.
problem backup_path_problem(const replay::backup_path_error& e) {
    switch (e.code) {
        case replay::backup_path_errc::not_allowed: return bad_request("backup_path_not_allowed", e.detail);
        case replay::backup_path_errc::invalid_name: return bad_request("invalid_backup_name", e.detail);
        case replay::backup_path_errc::inside_backup: return conflict("backup_inside_backup", e.detail);
        case replay::backup_path_errc::exists: return conflict("backup_exists", e.detail);
        case replay::backup_path_errc::io: break;
    }
    return service_unavailable("The backup failed: " + e.detail);
}

}  // namespace

void add_admin_routes(router& routes, service& svc, std::filesystem::path backup_root) {
    if (!backup_root.empty()) backup_root = std::filesystem::absolute(backup_root).lexically_normal();
    routes.add(
        "POST", "/v1/admin/backup",
        route_doc::of("Online consistent backup of the event store (operator only).")
            .answered_by_replica()  // a backup of this server's own store
            .request("BackupRequest")
            .returns(201, "Backup")
            .describe("Body {\"to\": \"/absolute/dir\"}: a RocksDB checkpoint into `to`/eventstore plus "
                      "`to`/backup.json holding the head position and hash. `to` must be inside the "
                      "server's --backup-dir and must not exist. Commands keep being served meanwhile. "
                      "`to` is checked before anything touches the disk: 400 backup_path_not_allowed when it "
                      "is not absolute, not strictly inside --backup-dir, has an empty, '.' or '..' component, "
                      "or meets a symbolic link or a non-directory on the way (symlinks are never followed); "
                      "400 invalid_backup_name for control characters, invalid UTF-8, a name below "
                      "--backup-dir outside [A-Za-z0-9._-] or starting with '.' or '-', a name over 255 bytes "
                      "or a path over 4095; 409 backup_inside_backup when a directory between --backup-dir "
                      "and `to` holds a backup (backup.json or eventstore/); 409 backup_exists when `to` "
                      "exists. A failed backup leaves nothing behind.")
            .in_tag("operations")
            .json_body()
            .responds({201, 400, 401, 403, 409, 503}),
        [&svc, backup_root](request_context& ctx, responder reply) {
            auto cmd = begin_json_command(svc, ctx, reply);
            if (!cmd) return;
            if (!std::holds_alternative<domain::operator_principal>(cmd->who.actor)) {
                return void(
                    reply(make_problem(403, "operator_only", "You do not have access to this feature.").to_response()));
            }
            auto request = wire::parse_backup_request(cmd->body);
            if (!request) return void(reply(request.error().to_response()));
            const auto& to = request->to;
            if (backup_root.empty())
                return void(reply(
                    conflict("backups_disabled", "This server has no --backup-dir; backups over HTTP are disabled.")
                        .to_response()));
            // Every check on the text comes before any system call; then the directory is
            // made beneath the root without following a symlink (see backup_path.hpp).
            auto target = replay::check_backup_destination(backup_root, to);
            if (!target) return void(reply(backup_path_problem(target.error()).to_response()));
            auto dest = replay::open_backup_destination(*target);
            if (!dest) {
                if (dest.error().code == replay::backup_path_errc::io)
                    svc.log.error("backup failed", {{"request_id", ctx.request_id}, {"error", dest.error().detail}});
                return void(reply(backup_path_problem(dest.error()).to_response()));
            }
            const auto path = dest->path();
            // The checkpoint flushes the memtable and links files: it takes milliseconds to
            // seconds, on this I/O thread, which is acceptable for a rare operator call.
            auto m = replay::create_backup(svc.store, std::move(*dest));
            if (!m) {
                svc.log.error("backup failed", {{"request_id", ctx.request_id}, {"error", m.error().message}});
                return void(reply(service_unavailable("The backup failed: " + m.error().message).to_response()));
            }
            svc.log.info("backup created",
                         {{"request_id", ctx.request_id}, {"path", path.string()}, {"position", m->position.value}});
            auto body = boost::json::parse(replay::manifest_json(*m)).as_object();
            body["path"] = path.string();
            reply(json_response(201, body));
        });
}

}  // namespace roster::api
