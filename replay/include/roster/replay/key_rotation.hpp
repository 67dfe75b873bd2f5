// Signing-key rotation statements (issue 13, item 6): a C2SP signed note that names the log's old
// and new checkpoint keys, signed by the old key (the authority) and by the new one (proof of
// possession). rosterd records each as a signing_key_rotated event; a verifier that pinned any
// older key walks the statements, in log order, to the current key. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "roster/eventstore/checkpoint.hpp"

namespace roster::replay {

// The first line of every statement; a later format gets a new version.
inline constexpr std::string_view rotation_statement_header = "roster signing-key rotation v1";
// A verifier refuses a longer chain before walking it (a rotation a day for years fits).
inline constexpr std::size_t max_rotation_statements = 4096;

struct rotation_statement {
    std::string origin;  // the log's origin: both keys carry it as their name
    eventstore::verifier_key old_key;
    eventstore::verifier_key new_key;
    std::uint64_t tree_size = 0;  // events in the log when the statement was made

    friend bool operator==(const rotation_statement&, const rotation_statement&) = default;
};

// "roster signing-key rotation v1\n<origin>\nold <key>\nnew <key>\ntree <size>\n"
std::string format_rotation_statement(const rotation_statement& s);
// The inverse, strict (exact lines, canonical keys, both keys named after the origin, distinct).
eventstore::result<rotation_statement> parse_rotation_statement(std::string_view text);

// The statement as a note signed by `old_key` and then by `new_key`. invalid_argument when the
// keys are not the statement's.
eventstore::result<std::string> sign_rotation_statement(const rotation_statement& s,
                                                        const eventstore::signing_key& old_key,
                                                        const eventstore::signing_key& new_key);

// Opens one signed statement: it must parse, name `trusted` as its old key and carry valid
// signatures by `trusted` and by its new key. The new key on success; corrupt otherwise.
eventstore::result<rotation_statement> accept_rotation(const eventstore::verifier_key& trusted, std::string_view note);

// Walks `notes` (every rotation statement of the log, in log order) from `pinned`: statements up
// to the last one whose new key is `pinned` are history the pin already covers; each one after it
// must be accepted (accept_rotation) by the key trusted before it. The key trusted at the end
// (`pinned` when nothing follows it); corrupt naming the first statement (1-based, in log order)
// that breaks the chain.
eventstore::result<eventstore::verifier_key> accept_rotations(const eventstore::verifier_key& pinned,
                                                              std::span<const std::string> notes);

}  // namespace roster::replay
