// Which log positions concern an account, a user or an actor: the index behind the history
// queries (SPEC §3 "History"), so a history page costs point reads of its own events instead
// of a scan of the whole log.
//
// Owned by the live read model and folded with it (same lock): not thread-safe on its own.
// Each entry packs (position << 8 | event type index) into 64 bits, so a type filter needs no
// read of the event; positions are far below 2^56.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "roster/domain/state.hpp"
#include "roster/eventstore/store.hpp"

namespace roster::projections {

enum class history_subject : std::uint8_t { account, user, actor };

// A bit per event type (the index of the type in domain::event); all bits = no filter.
using event_type_mask = std::uint32_t;
inline constexpr event_type_mask all_event_types = ~event_type_mask{0};
// "user_created" -> its bit; nullopt for an unknown name.
std::optional<event_type_mask> event_type_bit(std::string_view type_name);

struct history_page_request {
    history_subject subject = history_subject::account;
    std::string id;  // account id, user id, or actor principal label ("user:usr_1", "operator")
    eventstore::log_position from_position{1};                               // inclusive (cursor + 1, or since)
    eventstore::log_position to_position = eventstore::log_position::max();  // inclusive (until)
    event_type_mask types = all_event_types;
    std::size_t limit = 100;
};

class history_index {
public:
    // Indexes one event. Its accounts and users are domain::concerned(event), read from the
    // event alone (a user's profile facts name the user's accounts at decide time; events
    // written before that name none, as documented there), so the live stream's and export's
    // account= filters give the same events. The actor is the envelope's principal label. `s`
    // is no longer read; it stays for callers that index after their fold.
    void add(const eventstore::recorded_event& e, const domain::state& s);

    // At most `limit` + 1 positions in ascending order (one beyond the page tells the caller a
    // next page exists).
    std::vector<eventstore::log_position> page(const history_page_request& r) const;

    std::size_t entries() const noexcept { return entries_; }

    // The whole index as bytes, for a restart checkpoint (projections/src/restart_checkpoint.cpp).
    // Deterministic (subjects sorted), so two indexes hold the same entries iff their bytes are equal.
    std::string encode() const;
    // Replaces the index with `bytes`; false (index unchanged) when they do not decode.
    bool decode(std::string_view bytes);

private:
    using list = std::vector<std::uint64_t>;
    std::unordered_map<std::string, list> accounts_, users_, actors_;
    std::size_t entries_ = 0;
};

}  // namespace roster::projections
