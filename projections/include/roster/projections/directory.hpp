// The user directory: per account, the members (and removed members) with their profile,
// membership type and roles, searchable by name/email substring with filters and stable
// cursor pagination. A pure fold of domain events.
//
// Owned by the read model; not thread-safe: the owner serializes `apply` against queries
// (the read model holds a shared_mutex: one folding writer, many concurrent readers).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "roster/domain/events.hpp"
#include "roster/domain/queries.hpp"

namespace roster::projections {

// A person as the directory knows them; shared by every account they are listed in.
struct directory_profile {
    domain::user_id id;
    std::string email;
    std::string name;
    domain::account_id employer;
    domain::user_status status = domain::user_status::active;
    domain::registration registration = domain::registration::invited;
    // An invitation was issued to this person at some point (accepted or not): tells an
    // invited person from one created without an invitation, which `registration` cannot.
    bool invitation_issued = false;
    bool retired = false;
    // Lower-cased name, matched against `q` with the email (which the domain lower-cases, and
    // the directory folds again, so it serves as its own folded form).
    std::string name_folded;
};

// One row of one account's list.
struct directory_entry {
    const directory_profile* profile = nullptr;
    domain::membership_type type = domain::membership_type::employee;
    domain::role_set roles;
    bool removed = false;
};

// Which rows a list shows by their state. The default is active members only (the seed's list
// shows those "not previously marked as inactive"); "show inactive" adds the locked ones, and
// removed members are listed only when asked for.
struct status_filter {
    bool active = true;    // current members whose profile is not locked
    bool locked = false;   // current members whose profile is locked
    bool removed = false;  // removed memberships (whatever the profile's lock)
    static constexpr status_filter all() { return {true, true, true}; }
    bool operator==(const status_filter&) const = default;
};

struct directory_query {
    std::string q;                         // case-insensitive substring of name or email
    std::optional<domain::portal> portal;  // has at least one role in this portal
    std::optional<domain::role> role;      // holds this role (admin satisfies lesser roles: no, exact)
    status_filter statuses;
    std::optional<domain::registration_status> registration;
    std::optional<domain::membership_type> type;
    std::size_t limit = 50;
    std::optional<domain::user_id> after;  // cursor: the last user of the previous page
};

struct directory_page {
    std::vector<directory_entry> users;
    std::size_t total = 0;                       // rows of the filtered list, all pages together
    std::size_t total_active = 0;                // the account's active members (= stats().active)
    std::optional<domain::user_id> next_cursor;  // set when more rows may follow
};

// An account's counts for dashboards, kept as events fold so that reading them is O(1).
// "Current members" are the account's memberships that are not removed.
struct directory_stats {
    std::size_t active = 0;       // current members whose profile is not locked
    std::size_t locked = 0;       // current members whose profile is locked
    std::size_t removed = 0;      // removed memberships (listed only with status=removed)
    std::size_t invited = 0;      // current members issued an invitation they have not accepted
    std::size_t registered = 0;   // current members who accepted an invitation
    std::size_t not_invited = 0;  // current members neither invited nor registered
    std::array<std::size_t, domain::all_portals.size()> portal_users{};  // current members with a role in the portal
    std::array<std::size_t, domain::role_count> role_holders{};          // current members holding exactly that role
    // Current members: active + locked (= invited + registered + not_invited).
    std::size_t total() const { return active + locked; }
    bool operator==(const directory_stats&) const = default;
};

enum class directory_errc { unknown_cursor };

// One row for directory::load: a membership (current or removed) of a listed profile.
struct directory_row {
    domain::account_id account;
    domain::user_id user;
    domain::membership_type type = domain::membership_type::employee;
    domain::role_set roles;
    bool removed = false;
};

class directory {
public:
    directory();
    ~directory();
    directory(const directory&) = delete;
    directory& operator=(const directory&) = delete;
    directory(directory&&) noexcept;
    directory& operator=(directory&&) noexcept;

    void apply(const domain::event& e);

    // Fills an empty directory at once (a snapshot's restore): the same rows, counts and search
    // answers as the events that led to them, at a fraction of their cost — each row is filed
    // once and each account's list sorted once, instead of re-ranked as it grows; the accounts
    // are shared between the calling thread and one more it starts and joins. Rows of a
    // user without a profile are skipped, as member_added skips them.
    void load(std::vector<directory_profile> profiles, std::vector<directory_row> rows);

    // A fold of many events that nobody reads meanwhile (the read model folding from nothing,
    // under one lock): after defer_filing, apply keeps each row and profile up to date but files
    // nothing (no ranks, postings, class sets or counts, which cost most of an event's fold);
    // file_deferred then files every row at once, as load does. The result is the directory the
    // same events give one by one. Between the two, only profile() and entry() may be called.
    void defer_filing();
    void file_deferred();

    // Rows in (name, email, user id) order. An `after` cursor naming a user never listed in the
    // account is reported rather than silently restarting from the top. `total` costs O(1)
    // without q (counters per row class), O(matches) with a q of 3 bytes or more (posting
    // intersection) and a walk of the rows whose state matches with a shorter q; a search's total
    // is then kept until the next event, so the other pages of that search (and the same search
    // again) cost only their page. Safe to call from several threads at once, as long as no
    // apply() runs meanwhile (the read model's shared lock).
    std::optional<directory_page> query(const domain::account_id& account, const directory_query& query) const;

    const directory_profile* profile(const domain::user_id& user) const;
    const directory_entry* entry(const domain::account_id& account, const domain::user_id& user) const;

    // The account's counts at the folded position, O(1); all zero for an account without members.
    directory_stats stats(const domain::account_id& account) const;

private:
    struct account_index;
    struct profile_record;
    struct profile_table;
    account_index& account_for(const domain::account_id& account);
    // Moves the counts of every account listing `p` across a change of the profile.
    template <class Change>
    void change_profile(profile_record& p, Change&& change);
    // Ranks and files the rows of these accounts, whose filing is empty: the tail of load and file_deferred.
    void file_at_once(std::vector<account_index*> accounts);

    struct search_totals;
    std::optional<std::size_t> cached_total(const std::string& key) const;
    void remember_total(std::string key, std::size_t total) const;

    std::unique_ptr<profile_table> profiles_;
    std::unordered_map<std::string, std::unique_ptr<account_index>> accounts_;
    std::uint64_t generation_ = 0;  // events applied: a cached total is good only at its generation
    std::unique_ptr<search_totals> totals_;
    bool deferred_ = false;  // between defer_filing and file_deferred
};

}  // namespace roster::projections
