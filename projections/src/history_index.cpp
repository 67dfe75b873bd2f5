#include "roster/projections/history_index.hpp"

#include <algorithm>
#include <utility>

#include "byte_codec.hpp"

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

std::string history_index::encode() const {
    // Lists are ascending, so each entry is written as its distance from the one before: about
    // two bytes an entry instead of eight.
    std::string out;
    bytes::writer w(out);
    w.u64(entries_);
    for (const auto* map : {&accounts_, &users_, &actors_}) {
        std::vector<const std::pair<const std::string, list>*> rows;
        rows.reserve(map->size());
        for (const auto& row : *map) rows.push_back(&row);
        std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
        w.u64(rows.size());
        for (const auto* row : rows) {
            w.str(row->first);
            w.u64(row->second.size());
            std::uint64_t previous = 0;
            for (auto entry : row->second) {
                w.u64(entry - previous);
                previous = entry;
            }
        }
    }
    return out;
}

bool history_index::decode(std::string_view in) {
    bytes::reader r(in);
    const auto entries = static_cast<std::size_t>(r.u64());
    std::unordered_map<std::string, list> maps[3];
    for (auto& map : maps) {
        for (auto n = r.count(); n-- && r.ok();) {
            auto& l = map[r.str()];
            const auto size = r.count();
            l.reserve(size);
            std::uint64_t entry = 0;
            for (auto k = size; k-- && r.ok();) {
                const auto delta = r.u64();
                // Strictly ascending, as `add` keeps them; anything else is damage.
                if (delta == 0 && !l.empty()) return false;
                entry += delta;
                l.push_back(entry);
            }
        }
    }
    if (!r.done()) return false;
    accounts_ = std::move(maps[0]);
    users_ = std::move(maps[1]);
    actors_ = std::move(maps[2]);
    entries_ = entries;
    return true;
}

}  // namespace roster::projections
