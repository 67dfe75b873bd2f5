// Seeded random command sequences; invariants checked after every step.
#include "fixture.hpp"

#include <map>
#include <random>
#include <sstream>

namespace roster::domain::testing {
namespace {

// A canonical text form of the whole write model (order-independent of hash-map iteration).
std::string digest(const state& s) {
    std::ostringstream out;
    std::map<std::string, const account_record*> accs;
    for (auto& [id, a] : s.accounts) accs[id.str()] = &a;
    for (auto& [id, a] : accs) {
        out << "A " << id << ' ' << a->name << ' ' << int(a->kind) << " p:";
        for (auto& p : a->partners) out << p.str() << ',';
        out << " c:";
        for (auto& c : a->customers) out << c.str() << ',';
        std::map<std::string, membership> ms;
        for (auto& [u, m] : a->members) ms[u.str()] = m;
        for (auto& [u, m] : ms) out << " m:" << u << '/' << int(m.type) << '/' << m.roles.bits();
        std::set<std::string> removed;
        for (auto& u : a->removed) removed.insert(u.str());
        for (auto& u : removed) out << " r:" << u;
        for (auto& c : a->contacts) out << " k:" << c.str();
        for (auto& [u, t] : a->watchlist) {
            out << " w:" << u.str();
            for (auto x : t) out << int(x);
        }
        out << '\n';
    }
    std::map<std::string, const user_record*> users;
    for (auto& [id, u] : s.users) users[id.str()] = &u;
    for (auto& [id, u] : users) {
        out << "U " << id << ' ' << u->address.str() << ' ' << u->name << ' ' << u->employer.str() << ' '
            << int(u->status) << int(u->reg) << u->retired << ' ' << u->open_invitation.str();
        for (auto& a : u->third_party) out << " t:" << a.str();
        out << '\n';
    }
    std::map<std::string, std::string> idx;
    for (auto& [e, u] : s.email_index) idx[e] = u.str();
    for (auto& [e, u] : idx) out << "E " << e << ' ' << u << '\n';
    std::map<std::string, const invitation_record*> invs;
    for (auto& [id, i] : s.invitations) invs[id.str()] = &i;
    for (auto& [id, i] : invs)
        out << "I " << id << ' ' << i->user.str() << ' ' << i->account.str() << ' ' << i->secret_sha256_hex << ' '
            << i->expires_at.time_since_epoch().count() << int(i->status) << '\n';
    std::map<std::string, const token_record*> toks;
    for (auto& [id, t] : s.tokens) toks[id.str()] = &t;
    for (auto& [id, t] : toks)
        out << "T " << id << ' ' << t->subject.index() << ' ' << t->secret_sha256_hex << t->revoked << '\n';
    return out.str();
}

struct generator {
    std::mt19937_64 rng;
    const state& s;
    std::vector<std::string> accounts{"c1", "c2", "c3", "p1", "p2"};
    int next_id = 0;

    explicit generator(std::uint64_t seed, const state& st) : rng(seed), s(st) {}
    std::size_t pick(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); }
    bool chance(int percent) { return static_cast<int>(rng() % 100) < percent; }
    account_id account() { return account_id(accounts[pick(accounts.size())]); }
    role_set some_roles() { return role_set(static_cast<std::uint16_t>(rng() % 128)); }
    // Any known user id (retired ones too), sometimes an unknown one.
    user_id user() {
        if (s.users.empty() || chance(3)) return user_id("ghost");
        auto it = s.users.begin();
        std::advance(it, static_cast<long>(pick(std::min<std::size_t>(s.users.size(), 64))));
        return it->first;
    }
    // A current member of `a` when there is one.
    user_id member_of(const account_id& a) {
        const account_record* acc = s.account(a);
        if (!acc || acc->members.empty() || chance(5)) return user();
        auto it = acc->members.begin();
        std::advance(it, static_cast<long>(pick(acc->members.size())));
        return it->first;
    }
    actor who(const account_id& a) {
        const int r = static_cast<int>(rng() % 100);
        if (r < 20) return op;
        if (r < 23) return auditor_principal{};
        if (r < 25) return service_principal{"svc"};
        return user_principal{member_of(a)};
    }
    std::string email_text() {
        // A small pool so that uniqueness conflicts and re-use after retirement happen often.
        std::string e = "person" + std::to_string(pick(40)) + "@example.com";
        if (chance(30)) e = "  " + std::string(1, static_cast<char>('A' + pick(3))) + e;
        if (chance(3)) e = "not an email";
        return e;
    }
    command next(timestamp now) {
        const account_id a = account();
        switch (pick(14)) {
            case 0:
            case 1: {
                std::optional<invitation_request> inv;
                if (chance(40))
                    inv = invitation_request{invitation_id("i" + std::to_string(next_id)),
                                             hash_of("i" + std::to_string(next_id)), std::nullopt};
                ++next_id;
                return create_user{a,  user_id("u" + std::to_string(next_id++)), email_text(), "Name", some_roles(),
                                   inv};
            }
            case 2: {
                // Mostly partner employees, so that third-party memberships (and their cascades) happen.
                const user_id u = chance(80) ? member_of(account_id(chance(50) ? "p1" : "p2")) : user();
                if (chance(30)) {
                    if (const user_record* rec = s.user(u))
                        return add_member{a, "  " + rec->address.str(), some_roles()};
                }
                return add_member{a, u, some_roles()};
            }
            case 3: {
                role_set g = some_roles(), r = some_roles().minus(g);
                return change_roles{a, member_of(a), g, r};
            }
            case 4: return remove_all_roles{a, member_of(a)};
            case 5: return lock_user{member_of(a)};
            case 6: return unlock_user{member_of(a)};
            case 7: return remove_member{a, member_of(a)};
            case 8: {
                const std::string id = "i" + std::to_string(next_id++);
                return invite_user{
                    a, member_of(a), {invitation_id(id), hash_of(id), now + std::chrono::hours(1 + pick(200))}};
            }
            case 9:
                return accept_invitation{hash_of("i" + std::to_string(pick(static_cast<std::size_t>(next_id) + 1)))};
            case 10:
            case 11: {
                save_contacts c{a, {}};
                for (contact_role r : all_contact_roles)
                    if (chance(25)) c.assignments.push_back({r, chance(15) ? user_id() : member_of(a)});
                return c;
            }
            case 12: {
                const contact_role r = all_contact_roles[pick(contact_role_count)];
                return hand_over_contact{a, r, member_of(a)};
            }
            default: {
                set_watchlist w{a, {}};
                for (int i = 0, n = static_cast<int>(pick(4)); i < n; ++i) {
                    watch_subscription sub{member_of(a), {}};
                    for (topic t : all_topics)
                        if (chance(40)) sub.topics.push_back(t);
                    w.subscriptions.push_back(sub);
                }
                return w;
            }
        }
    }
    actor actor_for(const command& c) { return who(account_of(c).value_or(account())); }
};

void check_invariants(const state& s, std::set<account_id>& had_primary_admin, int step) {
    SCOPED_TRACE("step " + std::to_string(step));
    std::map<std::string, int> emails;
    for (const auto& [id, u] : s.users) {
        if (u.retired) {
            for (const auto& [aid, acc] : s.accounts) {
                EXPECT_EQ(acc.member(id), nullptr) << "retired " << id.str() << " is still a member of " << aid.str();
                EXPECT_TRUE(acc.contact_roles_of(id).empty())
                    << "retired " << id.str() << " holds a contact in " << aid.str();
            }
            continue;
        }
        ++emails[u.address.str()];
        const membership* emp = s.member(u.employer, id);
        ASSERT_NE(emp, nullptr) << id.str() << " lost its employee membership";
        EXPECT_EQ(emp->type, membership_type::employee);
        for (const auto& a : u.third_party) {
            const membership* m = s.member(a, id);
            ASSERT_NE(m, nullptr);
            EXPECT_EQ(m->type, membership_type::third_party);
            EXPECT_TRUE(s.account(a)->partners.contains(u.employer)) << "third-party member of an unlinked account";
        }
    }
    for (const auto& [e, n] : emails) EXPECT_EQ(n, 1) << "email used twice: " << e;
    EXPECT_EQ(s.email_index.size(), emails.size());
    for (const auto& [aid, acc] : s.accounts) {
        bool has_primary_admin = false;
        for (contact_role r : all_contact_roles) {
            const user_id& h = acc.contact(r);
            if (h.empty()) continue;
            if (is_primary_admin_contact(r)) has_primary_admin = true;
            const membership* m = acc.member(h);
            ASSERT_NE(m, nullptr) << h.str() << " holds " << to_string(r) << " in " << aid.str()
                                  << " without membership";
            EXPECT_TRUE(satisfies(m->roles, required_role(r))) << h.str() << " lacks the role for " << to_string(r);
            EXPECT_TRUE(applies_to(r, acc.kind));
            if (auto pair = paired_contact_role(r)) {
                EXPECT_NE(acc.contact(*pair), h) << "primary == secondary";
            }
        }
        if (has_primary_admin)
            had_primary_admin.insert(aid);
        else
            EXPECT_FALSE(had_primary_admin.contains(aid)) << aid.str() << " lost its primary admin contact";
        for (const auto& [u, m] : acc.members) {
            const user_record* rec = s.user(u);
            ASSERT_NE(rec, nullptr);
            if (m.type == membership_type::third_party) {
                EXPECT_TRUE(rec->third_party.contains(aid));
            }
        }
    }
}

void run_sequence(std::uint64_t seed, int steps) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    world w;
    for (const char* c : {"c1", "c2", "c3"}) w.customer(c);
    for (const char* p : {"p1", "p2"}) w.partner(p);
    w.link("c1", "p1");
    w.link("c2", "p1");
    w.link("c2", "p2");
    for (const char* a : {"c1", "c2", "c3", "p1", "p2"})
        for (int i = 0; i < 3; ++i)
            w.user(a, std::string(a) + "a" + std::to_string(i),
                   i == 0   ? roles({support_admin, impact_admin, learning_admin})
                   : i == 1 ? roles({support_contributor, impact_member})
                            : roles({support_viewer, learning_learner}));
    // Half the accounts start with a primary admin contact, the others may get one later.
    w.contacts("c1", {{contact_role::primary_customer_admin, "c1a0"}});
    w.contacts("p1", {{contact_role::primary_partner_contact, "p1a0"}});
    std::vector<event> log;
    state replay_base = w.s;
    generator gen(seed, w.s);
    std::set<account_id> had_primary_admin;
    int accepted = 0, refused = 0, no_ops = 0;
    const int failures_before = ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
    for (int step = 0; step < steps; ++step) {
        const command c = gen.next(w.now);
        const actor who = gen.actor_for(c);
        const std::string before = (step % 16 == 0) ? digest(w.s) : std::string();
        auto r = decide(w.s, c, who, w.now);
        if (!r) {
            ++refused;
            if (!before.empty()) {
                EXPECT_EQ(before, digest(w.s)) << "a refused command changed the state";
            }
        } else {
            if (r->empty())
                ++no_ops;
            else
                ++accepted;
            apply_all(w.s, *r);
            log.insert(log.end(), r->begin(), r->end());
        }
        w.now += std::chrono::minutes(7);
        check_invariants(w.s, had_primary_admin, step);
        if (::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count() > failures_before) {
            ADD_FAILURE() << "after " << command_name(c) << " by principal #" << who.index();
            return;
        }
    }
    // The fold is deterministic: replaying the accepted events rebuilds the same state.
    apply_all(replay_base, log);
    EXPECT_EQ(digest(replay_base), digest(w.s));
    // The sequence must exercise both outcomes to mean anything.
    EXPECT_GT(accepted, steps / 10);
    EXPECT_GT(refused, steps / 10);
    EXPECT_GT(no_ops, 0);
    EXPECT_FALSE(had_primary_admin.empty());
    std::map<std::string, int> kinds;
    for (auto& e : log) ++kinds[std::string(type_name(e))];
    std::string summary;
    for (auto& [k, n] : kinds) summary += k + "=" + std::to_string(n) + " ";
    std::fprintf(stderr, "seed %llu: accepted %d refused %d no-op %d; %s\n", (unsigned long long)seed, accepted,
                 refused, no_ops, summary.c_str());
}

TEST(Property, RandomSequencesKeepTheInvariants) {
    for (std::uint64_t seed : {1u, 2u, 3u, 42u}) run_sequence(seed, 1500);
}

}  // namespace
}  // namespace roster::domain::testing
