// Which log positions concern an account, a user or an actor: the index behind the history
// queries (SPEC §3 "History"), so a history page costs point reads of its own events instead
// of a scan of the whole log.
//
// Owned by the live read model and folded with it (same lock): not thread-safe on its own.
// The events after the last restart checkpoint are indexed in memory; those before it are in
// the store (persisted_history), so a start-up loads none of the index.
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

// Where the persisted part of an index lives: the events up to `boundaries.back()`, written in
// segments (boundaries[i-1], boundaries[i]] (boundaries[-1] = 0) beside the restart checkpoint
// that ends each one, one key per subject and segment. A start-up attaches them and reads none
// of it: a page reads its subject's key of each segment it spans (point reads, most of them
// answered by the bloom filters).
struct persisted_history {
    const eventstore::store* store = nullptr;
    std::vector<std::uint64_t> boundaries;  // ascending
    std::uint64_t entries = 0;              // entries in the segments
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
    // next page exists); errc::corrupt, naming the key, when a persisted segment the range spans
    // does not decode (the page would silently lack its entries).
    eventstore::result<std::vector<eventstore::log_position>> page(const history_page_request& r) const;

    std::size_t entries() const noexcept { return persisted_.entries + entries_; }

    // The whole index (persisted segments and memory) as bytes. Deterministic (subjects sorted),
    // so two indexes hold the same entries iff their bytes are equal. Reads every segment: for
    // tests and tools, never on a request or start-up path. errc::corrupt when a segment does not decode.
    eventstore::result<std::string> encode() const;
    // Replaces the index with `bytes` (all in memory); false (index unchanged) when they do not decode.
    bool decode(std::string_view bytes);

    // The segment of the entries held in memory, ending at `end` (the position the owner folded
    // to; nothing beyond it is held): meta key/values to write atomically with the checkpoint
    // that records `end` as a boundary. Empty when memory holds nothing and `end` is already one.
    std::vector<std::pair<std::string, std::string>> segment(std::uint64_t end) const;
    // After those were written to `store`: `end` is a boundary and the memory drops what they hold.
    void persisted(const eventstore::store& store, std::uint64_t end);
    const persisted_history& persisted_part() const noexcept { return persisted_; }
    // Starts from persisted segments (a model that indexed nothing yet; see restart_checkpoint.cpp).
    void attach(persisted_history p);

private:
    using list = std::vector<std::uint64_t>;
    using subjects = std::unordered_map<std::string, list>;
    subjects& map_of(char kind) { return kind == 'a' ? accounts_ : kind == 'u' ? users_ : actors_; }
    const subjects& map_of(char kind) const { return kind == 'a' ? accounts_ : kind == 'u' ? users_ : actors_; }
    void page_from_memory(const list& l, const history_page_request& r,
                          std::vector<eventstore::log_position>& out) const;
    subjects accounts_, users_, actors_;
    std::size_t entries_ = 0;  // in memory
    persisted_history persisted_;
};

}  // namespace roster::projections
