#include "roster/projections/directory.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace roster::projections {
namespace {

using namespace roster::domain;

const account_id acme{"acme"};
const account_id partner{"partner"};

user_created new_user(const std::string& id, const std::string& name, const std::string& mail,
                      const account_id& employer) {
    return user_created{user_id{id}, *email::parse(mail), name, employer};
}

class directory_test : public ::testing::Test {
protected:
    void add_employee(const std::string& id, const std::string& name, const std::string& mail, role_set roles = {}) {
        dir.apply(new_user(id, name, mail, acme));
        dir.apply(member_added{acme, user_id{id}, membership_type::employee});
        if (!roles.empty()) dir.apply(roles_granted{acme, user_id{id}, roles});
    }
    std::vector<std::string> ids(const directory_query& q, const account_id& a = acme) {
        auto page = dir.query(a, q);
        EXPECT_TRUE(page.has_value());
        std::vector<std::string> out;
        if (page)
            for (auto& e : page->users) out.push_back(e.profile->id.value);
        return out;
    }
    directory dir;
};

TEST_F(directory_test, lists_members_in_name_order_and_counts_active) {
    add_employee("u3", "Carol", "carol@acme.com");
    add_employee("u1", "alice", "alice@acme.com");
    add_employee("u2", "Bob", "bob@acme.com");
    EXPECT_EQ(ids({}), (std::vector<std::string>{"u1", "u2", "u3"}));
    EXPECT_EQ(dir.query(acme, {})->total_active, 3u);
    EXPECT_EQ(dir.query(acme, {})->total, 3u);
}

TEST_F(directory_test, removed_members_only_when_asked) {
    add_employee("u1", "Alice", "alice@acme.com", role_set::of({role::support_admin}));
    add_employee("u2", "Bob", "bob@acme.com");
    dir.apply(
        member_removed{acme, user_id{"u1"}, membership_type::employee, role_set::of({role::support_admin}), false});
    EXPECT_EQ(ids({}), (std::vector<std::string>{"u2"}));
    directory_query with_removed;
    with_removed.statuses.removed = true;
    EXPECT_EQ(ids(with_removed), (std::vector<std::string>{"u1", "u2"}));
    EXPECT_EQ(dir.query(acme, with_removed)->total, 2u);
    directory_query only_removed;
    only_removed.statuses = {false, false, true};
    EXPECT_EQ(ids(only_removed), (std::vector<std::string>{"u1"}));
    EXPECT_EQ(dir.query(acme, {})->total_active, 1u);
    EXPECT_TRUE(dir.entry(acme, user_id{"u1"})->roles.empty());
}

TEST_F(directory_test, search_matches_name_or_email_case_insensitively) {
    add_employee("u1", "Alice Martin", "alice@acme.com");
    add_employee("u2", "Bob Stone", "bmartin@acme.com");
    add_employee("u3", "Carol", "carol@other.org");
    directory_query q;
    q.q = "MARTIN";
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u1", "u2"}));
    q.q = "Ma";  // shorter than a trigram
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u1", "u2"}));
    q.q = "other.org";
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u3"}));
    q.q = "zzzz";
    EXPECT_TRUE(ids(q).empty());
}

TEST_F(directory_test, filters_by_portal_role_status_and_type) {
    add_employee("u1", "Alice", "alice@acme.com", role_set::of({role::support_admin, role::impact_member}));
    add_employee("u2", "Bob", "bob@acme.com", role_set::of({role::learning_learner}));
    dir.apply(account_opened{partner, "Partner", account_kind::partner});
    dir.apply(new_user("p1", "Pat", "pat@partner.com", partner));
    dir.apply(member_added{partner, user_id{"p1"}, membership_type::employee});
    dir.apply(member_added{acme, user_id{"p1"}, membership_type::third_party});
    dir.apply(roles_granted{acme, user_id{"p1"}, role_set::of({role::support_viewer})});
    dir.apply(user_locked{user_id{"u2"}});

    directory_query q;
    q.portal = portal::support;
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u1", "p1"}));
    q = {};
    q.role = role::impact_member;
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u1"}));
    q = {};
    q.statuses = {false, true, false};
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u2"}));
    q = {};
    q.type = membership_type::third_party;
    EXPECT_EQ(ids(q), (std::vector<std::string>{"p1"}));
    EXPECT_EQ(ids({}, partner), (std::vector<std::string>{"p1"}));
}

// A search's total is kept until the next event (directory::query): every later page and the
// same search again reuse it, so it must follow each change, and two searches that differ only
// in a filter must never share one.
TEST_F(directory_test, a_search_total_follows_every_change_and_each_filter_has_its_own) {
    add_employee("u1", "Alice Smith", "alice@acme.com", role_set::of({role::support_admin}));
    add_employee("u2", "Bob Smith", "bob@acme.com", role_set::of({role::impact_admin}));
    add_employee("u3", "Carol Smith", "carol@acme.com", role_set::of({role::support_admin}));
    for (const std::string text : {"smith", "sm"}) {  // the posting path and the walk of a short q
        SCOPED_TRACE(text);
        directory_query q;
        q.q = text;
        q.limit = 1;
        EXPECT_EQ(dir.query(acme, q)->total, 3u);
        EXPECT_EQ(dir.query(acme, q)->total, 3u);  // now from the cache
        q.after = user_id{"u1"};
        EXPECT_EQ(dir.query(acme, q)->total, 3u);  // another page, the same total
        q.after.reset();
        // Same role name, two portals: two totals.
        q.role = role::support_admin;
        EXPECT_EQ(dir.query(acme, q)->total, 2u);
        q.role = role::impact_admin;
        EXPECT_EQ(dir.query(acme, q)->total, 1u);
        q.role.reset();
        q.statuses = status_filter::all();
        EXPECT_EQ(dir.query(acme, q)->total, 3u);
        q.statuses = {};
    }
    directory_query q;
    q.q = "smith";
    dir.apply(user_locked{user_id{"u3"}});
    EXPECT_EQ(dir.query(acme, q)->total, 2u);
    add_employee("u4", "Dan Smith", "dan@acme.com");
    EXPECT_EQ(dir.query(acme, q)->total, 3u);
    q.q = "sm";
    EXPECT_EQ(dir.query(acme, q)->total, 3u);
    dir.apply(member_removed{acme, user_id{"u4"}, membership_type::employee, role_set{}, false});
    EXPECT_EQ(dir.query(acme, q)->total, 2u);
    q.q = "smith";
    EXPECT_EQ(dir.query(acme, q)->total, 2u);
}

// The seed's list: active users by default; "show inactive" adds the locked ones; the counts
// (total_active, a filtered total) follow a lock and an unlock after the row was listed.
TEST_F(directory_test, locked_users_are_hidden_by_default_and_shown_when_asked) {
    add_employee("u1", "Alice", "alice@acme.com");
    add_employee("u2", "Bob", "bob@acme.com");
    dir.apply(user_locked{user_id{"u2"}});
    EXPECT_EQ(ids({}), (std::vector<std::string>{"u1"}));
    EXPECT_EQ(dir.query(acme, {})->total, 1u);
    EXPECT_EQ(dir.query(acme, {})->total_active, 1u);
    directory_query inactive;
    inactive.statuses = {true, true, false};
    EXPECT_EQ(ids(inactive), (std::vector<std::string>{"u1", "u2"}));
    EXPECT_EQ(dir.query(acme, inactive)->total, 2u);
    dir.apply(user_unlocked{user_id{"u2"}});
    EXPECT_EQ(ids({}), (std::vector<std::string>{"u1", "u2"}));
    EXPECT_EQ(dir.query(acme, {})->total_active, 2u);
}

TEST_F(directory_test, registration_filter_tells_invited_registered_and_not_invited) {
    add_employee("u1", "Alice", "alice@acme.com");
    add_employee("u2", "Bob", "bob@acme.com");
    add_employee("u3", "Carol", "carol@acme.com");
    dir.apply(invitation_issued{invitation_id{"i1"}, user_id{"u1"}, acme, "h1", {}, {}});
    dir.apply(invitation_issued{invitation_id{"i2"}, user_id{"u2"}, acme, "h2", {}, {}});
    dir.apply(invitation_accepted{invitation_id{"i2"}, user_id{"u2"}});
    directory_query q;
    q.registration = registration_status::invited;
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u1"}));
    q.registration = registration_status::registered;
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u2"}));
    q.registration = registration_status::not_invited;
    EXPECT_EQ(ids(q), (std::vector<std::string>{"u3"}));
    EXPECT_EQ(dir.query(acme, q)->total, 1u);
    q.q = "car";
    EXPECT_EQ(dir.query(acme, q)->total, 1u);
    q.q = "ali";
    EXPECT_EQ(dir.query(acme, q)->total, 0u);
}

TEST_F(directory_test, unknown_cursor_is_reported) {
    add_employee("u1", "Alice", "alice@acme.com");
    directory_query q;
    q.after = user_id{"nobody"};
    EXPECT_FALSE(dir.query(acme, q).has_value());
}

TEST_F(directory_test, readded_member_is_listed_again_with_fresh_roles) {
    add_employee("u1", "Alice", "alice@acme.com", role_set::of({role::support_admin}));
    dir.apply(
        member_removed{acme, user_id{"u1"}, membership_type::employee, role_set::of({role::support_admin}), false});
    dir.apply(member_added{acme, user_id{"u1"}, membership_type::third_party});
    EXPECT_EQ(ids({}), (std::vector<std::string>{"u1"}));
    EXPECT_TRUE(dir.entry(acme, user_id{"u1"})->roles.empty());
    EXPECT_EQ(dir.query(acme, {})->total_active, 1u);
}

// Against a brute-force reference: every query, paged to the end, returns exactly the rows a
// linear filter + sort returns, in the same order, each once. Big enough that both the
// posting-list path and the ordered-walk path run.
TEST(directory_reference, paged_queries_equal_brute_force) {
    directory dir;
    std::mt19937 rng(42);
    const std::vector<std::string> first{"Ann", "Bert", "Chloé", "Dana", "Ed", "Fay", "Gus", "Hana", "Ivo", "Jo"};
    const std::vector<std::string> last{"Martin", "Stone", "Ng", "O'Brien", "Smith", "Lee", "Kowalski"};
    constexpr int user_count = 12000;
    std::vector<std::string> all_ids;
    for (int i = 0; i < user_count; ++i) {
        std::string id = "u" + std::to_string(i);
        std::string name =
            first[rng() % first.size()] + " " + last[rng() % last.size()] + (rng() % 50 == 0 ? " Rare" : "");
        std::string mail = "user" + std::to_string(i) + (i % 3 == 0 ? "@acme.com" : "@mail.example.org");
        dir.apply(new_user(id, name, mail, acme));
        dir.apply(
            member_added{acme, user_id{id}, i % 10 == 0 ? membership_type::third_party : membership_type::employee});
        dir.apply(roles_granted{acme, user_id{id}, role_set(static_cast<std::uint16_t>(rng() % 128))});
        if (rng() % 20 == 0) dir.apply(user_locked{user_id{id}});
        if (const auto r = rng() % 3; r > 0) {
            dir.apply(invitation_issued{invitation_id{"i" + id}, user_id{id}, acme, "h" + id, {}, {}});
            if (r == 2) dir.apply(invitation_accepted{invitation_id{"i" + id}, user_id{id}});
        }
        if (rng() % 25 == 0) dir.apply(member_removed{acme, user_id{id}, membership_type::employee, {}, false});
        all_ids.push_back(id);
    }

    auto reference = [&](const directory_query& q) {
        std::vector<const directory_entry*> rows;
        std::string needle = q.q;
        std::transform(needle.begin(), needle.end(), needle.begin(), [](unsigned char c) { return std::tolower(c); });
        for (auto& id : all_ids) {
            const auto* e = dir.entry(acme, user_id{id});
            const bool shown = e->removed                                  ? q.statuses.removed
                               : e->profile->status == user_status::locked ? q.statuses.locked
                                                                           : q.statuses.active;
            if (!shown) continue;
            if (q.registration &&
                registration_of(e->profile->registration, e->profile->invitation_issued) != *q.registration)
                continue;
            if (q.type && e->type != *q.type) continue;
            if (q.portal && roles_in(e->roles, *q.portal).empty()) continue;
            if (q.role && !e->roles.contains(*q.role)) continue;
            if (!needle.empty() && e->profile->name_folded.find(needle) == std::string::npos &&
                e->profile->email.find(needle) == std::string::npos)
                continue;
            rows.push_back(e);
        }
        std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) {
            return std::tie(a->profile->name_folded, a->profile->email, a->profile->id.value) <
                   std::tie(b->profile->name_folded, b->profile->email, b->profile->id.value);
        });
        std::vector<std::string> out;
        for (auto* e : rows) out.push_back(e->profile->id.value);
        return out;
    };

    std::vector<directory_query> queries(16);
    queries[1].q = "rare";  // short posting list path
    queries[2].q = "mart";
    queries[3].q = "acme.com";
    queries[4].q = "o'b";
    queries[4].statuses = status_filter::all();
    queries[5].portal = portal::impact;
    queries[5].type = membership_type::third_party;
    queries[6].role = role::learning_admin;
    queries[6].statuses.removed = true;
    queries[7].q = "user11";
    queries[8].q = "ch";
    queries[9].q = "example.org";                 // every trigram is common: ordered walk
    queries[10].statuses = {false, true, false};  // locked only: few rows of their own classes
    queries[11].statuses = status_filter::all();
    queries[11].registration = registration_status::not_invited;
    queries[11].portal = portal::support;
    queries[12].registration = registration_status::registered;
    queries[12].role = role::support_admin;
    queries[12].portal = portal::support;
    queries[13].statuses = {true, true, false};
    queries[13].q = "ma";  // short q: walk of the chosen classes
    queries[13].type = membership_type::employee;
    queries[14].statuses = {false, false, true};
    queries[14].q = "mart";
    queries[15].role = role::impact_admin;
    queries[15].portal = portal::support;  // a role of another portal: the counts cannot tell
    for (std::size_t at = 0; at < queries.size(); ++at) {
        auto& q = queries[at];
        for (std::size_t limit : {7u, 500u}) {
            q.limit = limit;
            q.after.reset();
            const auto expected = reference(q);
            std::vector<std::string> paged;
            for (int pages = 0; pages < 5000; ++pages) {
                auto page = dir.query(acme, q);
                ASSERT_TRUE(page.has_value());
                ASSERT_LE(page->users.size(), limit);
                ASSERT_EQ(page->total, expected.size()) << "query " << at << " q=" << q.q << " limit=" << limit;
                for (auto& e : page->users) paged.push_back(e.profile->id.value);
                if (!page->next_cursor) break;
                q.after = page->next_cursor;
            }
            EXPECT_EQ(paged, expected) << "query " << at << " q=" << q.q << " limit=" << limit;
        }
    }
}

// Searches read ranked posting lists plus a linear list of members inserted since the last
// re-rank; interleaving inserts with paged queries exercises every mix of the two, including
// cursors that name a not-yet-ranked member.
TEST(directory_reference, searches_stay_exact_while_members_are_inserted) {
    directory dir;
    std::mt19937 rng(7);
    std::vector<std::string> all_ids;
    auto brute_force = [&](const std::string& needle) {
        std::vector<const directory_entry*> rows;
        for (auto& id : all_ids) {
            const auto* e = dir.entry(acme, user_id{id});
            if (e->profile->name_folded.find(needle) != std::string::npos ||
                e->profile->email.find(needle) != std::string::npos)
                rows.push_back(e);
        }
        std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) {
            return std::tie(a->profile->name_folded, a->profile->email, a->profile->id.value) <
                   std::tie(b->profile->name_folded, b->profile->email, b->profile->id.value);
        });
        std::vector<std::string> out;
        for (auto* e : rows) out.push_back(e->profile->id.value);
        return out;
    };
    // Every name shares its trigrams with every other ("load user N"), the shape that used to
    // force a walk over the whole account.
    const std::vector<std::string> needles{"user 1", "user 99", "load user", "r 12", "zed", "user7@"};
    for (int i = 0; i < 4000; ++i) {
        const int n = static_cast<int>(rng() % 100000);
        std::string id = "u" + std::to_string(i);
        std::string name = (i % 500 == 0 ? "Zed " : "Load ") + std::string("User ") + std::to_string(n);
        dir.apply(new_user(id, name, "user" + std::to_string(n) + "@example.com", acme));
        dir.apply(member_added{acme, user_id{id}, membership_type::employee});
        all_ids.push_back(id);
        if (i % 333 != 0) continue;
        for (const auto& needle : needles) {
            directory_query q;
            q.q = needle;
            q.limit = 1 + rng() % 40;
            std::vector<std::string> paged;
            for (int pages = 0; pages < 5000; ++pages) {
                auto page = dir.query(acme, q);
                ASSERT_TRUE(page.has_value());
                for (auto& e : page->users) paged.push_back(e.profile->id.value);
                if (!page->next_cursor) break;
                q.after = page->next_cursor;
            }
            EXPECT_EQ(paged, brute_force(needle)) << "q=" << needle << " after " << i + 1 << " inserts";
        }
    }
}

}  // namespace
}  // namespace roster::projections
