#include "roster/projections/directory.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>
#include <type_traits>

#include <boost/unordered/unordered_flat_map.hpp>

namespace roster::projections {
namespace {

// Only ASCII letters are folded: names are free UTF-8 text and a byte-wise lower-casing
// of multi-byte sequences would corrupt them. Emails are already lower-cased by the domain.
std::string fold(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

using trigram = std::uint32_t;

trigram trigram_at(std::string_view s, std::size_t i) {
    return (static_cast<trigram>(static_cast<unsigned char>(s[i])) << 16) |
           (static_cast<trigram>(static_cast<unsigned char>(s[i + 1])) << 8) |
           static_cast<trigram>(static_cast<unsigned char>(s[i + 2]));
}

// Rows sort by what a person scans for (name, then email); the id makes the order total,
// so a cursor naming the last row of a page always resumes at the same place.
bool sorts_before(const directory_entry& a, const directory_entry& b) {
    const auto& pa = *a.profile;
    const auto& pb = *b.profile;
    return std::tie(pa.name_folded, pa.email, pa.id.value) < std::tie(pb.name_folded, pb.email, pb.id.value);
}

bool text_matches(const directory_profile& p, std::string_view q_folded) {
    return q_folded.empty() || p.name_folded.find(q_folded) != std::string::npos ||
           p.email.find(q_folded) != std::string::npos;
}

// A row's class: its state (active, locked, removed), its registration and its membership type.
// Rows are filed per class with counts per class, so the state, registration and type filters
// choose whole classes: a page walks only the rows of the chosen classes and a filter-only total
// is a sum over at most `class_count` counters.
constexpr std::size_t state_count = 3;  // active, locked, removed
constexpr std::size_t type_count = 2;
constexpr std::size_t class_count = state_count * domain::registration_status_count * type_count;

std::size_t state_of(const directory_entry& e) {
    if (e.removed) return 2;
    return e.profile->status == domain::user_status::locked ? 1 : 0;
}

domain::registration_status registration_of(const directory_profile& p) {
    return domain::registration_of(p.registration, p.invitation_issued);
}

std::size_t class_of(const directory_entry& e) {
    return (state_of(e) * domain::registration_status_count + static_cast<std::size_t>(registration_of(*e.profile))) *
               type_count +
           static_cast<std::size_t>(e.type);
}

// The classes whose rows pass the query's state, registration and type filters.
std::array<bool, class_count> classes_for(const directory_query& q) {
    std::array<bool, class_count> out{};
    const std::array<bool, state_count> states{q.statuses.active, q.statuses.locked, q.statuses.removed};
    for (std::size_t st = 0; st < state_count; ++st)
        for (std::size_t r = 0; r < domain::registration_status_count; ++r)
            for (std::size_t t = 0; t < type_count; ++t)
                out[(st * domain::registration_status_count + r) * type_count + t] =
                    states[st] && (!q.registration || static_cast<std::size_t>(*q.registration) == r) &&
                    (!q.type || static_cast<std::size_t>(*q.type) == t);
    return out;
}

bool filters_match(const directory_entry& e, const directory_query& q) {
    const std::array<bool, state_count> states{q.statuses.active, q.statuses.locked, q.statuses.removed};
    if (!states[state_of(e)]) return false;
    if (q.registration && registration_of(*e.profile) != *q.registration) return false;
    if (q.type && e.type != *q.type) return false;
    if (q.portal && domain::roles_in(e.roles, *q.portal).empty()) return false;
    if (q.role && !e.roles.contains(*q.role)) return false;
    return true;
}

using rank_list = std::vector<std::uint32_t>;

// The first index at or after `from` whose value is >= target: exponential then binary search,
// so skipping far ahead in a long posting list costs log(distance), not distance.
std::size_t gallop(const rank_list& list, std::size_t from, std::uint32_t target) {
    std::size_t step = 1, hi = from;
    while (hi < list.size() && list[hi] < target) {
        from = hi + 1;
        hi += step;
        step *= 2;
    }
    hi = std::min(hi, list.size());
    return static_cast<std::size_t>(std::lower_bound(list.begin() + static_cast<std::ptrdiff_t>(from),
                                                     list.begin() + static_cast<std::ptrdiff_t>(hi), target) -
                                    list.begin());
}

// Entries added since the last re-rank are kept apart; past this share of the account the
// ranks are rebuilt (amortized: each insert pays for `rerank_divisor` re-postings).
constexpr std::size_t min_rerank_delta = 256;
constexpr std::size_t rerank_divisor = 16;

template <class T, class... Us>
inline constexpr bool one_of = (std::is_same_v<T, Us> || ...);

void bump(std::size_t& n, int sign) { n = sign > 0 ? n + 1 : n - 1; }

// Adds (sign +1) or takes away (sign -1) what one row contributes to its account's counts.
// Every change of a row or of its profile is "take away, change, add back", so the counts
// cannot drift from the rows whatever the event: there is no per-event arithmetic to forget.
void count(directory_stats& s, const directory_entry& e, int sign) {
    if (e.removed) return bump(s.removed, sign);
    const auto& p = *e.profile;
    bump(p.status == domain::user_status::locked ? s.locked : s.active, sign);
    switch (registration_of(p)) {
        case domain::registration_status::registered: bump(s.registered, sign); break;
        case domain::registration_status::invited: bump(s.invited, sign); break;
        case domain::registration_status::not_invited: bump(s.not_invited, sign); break;
    }
    for (std::size_t i = 0; i < domain::all_portals.size(); ++i)
        if (!domain::roles_in(e.roles, domain::all_portals[i]).empty()) bump(s.portal_users[i], sign);
    for (std::size_t r = 0; r < domain::role_count; ++r)
        if (e.roles.contains(static_cast<domain::role>(r))) bump(s.role_holders[r], sign);
}

}  // namespace

// A search must return the first rows *in list order* that contain q, and stop there. Posting
// lists therefore hold each entry's rank (its position in list order at the last re-rank), so
// intersecting them streams matches in page order and a page costs about `limit` matches, even
// when every trigram of q is common and the matches sort last. Ranks shift when a member is
// inserted, so new entries are posted by arrival (`fresh`) until the next re-rank folds them in.
struct directory::account_index {
    // A row's trigrams are not kept with it (they were ~40% of a row's bytes): re-ranking and
    // loading read them again from the profile's text, which costs a few probes of `posting_of`.
    struct node {
        directory_entry row;
    };
    struct node_order {
        bool operator()(const node* a, const node* b) const { return sorts_before(a->row, b->row); }
    };
    struct posting {
        rank_list ranks;                 // ranked entries, ascending rank
        std::vector<const node*> fresh;  // fresh entries, in arrival order
    };
    // The rows of one class (see class_of), in list order, and what they hold.
    struct row_class {
        std::set<const node*, node_order> rows;
        std::array<std::size_t, domain::all_portals.size()> portal_users{};
        std::array<std::size_t, domain::role_count> role_holders{};
    };

    // A deque's elements are stable, so the class sets, the rank vectors and `entries` may point
    // into it. Entries are never dropped (removed members stay listable with status=removed) and
    // their sort keys change only with a profile update (`resort`), so otherwise only insertions
    // move ranks. `entries` is keyed by a view of the profile's id (profiles are never dropped).
    std::deque<node> nodes;
    boost::unordered_flat_map<std::string_view, node*> entries;
    std::array<row_class, class_count> classes;
    std::vector<const node*> ranked;         // list order at the last re-rank
    std::vector<const node*> fresh_entries;  // inserted since, in list order
    boost::unordered_flat_map<trigram, std::uint32_t> posting_of;
    std::vector<posting> postings;
    directory_stats stats;

    // Every change of a listed row (membership, roles) or of its profile is "detach, change,
    // attach": the row's class, the class counts and the account stats follow it.
    void attach(const node& n, int sign) {
        auto& c = classes[class_of(n.row)];
        if (sign > 0)
            c.rows.insert(&n);
        else
            c.rows.erase(&n);
        count_row(n, sign);
    }

    // A change that keeps the row's sort key (membership, roles, lock, registration) is
    // "unfile, change, refile": the counts move as with detach and attach, but the row leaves its
    // class set only when its class changes (most such events, a role granted or revoked, keep
    // it), which saves the set's erase and insert and their string comparisons.
    std::size_t unfile(const node& n) {
        count_row(n, -1);
        return class_of(n.row);
    }
    void refile(const node& n, std::size_t was) {
        if (const auto now = class_of(n.row); now != was) {
            classes[was].rows.erase(&n);
            classes[now].rows.insert(&n);
        }
        count_row(n, +1);
    }

    // What the row adds to (+1) or takes from (-1) the account's stats and its class's counters.
    void count_row(const node& n, int sign) {
        count(stats, n.row, sign);
        auto& c = classes[class_of(n.row)];
        for (std::size_t i = 0; i < domain::all_portals.size(); ++i)
            if (!domain::roles_in(n.row.roles, domain::all_portals[i]).empty()) bump(c.portal_users[i], sign);
        for (std::size_t r = 0; r < domain::role_count; ++r)
            if (n.row.roles.contains(static_cast<domain::role>(r))) bump(c.role_holders[r], sign);
    }

    // The rows of the chosen classes after `after`, merged into list order, while `visit` wants more.
    template <class Visit>
    void walk(const std::array<bool, class_count>& chosen, const node* after, Visit&& visit) const {
        using iterator = std::set<const node*, node_order>::const_iterator;
        std::vector<std::pair<iterator, iterator>> heads;
        for (std::size_t c = 0; c < class_count; ++c) {
            if (!chosen[c] || classes[c].rows.empty()) continue;
            const auto& rows = classes[c].rows;
            auto from = after ? rows.upper_bound(after) : rows.begin();
            if (from != rows.end()) heads.emplace_back(from, rows.end());
        }
        while (!heads.empty()) {
            std::size_t least = 0;
            for (std::size_t i = 1; i < heads.size(); ++i)
                if (node_order{}(*heads[i].first, *heads[least].first)) least = i;
            if (!visit(*heads[least].first)) return;
            if (++heads[least].first == heads[least].second)
                heads.erase(heads.begin() + static_cast<std::ptrdiff_t>(least));
        }
    }

    // The rows of the chosen classes passing the portal and role filters, from the counts; none
    // when the counts cannot tell (a role of another portal than the one asked for).
    std::optional<std::size_t> count_rows(const std::array<bool, class_count>& chosen, const directory_query& q) const {
        if (q.role && q.portal && domain::portal_of(*q.role) != *q.portal) return std::nullopt;
        std::size_t portal_at = 0;
        if (q.portal)
            while (domain::all_portals[portal_at] != *q.portal) ++portal_at;
        std::size_t n = 0;
        for (std::size_t c = 0; c < class_count; ++c) {
            if (!chosen[c]) continue;
            n += q.role     ? classes[c].role_holders[static_cast<std::size_t>(*q.role)]
                 : q.portal ? classes[c].portal_users[portal_at]
                            : classes[c].rows.size();
        }
        return n;
    }

    // A listed profile's name or email changed, so its sort key and trigrams moved: re-posts it
    // and rebuilds this account's list order and postings from its entries, O(rows). Renames are
    // rare next to inserts, and the ranks stay exactly what `add` and `rerank` would give.
    // TODO(perf): move the one entry instead of re-ranking the account.
    void resort() {
        ranked.clear();
        fresh_entries.clear();
        for (auto& p : postings) {
            p.ranks.clear();
            p.fresh.clear();
        }
        rank_all();
    }

    // Drops the ranks, postings, class sets and counts, keeping the rows: filed again at once
    // after a deferred fold (directory::file_deferred).
    void unfile_all() {
        ranked.clear();
        fresh_entries.clear();
        posting_of.clear();
        postings.clear();
        for (auto& c : classes) c = {};
        stats = {};
    }

    // Ranks every entry from scratch (empty `ranked` and postings): one sort, then each posting
    // filled in ascending rank.
    void rank_all() {
        ranked.reserve(nodes.size());
        for (auto& n : nodes) ranked.push_back(&n);
        std::sort(ranked.begin(), ranked.end(), node_order{});
        std::vector<std::uint32_t> ids;
        for (std::uint32_t r = 0; r < ranked.size(); ++r)
            for (auto id : posting_ids(*ranked[r], ids)) postings[id].ranks.push_back(r);
    }

    // Files every ranked entry in its class and the counts (a load: the classes are empty), in
    // list order, so each class set takes its rows at the end.
    void file_all() {
        for (const auto* n : ranked) {
            count(stats, n->row, +1);
            auto& c = classes[class_of(n->row)];
            c.rows.insert(c.rows.end(), n);
            for (std::size_t i = 0; i < domain::all_portals.size(); ++i)
                if (!domain::roles_in(n->row.roles, domain::all_portals[i]).empty()) ++c.portal_users[i];
            for (std::size_t k = 0; k < domain::role_count; ++k)
                if (n->row.roles.contains(static_cast<domain::role>(k))) ++c.role_holders[k];
        }
    }

    // The distinct trigrams of the entry's folded name and email, as posting ids (a posting is
    // created for a trigram new to the account), into `out`, which is returned.
    std::vector<std::uint32_t>& posting_ids(const node& n, std::vector<std::uint32_t>& out) {
        out.clear();
        auto post = [&](std::string_view text) {
            for (std::size_t i = 0; i + 3 <= text.size(); ++i) {
                auto [it, inserted] =
                    posting_of.try_emplace(trigram_at(text, i), static_cast<std::uint32_t>(postings.size()));
                if (inserted) postings.emplace_back();
                out.push_back(it->second);
            }
        };
        post(n.row.profile->name_folded);
        post(n.row.profile->email);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    void add(node& n) {
        fresh_entries.insert(std::upper_bound(fresh_entries.begin(), fresh_entries.end(), &n, node_order{}), &n);
        std::vector<std::uint32_t> ids;
        for (auto id : posting_ids(n, ids)) postings[id].fresh.push_back(&n);
        if (fresh_entries.size() > std::max(min_rerank_delta, ranked.size() / rerank_divisor)) rerank();
    }

    // Folds the fresh entries into the ranks in O(postings), without re-reading any text: old
    // ranks shift by the number of fresh entries sorting before them, and each fresh entry's
    // rank is merged into its postings.
    void rerank() {
        // shift[r] = how many fresh entries sort before the entry of old rank r.
        std::vector<std::uint32_t> shift(ranked.size() + 1, 0);
        std::vector<std::uint32_t> fresh_rank(fresh_entries.size());
        for (std::uint32_t j = 0; j < fresh_entries.size(); ++j) {
            const auto at = static_cast<std::uint32_t>(
                std::upper_bound(ranked.begin(), ranked.end(), fresh_entries[j], node_order{}) - ranked.begin());
            ++shift[at];
            fresh_rank[j] = at + j;
        }
        for (std::size_t r = 1; r < shift.size(); ++r) shift[r] += shift[r - 1];

        std::vector<const node*> merged(ranked.size() + fresh_entries.size());
        std::merge(ranked.begin(), ranked.end(), fresh_entries.begin(), fresh_entries.end(), merged.begin(),
                   node_order{});
        ranked = std::move(merged);

        std::vector<std::size_t> old_size(postings.size());
        for (std::size_t i = 0; i < postings.size(); ++i) {
            auto& p = postings[i];
            for (auto& r : p.ranks) r += shift[r];
            old_size[i] = p.ranks.size();
            p.fresh.clear();
        }
        std::vector<std::uint32_t> ids;
        for (std::uint32_t j = 0; j < fresh_entries.size(); ++j)
            for (auto id : posting_ids(*fresh_entries[j], ids)) postings[id].ranks.push_back(fresh_rank[j]);
        for (std::size_t i = 0; i < postings.size(); ++i) {
            auto& ranks = postings[i].ranks;
            if (ranks.size() != old_size[i])
                std::inplace_merge(ranks.begin(), ranks.begin() + static_cast<std::ptrdiff_t>(old_size[i]),
                                   ranks.end());
        }
        fresh_entries.clear();
    }

    // The postings of q's distinct trigrams (q.size() >= 3), or empty when one has none.
    std::vector<const posting*> postings_for(std::string_view q) const {
        std::vector<const posting*> out;
        for (std::size_t i = 0; i + 3 <= q.size(); ++i) {
            auto it = posting_of.find(trigram_at(q, i));
            if (it == posting_of.end()) return {};
            const auto* p = &postings[it->second];
            if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
        }
        return out;
    }

    // The first rank in list order after `after` (0 without a cursor); `after` may be fresh.
    std::uint32_t first_rank_after(const node* after) const {
        if (!after) return 0;
        return static_cast<std::uint32_t>(std::upper_bound(ranked.begin(), ranked.end(), after, node_order{}) -
                                          ranked.begin());
    }

    // Up to `wanted` ranked entries from `start` on that are in every posting and pass `accept`,
    // in list order.
    template <class Accept>
    void ranked_matches(const std::vector<const posting*>& ps, std::uint32_t start, std::size_t wanted, Accept&& accept,
                        std::vector<const node*>& out) const {
        ranked_intersection(ps, start, [&](const node* n) {
            if (accept(n->row)) out.push_back(n);
            return out.size() < wanted;
        });
    }

    // How many entries (ranked and fresh) are in every posting and pass `accept`: O(the
    // shortest posting), the cost of a search's `total`.
    template <class Accept>
    std::size_t count_matches(const std::vector<const posting*>& ps, Accept&& accept) const {
        std::size_t n = 0;
        ranked_intersection(ps, 0, [&](const node* c) {
            if (accept(c->row)) ++n;
            return true;
        });
        const posting* narrowest = nullptr;
        for (const auto* p : ps)
            if (!narrowest || p->fresh.size() < narrowest->fresh.size()) narrowest = p;
        if (narrowest)
            for (const auto* c : narrowest->fresh)
                if (accept(c->row)) ++n;
        return n;
    }

    // The ranked entries from `start` on that are in every posting, in list order, while `emit`
    // wants more.
    template <class Emit>
    void ranked_intersection(const std::vector<const posting*>& ps, std::uint32_t start, Emit&& emit) const {
        std::vector<const rank_list*> lists;
        for (const auto* p : ps) {
            if (p->ranks.empty()) return;
            lists.push_back(&p->ranks);
        }
        if (lists.empty()) return;
        std::sort(lists.begin(), lists.end(), [](auto* a, auto* b) { return a->size() < b->size(); });
        std::vector<std::size_t> at(lists.size());
        for (std::size_t i = 0; i < lists.size(); ++i) at[i] = gallop(*lists[i], 0, start);
        // Leapfrog: every list jumps to the largest candidate seen until all agree.
        while (true) {
            if (at[0] >= lists[0]->size()) return;
            std::uint32_t candidate = (*lists[0])[at[0]];
            bool agreed = true;
            for (std::size_t i = 1; i < lists.size(); ++i) {
                at[i] = gallop(*lists[i], at[i], candidate);
                if (at[i] >= lists[i]->size()) return;
                if ((*lists[i])[at[i]] != candidate) {
                    at[0] = gallop(*lists[0], at[0], (*lists[i])[at[i]]);
                    agreed = false;
                    break;
                }
            }
            if (!agreed) continue;
            if (!emit(ranked[candidate])) return;
            ++at[0];
        }
    }

    // The fresh entries after `after` in every posting that pass `accept`: up to `wanted` of them
    // in list order, or all of them (unordered) when a short posting makes that cheaper.
    template <class Accept>
    void fresh_matches(const std::vector<const posting*>& ps, const node* after, std::size_t wanted, Accept&& accept,
                       std::vector<const node*>& out) const {
        const posting* narrowest = nullptr;
        for (const auto* p : ps)
            if (!narrowest || p->fresh.size() < narrowest->fresh.size()) narrowest = p;
        if (!narrowest || narrowest->fresh.empty()) return;
        auto after_cursor = [&](const node* n) { return !after || sorts_before(after->row, n->row); };
        if (narrowest->fresh.size() <= 4 * wanted) {
            for (const auto* n : narrowest->fresh)
                if (after_cursor(n) && accept(n->row)) out.push_back(n);
            return;
        }
        auto it = after ? std::upper_bound(fresh_entries.begin(), fresh_entries.end(), after, node_order{})
                        : fresh_entries.begin();
        for (std::size_t found = 0; it != fresh_entries.end() && found < wanted; ++it)
            if (accept((*it)->row)) {
                out.push_back(*it);
                ++found;
            }
    }
};

// A profile and the rows that show it (one per account it was ever a member of), so that a
// change of the profile (lock, invitation, registration) moves exactly those accounts' counts.
struct directory::profile_record : directory_profile {
    std::vector<std::pair<account_index*, account_index::node*>> listings;
};

// Profiles live in a deque (stable, allocated in blocks rather than one by one) and are found
// through a flat map keyed by a view of their own id: no second copy of the id, no node per entry.
struct directory::profile_table {
    std::deque<profile_record> records;
    boost::unordered_flat_map<std::string_view, profile_record*> by_id;

    // The new profile, or nullptr when the id is known (a log names each user_created once; a
    // repeated one is ignored rather than leaving the rows of the first pointing nowhere).
    profile_record* add(directory_profile p) {
        if (by_id.contains(p.id.value)) return nullptr;
        auto& record = records.emplace_back();
        static_cast<directory_profile&>(record) = std::move(p);
        by_id.emplace(std::string_view(record.id.value), &record);
        return &record;
    }
    profile_record* find(std::string_view id) const {
        auto it = by_id.find(id);
        return it == by_id.end() ? nullptr : it->second;
    }
};

template <class Change>
void directory::change_profile(profile_record& p, Change&& change) {
    if (deferred_) return change(static_cast<directory_profile&>(p));
    // A profile is listed in a few accounts: their classes fit on the stack.
    constexpr std::size_t inline_listings = 8;
    std::array<std::size_t, inline_listings> was{};
    std::vector<std::size_t> more;
    if (p.listings.size() > inline_listings) more.resize(p.listings.size());
    auto slot = [&](std::size_t i) -> std::size_t& { return more.empty() ? was[i] : more[i]; };
    for (std::size_t i = 0; i < p.listings.size(); ++i) slot(i) = p.listings[i].first->unfile(*p.listings[i].second);
    change(static_cast<directory_profile&>(p));
    for (std::size_t i = 0; i < p.listings.size(); ++i) p.listings[i].first->refile(*p.listings[i].second, slot(i));
}

// Search totals of the current generation, bounded in bytes: beyond the bound the cache starts
// afresh (a scan of ever-new searches can cost no more memory than that).
struct directory::search_totals {
    static constexpr std::size_t max_bytes = 1 << 20;
    std::mutex mutex;
    std::uint64_t generation = 0;
    std::size_t bytes = 0;
    std::unordered_map<std::string, std::size_t> totals;
};

std::optional<std::size_t> directory::cached_total(const std::string& key) const {
    if (!totals_) return std::nullopt;  // a moved-from directory
    std::lock_guard lock(totals_->mutex);
    if (totals_->generation != generation_) return std::nullopt;
    auto it = totals_->totals.find(key);
    if (it == totals_->totals.end()) return std::nullopt;
    return it->second;
}

void directory::remember_total(std::string key, std::size_t total) const {
    if (!totals_) return;
    // The key, the value and the hash node's pointers, roughly.
    const std::size_t cost = key.size() + sizeof(std::size_t) + 4 * sizeof(void*);
    std::lock_guard lock(totals_->mutex);
    if (totals_->generation != generation_ || totals_->bytes + cost > search_totals::max_bytes) {
        totals_->totals.clear();
        totals_->bytes = 0;
        totals_->generation = generation_;
    }
    if (totals_->totals.try_emplace(std::move(key), total).second) totals_->bytes += cost;
}

directory::directory() : profiles_(std::make_unique<profile_table>()), totals_(std::make_unique<search_totals>()) {}
directory::~directory() = default;
directory::directory(directory&&) noexcept = default;
directory& directory::operator=(directory&&) noexcept = default;

directory::account_index& directory::account_for(const domain::account_id& account) {
    auto& slot = accounts_[account.value];
    if (!slot) slot = std::make_unique<account_index>();
    return *slot;
}

void directory::apply(const domain::event& event) {
    ++generation_;
    std::visit(
        [this](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, domain::user_created>) {
                directory_profile p;
                p.id = e.user;
                p.email = fold(e.address.str());
                p.name = e.name;
                p.employer = e.employer;
                p.name_folded = fold(e.name);
                profiles_->add(std::move(p));
            } else if constexpr (std::is_same_v<T, domain::member_added>) {
                auto* profile = profiles_->find(e.user.value);
                if (!profile) return;
                auto& index = account_for(e.account);
                auto [it, inserted] = index.entries.try_emplace(std::string_view(profile->id.value), nullptr);
                std::optional<std::size_t> was;
                if (inserted) {
                    auto& n = index.nodes.emplace_back();
                    it->second = &n;
                    n.row.profile = profile;
                    if (!deferred_) index.add(n);
                    profile->listings.emplace_back(&index, &n);
                } else if (!it->second->row.removed) {
                    return;
                } else if (!deferred_) {
                    was = index.unfile(*it->second);
                }
                auto& entry = it->second->row;
                entry.type = e.type;
                entry.roles = {};
                entry.removed = false;
                if (deferred_) return;
                if (was)
                    index.refile(*it->second, *was);
                else
                    index.attach(*it->second, +1);
            } else if constexpr (std::is_same_v<T, domain::roles_granted> || std::is_same_v<T, domain::roles_revoked> ||
                                 std::is_same_v<T, domain::all_roles_removed> ||
                                 std::is_same_v<T, domain::member_removed>) {
                auto ait = accounts_.find(e.account.value);
                if (ait == accounts_.end()) return;
                auto& index = *ait->second;
                auto it = index.entries.find(e.user.value);
                if (it == index.entries.end()) return;
                auto& entry = it->second->row;
                const auto was = deferred_ ? 0 : index.unfile(*it->second);
                if constexpr (std::is_same_v<T, domain::roles_granted>) {
                    entry.roles = entry.roles | e.roles;
                } else if constexpr (std::is_same_v<T, domain::roles_revoked>) {
                    entry.roles = entry.roles.minus(e.roles);
                } else if constexpr (std::is_same_v<T, domain::all_roles_removed>) {
                    entry.roles = {};
                } else {
                    entry.roles = {};
                    entry.removed = true;
                }
                if (!deferred_) index.refile(*it->second, was);
            } else if constexpr (std::is_same_v<T, domain::user_locked> || std::is_same_v<T, domain::user_unlocked> ||
                                 std::is_same_v<T, domain::invitation_issued> ||
                                 std::is_same_v<T, domain::invitation_accepted> ||
                                 std::is_same_v<T, domain::profile_retired>) {
                auto* profile = profiles_->find(e.user.value);
                if (!profile) return;
                change_profile(*profile, [](directory_profile& p) {
                    if constexpr (std::is_same_v<T, domain::user_locked>)
                        p.status = domain::user_status::locked;
                    else if constexpr (std::is_same_v<T, domain::user_unlocked>)
                        p.status = domain::user_status::active;
                    else if constexpr (std::is_same_v<T, domain::invitation_issued>)
                        p.invitation_issued = true;
                    else if constexpr (std::is_same_v<T, domain::invitation_accepted>)
                        p.registration = domain::registration::registered;
                    else
                        p.retired = true;
                });
            } else if constexpr (std::is_same_v<T, domain::profile_updated>) {
                auto* profile = profiles_->find(e.user.value);
                if (!profile) return;
                auto& p = *profile;
                // Detached under the old sort key (the class sets are ordered by it), attached under the new.
                if (!deferred_)
                    for (auto [index, row] : p.listings) index->attach(*row, -1);
                if (e.name) {
                    p.name = e.name->after;
                    p.name_folded = fold(p.name);
                }
                if (e.email) p.email = fold(e.email->after);
                if (deferred_) return;
                for (auto [index, row] : p.listings) {
                    index->resort();
                    index->attach(*row, +1);
                }
            } else if constexpr (one_of<T, domain::account_opened, domain::partner_linked, domain::contacts_saved,
                                        domain::contact_handed_over, domain::watchlist_changed, domain::token_issued,
                                        domain::token_revoked, domain::access_denied, domain::signing_key_rotated,
                                        domain::token_rotated, domain::webhook_registered, domain::webhook_changed,
                                        domain::webhook_removed>) {
                // Nothing a directory row holds (profile, membership, roles) changes; an
                // account's index appears with its first member.
            } else {
                static_assert(domain::unhandled_event<T>,
                              "a new event type: fold it into the directory or list it above");
            }
        },
        event);
}

void directory::load(std::vector<directory_profile> profiles, std::vector<directory_row> rows) {
    ++generation_;
    profiles_->by_id.reserve(profiles_->by_id.size() + profiles.size());
    for (auto& p : profiles) {
        p.name_folded = fold(p.name);
        p.email = fold(p.email);
        profiles_->add(std::move(p));
    }
    std::vector<account_index*> touched;
    for (auto& r : rows) {
        auto* profile = profiles_->find(r.user.value);
        if (!profile) continue;
        auto& index = account_for(r.account);
        if (index.nodes.empty()) touched.push_back(&index);
        auto [it, inserted] = index.entries.try_emplace(std::string_view(profile->id.value), nullptr);
        if (inserted) {
            auto& n = index.nodes.emplace_back();
            it->second = &n;
            n.row = {profile, r.type, r.roles, r.removed};
            profile->listings.emplace_back(&index, &n);
        } else if (r.removed && !it->second->row.removed) {
            // What member_removed would do to a current row listed again as removed.
            it->second->row.roles = {};
            it->second->row.removed = true;
        }
    }
    file_at_once(std::move(touched));
}

void directory::defer_filing() {
    ++generation_;
    deferred_ = true;
}

void directory::file_deferred() {
    if (!deferred_) return;
    ++generation_;
    deferred_ = false;
    std::vector<account_index*> all;
    all.reserve(accounts_.size());
    for (auto& [id, index] : accounts_) {
        index->unfile_all();
        all.push_back(index.get());
    }
    file_at_once(std::move(all));
}

void directory::file_at_once(std::vector<account_index*> touched) {
    // Each account's list in order once (ranks are list positions, so every posting is filled in
    // ascending rank), the accounts shared between this thread and one more: they have nothing in
    // common but the profiles, which they only read. The largest go first so that the two threads
    // finish together.
    std::sort(touched.begin(), touched.end(),
              [](const account_index* a, const account_index* b) { return a->nodes.size() > b->nodes.size(); });
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        for (auto i = next.fetch_add(1); i < touched.size(); i = next.fetch_add(1)) {
            touched[i]->rank_all();
            touched[i]->file_all();
        }
    };
    // Even for a few rows (a thread's start costs less than the smallest snapshot's decode), so
    // that every restore, the tests' included, goes this one way.
    std::thread helper;
    if (touched.size() > 1) helper = std::thread(work);
    work();
    if (helper.joinable()) helper.join();
}

std::optional<directory_page> directory::query(const domain::account_id& account, const directory_query& q) const {
    using node = account_index::node;
    directory_page page;
    auto ait = accounts_.find(account.value);
    if (ait == accounts_.end()) {
        if (q.after) return std::nullopt;
        return page;
    }
    const auto& index = *ait->second;
    page.total_active = index.stats.active;

    const node* after = nullptr;
    if (q.after) {
        auto it = index.entries.find(q.after->value);
        if (it == index.entries.end()) return std::nullopt;
        after = it->second;
    }
    const std::string q_folded = fold(q.q);
    const std::size_t limit = std::max<std::size_t>(q.limit, 1);
    const auto chosen = classes_for(q);
    auto accept = [&](const directory_entry& e) { return filters_match(e, q) && text_matches(*e.profile, q_folded); };
    // Everything but the cursor and the page size decides a total; built only when a total is
    // counted rather than read from the class counters.
    std::string total_key;
    auto total_key_of = [&] {
        const std::string role_number =
            q.role ? std::to_string(static_cast<int>(*q.role)) : "-";  // names repeat across portals
        std::string key = account.value;
        for (std::string_view part :
             {std::string_view(q_folded), q.portal ? domain::to_string(*q.portal) : std::string_view("-"),
              std::string_view(role_number),
              q.registration ? domain::to_string(*q.registration) : std::string_view("-"),
              q.type ? domain::to_string(*q.type) : std::string_view("-")}) {
            key += '\0';
            key += part;
        }
        key += q.statuses.active ? 'a' : '-';
        key += q.statuses.locked ? 'l' : '-';
        key += q.statuses.removed ? 'r' : '-';
        return key;
    };

    // One row beyond the page tells whether a next page exists without a second query.
    std::vector<const node*> rows;
    if (q_folded.size() >= 3) {
        const auto postings = index.postings_for(q_folded);
        index.ranked_matches(postings, index.first_rank_after(after), limit + 1, accept, rows);
        index.fresh_matches(postings, after, limit + 1, accept, rows);
        const auto keep = std::min(rows.size(), limit + 1);
        std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(keep), rows.end(),
                          account_index::node_order{});
        rows.resize(keep);
        if (auto known = cached_total(total_key = total_key_of())) {
            page.total = *known;
        } else {
            page.total = index.count_matches(postings, accept);
            remember_total(std::move(total_key), page.total);
        }
    } else {
        // Only the rows of the chosen classes are walked: a state, registration or type filter
        // costs what its page costs. TODO(perf): a portal or role filter matching few rows of
        // large classes still walks them; per-role rank lists would bound it if it shows up.
        index.walk(chosen, after, [&](const node* n) {
            if (accept(n->row)) rows.push_back(n);
            return rows.size() <= limit;
        });
        if (auto counted = q_folded.empty() ? index.count_rows(chosen, q) : std::nullopt) {
            page.total = *counted;
        } else if (auto known = cached_total(total_key = total_key_of())) {
            page.total = *known;
        } else {
            index.walk(chosen, nullptr, [&](const node* n) {
                if (accept(n->row)) ++page.total;
                return true;
            });
            remember_total(std::move(total_key), page.total);
        }
    }

    if (rows.size() > limit) {
        rows.resize(limit);
        page.next_cursor = rows.back()->row.profile->id;
    }
    page.users.reserve(rows.size());
    for (const auto* n : rows) page.users.push_back(n->row);
    return page;
}

const directory_profile* directory::profile(const domain::user_id& user) const { return profiles_->find(user.value); }

directory_stats directory::stats(const domain::account_id& account) const {
    auto it = accounts_.find(account.value);
    return it == accounts_.end() ? directory_stats{} : it->second->stats;
}

const directory_entry* directory::entry(const domain::account_id& account, const domain::user_id& user) const {
    auto ait = accounts_.find(account.value);
    if (ait == accounts_.end()) return nullptr;
    auto it = ait->second->entries.find(user.value);
    return it == ait->second->entries.end() ? nullptr : &it->second->row;
}

}  // namespace roster::projections
