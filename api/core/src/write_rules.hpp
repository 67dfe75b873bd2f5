// The client preconditions of a command, in one place: the Idempotency-Key rules (fresh, replay
// of the committed outcome, key reused with another request, the same key twice in one group)
// and If-Match (the expected version of a stream).
//
// Only the single writer can judge them: it alone knows the stream versions its group has
// numbered but not yet made durable, and If-Match must be judged before deciding (undoing a
// decided command after a refusal by the store would take a rebuild of the whole write model).
// The store persists what passed and judges none of it (eventstore/README.md, "Appends").
//
// Used by the writer thread only, one commit group at a time (`end_group` after each).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "roster/api/command_processor.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::api {

class write_rules {
public:
    explicit write_rules(const eventstore::store& store) : store_(store) {}

    struct decide {};       // no key, or a fresh one: decide the command
    struct after_group {};  // an earlier command of this group carries the key: ask again once it is durable
    // Or the command's answer, given without deciding it: the replayed outcome, the key reused
    // with another fingerprint, or unavailable when the store cannot be asked.
    using key_verdict = std::variant<decide, after_group, command_result>;
    key_verdict check_key(const std::string& key, const std::string& fingerprint) const;

    // If-Match: nullopt when a tag is the resource's version now, counting this group's undurable
    // events (streams: numbered here; member versions: `model` is the write model with the
    // group's events already folded).
    std::optional<outcome::version_mismatch> check_if_match(const domain::state& model, const if_match_condition& c);

    // The version of `stream` counting this group's numbered events.
    domain::stream_version version(const std::string& stream);
    // Numbers the next event of `stream` (version + 1) for the rest of the group.
    domain::stream_version number_next(const std::string& stream);
    // A batch recording `key` is in the group, so a later command with it waits (`after_group`).
    void claim_key(const std::string& key) { keys_.insert(key); }
    // The group is over, durable or not: from now on the store's versions and records are the
    // truth again. Keeps what the rules hold bounded by one group.
    void end_group() {
        versions_.clear();
        keys_.clear();
    }

private:
    const eventstore::store& store_;
    std::unordered_map<std::string, domain::stream_version> versions_;  // streams numbered in this group
    std::unordered_set<std::string> keys_;                              // keys recorded by this group
};

}  // namespace roster::api
