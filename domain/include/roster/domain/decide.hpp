// Deciding commands: pure functions from (state, command, actor, now) to the events that record
// the change, or a refusal. No I/O, no clock, no RNG. Safe to call concurrently on a state that
// nobody mutates meanwhile.
#pragma once

#include <optional>
#include <vector>

#include "roster/domain/commands.hpp"
#include "roster/domain/errors.hpp"
#include "roster/domain/events.hpp"
#include "roster/domain/state.hpp"

namespace roster::domain {

// The events that carry out `cmd`, in append order (all of them must be appended atomically),
// or the refusal. A command that changes nothing yields an empty vector.
result<std::vector<event>> decide(const state& s, const command& cmd, const actor& who, timestamp now);

// The `410 Gone` answer for the retired "deactivate" endpoint.
domain_error deactivate_gone();

}  // namespace roster::domain
