// Snapshots and as-of states: a past state built from a snapshot plus a fold must equal a fold
// from position 0 to the same position, for every kind of event the domain produces.
#include <gtest/gtest.h>

#include <random>

#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"
#include "workload.hpp"

namespace roster::projections {
namespace {

using testing::temp_dir;
using testing::workload;

std::unique_ptr<eventstore::store> open_store(const temp_dir& dir, bool read_only = false) {
    eventstore::store_options o;
    o.read_only = read_only;
    auto s = eventstore::store::open(dir.path() / "db", o);
    if (!s) throw std::runtime_error(s.error().message);
    return std::move(*s);
}

std::string fold_fingerprint(const eventstore::store& s, std::uint64_t to) {
    read_model m;
    EXPECT_TRUE(m.catch_up(s, eventstore::log_position{to}).has_value());
    EXPECT_EQ(m.position(), eventstore::log_position{to});
    return m.fingerprint();
}

TEST(snapshot, restoring_an_encoded_model_gives_the_same_projections_at_many_positions) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 11);
    read_model live;
    std::size_t compared = 0;
    for (int round = 0; round < 40; ++round) {
        w.run(25);
        ASSERT_TRUE(live.catch_up(*store).has_value());
        read_model restored(read_model_options{.history_index = false});
        ASSERT_TRUE(restored.restore_snapshot(live.encode_snapshot()));
        ASSERT_EQ(restored.position(), live.position());
        ASSERT_EQ(restored.fingerprint(), live.fingerprint()) << "at position " << live.position().value;
        // Search goes through the directory's text index, which the fingerprint does not show.
        for (const auto& [id, a] : w.state().accounts) {
            directory_query q;
            q.q = "name 1";
            q.statuses = status_filter::all();
            q.limit = 1000;
            auto both = [&](const read_model& m) {
                return m.read([&](const read_view& v) {
                    std::string out;
                    if (auto page = v.directory.query(id, q))
                        for (const auto& e : page->users) out += e.profile->id.value + ",";
                    return out;
                });
            };
            EXPECT_EQ(both(restored), both(live));
        }
        ++compared;
    }
    EXPECT_EQ(compared, 40u);
    // The workload did reach the interesting states.
    const auto& s = w.state();
    bool removed = false, retired = false, locked = false, registered = false;
    for (const auto& [id, a] : s.accounts) removed |= !a.removed.empty();
    for (const auto& [id, u] : s.users) {
        retired |= u.retired;
        locked |= u.locked();
        registered |= u.reg == domain::registration::registered;
    }
    EXPECT_TRUE(removed && retired && locked && registered);
}

TEST(snapshot, rejects_foreign_or_damaged_bytes_and_a_non_empty_model) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 3);
    w.run(200);
    read_model live;
    ASSERT_TRUE(live.catch_up(*store).has_value());
    const auto bytes = live.encode_snapshot();
    read_model a;
    EXPECT_FALSE(a.restore_snapshot("not a snapshot"));
    EXPECT_FALSE(a.restore_snapshot(bytes.substr(0, bytes.size() / 2)));
    EXPECT_FALSE(a.restore_snapshot(bytes + "x"));
    EXPECT_EQ(a.position(), eventstore::log_position{});
    EXPECT_TRUE(a.restore_snapshot(bytes));
    EXPECT_FALSE(a.restore_snapshot(bytes));  // not empty any more
}

TEST(past_states, every_position_equals_a_fold_from_zero_with_and_without_snapshots) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 5);
    w.run(600);
    const auto head = store->head().position.value;

    past_states past(*store, {.snapshot_every = 97, .cache_entries = 2});
    ASSERT_TRUE(past.snapshot_positions().empty());
    // Without snapshots: a fold from 0.
    EXPECT_EQ((*past.at(eventstore::log_position{150}))->fingerprint(), fold_fingerprint(*store, 150));

    auto written = past.take_snapshots(*store);
    ASSERT_TRUE(written.has_value());
    EXPECT_EQ(*written, head / 97);
    EXPECT_EQ(past.snapshot_positions().size(), head / 97);
    EXPECT_EQ(*past.take_snapshots(*store), 0u);  // nothing missing

    std::mt19937 rng(1);
    std::vector<std::uint64_t> positions{0, 1, 96, 97, 98, 194, head - 1, head};
    for (int i = 0; i < 12; ++i) positions.push_back(std::uniform_int_distribution<std::uint64_t>(0, head)(rng));
    for (auto p : positions) {
        auto m = past.at(eventstore::log_position{p});
        ASSERT_TRUE(m.has_value());
        EXPECT_EQ((*m)->position(), eventstore::log_position{p});
        EXPECT_EQ((*m)->fingerprint(), fold_fingerprint(*store, p)) << "as of " << p;
    }
    // A snapshot restores exactly the fold at its position.
    for (auto p : past.snapshot_positions()) {
        auto m = past.load_snapshot(p);
        ASSERT_TRUE(m) << p.value;
        EXPECT_EQ(m->fingerprint(), fold_fingerprint(*store, p.value));
    }
}

TEST(past_states, snapshots_survive_a_reopen_and_a_damaged_one_only_costs_a_longer_fold) {
    temp_dir dir;
    std::uint64_t head = 0;
    {
        auto store = open_store(dir);
        workload w(*store, 9);
        w.run(300);
        head = store->head().position.value;
        past_states past(*store, {.snapshot_every = 50});
        ASSERT_TRUE(past.take_snapshots(*store).has_value());
        ASSERT_TRUE(store->put_meta(past_states::snapshot_key(eventstore::log_position{100}), "garbage").has_value());
    }
    auto store = open_store(dir, true);
    past_states past(*store, {.snapshot_every = 50});
    EXPECT_EQ(past.snapshot_positions().size(), head / 50);
    EXPECT_EQ(past.load_snapshot(eventstore::log_position{100}), nullptr);
    for (std::uint64_t p : {100u, 120u, 151u})
        EXPECT_EQ((*past.at(eventstore::log_position{p}))->fingerprint(), fold_fingerprint(*store, p));
}

TEST(snapshotter, writes_snapshots_in_the_background_as_the_log_grows) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 13);
    w.run(120);  // before the snapshotter starts: its first pass catches up
    past_states past(*store, {.snapshot_every = 40});
    {
        snapshotter worker(*store, past);
        w.run(200);
        // Bounded wait for the background thread; not a timing assertion.
        const auto expected = store->head().position.value / 40;
        for (int i = 0; i < 2000 && past.snapshot_positions().size() < expected; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        EXPECT_EQ(past.snapshot_positions().size(), expected);
    }
    for (auto p : past.snapshot_positions())
        EXPECT_EQ(past.load_snapshot(p)->fingerprint(), fold_fingerprint(*store, p.value));
}

}  // namespace
}  // namespace roster::projections
