// The single writer against a real store: group commit of concurrent submitters, and the
// projections it maintains incrementally equal a rebuild from position 0.
#include "roster/api/command_processor.hpp"

#include <gtest/gtest.h>

#include <future>
#include <random>
#include <thread>

#include "roster/domain/decide.hpp"
#include "rosterd_process.hpp"

namespace roster::api {
namespace {

using namespace roster::domain;

timestamp fixed_clock() { return timestamp{std::chrono::microseconds{1'800'000'000'000'000}}; }

bool is_accepted(const command_result& r) { return std::holds_alternative<outcome::accepted>(r); }

struct harness {
    test::temp_dir dir;
    // Lets a test make the store's next WAL writes fail as a failing disk would.
    std::shared_ptr<eventstore::write_faults> faults = std::make_shared<eventstore::write_faults>();
    std::unique_ptr<eventstore::store> store;
    projections::read_model reads;
    logger log{stderr};
    std::unique_ptr<command_processor> writer;

    harness() {
        auto s = eventstore::store::open(dir.path() / "events", {.faults = faults});
        if (!s) throw std::runtime_error(s.error().message);
        store = std::move(*s);
        writer = std::make_unique<command_processor>(*store, reads, log, fixed_clock);
        if (!writer->start()) throw std::runtime_error("writer did not start");
    }

    // Submits and waits.
    command_result run(command cmd, actor who = operator_principal{}) {
        std::promise<command_result> done;
        command_request r;
        r.command = std::move(cmd);
        r.actor = std::move(who);
        r.meta.actor.principal = "test";
        r.done = [&](command_result result) { done.set_value(std::move(result)); };
        writer->submit(std::move(r));
        return done.get_future().get();
    }
};

// A random mix over a handful of accounts: valid and invalid, operator and member actors.
command random_command(std::mt19937& rng, const std::vector<std::string>& users, int& next_user) {
    static const std::vector<std::string> customers{"acme", "globex", "initech"};
    static const std::vector<std::string> partners{"partnerco", "vendorx"};
    auto pick = [&](const auto& v) { return v[rng() % v.size()]; };
    auto any_account = [&] { return rng() % 3 ? pick(customers) : pick(partners); };
    auto any_user = [&] { return users.empty() ? std::string("nobody") : pick(users); };
    auto roles = [&] { return role_set(static_cast<std::uint16_t>(rng() % 128)); };
    switch (rng() % 12) {
        case 0:
        case 1: {
            auto id = "u" + std::to_string(next_user++);
            return create_user{account_id{any_account()}, user_id{id}, id + "@example.com", "User " + id, roles(), std::nullopt};
        }
        case 2: return add_member{account_id{pick(customers)}, user_id{any_user()}, roles()};
        case 3: return change_roles{account_id{any_account()}, user_id{any_user()}, roles(), roles()};
        case 4: return lock_user{user_id{any_user()}};
        case 5: return unlock_user{user_id{any_user()}};
        case 6: return remove_member{account_id{any_account()}, user_id{any_user()}};
        case 7: return save_contacts{account_id{any_account()}, {{static_cast<contact_role>(rng() % contact_role_count), user_id{any_user()}}}};
        case 8: return set_watchlist{account_id{any_account()}, {{user_id{any_user()}, {topic::outage, topic::security}}}};
        case 9: return remove_all_roles{account_id{any_account()}, user_id{any_user()}};
        case 10: return link_partner{account_id{pick(customers)}, account_id{pick(partners)}};
        default: return invite_user{account_id{any_account()}, user_id{any_user()},
                                    invitation_request{invitation_id{"i" + std::to_string(rng())}, std::string(64, 'a' + rng() % 6), std::nullopt}};
    }
}

TEST(command_processor, incremental_projections_equal_a_rebuild_from_position_zero) {
    harness h;
    for (auto [id, kind] : {std::pair{"acme", account_kind::customer}, {"globex", account_kind::customer},
                            {"initech", account_kind::customer}, {"partnerco", account_kind::partner},
                            {"vendorx", account_kind::partner}})
        ASSERT_TRUE(is_accepted(h.run(open_account{account_id{id}, id, kind})));

    std::mt19937 rng(7);
    std::vector<std::string> users;
    int next_user = 0;
    int accepted = 0, refused = 0;
    for (int step = 0; step < 3000; ++step) {
        auto before = next_user;
        auto cmd = random_command(rng, users, next_user);
        // A third of the commands come from a user, so refusals and security events happen too.
        actor who = operator_principal{};
        if (!users.empty() && rng() % 3 == 0) who = user_principal{user_id{users[rng() % users.size()]}};
        const bool ok = is_accepted(h.run(cmd, who));
        (ok ? accepted : refused)++;
        if (ok && next_user != before) users.push_back("u" + std::to_string(before));
    }
    ASSERT_GT(accepted, 500);
    ASSERT_GT(refused, 300);
    EXPECT_EQ(h.reads.position(), h.store->head().position);

    projections::read_model rebuilt;
    ASSERT_TRUE(rebuilt.catch_up(*h.store));
    EXPECT_EQ(rebuilt.fingerprint(), h.reads.fingerprint());
    EXPECT_GT(h.reads.fingerprint().size(), 10'000u);
}

TEST(command_processor, concurrent_submitters_share_commits_and_all_land) {
    harness h;
    ASSERT_TRUE(is_accepted(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
    constexpr int threads = 8, per_thread = 50;
    std::vector<std::thread> pool;
    std::atomic<int> ok{0};
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                auto id = "t" + std::to_string(t) + "-" + std::to_string(i);
                if (is_accepted(h.run(create_user{account_id{"acme"}, user_id{id}, id + "@acme.com", id, role_set{}, std::nullopt})))
                    ++ok;
            }
        });
    for (auto& t : pool) t.join();
    EXPECT_EQ(ok.load(), threads * per_thread);
    auto stats = h.writer->stats();
    EXPECT_EQ(stats.commands, 1u + threads * per_thread);
    // Group commit: fewer commits than commands once submitters overlap.
    EXPECT_LT(stats.groups, stats.commands);
    h.reads.read([&](const projections::read_view& v) {
        EXPECT_EQ(v.state.account(account_id{"acme"})->members.size(), static_cast<std::size_t>(threads * per_thread));
    });
}

TEST(command_processor, storage_failure_answers_503_and_leaves_no_trace) {
    harness h;
    ASSERT_TRUE(is_accepted(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
    const auto before = h.reads.fingerprint();
    h.faults->fail_next(1);
    EXPECT_TRUE(std::holds_alternative<outcome::unavailable>(h.run(create_user{account_id{"acme"}, user_id{"u1"}, "u1@acme.com", "U1", role_set{}, std::nullopt})));
    EXPECT_EQ(h.reads.fingerprint(), before);
    // The write model forgot the failed user: the same email is free and the id unused.
    EXPECT_TRUE(is_accepted(h.run(create_user{account_id{"acme"}, user_id{"u1"}, "u1@acme.com", "U1", role_set{}, std::nullopt})));
}

}  // namespace
}  // namespace roster::api
