#include "roster/projections/history_index.hpp"

#include <algorithm>
#include <utility>

namespace roster::projections {
namespace {

static_assert(std::variant_size_v<domain::event> <= 32, "event_type_mask has one bit per event type");

void push(std::vector<std::uint64_t>& l, std::uint64_t entry) {
    // concerned() names each account once; the check keeps a list sorted and unique regardless.
    if (l.empty() || l.back() != entry) l.push_back(entry);
}

}  // namespace

std::optional<event_type_mask> event_type_bit(std::string_view name) {
    auto index = domain::event_type_index(name);
    if (!index) return std::nullopt;
    return event_type_mask{1} << *index;
}

void history_index::add(const eventstore::recorded_event& e, const domain::state&) {
    const std::uint64_t entry = (e.position.value << 8) | e.payload.index();
    ++entries_;
    // The event names its accounts and users itself (domain::concerned): the live stream,
    // /v1/events and export filter with the same function, so they list the same events.
    const auto parties = domain::concerned(e.payload);
    for (const auto& a : parties.accounts) push(accounts_[a.value], entry);
    for (const auto& u : parties.users) push(users_[u.value], entry);
    if (!e.meta.actor.principal.empty()) push(actors_[e.meta.actor.principal], entry);
}

std::vector<eventstore::log_position> history_index::page(const history_page_request& r) const {
    const auto& map = r.subject == history_subject::account ? accounts_
                      : r.subject == history_subject::user  ? users_
                                                            : actors_;
    std::vector<eventstore::log_position> out;
    auto it = map.find(r.id);
    if (it == map.end() || r.from_position > r.to_position) return out;
    const auto& l = it->second;
    auto pos = std::lower_bound(l.begin(), l.end(), r.from_position.value << 8);
    for (; pos != l.end() && out.size() <= r.limit; ++pos) {
        const eventstore::log_position position{*pos >> 8};
        if (position > r.to_position) break;
        if (r.types & (event_type_mask{1} << (*pos & 0xff))) out.push_back(position);
    }
    return out;
}

}  // namespace roster::projections
