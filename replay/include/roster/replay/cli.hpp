// rosterctl's compliance commands over a data directory: history, as-of, export, rebuild, and a
// verify with progress. Each call opens its own read-only store (no lock, a view as of the open),
// so all of them are safe beside a running rosterd; only `rebuild --write-snapshots` opens the
// store writable and therefore needs the server stopped.
// Exit codes: 0 ok, 1 a negative finding (broken chain, snapshot mismatch), 2 cannot open or
// read the store, 64 arguments these functions refuse (e.g. two of --account/--user/--actor).
// rosterctl's own parsing refuses unknown flags and malformed values earlier, with 2.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "roster/replay/export.hpp"

namespace roster::replay {

struct history_cli_request {
    std::string account, user, actor;  // exactly one
    std::string since, until, types;   // as the HTTP parameters
    std::size_t limit = 1000;
};
// JSON Lines of the events, the same selection as GET .../history.
int run_history(const std::filesystem::path& data_dir, const history_cli_request& r, std::ostream& out,
                std::ostream& err);

struct as_of_cli_request {
    std::string at;  // position or RFC 3339
    std::string account;
    std::string user;  // optional: that user's profile in the account
};
// One JSON object: {position, recorded_at, account:{...}, users:[...], contacts:{...}, watchlist:[...]}
// or, with a user, {position, recorded_at, user:{...}}.
int run_as_of(const std::filesystem::path& data_dir, const as_of_cli_request& r, std::ostream& out, std::ostream& err);

// `account` (empty: all) keeps only the events domain::concerned names it in; `include_envelope`
// adds each JSON Lines object's stored bytes (export.hpp, jsonl_row).
int run_export(const std::filesystem::path& data_dir, export_format format, const std::string& since,
               const std::string& until, std::ostream& out, std::ostream& err, const std::string& account = {},
               bool include_envelope = false);

// Folds the whole log from position 0 (progress on a terminal), cross-checks every stored
// snapshot against the fold at its position, prints {position, events, seconds, events_per_s,
// snapshots_checked, snapshots_mismatched}. With write_snapshots, also writes the missing
// snapshots every `snapshot_every` events (store opened writable: stop rosterd first).
int run_rebuild(const std::filesystem::path& data_dir, bool write_snapshots, std::uint64_t snapshot_every,
                std::ostream& out, std::ostream& err);

// verify in slices with a progress bar; same report and exit codes as run_verify.
int run_verify_progress(const std::filesystem::path& data_dir, std::uint64_t from, std::uint64_t to, std::ostream& out,
                        std::ostream& err);

}  // namespace roster::replay
