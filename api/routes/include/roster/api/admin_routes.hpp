// Operator-only maintenance routes: POST /v1/admin/backup.
#pragma once

#include <filesystem>

#include "roster/api/router.hpp"
#include "roster/api/service.hpp"

namespace roster::api {

// POST /v1/admin/backup {"to": "/abs/dir"}: an online checkpoint of the store (see
// roster/replay/backup.hpp) into `to`, which must lie inside `backup_root` (rosterd's
// --backup-dir) and not exist yet. Empty `backup_root` disables backups over HTTP (409).
// `to` is checked and created by roster/replay/backup_path.hpp (no symlink is followed beneath
// the root); the route maps those errors to problems (400 backup_path_not_allowed /
// invalid_backup_name, 409 backup_inside_backup / backup_exists).
// Answers 201 with the manifest. `svc` must outlive the router.
void add_admin_routes(router& routes, service& svc, std::filesystem::path backup_root);

}  // namespace roster::api
