// A random but valid workload for projection tests: commands decided by the real domain and
// appended to a real store, so every event kind (removals with cascades, retirements,
// invitations in every status, locks, contacts, watchlists, tokens) shows up.
#pragma once

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "roster/domain/commands.hpp"
#include "roster/domain/decide.hpp"
#include "roster/domain/state.hpp"
#include "roster/eventstore/store.hpp"
#include "temp_dir.hpp"

namespace roster::projections::testing {

class temp_dir : public test_support::temp_dir {
public:
    temp_dir() : test_support::temp_dir("roster-proj") {}
};

inline std::string fake_hash(std::uint64_t n) {
    std::string out;
    for (int i = 0; i < 64; ++i) {
        out += "0123456789abcdef"[((n >> (i % 16) * 4) & 0xF) ^ (i & 0xF)];
    }
    return out;
}

// Drives random commands through decide() and appends the accepted ones, one batch each.
class workload {
public:
    explicit workload(eventstore::store& store, unsigned seed = 7) : store_(store), rng_(seed) {}

    // Runs commands until `events` more events are in the log.
    void run(std::size_t events) {
        const auto target = store_.head().position.value + events;
        while (store_.head().position.value < target) step();
    }

    const domain::state& state() const { return s_; }

private:
    template <class T>
    const T& pick(const std::vector<T>& v) {
        return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng_)];
    }
    bool chance(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng_) < percent; }
    domain::role_set some_roles() {
        return domain::role_set(static_cast<std::uint16_t>(std::uniform_int_distribution<int>(0, 127)(rng_)));
    }

    void submit(const domain::command& c, const domain::actor& who = domain::operator_principal{}) {
        now_ += std::chrono::seconds(1);
        auto r = domain::decide(s_, c, who, now_);
        if (!r || r->empty()) return;
        eventstore::append_batch b;
        for (auto& e : *r) {
            eventstore::new_event n{e, std::nullopt, {}};
            n.meta.actor = {domain::principal_label(who), "tok", "127.0.0.1"};
            n.meta.request_id = "req-" + std::to_string(++requests_);
            n.meta.reason = chance(20) ? "because, \"quoted\"\nline" : "";
            b.events.push_back(std::move(n));
        }
        auto appended = store_.append(std::move(b));
        if (!appended) throw std::runtime_error("append failed: " + appended.error().message);
        domain::apply_all(s_, *r);
    }

    void step() {
        using namespace domain;
        const int kind = std::uniform_int_distribution<int>(0, 99)(rng_);
        if (accounts_.size() < 2 || kind < 4) {
            const bool partner = accounts_.size() % 3 == 2;
            account_id id{"acc-" + std::to_string(accounts_.size())};
            submit(open_account{id, "Account " + id.value, partner ? account_kind::partner : account_kind::customer});
            accounts_.push_back(id);
            return;
        }
        const auto& a = pick(accounts_);
        if (users_.empty() || kind < 30) {
            user_id u{"usr-" + std::to_string(users_.size())};
            std::optional<invitation_request> inv;
            if (chance(60))
                inv = invitation_request{invitation_id{"inv-" + std::to_string(++invitations_)},
                                         fake_hash(invitations_), std::nullopt};
            // Reused emails after retirement exercise the email index.
            const auto mail = "user" + std::to_string(users_.size() % 97) + "@" + a.value + ".example.com";
            submit(create_user{a, u, mail, "Name " + std::to_string(users_.size()) + (chance(30) ? " Ünïcode" : ""),
                               some_roles(), inv});
            users_.push_back(u);
            return;
        }
        const auto& u = pick(users_);
        if (kind < 36) return submit(link_partner{a, pick(accounts_)});
        if (kind < 44) return submit(add_member{a, u, some_roles()});
        if (kind < 58) return submit(change_roles{a, u, some_roles(), some_roles()});
        if (kind < 61) return submit(remove_all_roles{a, u});
        if (kind < 65) return submit(lock_user{u});
        if (kind < 67) return submit(unlock_user{u});
        // Renames and new emails move a row in the list order and the search postings.
        if (kind < 68)
            return submit(update_profile{u, "Renamed " + std::to_string(users_.size()),
                                         chance(50)
                                             ? std::optional<std::string>("moved" + std::to_string(users_.size()) +
                                                                          "@" + a.value + ".example.com")
                                             : std::nullopt});
        if (kind < 73) return submit(remove_member{a, u});
        if (kind < 78) {
            ++invitations_;
            return submit(invite_user{a, u,
                                      invitation_request{invitation_id{"inv-" + std::to_string(invitations_)},
                                                         fake_hash(invitations_), std::nullopt}});
        }
        if (kind < 83) {
            const auto n =
                std::uniform_int_distribution<std::uint64_t>(1, std::max<std::uint64_t>(invitations_, 1))(rng_);
            return submit(accept_invitation{fake_hash(n)});
        }
        if (kind < 90) {
            save_contacts c{a, {}};
            for (int i = 0; i < 3; ++i)
                c.assignments.push_back(
                    {all_contact_roles[std::uniform_int_distribution<std::size_t>(0, contact_role_count - 1)(rng_)],
                     u});
            return submit(c);
        }
        if (kind < 95) {
            set_watchlist w{a, {}};
            w.subscriptions.push_back({u, {topic::outage, topic::security}});
            return submit(w);
        }
        if (kind < 98) {
            ++tokens_;
            return submit(issue_token{token_id{"tok-" + std::to_string(tokens_)}, user_principal{u},
                                      fake_hash(1'000'000 + tokens_)});
        }
        if (tokens_)
            return submit(
                revoke_token{token_id{"tok-" + std::to_string(std::uniform_int_distribution<int>(1, tokens_)(rng_))}});
    }

    eventstore::store& store_;
    std::mt19937_64 rng_;
    domain::state s_;
    domain::timestamp now_{std::chrono::seconds(1'700'000'000)};
    std::vector<domain::account_id> accounts_;
    std::vector<domain::user_id> users_;
    std::uint64_t invitations_ = 0;
    int tokens_ = 0;
    std::uint64_t requests_ = 0;
};

}  // namespace roster::projections::testing
