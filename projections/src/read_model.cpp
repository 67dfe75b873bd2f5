#include "roster/projections/read_model.hpp"

#include <algorithm>
#include <mutex>
#include <sstream>
#include <vector>

namespace roster::projections {

domain::stream_version read_view::stream_version(std::string_view stream) const {
    auto it = versions.find(std::string(stream));
    return domain::stream_version{it == versions.end() ? 0 : it->second};
}

read_model::read_model(read_model_options options) {
    if (!options.history_index) history_.reset();
    indexed_ = options.history_index;
    deferred_fold_at_least_ = options.deferred_fold_at_least;
}

bool read_model::apply(std::span<const eventstore::recorded_event> events) {
    std::unique_lock lock(mutex_);
    auto expected = position_.next();
    for (const auto& e : events) {
        if (e.position < expected) continue;
        if (e.position != expected) return false;
        expected = expected.next();
    }
    for (const auto& e : events)
        if (e.position > position_) apply_locked(e);
    return true;
}

namespace {

// The token facts the fold cannot know (it has no clock and no envelope): when and by whom.
void note_token_times(domain::state& s, const eventstore::recorded_event& e) {
    auto at = [&](const domain::token_id& id) { return s.tokens.find(id); };
    if (const auto* x = std::get_if<domain::token_issued>(&e.payload)) {
        if (auto it = at(x->token); it != s.tokens.end()) {
            it->second.issued_at = e.recorded_at;
            it->second.issued_by = e.meta.actor.principal;
        }
    } else if (const auto* x = std::get_if<domain::token_revoked>(&e.payload)) {
        if (auto it = at(x->token); it != s.tokens.end() && it->second.revoked_at == domain::timestamp{})
            it->second.revoked_at = e.recorded_at;
    } else if (const auto* x = std::get_if<domain::token_rotated>(&e.payload)) {
        if (auto it = at(x->token); it != s.tokens.end()) it->second.rotated_at = e.recorded_at;
    }
}

}  // namespace

void read_model::apply_locked(const eventstore::recorded_event& e) {
    domain::apply(state_, e.payload, e.position);
    note_token_times(state_, e);
    directory_.apply(e.payload);
    versions_[e.stream] = e.version.value;
    if (history_) history_->add(e, state_);
    position_ = e.position;
    recorded_at_ = e.recorded_at;
}

eventstore::result<void> read_model::catch_up(const eventstore::store& store, eventstore::log_position to) {
    if (auto folded = fold_from_nothing(store, to)) return *folded;
    // Folding in chunks keeps the exclusive lock short, so readers are not starved by a rebuild.
    // Each event is folded straight from the reader's buffer (no copy): the lock is held while
    // the chunk is read, which costs readers a few milliseconds at most.
    // A long way behind (a rebuild), the events are decoded on a second thread ahead of the fold;
    // a short tail (after each command) is read here, where a thread would cost more than it saves.
    constexpr std::size_t chunk = 4096;
    while (true) {
        std::unique_lock lock(mutex_);
        const auto from = position_.next();
        if (from > to) return {};
        const auto last = std::min(to, store.head().position);
        const bool bulk = last >= from && last.value - from.value >= chunk / 2;
        auto folded =
            fold_chunk(store, bulk ? &eventstore::store::read_bulk_from : &eventstore::store::read_from, chunk, to);
        if (!folded) return folded.error();
        if (*folded < chunk) return {};
    }
}

std::optional<eventstore::result<void>> read_model::fold_from_nothing(const eventstore::store& store,
                                                                      eventstore::log_position to) {
    constexpr std::size_t chunk = 65'536;
    std::unique_lock lock(mutex_);
    const auto last = std::min(to, store.head().position);
    if (position_ != eventstore::log_position{} || last.value < deferred_fold_at_least_) return std::nullopt;
    // Nobody has seen this model fold anything, so nobody needs to see it half-way: it folds
    // under one lock (a reader waits for the whole fold rather than for a chunk) and the
    // directory files its rows once at the end instead of after every event. The directory is
    // filed even when the fold stops early, so it always matches position_.
    directory_.defer_filing();
    struct file_on_exit {
        projections::directory& d;
        ~file_on_exit() { d.file_deferred(); }
    } filing{directory_};
    while (position_ < to) {
        auto folded = fold_chunk(store, &eventstore::store::read_bulk_from, chunk, to);
        if (!folded) return eventstore::result<void>{folded.error()};
        if (*folded < chunk) break;
    }
    return eventstore::result<void>{};
}

eventstore::result<std::size_t> read_model::fold_chunk(const eventstore::store& store, read_function read,
                                                       std::size_t chunk, eventstore::log_position to) {
    bool gap = false;
    std::size_t folded = 0;
    auto r = (store.*read)(position_.next(), chunk, [&](const eventstore::recorded_event& e) {
        if (e.position > to) return false;
        if (e.position != position_.next()) {
            gap = true;
            return false;
        }
        apply_locked(e);
        ++folded;
        return true;
    });
    if (!r) return r.error();
    if (gap) return eventstore::error{eventstore::errc::corrupt, "gap in the log while folding projections", {}, 0, 0};
    return folded;
}

eventstore::log_position read_model::position() const {
    std::shared_lock lock(mutex_);
    return position_;
}

namespace {

template <class Map, class Key>
std::vector<Key> sorted_keys(const Map& m) {
    std::vector<Key> keys;
    keys.reserve(m.size());
    for (const auto& [k, v] : m) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    return keys;
}

}  // namespace

std::string read_model::fingerprint() const {
    std::shared_lock lock(mutex_);
    std::ostringstream out;
    out << "position " << position_.value << '\n';
    for (const auto& id : sorted_keys<decltype(state_.accounts), domain::account_id>(state_.accounts)) {
        const auto& a = state_.accounts.at(id);
        out << "account " << id.value << ' ' << a.name << ' ' << domain::to_string(a.kind) << '\n';
        for (const auto& p : a.partners) out << "  partner " << p.value << '\n';
        for (const auto& c : a.customers) out << "  customer " << c.value << '\n';
        for (const auto& u : sorted_keys<decltype(a.members), domain::user_id>(a.members)) {
            const auto& m = a.members.at(u);
            out << "  member " << u.value << ' ' << domain::to_string(m.type) << ' ' << m.roles.bits() << " v"
                << m.changed.value << '\n';
        }
        std::vector<domain::user_id> removed(a.removed.begin(), a.removed.end());
        std::sort(removed.begin(), removed.end());
        for (const auto& u : removed) {
            const auto at = a.removed_at.find(u);
            out << "  removed " << u.value << " v" << (at == a.removed_at.end() ? 0 : at->second.value) << '\n';
        }
        for (std::size_t i = 0; i < a.contacts.size(); ++i)
            if (!a.contacts[i].empty()) out << "  contact " << i << ' ' << a.contacts[i].value << '\n';
        for (const auto& [u, topics] : a.watchlist) {
            out << "  watch " << u.value;
            for (auto t : topics) out << ' ' << domain::to_string(t);
            out << '\n';
        }
        directory_query all;
        all.statuses = status_filter::all();
        all.limit = a.members.size() + a.removed.size() + 1;
        if (auto page = directory_.query(id, all)) {
            out << "  directory active=" << page->total_active << '\n';
            const auto st = directory_.stats(id);
            out << "  stats " << st.active << ' ' << st.locked << ' ' << st.removed << ' ' << st.invited << ' '
                << st.registered << ' ' << st.not_invited << " portals";
            for (auto n : st.portal_users) out << ' ' << n;
            out << " roles";
            for (auto n : st.role_holders) out << ' ' << n;
            out << '\n';
            for (const auto& e : page->users)
                out << "   " << e.profile->id.value << ' ' << domain::to_string(e.type) << ' ' << e.roles.bits() << ' '
                    << e.removed << '\n';
        }
    }
    for (const auto& id : sorted_keys<decltype(state_.users), domain::user_id>(state_.users)) {
        const auto& u = state_.users.at(id);
        out << "user " << id.value << ' ' << u.address.str() << ' ' << u.name << ' ' << u.employer.value << ' '
            << domain::to_string(u.status) << ' ' << domain::to_string(u.reg) << ' ' << u.invitation_issued << ' '
            << u.retired << ' ' << u.open_invitation.value << " v" << u.changed.value;
        for (const auto& a : u.third_party) out << " tp:" << a.value;
        out << '\n';
        if (const auto* p = directory_.profile(id))
            out << "  listed " << domain::to_string(p->status) << ' ' << domain::to_string(p->registration) << ' '
                << p->retired << ' ' << p->invitation_issued << '\n';
    }
    for (const auto& e : sorted_keys<decltype(state_.email_index), std::string>(state_.email_index))
        out << "email " << e << ' ' << state_.email_index.at(e).value << '\n';
    for (const auto& id : sorted_keys<decltype(state_.invitations), domain::invitation_id>(state_.invitations)) {
        const auto& i = state_.invitations.at(id);
        out << "invitation " << id.value << ' ' << i.user.value << ' ' << i.account.value << ' '
            << static_cast<int>(i.status) << ' ' << i.expires_at.time_since_epoch().count() << '\n';
    }
    for (const auto& id : sorted_keys<decltype(state_.tokens), domain::token_id>(state_.tokens)) {
        const auto& t = state_.tokens.at(id);
        out << "token " << id.value << ' ' << domain::principal_label(t.subject) << ' ' << t.revoked << ' '
            << t.secret_sha256_hex << ' ' << t.expires_at.time_since_epoch().count() << ' '
            << t.issued_at.time_since_epoch().count() << ' ' << t.issued_by << ' '
            << t.revoked_at.time_since_epoch().count() << ' ' << t.rotated_at.time_since_epoch().count() << ' '
            << t.rotations << '\n';
    }
    for (const auto& s : sorted_keys<decltype(versions_), std::string>(versions_))
        out << "stream " << s << ' ' << versions_.at(s) << '\n';
    return out.str();
}

}  // namespace roster::projections
