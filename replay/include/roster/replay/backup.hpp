// Online backups and restores of a data directory's event store.
//
// A backup is a directory holding `eventstore/` (a RocksDB checkpoint: hard links to the
// immutable SST files plus a copy of the live WAL, consistent at one commit) and `backup.json`
// (the head it holds). Only the running rosterd can take a consistent checkpoint of its own
// database: a read-only RocksDB instance beside it does not stop the server's compactions from
// deleting files mid-copy, nor see its latest MANIFEST. So `rosterctl backup` either asks the
// server (POST /v1/admin/backup with the operator token) or, when no server holds the
// directory, opens the store itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <variant>

#include "roster/eventstore/store.hpp"
#include "roster/replay/backup_path.hpp"

namespace roster::replay {

struct backup_manifest {
    eventstore::log_position position;  // head of the copied log
    std::string hash;                   // its chain hash, hex
    std::string created_at;             // RFC 3339
};

std::string manifest_json(const backup_manifest& m);

// Checkpoints `store` into `dest/eventstore` and writes `dest/backup.json` (through dest's
// descriptor). On any failure `dest` is destroyed before this returns, which removes everything
// the request created. Safe while other threads append.
eventstore::result<backup_manifest> create_backup(const eventstore::store& store, backup_destination dest);

// The same into a local path (open_local_backup_destination: name checks, `dest` must not exist
// or be an empty directory; a failure leaves neither it nor the parents it made).
eventstore::result<backup_manifest> create_backup(const eventstore::store& store, const std::filesystem::path& dest);

struct backup_request {
    std::filesystem::path data_dir = "./data";
    std::filesystem::path dest;
    std::optional<std::string> url;                   // http(s)://host:port of a running rosterd
    std::optional<std::filesystem::path> token_file;  // default <data_dir>/operator.token
};

struct backup_answer {
    unsigned status = 0;
    std::string body;
};
// Sends POST `target` with the JSON `body` and the bearer token to the server at `url`: its
// answer, or why there is none. Passed in by rosterctl's main (an HTTP(S) client from the api
// library, which this library must not depend on); the TLS and timeout settings live in it.
using backup_poster = std::function<std::variant<backup_answer, std::string>(
    const std::string& url, const std::string& target, const std::string& bearer, const std::string& body)>;

// `rosterctl backup`: prints the manifest JSON; 0 on success, 1 when the backup failed, 2 on
// bad arguments or when the store is held by a server and no --url was given. `post` is only
// called with --url.
int run_backup(const backup_request& req, const backup_poster& post, std::ostream& out, std::ostream& err);

// `rosterctl restore --from SRC --data-dir DIR [--force]`: copies SRC/eventstore into
// DIR/eventstore (refusing a non-empty target unless `force`, and always refusing one a running
// server holds), then verifies the whole chain and that the head equals the manifest. Prints
// {"ok":..,"position":..,"hash":..,"checked":..}; 0 when verified, 1 otherwise.
int run_restore(const std::filesystem::path& src, const std::filesystem::path& data_dir, bool force, std::ostream& out,
                std::ostream& err);

}  // namespace roster::replay
