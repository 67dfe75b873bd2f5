// Test helpers for the domain suite: a state plus shortcuts to run commands as an actor.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "roster/domain/commands.hpp"
#include "roster/domain/decide.hpp"
#include "roster/domain/queries.hpp"
#include "roster/domain/state.hpp"

namespace roster::domain::testing {

inline timestamp at(std::int64_t seconds) { return timestamp(std::chrono::seconds(seconds)); }

inline const actor op = operator_principal{};
inline actor as(const std::string& user) { return user_principal{user_id(user)}; }

// A 64-hex-digit "hash" derived from a label (the domain never sees real secrets).
inline std::string hash_of(const std::string& label) {
    std::string out;
    std::size_t h = std::hash<std::string>{}(label);
    for (int i = 0; i < 64; ++i) {
        out += "0123456789abcdef"[(h >> 59) & 0xF];
        h = h * 6364136223846793005ULL + 1442695040888963407ULL + static_cast<std::size_t>(i);
    }
    return out;
}

inline role_set roles(std::initializer_list<role> r) { return role_set::of(r); }
using enum role;

struct world {
    state s;
    timestamp now = at(1'700'000'000);

    result<std::vector<event>> run(const command& c, const actor& who) {
        auto r = decide(s, c, who, now);
        if (r) apply_all(s, *r);
        return r;
    }
    // Runs a command that must succeed.
    std::vector<event> ok(const command& c, const actor& who = op) {
        auto r = run(c, who);
        EXPECT_TRUE(r.has_value()) << command_name(c)
                                   << " refused: " << (r ? "" : r.error().code + " " + r.error().detail);
        return r ? *r : std::vector<event>{};
    }
    // Runs a command that must be refused; returns the error and checks nothing changed.
    domain_error refused(const command& c, const actor& who = op) {
        auto r = decide(s, c, who, now);
        EXPECT_FALSE(r.has_value()) << command_name(c) << " was accepted";
        return r ? domain_error{} : r.error();
    }

    void customer(const std::string& id) { ok(open_account{account_id(id), "Customer " + id, account_kind::customer}); }
    void partner(const std::string& id) { ok(open_account{account_id(id), "Partner " + id, account_kind::partner}); }
    void link(const std::string& c, const std::string& p) { ok(link_partner{account_id(c), account_id(p)}); }
    void user(const std::string& account, const std::string& id, role_set r, const actor& who = op) {
        ok(create_user{account_id(account), user_id(id), id + "@" + account + ".example.com", "User " + id, r,
                       std::nullopt},
           who);
    }
    void third_party(const std::string& account, const std::string& id, role_set r, const actor& who = op) {
        ok(add_member{account_id(account), user_id(id), r}, who);
    }
    void contacts(const std::string& account, std::vector<std::pair<contact_role, std::string>> a,
                  const actor& who = op) {
        save_contacts c{account_id(account), {}};
        for (auto& [r, u] : a) c.assignments.push_back({r, user_id(u)});
        ok(c, who);
    }
    role_set roles_of(const std::string& account, const std::string& u) const {
        const membership* m = s.member(account_id(account), user_id(u));
        return m ? m->roles : role_set{};
    }
};

}  // namespace roster::domain::testing
