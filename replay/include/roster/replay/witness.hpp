// `rosterctl witness` (issue 13, item 7): keeps the last checkpoint of a remote log it has
// verified and refuses any later one that does not extend it. Run from another machine, it makes
// a rewrite of history detectable even by whoever holds the server's disk.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <variant>

namespace roster::replay {

struct witness_request {
    std::filesystem::path token_file;
    std::filesystem::path state_file;
    // A verifier key string to pin ("<name>+<id>+<base64>"); without it and without a state file,
    // the server's key is pinned on first use.
    std::optional<std::string> public_key;
};

struct witness_answer {
    unsigned status = 0;
    std::string body;
};
// GET `target` with the bearer token from the server: its answer, or why there is none. Passed
// in by rosterctl's main (the HTTP(S) client lives in the api library).
using witness_getter =
    std::function<std::variant<witness_answer, std::string>(const std::string& target, const std::string& bearer)>;

// Exit codes of run_witness.
inline constexpr int witness_ok = 0;
inline constexpr int witness_refused = 1;      // bad signature, other key, smaller tree, fork: evidence
inline constexpr int witness_usage = 2;        // bad arguments, unreadable token, state file or pinned key mismatch
inline constexpr int witness_unreachable = 3;  // the server could not be asked (nothing was judged)

// Fetches the latest checkpoint, checks its signature against the pinned key and its consistency
// with the checkpoint kept in the state file, and only then replaces the state file (temp file,
// fsync, rename, fsync of the directory). Prints a JSON line on success, a reason on `err` otherwise.
int run_witness(const witness_request& req, const witness_getter& get, std::ostream& out, std::ostream& err);

}  // namespace roster::replay
