// Evidence packs (issue 13, item 8): one tar archive holding an account's events in a time range
// (the export's JSON and the stored envelope bytes the Merkle leaves hash), an RFC 9162 inclusion
// proof of each against one signed checkpoint, the checkpoint, the public key, a manifest signed
// by the log key, a README and verify.py. An outsider verifies it offline, with `rosterctl
// verify-pack` or with standard tools only.
//
// Layout (every name below is a regular file, ustar):
//   README.md, verify.py, checkpoint.txt, public-key.pem, verifier-key.txt,
//   key-rotations.txt                                                         first, fixed
//   events/<position>.json, events/<position>.bin, proofs/<position>.json     in log order
//   manifest.json, manifest.sig                                              last (they need all)
//
// The tar is written with libarchive: a standard format is better written by a well-kept library
// than by hand, and the same library reads back whatever tar a reviewer re-creates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/merkle.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::replay {

// A pack holds at most this many events, so its manifest (~350 bytes an event, kept in memory
// until the end of the archive) stays under ~18 MiB; a wider range is refused up front.
inline constexpr std::size_t max_pack_events = 50'000;

// What the manifest says was selected: the account and the range as asked (RFC 3339 text, empty
// = open), since inclusive, until exclusive.
struct pack_selection {
    std::string account;
    std::string since;
    std::string until;
};

// The checkpoint the proofs are against (a note signed by the log key) and that key.
struct pack_signer {
    std::string checkpoint_note;
    eventstore::checkpoint checkpoint;
    eventstore::verifier_key key;
    // Signs the manifest's note text with the log key (eventstore::sign_note).
    std::function<eventstore::result<std::string>(std::string_view text)> sign_note;
    // The log's rotation statements (signed notes) in log order, through the one that introduced
    // `key`: a reviewer who pinned an older key walks them to `key` (accept_rotations).
    std::vector<std::string> rotations;
};

// key-rotations.txt: each statement (a signed note, ending in a newline) followed by one empty
// line; empty when the log never rotated. The inverse refuses anything else (corrupt).
std::string format_key_rotations(const std::vector<std::string>& notes);
eventstore::result<std::vector<std::string>> parse_key_rotations(std::string_view text);

// The verification procedure as a Python 3 (stdlib + openssl CLI) script, replay/verify_pack.py.
std::string_view verify_py();
// The pack's README.md.
std::string_view pack_readme();
// SubjectPublicKeyInfo PEM of an Ed25519 key (what `openssl pkeyutl -pubin` reads).
std::string ed25519_public_key_pem(const eventstore::ed25519_public_key& key);

// Produces the archive piece by piece: each next() appends at most about `piece_bytes` (one event
// more at most) to `out`. `positions` are the selected events, strictly increasing, all within
// the checkpoint's tree; `subtrees` serves the proofs (e.g. api::stored_subtrees). Owned by one
// consumer; the store must outlive it.
class evidence_writer {
public:
    evidence_writer(const eventstore::store& store, std::unique_ptr<eventstore::subtree_source> subtrees,
                    pack_selection selection, std::vector<eventstore::log_position> positions, pack_signer signer,
                    domain::timestamp generated_at, std::size_t piece_bytes = 1024 * 1024);
    ~evidence_writer();
    evidence_writer(const evidence_writer&) = delete;
    evidence_writer& operator=(const evidence_writer&) = delete;

    // false once `out` holds the end of the archive; an error when the store or a proof fails
    // (the caller then truncates the transfer).
    eventstore::result<bool> next(std::string& out);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// ---- rosterctl evidence ------------------------------------------------------------------------

struct evidence_request {
    std::filesystem::path token_file;  // auditor or operator token
    std::filesystem::path out;         // the pack is written to out.partial, then renamed
    std::string account, since, until;
};
struct evidence_answer {
    unsigned status = 0;
    std::string body;
};
// GET `target` with the bearer token: the answer or why there is none (rosterctl's main passes
// the api library's HTTP(S) client).
using evidence_getter =
    std::function<std::variant<evidence_answer, std::string>(const std::string& target, const std::string& bearer)>;
// Exit 0 (pack written), 1 (the server refused: its problem printed), 2 (bad arguments, token or
// output file), 3 (server unreachable).
int run_evidence(const evidence_request& req, const evidence_getter& get, std::ostream& out, std::ostream& err);

// ---- verification ------------------------------------------------------------------------------

struct pack_summary {
    std::string account, since, until, origin;
    std::uint64_t tree_size = 0;
    std::uint64_t events = 0;
    bool pinned = false;        // checked against a key given by the caller, not the pack's own
    std::size_t rotations = 0;  // rotation statements walked from the pinned key to the pack's
};

// Opens the tar at `path` (any tar libarchive reads, compressed or not) and checks everything
// verify-pack promises; `pinned` is a C2SP verifier key string. The error names the first failure.
eventstore::result<pack_summary> verify_pack(const std::filesystem::path& path, std::optional<std::string> pinned);

// rosterctl verify-pack: exit 0 with a summary on `out`, 1 naming the first failure on `err`,
// 2 for an unreadable file or a malformed pinned key.
int run_verify_pack(const std::filesystem::path& path, std::optional<std::string> pinned, std::ostream& out,
                    std::ostream& err);

}  // namespace roster::replay
