#include "roster/projections/directory.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <type_traits>

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
struct entry_order {
    bool operator()(const directory_entry* a, const directory_entry* b) const {
        const auto& pa = *a->profile;
        const auto& pb = *b->profile;
        return std::tie(pa.name_folded, pa.email_folded, pa.id.value) <
               std::tie(pb.name_folded, pb.email_folded, pb.id.value);
    }
};

bool text_matches(const directory_profile& p, std::string_view q_folded) {
    return q_folded.empty() || p.name_folded.find(q_folded) != std::string::npos ||
           p.email_folded.find(q_folded) != std::string::npos;
}

bool filters_match(const directory_entry& e, const directory_query& q) {
    if (e.removed && !q.include_removed) return false;
    if (q.status && e.profile->status != *q.status) return false;
    if (q.type && e.type != *q.type) return false;
    if (q.portal && domain::roles_in(e.roles, *q.portal).empty()) return false;
    if (q.role && !e.roles.contains(*q.role)) return false;
    return true;
}

// A posting list this short is cheaper to filter and sort than walking the ordered index.
constexpr std::size_t candidate_sort_limit = 4096;

}  // namespace

struct directory::account_index {
    // unordered_map nodes are stable, so the ordered set and the slots may point into it.
    std::unordered_map<std::string, directory_entry> entries;
    std::set<const directory_entry*, entry_order> ordered;
    std::vector<const directory_entry*> slots;
    // trigram of folded name or email -> ascending, unique slot numbers. Entries are never
    // dropped (removed members stay listable with include_removed), so lists only grow.
    std::unordered_map<trigram, std::vector<std::uint32_t>> trigrams;
    std::size_t active = 0;

    void index_text(std::string_view text, std::uint32_t slot) {
        for (std::size_t i = 0; i + 3 <= text.size(); ++i) {
            auto& list = trigrams[trigram_at(text, i)];
            if (list.empty() || list.back() != slot) list.push_back(slot);
        }
    }

    void add(directory_entry& e) {
        auto slot = static_cast<std::uint32_t>(slots.size());
        slots.push_back(&e);
        ordered.insert(&e);
        index_text(e.profile->name_folded, slot);
        index_text(e.profile->email_folded, slot);
    }

    // The shortest posting list among q's trigrams, or nullptr when some trigram is absent
    // (then nothing can match). q must be at least three bytes long.
    const std::vector<std::uint32_t>* narrowest_postings(std::string_view q, bool& none) const {
        const std::vector<std::uint32_t>* best = nullptr;
        none = false;
        for (std::size_t i = 0; i + 3 <= q.size(); ++i) {
            auto it = trigrams.find(trigram_at(q, i));
            if (it == trigrams.end()) {
                none = true;
                return nullptr;
            }
            if (!best || it->second.size() < best->size()) best = &it->second;
        }
        return best;
    }
};

directory::directory() = default;
directory::~directory() = default;
directory::directory(directory&&) noexcept = default;
directory& directory::operator=(directory&&) noexcept = default;

directory::account_index& directory::account_for(const domain::account_id& account) {
    auto& slot = accounts_[account.value];
    if (!slot) slot = std::make_unique<account_index>();
    return *slot;
}

void directory::apply(const domain::event& event) {
    std::visit(
        [this](const auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, domain::user_created>) {
                auto p = std::make_unique<directory_profile>();
                p->id = e.user;
                p->email = e.address.str();
                p->name = e.name;
                p->employer = e.employer;
                p->name_folded = fold(e.name);
                p->email_folded = fold(e.address.str());
                profiles_[e.user.value] = std::move(p);
            } else if constexpr (std::is_same_v<T, domain::member_added>) {
                auto pit = profiles_.find(e.user.value);
                if (pit == profiles_.end()) return;
                auto& index = account_for(e.account);
                auto [it, inserted] = index.entries.try_emplace(e.user.value);
                auto& entry = it->second;
                if (inserted) {
                    entry.profile = pit->second.get();
                    index.add(entry);
                } else if (!entry.removed) {
                    return;
                }
                entry.type = e.type;
                entry.roles = {};
                entry.removed = false;
                ++index.active;
            } else if constexpr (std::is_same_v<T, domain::roles_granted> || std::is_same_v<T, domain::roles_revoked> ||
                                 std::is_same_v<T, domain::all_roles_removed> || std::is_same_v<T, domain::member_removed>) {
                auto ait = accounts_.find(e.account.value);
                if (ait == accounts_.end()) return;
                auto& index = *ait->second;
                auto it = index.entries.find(e.user.value);
                if (it == index.entries.end()) return;
                auto& entry = it->second;
                if constexpr (std::is_same_v<T, domain::roles_granted>) {
                    entry.roles = entry.roles | e.roles;
                } else if constexpr (std::is_same_v<T, domain::roles_revoked>) {
                    entry.roles = entry.roles.minus(e.roles);
                } else if constexpr (std::is_same_v<T, domain::all_roles_removed>) {
                    entry.roles = {};
                } else {
                    if (!entry.removed) --index.active;
                    entry.roles = {};
                    entry.removed = true;
                }
            } else if constexpr (std::is_same_v<T, domain::user_locked> || std::is_same_v<T, domain::user_unlocked> ||
                                 std::is_same_v<T, domain::invitation_accepted> || std::is_same_v<T, domain::profile_retired>) {
                auto pit = profiles_.find(e.user.value);
                if (pit == profiles_.end()) return;
                auto& p = *pit->second;
                if constexpr (std::is_same_v<T, domain::user_locked>) p.status = domain::user_status::locked;
                else if constexpr (std::is_same_v<T, domain::user_unlocked>) p.status = domain::user_status::active;
                else if constexpr (std::is_same_v<T, domain::invitation_accepted>) p.registration = domain::registration::registered;
                else p.retired = true;
            }
        },
        event);
}

std::optional<directory_page> directory::query(const domain::account_id& account, const directory_query& q) const {
    directory_page page;
    auto ait = accounts_.find(account.value);
    if (ait == accounts_.end()) {
        if (q.after) return std::nullopt;
        return page;
    }
    const auto& index = *ait->second;
    page.total_active = index.active;

    const directory_entry* after = nullptr;
    if (q.after) {
        auto it = index.entries.find(q.after->value);
        if (it == index.entries.end()) return std::nullopt;
        after = &it->second;
    }
    const std::string q_folded = fold(q.q);
    const std::size_t limit = std::max<std::size_t>(q.limit, 1);
    auto accept = [&](const directory_entry& e) { return filters_match(e, q) && text_matches(*e.profile, q_folded); };

    // One row beyond the page tells whether a next page exists without a second query.
    std::vector<const directory_entry*> rows;
    const std::vector<std::uint32_t>* postings = nullptr;
    if (q_folded.size() >= 3) {
        bool none = false;
        postings = index.narrowest_postings(q_folded, none);
        if (none) return page;
    }
    if (postings && postings->size() <= std::max(candidate_sort_limit, index.slots.size() / 16)) {
        entry_order less;
        for (auto slot : *postings) {
            const auto* e = index.slots[slot];
            if ((!after || less(after, e)) && accept(*e)) rows.push_back(e);
        }
        const auto keep = std::min(rows.size(), limit + 1);
        std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(keep), rows.end(), less);
        rows.resize(keep);
    } else {
        // TODO(perf): a filter-only query that matches few rows (e.g. a rare role) walks the
        // whole account; per-role slot lists would bound it if it ever shows up in profiles.
        auto it = after ? index.ordered.upper_bound(after) : index.ordered.begin();
        for (; it != index.ordered.end() && rows.size() <= limit; ++it)
            if (accept(**it)) rows.push_back(*it);
    }

    if (rows.size() > limit) {
        rows.resize(limit);
        page.next_cursor = rows.back()->profile->id;
    }
    page.users.reserve(rows.size());
    for (const auto* e : rows) page.users.push_back(*e);
    return page;
}

const directory_profile* directory::profile(const domain::user_id& user) const {
    auto it = profiles_.find(user.value);
    return it == profiles_.end() ? nullptr : it->second.get();
}

const directory_entry* directory::entry(const domain::account_id& account, const domain::user_id& user) const {
    auto ait = accounts_.find(account.value);
    if (ait == accounts_.end()) return nullptr;
    auto it = ait->second->entries.find(user.value);
    return it == ait->second->entries.end() ? nullptr : &it->second;
}

}  // namespace roster::projections
