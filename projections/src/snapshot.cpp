// Snapshot encoding of the read model. The format is private to this file and versioned by its
// magic: a snapshot of another version is simply not used (as-of then folds from an older one
// or from position 0), so changing the layout only costs a re-fold, never a wrong answer.
//
// The domain state is written field by field. The directory is not written: its rows are the
// state's profiles and memberships, so restoring loads them into it at once (directory::load:
// one sort per account, no replay of events); the one fact the domain state lacks (the
// membership type of a removed member, which the directory keeps listing) is written beside
// the state. The directory's counts (directory_stats) come back with the rows.
#include <cstring>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "byte_codec.hpp"
#include "roster/projections/read_model.hpp"

namespace roster::projections {
namespace {

using bytes::reader;
using bytes::writer;

// v2: token expiry, times, rotations; v3: resource versions; v4: webhooks
constexpr std::string_view magic = "roster-snapshot-v4\n";

void write_principal(writer& w, const domain::principal& p) {
    w.u64(p.index());
    if (const auto* s = std::get_if<domain::service_principal>(&p))
        w.str(s->name);
    else if (const auto* u = std::get_if<domain::user_principal>(&p))
        w.str(u->user.value);
    else
        w.str("");
}

domain::principal read_principal(reader& r) {
    const auto kind = r.u64();
    auto text = r.str();
    switch (kind) {
        case 0: return domain::operator_principal{};
        case 1: return domain::auditor_principal{};
        case 2: return domain::service_principal{std::move(text)};
        default: return domain::user_principal{domain::user_id{std::move(text)}};
    }
}

std::optional<domain::email> read_email(reader& r) { return domain::email::parse(r.str()); }

}  // namespace

std::string read_model::encode_snapshot() const {
    std::shared_lock lock(mutex_);
    return encode_snapshot_locked();
}

read_model::checkpoint_parts read_model::encode_checkpoint() const {
    std::shared_lock lock(mutex_);
    checkpoint_parts out{position_, encode_snapshot_locked(), history_ != nullptr, {}, {}};
    if (history_) {
        out.history_segment = history_->segment(position_.value);
        out.history = history_->persisted_part();
        if (!out.history_segment.empty()) {
            out.history.boundaries.push_back(position_.value);
            out.history.entries = history_->entries();
        }
    }
    return out;
}

void read_model::history_persisted(const eventstore::store& store, eventstore::log_position end) const {
    std::unique_lock lock(mutex_);
    if (history_) history_->persisted(store, end.value);
}

bool read_model::restore_checkpoint(std::string_view snapshot, persisted_history history) {
    if (!restore_snapshot(snapshot)) return false;
    std::unique_lock lock(mutex_);
    if (indexed_) {
        history_ = std::make_unique<history_index>();
        history_->attach(std::move(history));
    }
    return true;
}

std::string read_model::encode_snapshot_locked() const {
    std::string out(magic);
    writer w(out);
    w.u64(position_.value);
    w.time(recorded_at_);
    w.u64(versions_.size());
    for (const auto& [stream, version] : versions_) {
        w.str(stream);
        w.u64(version);
    }
    w.u64(state_.accounts.size());
    for (const auto& [id, a] : state_.accounts) {
        w.str(id.value);
        w.str(a.name);
        w.u64(static_cast<std::uint64_t>(a.kind));
        w.u64(a.partners.size());
        for (const auto& p : a.partners) w.str(p.value);
        w.u64(a.customers.size());
        for (const auto& c : a.customers) w.str(c.value);
        // Per membership: listed in the directory (0/1) — a log could name a user the
        // directory never saw, and the restore must not invent a row for it.
        w.u64(a.members.size());
        for (const auto& [u, m] : a.members) {
            w.str(u.value);
            w.u64(static_cast<std::uint64_t>(m.type));
            w.u64(m.roles.bits());
            w.u64(m.changed.value);
            w.u64(directory_.entry(id, u) ? 1 : 0);
        }
        w.u64(a.removed.size());
        for (const auto& u : a.removed) {
            w.str(u.value);
            const auto* e = directory_.entry(id, u);
            w.u64(e ? 1 : 0);
            w.u64(e ? static_cast<std::uint64_t>(e->type) : 0);
            const auto at = a.removed_at.find(u);
            w.u64(at == a.removed_at.end() ? 0 : at->second.value);
        }
        for (const auto& c : a.contacts) w.str(c.value);
        w.u64(a.watchlist.size());
        for (const auto& [u, topics] : a.watchlist) {
            w.str(u.value);
            w.u64(topics.size());
            for (auto t : topics) w.u64(static_cast<std::uint64_t>(t));
        }
    }
    w.u64(state_.users.size());
    for (const auto& [id, u] : state_.users) {
        w.str(id.value);
        w.str(u.address.str());
        w.str(u.name);
        w.str(u.employer.value);
        w.u64(static_cast<std::uint64_t>(u.status));
        w.u64(static_cast<std::uint64_t>(u.reg));
        w.u64(u.retired ? 1 : 0);
        w.u64(u.third_party.size());
        for (const auto& a : u.third_party) w.str(a.value);
        w.str(u.open_invitation.value);
        w.u64(u.changed.value);
        w.u64(directory_.profile(id) ? 1 : 0);
    }
    w.u64(state_.email_index.size());
    for (const auto& [e, u] : state_.email_index) {
        w.str(e);
        w.str(u.value);
    }
    w.u64(state_.invitations.size());
    for (const auto& [id, i] : state_.invitations) {
        w.str(id.value);
        w.str(i.user.value);
        w.str(i.account.value);
        w.str(i.secret_sha256_hex);
        w.time(i.expires_at);
        w.u64(static_cast<std::uint64_t>(i.status));
    }
    w.u64(state_.invitation_by_secret.size());
    for (const auto& [secret, id] : state_.invitation_by_secret) {
        w.str(secret);
        w.str(id.value);
    }
    w.u64(state_.tokens.size());
    for (const auto& [id, t] : state_.tokens) {
        w.str(id.value);
        write_principal(w, t.subject);
        w.str(t.secret_sha256_hex);
        w.u64(t.revoked ? 1 : 0);
        w.time(t.expires_at);
        w.time(t.issued_at);
        w.str(t.issued_by);
        w.time(t.revoked_at);
        w.time(t.rotated_at);
        w.u64(t.rotations);
    }
    w.u64(state_.token_by_secret.size());
    for (const auto& [secret, id] : state_.token_by_secret) {
        w.str(secret);
        w.str(id.value);
    }
    w.u64(state_.webhooks.size());
    for (const auto& [id, h] : state_.webhooks) {
        w.str(id.value);
        w.str(h.settings.url);
        w.u64(h.settings.accounts.size());
        for (const auto& a : h.settings.accounts) w.str(a.value);
        w.u64(h.settings.types.size());
        for (const auto& t : h.settings.types) w.str(t);
        w.str(h.settings.description);
        w.u64(h.settings.enabled ? 1 : 0);
        w.str(h.secret_sha256_hex);
        w.u64(h.registered_at.value);
        w.u64(h.removed ? 1 : 0);
    }
    return out;
}

bool read_model::restore_snapshot(std::string_view bytes) {
    if (!bytes.starts_with(magic)) return false;
    reader r(bytes.substr(magic.size()));
    domain::state s;
    stream_versions versions;
    std::vector<directory_row> directory_rows;

    const auto position = r.u64();
    const auto recorded_at = r.time();
    // Sized up front: a start-up at a million users should not rehash its maps a dozen times.
    // (count() bounds each by the bytes left, so a damaged count cannot reserve much.)
    versions.reserve(r.peek_count());
    for (auto n = r.count(); n-- && r.ok();) {
        auto stream = r.str();
        versions[std::move(stream)] = r.u64();
    }
    s.accounts.reserve(r.peek_count());
    for (auto n = r.count(); n-- && r.ok();) {
        domain::account_id id{r.str()};
        auto& a = s.accounts[id];
        a.id = id;
        a.name = r.str();
        a.kind = r.enumeration<domain::account_kind>(2);
        for (auto k = r.count(); k-- && r.ok();) a.partners.insert(domain::account_id{r.str()});
        for (auto k = r.count(); k-- && r.ok();) a.customers.insert(domain::account_id{r.str()});
        a.members.reserve(r.peek_count());
        for (auto k = r.count(); k-- && r.ok();) {
            domain::user_id u{r.str()};
            domain::membership m{r.enumeration<domain::membership_type>(2),
                                 domain::role_set(static_cast<std::uint16_t>(r.u64()))};
            m.changed = domain::member_version{r.u64()};
            if (r.u64() == 1) {
                directory_rows.push_back({id, u, m.type, m.roles, false});
            }
            a.members.emplace(std::move(u), m);
        }
        for (auto k = r.count(); k-- && r.ok();) {
            domain::user_id u{r.str()};
            const bool listed = r.u64() == 1;
            const auto type = r.enumeration<domain::membership_type>(2);
            if (const domain::member_version at{r.u64()}; at.value != 0) a.removed_at.emplace(u, at);
            if (listed) {
                directory_rows.push_back({id, u, type, {}, true});
            }
            a.removed.insert(std::move(u));
        }
        for (auto& c : a.contacts) c = domain::user_id{r.str()};
        for (auto k = r.count(); k-- && r.ok();) {
            domain::user_id u{r.str()};
            std::vector<domain::topic> topics;
            for (auto t = r.count(); t-- && r.ok();)
                topics.push_back(r.enumeration<domain::topic>(domain::topic_count));
            a.watchlist.emplace(std::move(u), std::move(topics));
        }
    }
    // Profiles go to the directory before any membership (member_added needs the profile).
    // The state's map is node-based: its records stay where they are as it grows.
    std::vector<const domain::user_record*> listed_users;
    s.users.reserve(r.peek_count());
    for (auto n = r.count(); n-- && r.ok();) {
        domain::user_id id{r.str()};
        auto address = read_email(r);
        auto name = r.str();
        domain::account_id employer{r.str()};
        const auto status = r.enumeration<domain::user_status>(2);
        const auto reg = r.enumeration<domain::registration>(2);
        const bool retired = r.u64() == 1;
        std::set<domain::account_id> third_party;
        for (auto k = r.count(); k-- && r.ok();) third_party.insert(domain::account_id{r.str()});
        domain::invitation_id open_invitation{r.str()};
        const domain::member_version changed{r.u64()};
        const bool listed = r.u64() == 1;
        if (!address || !r.ok()) return false;
        domain::user_record u{.id = id,
                              .address = *address,
                              .name = std::move(name),
                              .employer = std::move(employer),
                              .status = status,
                              .reg = reg,
                              .retired = retired,
                              .third_party = std::move(third_party),
                              .open_invitation = std::move(open_invitation),
                              .changed = changed};
        auto [at, inserted] = s.users.emplace(std::move(id), std::move(u));
        if (listed && inserted) listed_users.push_back(&at->second);
    }
    s.email_index.reserve(r.peek_count());
    for (auto n = r.count(); n-- && r.ok();) {
        auto e = r.str();
        s.email_index[std::move(e)] = domain::user_id{r.str()};
    }
    for (auto n = r.count(); n-- && r.ok();) {
        domain::invitation_record i;
        i.id = domain::invitation_id{r.str()};
        i.user = domain::user_id{r.str()};
        i.account = domain::account_id{r.str()};
        i.secret_sha256_hex = r.str();
        i.expires_at = r.time();
        i.status = r.enumeration<domain::invitation_status>(3);
        auto id = i.id;
        s.invitations.emplace(std::move(id), std::move(i));
    }
    for (auto n = r.count(); n-- && r.ok();) {
        auto secret = r.str();
        s.invitation_by_secret[std::move(secret)] = domain::invitation_id{r.str()};
    }
    for (auto n = r.count(); n-- && r.ok();) {
        domain::token_record t;
        t.id = domain::token_id{r.str()};
        t.subject = read_principal(r);
        t.secret_sha256_hex = r.str();
        t.revoked = r.u64() == 1;
        t.expires_at = r.time();
        t.issued_at = r.time();
        t.issued_by = r.str();
        t.revoked_at = r.time();
        t.rotated_at = r.time();
        t.rotations = static_cast<std::uint32_t>(r.u64());
        auto id = t.id;
        s.tokens.emplace(std::move(id), std::move(t));
    }
    for (auto n = r.count(); n-- && r.ok();) {
        auto secret = r.str();
        s.token_by_secret[std::move(secret)] = domain::token_id{r.str()};
    }
    for (auto n = r.count(); n-- && r.ok();) {
        domain::webhook_record h;
        h.id = domain::webhook_id{r.str()};
        h.settings.url = r.str();
        for (auto k = r.count(); k-- && r.ok();) h.settings.accounts.emplace_back(r.str());
        for (auto k = r.count(); k-- && r.ok();) h.settings.types.push_back(r.str());
        h.settings.description = r.str();
        h.settings.enabled = r.u64() == 1;
        h.secret_sha256_hex = r.str();
        h.registered_at = domain::log_position{r.u64()};
        h.removed = r.u64() == 1;
        auto id = h.id;
        s.webhooks.emplace(std::move(id), std::move(h));
    }
    if (!r.done()) return false;
    // The directory tells invited people from those created without an invitation; the state
    // keeps every invitation record (open, used or revoked), which is all it needs to know.
    for (const auto& [id, i] : s.invitations)
        if (auto it = s.users.find(i.user); it != s.users.end()) it->second.invitation_issued = true;

    std::vector<directory_profile> profiles;
    profiles.reserve(listed_users.size());
    for (const auto* listed : listed_users) {
        const auto& u = *listed;
        directory_profile p;
        p.id = u.id;
        p.email = u.address.str();
        p.name = u.name;
        p.employer = u.employer;
        p.status = u.locked() ? domain::user_status::locked : domain::user_status::active;
        p.registration = u.reg == domain::registration::registered ? domain::registration::registered
                                                                   : domain::registration::invited;
        p.invitation_issued = u.invitation_issued;
        p.retired = u.retired;
        profiles.push_back(std::move(p));
    }
    projections::directory d;
    d.load(std::move(profiles), std::move(directory_rows));

    std::unique_lock lock(mutex_);
    if (position_ != eventstore::log_position{}) return false;
    s.folded = eventstore::log_position{position};
    state_ = std::move(s);
    directory_ = std::move(d);
    versions_ = std::move(versions);
    position_ = eventstore::log_position{position};
    recorded_at_ = recorded_at;
    // The history index cannot be rebuilt from a snapshot; past states never carry one.
    history_.reset();
    return true;
}

}  // namespace roster::projections
