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
        writer->rebuild_backoff_initial = std::chrono::milliseconds(10);
        writer->rebuild_backoff_max = std::chrono::milliseconds(80);
        if (!writer->start()) throw std::runtime_error("writer did not start");
    }

    static command_request request_of(command cmd, actor who = operator_principal{}) {
        command_request r;
        r.command = std::move(cmd);
        r.actor = std::move(who);
        r.meta.actor.principal = "test";
        return r;
    }

    // Submits and returns the answer to come.
    std::future<command_result> submit(command_request r) {
        auto done = std::make_shared<std::promise<command_result>>();
        auto answer = done->get_future();
        r.done = [done](command_result result) { done->set_value(std::move(result)); };
        writer->submit(std::move(r));
        return answer;
    }

    // Submits and waits.
    command_result run(command cmd, actor who = operator_principal{}) {
        return submit(request_of(std::move(cmd), std::move(who))).get();
    }
    command_result run(command_request r) { return submit(std::move(r)).get(); }

    // Holds the writer thread until the returned function is called, so that everything
    // submitted meanwhile is decided as one commit group.
    std::function<void()> hold_writer() {
        auto started = std::make_shared<std::promise<void>>();
        auto release = std::make_shared<std::promise<void>>();
        auto waiter = std::make_shared<std::thread>([this, started, release] {
            auto go = release->get_future().share();
            writer->run_on_writer([&](const domain::state&) {
                started->set_value();
                go.wait();
            });
        });
        started->get_future().wait();
        return [release, waiter] {
            release->set_value();
            waiter->join();
        };
    }
};

command create(const std::string& id, const std::string& email) {
    return create_user{account_id{"acme"}, user_id{id}, email, id, role_set{}, std::nullopt};
}

template <class T>
bool is(const command_result& r) {
    return std::holds_alternative<T>(r);
}

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
            return create_user{
                account_id{any_account()}, user_id{id}, id + "@example.com", "User " + id, roles(), std::nullopt};
        }
        case 2: return add_member{account_id{pick(customers)}, user_id{any_user()}, roles()};
        case 3: return change_roles{account_id{any_account()}, user_id{any_user()}, roles(), roles()};
        case 4: return lock_user{user_id{any_user()}};
        case 5: return unlock_user{user_id{any_user()}};
        case 6: return remove_member{account_id{any_account()}, user_id{any_user()}};
        case 7:
            return save_contacts{account_id{any_account()},
                                 {{static_cast<contact_role>(rng() % contact_role_count), user_id{any_user()}}}};
        case 8:
            return set_watchlist{account_id{any_account()}, {{user_id{any_user()}, {topic::outage, topic::security}}}};
        case 9: return remove_all_roles{account_id{any_account()}, user_id{any_user()}};
        case 10: return link_partner{account_id{pick(customers)}, account_id{pick(partners)}};
        default:
            return invite_user{account_id{any_account()}, user_id{any_user()},
                               invitation_request{invitation_id{"i" + std::to_string(rng())},
                                                  std::string(64, 'a' + rng() % 6), std::nullopt}};
    }
}

TEST(command_processor, incremental_projections_equal_a_rebuild_from_position_zero) {
    harness h;
    for (auto [id, kind] : {std::pair{"acme", account_kind::customer},
                            {"globex", account_kind::customer},
                            {"initech", account_kind::customer},
                            {"partnerco", account_kind::partner},
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
                if (is_accepted(h.run(
                        create_user{account_id{"acme"}, user_id{id}, id + "@acme.com", id, role_set{}, std::nullopt})))
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
    EXPECT_TRUE(std::holds_alternative<outcome::unavailable>(
        h.run(create_user{account_id{"acme"}, user_id{"u1"}, "u1@acme.com", "U1", role_set{}, std::nullopt})));
    EXPECT_EQ(h.reads.fingerprint(), before);
    // The write model forgot the failed user: the same email is free and the id unused.
    EXPECT_TRUE(is_accepted(
        h.run(create_user{account_id{"acme"}, user_id{"u1"}, "u1@acme.com", "U1", role_set{}, std::nullopt})));
}

// The Idempotency-Key rules, judged by the writer alone (the store only keeps the records):
// fresh, replay of the committed outcome, reused with another request, and the same key twice
// in one commit group (the second waits for the first and is its replay).
TEST(command_processor, idempotency_keys_are_judged_before_deciding) {
    harness h;
    ASSERT_TRUE(is_accepted(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
    auto keyed = [](command cmd, std::string key, std::string fingerprint, std::string bytes) {
        auto r = harness::request_of(std::move(cmd));
        r.idempotency_key = std::move(key);
        r.fingerprint = std::move(fingerprint);
        r.render = [bytes](const decided_view&) { return bytes; };
        return r;
    };
    auto first = h.run(keyed(create("u1", "u1@acme.com"), "k1", "fp-1", "first"));
    ASSERT_TRUE(is<outcome::accepted>(first)) << describe(first);
    EXPECT_EQ(std::get<outcome::accepted>(first).bytes, "first");
    EXPECT_FALSE(std::get<outcome::accepted>(first).replayed);
    const auto head = h.store->head().position;

    auto replay = h.run(keyed(create("u1", "u1@acme.com"), "k1", "fp-1", "second"));
    ASSERT_TRUE(is<outcome::accepted>(replay)) << describe(replay);
    EXPECT_EQ(std::get<outcome::accepted>(replay).bytes, "first");
    EXPECT_TRUE(std::get<outcome::accepted>(replay).replayed);
    EXPECT_TRUE(is<outcome::idempotency_key_reused>(h.run(keyed(create("u9", "u9@acme.com"), "k1", "fp-other", "x"))));
    EXPECT_EQ(h.store->head().position, head);

    // Twice in one group: decided once, the second answered with the first's outcome.
    auto release = h.hold_writer();
    auto a = h.submit(keyed(create("u2", "u2@acme.com"), "k2", "fp-2", "two"));
    auto b = h.submit(keyed(create("u2", "u2@acme.com"), "k2", "fp-2", "two again"));
    release();
    auto ra = a.get(), rb = b.get();
    ASSERT_TRUE(is<outcome::accepted>(ra)) << describe(ra);
    ASSERT_TRUE(is<outcome::accepted>(rb)) << describe(rb);
    EXPECT_FALSE(std::get<outcome::accepted>(ra).replayed);
    EXPECT_TRUE(std::get<outcome::accepted>(rb).replayed);
    EXPECT_EQ(std::get<outcome::accepted>(rb).bytes, "two");
    auto record = h.store->find_idempotency("k2");
    ASSERT_TRUE(record && *record);
    EXPECT_EQ((*record)->last_position, h.store->head().position);
    EXPECT_EQ((*record)->outcome, "two");
}

// If-Match counts the group's earlier commands that are decided but not yet durable.
TEST(command_processor, if_match_is_judged_against_the_groups_undurable_versions) {
    harness h;
    ASSERT_TRUE(is_accepted(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
    ASSERT_TRUE(is_accepted(h.run(create("u1", "u1@acme.com"))));
    const std::string stream = "user-u1";
    const auto v = h.store->stream_version(stream).value;
    ASSERT_GT(v, 0u);
    auto matching = [&](command cmd, std::uint64_t expected) {
        auto r = harness::request_of(std::move(cmd));
        r.if_match = if_match_condition{stream_resource{stream}, {expected}};
        return r;
    };
    auto stale = h.run(matching(lock_user{user_id{"u1"}}, v - 1));
    ASSERT_TRUE(is<outcome::version_mismatch>(stale)) << describe(stale);
    EXPECT_EQ(std::get<outcome::version_mismatch>(stale).actual, v);

    auto release = h.hold_writer();
    auto lock = h.submit(matching(lock_user{user_id{"u1"}}, v));
    auto unlock = h.submit(matching(unlock_user{user_id{"u1"}}, v + 1));  // sees the lock
    auto again = h.submit(matching(lock_user{user_id{"u1"}}, v));         // saw neither
    release();
    EXPECT_TRUE(is_accepted(lock.get()));
    EXPECT_TRUE(is_accepted(unlock.get()));
    auto late = again.get();
    ASSERT_TRUE(is<outcome::version_mismatch>(late)) << describe(late);
    EXPECT_EQ(std::get<outcome::version_mismatch>(late).expected, v);
    EXPECT_EQ(std::get<outcome::version_mismatch>(late).actual, v + 2);
    EXPECT_EQ(h.store->stream_version(stream).value, v + 2);
}

// The version of a user resource is the log position of its last change, numbered by the writer
// for the group's undurable events exactly as the store then numbers them.
TEST(command_processor, member_versions_are_the_positions_the_store_assigns_even_within_a_group) {
    harness h;
    ASSERT_TRUE(is_accepted(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
    ASSERT_TRUE(is_accepted(h.run(create("u1", "u1@acme.com"))));
    ASSERT_TRUE(is_accepted(h.run(create("u2", "u2@acme.com"))));
    auto on = [&](command cmd, std::vector<std::uint64_t> tags) {
        auto r = harness::request_of(std::move(cmd));
        r.if_match = if_match_condition{user_resource{user_id{"u1"}}, std::move(tags)};
        return r;
    };
    const auto head = h.store->head().position.value;
    auto release = h.hold_writer();
    auto other = h.submit(harness::request_of(lock_user{user_id{"u2"}}));   // head + 1: not u1's
    auto lock = h.submit(on(lock_user{user_id{"u1"}}, {head + 1, 999}));    // a list, neither u1's version
    auto star = h.submit(on(lock_user{user_id{"u1"}}, {}));                 // `*`: u1 exists; head + 2
    auto unlock = h.submit(on(unlock_user{user_id{"u1"}}, {7, head + 2}));  // sees the undurable lock
    release();
    EXPECT_TRUE(is_accepted(other.get()));
    auto stale = lock.get();
    ASSERT_TRUE(is<outcome::version_mismatch>(stale)) << describe(stale);
    EXPECT_EQ(std::get<outcome::version_mismatch>(stale).expected, head + 1);
    EXPECT_TRUE(is_accepted(star.get()));
    EXPECT_TRUE(is_accepted(unlock.get()));
    h.writer->run_on_writer([&](const domain::state& s) {
        EXPECT_EQ(domain::member_version_of(s, account_id{"acme"}, user_id{"u1"}), domain::member_version{head + 3});
        EXPECT_EQ(s.folded.value, head + 3);
    });
    EXPECT_EQ(h.store->head().position.value, head + 3);
    auto missing = harness::request_of(lock_user{user_id{"nobody"}});
    missing.if_match = if_match_condition{user_resource{user_id{"nobody"}}, {}};
    auto refused = h.run(std::move(missing));
    ASSERT_TRUE(is<outcome::version_mismatch>(refused)) << describe(refused);
    EXPECT_EQ(std::get<outcome::version_mismatch>(refused).actual, 0u);
}

// A failed commit whose rebuild fails too (the log cannot be read): the writer fails closed. It
// answers every command `unavailable` rather than deciding against what it could read (here
// nothing, so a second open_account "acme" would pass), keeps retrying, and once the log reads
// again it serves with the whole state.
TEST(command_processor, a_lost_write_model_refuses_commands_until_it_is_rebuilt) {
    harness h;
    ASSERT_TRUE(is_accepted(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
    ASSERT_TRUE(is_accepted(h.run(create("u1", "u1@acme.com"))));
    EXPECT_TRUE(h.writer->healthy());
    const auto head = h.store->head().position;

    h.faults->fail_reads(true);
    h.faults->fail_next(1);
    EXPECT_TRUE(is<outcome::unavailable>(h.run(create("u2", "u2@acme.com"))));
    EXPECT_FALSE(h.writer->healthy());
    ASSERT_TRUE(h.writer->why_not_healthy().has_value());
    EXPECT_NE(h.writer->why_not_healthy()->find("write model"), std::string::npos) << *h.writer->why_not_healthy();

    // Against the empty model these would be accepted; against the log they are refused.
    for (int i = 0; i < 5; ++i) {
        auto r = h.run(open_account{account_id{"acme"}, "Acme again", account_kind::customer});
        ASSERT_TRUE(is<outcome::unavailable>(r)) << describe(r);
        EXPECT_TRUE(is<outcome::unavailable>(h.run(create("u1", "u1@acme.com"))));
        std::this_thread::sleep_for(std::chrono::milliseconds(30));  // rebuild attempts fail meanwhile
    }
    EXPECT_FALSE(h.writer->healthy());
    EXPECT_EQ(h.store->head().position, head);

    h.faults->fail_reads(false);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!h.writer->healthy() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(h.writer->healthy());

    auto dup = h.run(open_account{account_id{"acme"}, "Acme again", account_kind::customer});
    EXPECT_TRUE(is<outcome::refused>(dup)) << describe(dup);
    auto taken = h.run(create("u3", "u1@acme.com"));
    EXPECT_TRUE(is<outcome::refused>(taken)) << describe(taken);
    EXPECT_TRUE(is_accepted(h.run(create("u2", "u2@acme.com"))));
    EXPECT_GT(h.store->head().position, head);
    projections::read_model rebuilt;
    ASSERT_TRUE(rebuilt.catch_up(*h.store));
    EXPECT_EQ(rebuilt.fingerprint(), h.reads.fingerprint());
}

// The rebuild is also retried when no command arrives (by the backoff timer alone).
TEST(command_processor, a_lost_write_model_recovers_without_traffic) {
    harness h;
    ASSERT_TRUE(is_accepted(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
    h.faults->fail_reads(true);
    h.faults->fail_next(1);
    EXPECT_TRUE(is<outcome::unavailable>(h.run(create("u2", "u2@acme.com"))));
    EXPECT_FALSE(h.writer->healthy());
    h.faults->fail_reads(false);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!h.writer->healthy() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_TRUE(h.writer->healthy());
    EXPECT_TRUE(is<outcome::refused>(h.run(open_account{account_id{"acme"}, "Acme", account_kind::customer})));
}

}  // namespace
}  // namespace roster::api
