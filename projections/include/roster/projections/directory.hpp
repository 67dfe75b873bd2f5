// The user directory: per account, the members (and removed members) with their profile,
// membership type and roles, searchable by name/email substring with filters and stable
// cursor pagination. A pure fold of domain events.
//
// Owned by the read model; not thread-safe: the owner serializes `apply` against queries
// (the read model holds a shared_mutex: one folding writer, many concurrent readers).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "roster/domain/events.hpp"

namespace roster::projections {

// A person as the directory knows them; shared by every account they are listed in.
struct directory_profile {
    domain::user_id id;
    std::string email;
    std::string name;
    domain::account_id employer;
    domain::user_status status = domain::user_status::active;
    domain::registration registration = domain::registration::invited;
    bool retired = false;
    // Lower-cased name and email, the text `q` is matched against.
    std::string name_folded;
    std::string email_folded;
};

// One row of one account's list.
struct directory_entry {
    const directory_profile* profile = nullptr;
    domain::membership_type type = domain::membership_type::employee;
    domain::role_set roles;
    bool removed = false;
};

struct directory_query {
    std::string q;                         // case-insensitive substring of name or email
    std::optional<domain::portal> portal;  // has at least one role in this portal
    std::optional<domain::role> role;      // holds this role (admin satisfies lesser roles: no, exact)
    std::optional<domain::user_status> status;
    std::optional<domain::membership_type> type;
    bool include_removed = false;
    std::size_t limit = 50;
    std::optional<domain::user_id> after;  // cursor: the last user of the previous page
};

struct directory_page {
    std::vector<directory_entry> users;
    std::size_t total_active = 0;                // current (not removed) members of the account
    std::optional<domain::user_id> next_cursor;  // set when more rows may follow
};

enum class directory_errc { unknown_cursor };

class directory {
public:
    directory();
    ~directory();
    directory(const directory&) = delete;
    directory& operator=(const directory&) = delete;
    directory(directory&&) noexcept;
    directory& operator=(directory&&) noexcept;

    void apply(const domain::event& e);

    // Rows in (name, email, user id) order. An `after` cursor naming a user never listed in the
    // account is reported rather than silently restarting from the top.
    std::optional<directory_page> query(const domain::account_id& account, const directory_query& query) const;

    const directory_profile* profile(const domain::user_id& user) const;
    const directory_entry* entry(const domain::account_id& account, const domain::user_id& user) const;

private:
    struct account_index;
    account_index& account_for(const domain::account_id& account);

    std::unordered_map<std::string, std::unique_ptr<directory_profile>> profiles_;
    std::unordered_map<std::string, std::unique_ptr<account_index>> accounts_;
};

}  // namespace roster::projections
