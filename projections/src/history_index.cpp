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

char kind_char(history_subject s) {
    return s == history_subject::account ? 'a' : s == history_subject::user ? 'u' : 'c';
}

std::string hex16(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = digits[v & 0xf];
    return out;
}

// A segment's keys name both its ends, so a segment of a later rebuild (other boundaries) never
// mixes with an older one's: the checkpoint record lists the boundaries it holds.
std::string segment_key(std::uint64_t end, std::uint64_t from) {
    return "projections/history/" + hex16(end) + "/" + hex16(from);
}

std::string subject_key(std::uint64_t end, std::uint64_t from, char kind, std::string_view id) {
    auto key = segment_key(end, from);
    key += '/';
    key += kind;
    key += id;
    return key;
}

// Lists are ascending, so each entry is written as its distance from the one before: about
// two bytes an entry instead of eight.
void encode_list(bytes::writer& w, const std::vector<std::uint64_t>& l) {
    w.u64(l.size());
    std::uint64_t previous = 0;
    for (auto entry : l) {
        w.u64(entry - previous);
        previous = entry;
    }
}

bool read_list(bytes::reader& r, std::vector<std::uint64_t>& l) {
    const auto size = r.count();
    l.reserve(l.size() + size);
    std::uint64_t entry = 0;
    for (auto k = size; k-- && r.ok();) {
        const auto delta = r.u64();
        // Strictly ascending, as `add` keeps them; anything else is damage.
        if (delta == 0 && k + 1 != size) return false;
        entry += delta;
        l.push_back(entry);
    }
    return r.ok();
}

bool decode_list(std::string_view bytes, std::vector<std::uint64_t>& l) {
    bytes::reader r(bytes);
    return read_list(r, l) && r.done();
}

eventstore::error damaged(std::string_view key) {
    return {eventstore::errc::corrupt, "history index segment " + std::string(key) + " does not decode", {}, 0, 0};
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

void history_index::page_from_memory(const list& l, const history_page_request& r,
                                     std::vector<eventstore::log_position>& out) const {
    auto pos = std::lower_bound(l.begin(), l.end(), r.from_position.value << 8);
    for (; pos != l.end() && out.size() <= r.limit; ++pos) {
        const eventstore::log_position position{*pos >> 8};
        if (position > r.to_position) break;
        if (r.types & (event_type_mask{1} << (*pos & 0xff))) out.push_back(position);
    }
}

eventstore::result<std::vector<eventstore::log_position>> history_index::page(const history_page_request& r) const {
    std::vector<eventstore::log_position> out;
    if (r.from_position > r.to_position) return out;
    const char kind = kind_char(r.subject);
    // The segments the range spans, in log order, then memory (everything after the last one).
    std::uint64_t start = 0;
    for (const auto end : persisted_.boundaries) {
        const auto from = std::exchange(start, end);
        if (out.size() > r.limit || from >= r.to_position.value) return out;
        if (end < r.from_position.value) continue;
        const auto key = subject_key(end, from, kind, r.id);
        const auto stored = persisted_.store->get_meta(key);
        if (!stored) continue;  // nothing about this subject in that segment
        list l;
        // A segment is written whole in one atomic batch with its checkpoint, so one that does
        // not decode is damage of the store. An audit trail may not drop entries without saying
        // so: the page fails rather than answer without them.
        if (!decode_list(*stored, l)) return damaged(key);
        page_from_memory(l, r, out);
    }
    const auto& map = r.subject == history_subject::account ? accounts_
                      : r.subject == history_subject::user  ? users_
                                                            : actors_;
    if (auto it = map.find(r.id); it != map.end()) page_from_memory(it->second, r, out);
    return out;
}

eventstore::result<std::string> history_index::encode() const {
    if (!persisted_.boundaries.empty()) {
        // The whole index in memory first, segments in order then the memory part.
        history_index whole;
        whole.entries_ = entries();
        std::uint64_t start = 0;
        for (const auto end : persisted_.boundaries) {
            const auto from = std::exchange(start, end);
            // segment() always writes the list of subjects, so a boundary without one is damage.
            const auto names_key = segment_key(end, from);
            const auto subjects = persisted_.store->get_meta(names_key);
            if (!subjects) return damaged(names_key);
            bytes::reader r(*subjects);
            for (auto n = r.count(); n-- && r.ok();) {
                const auto kind = static_cast<char>(r.u64());
                auto id = r.str();
                if (!r.ok()) break;
                const auto key = subject_key(end, from, kind, id);
                const auto stored = persisted_.store->get_meta(key);
                list l;
                if (!stored || !decode_list(*stored, l)) return damaged(key);
                auto& into = whole.map_of(kind)[id];
                into.insert(into.end(), l.begin(), l.end());
            }
            if (!r.done()) return damaged(names_key);
        }
        for (const char kind : {'a', 'u', 'c'})
            for (const auto& [id, l] : map_of(kind)) {
                auto& into = whole.map_of(kind)[id];
                into.insert(into.end(), l.begin(), l.end());
            }
        return whole.encode();
    }
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
            encode_list(w, row->second);
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> history_index::segment(std::uint64_t end) const {
    std::vector<std::pair<std::string, std::string>> out;
    const std::uint64_t from = persisted_.boundaries.empty() ? 0 : persisted_.boundaries.back();
    if (end <= from) return out;
    std::string subjects;
    bytes::writer names(subjects);
    names.u64(accounts_.size() + users_.size() + actors_.size());
    out.reserve(accounts_.size() + users_.size() + actors_.size() + 1);
    for (const char kind : {'a', 'u', 'c'})
        for (const auto& [id, l] : map_of(kind)) {
            names.u64(static_cast<std::uint64_t>(kind));
            names.str(id);
            std::string value;
            bytes::writer w(value);
            encode_list(w, l);
            out.emplace_back(subject_key(end, from, kind, id), std::move(value));
        }
    out.emplace_back(segment_key(end, from), std::move(subjects));
    return out;
}

void history_index::persisted(const eventstore::store& store, std::uint64_t end) {
    const std::uint64_t from = persisted_.boundaries.empty() ? 0 : persisted_.boundaries.back();
    if (end <= from) return;
    persisted_.store = &store;
    persisted_.boundaries.push_back(end);
    // Every position is indexed once, in order (the read model folds each event), so the
    // segment holds the events of (from, end].
    const auto moved = std::min<std::uint64_t>(entries_, end - from);
    persisted_.entries += moved;
    entries_ -= moved;
    const std::uint64_t keep_from = (end + 1) << 8;
    for (auto* map : {&accounts_, &users_, &actors_})
        for (auto it = map->begin(); it != map->end();) {
            auto& l = it->second;
            l.erase(l.begin(), std::lower_bound(l.begin(), l.end(), keep_from));
            if (l.empty())
                it = map->erase(it);
            else
                ++it;
        }
}

void history_index::attach(persisted_history p) { persisted_ = std::move(p); }

bool history_index::decode(std::string_view in) {
    bytes::reader r(in);
    const auto entries = static_cast<std::size_t>(r.u64());
    std::unordered_map<std::string, list> maps[3];
    for (auto& map : maps) {
        for (auto n = r.count(); n-- && r.ok();) {
            auto& l = map[r.str()];
            if (!read_list(r, l)) return false;
        }
    }
    if (!r.done()) return false;
    accounts_ = std::move(maps[0]);
    users_ = std::move(maps[1]);
    actors_ = std::move(maps[2]);
    entries_ = entries;
    persisted_ = {};
    return true;
}

}  // namespace roster::projections
