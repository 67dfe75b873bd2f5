// Restart checkpoints: a model restored from a checkpoint and folded to the head must equal a
// full fold of the log (every projection, the history index included), at many positions; a
// checkpoint that does not match the log, does not decode or is of another format is ignored
// (full fold, with the reason).
#include <gtest/gtest.h>

#include <thread>

#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"
#include "roster/projections/restart_checkpoint.hpp"
#include "workload.hpp"

namespace roster::projections {
namespace {

using testing::temp_dir;
using testing::workload;

std::unique_ptr<eventstore::store> open_store(const temp_dir& dir) {
    auto s = eventstore::store::open(dir.path() / "db");
    if (!s) throw std::runtime_error(s.error().message);
    return std::move(*s);
}

// History pages of every subject the workload knows, walked 3 at a time with the cursor, plus a
// bounded and type-filtered range: the answers of the persisted segments' point reads.
std::string history_pages(const read_view& v, const domain::state& subjects) {
    std::string out;
    if (!v.history) return out;
    auto walk = [&](history_subject kind, const std::string& id) {
        history_page_request r{kind, id};
        r.limit = 3;
        out += id + ":";
        while (true) {
            auto page = v.history->page(r).value();
            for (std::size_t i = 0; i < std::min<std::size_t>(page.size(), 3); ++i)
                out += " " + std::to_string(page[i].value);
            if (page.size() <= 3) break;
            r.from_position = page[2].next();
        }
        history_page_request bounded{kind,
                                     id,
                                     eventstore::log_position{v.position.value / 3},
                                     eventstore::log_position{v.position.value * 2 / 3},
                                     *event_type_bit("roles_granted") | *event_type_bit("member_added"),
                                     1000};
        out += " |";
        for (auto p : v.history->page(bounded).value()) out += " " + std::to_string(p.value);
        out += "\n";
    };
    for (const auto& [id, a] : subjects.accounts) walk(history_subject::account, id.value);
    walk(history_subject::actor, "operator");
    for (const auto& [id, u] : subjects.users) {
        walk(history_subject::user, id.value);
        walk(history_subject::actor, "user:" + id.value);
    }
    return out;
}

// Everything a model answers from: the fingerprint, the history index (whole and paged), and a
// directory search per account (the text index, which the fingerprint does not show).
std::string everything(const read_model& m, const domain::state& accounts_of) {
    std::string out = m.fingerprint();
    m.read([&](const read_view& v) {
        out += "history " + (v.history ? v.history->encode().value() : std::string("none")) + "\n";
        out += history_pages(v, accounts_of);
        for (const auto& [id, a] : accounts_of.accounts) {
            directory_query q;
            q.q = "name 1";
            q.statuses = status_filter::all();
            q.limit = 1000;
            if (auto page = v.directory.query(id, q))
                for (const auto& e : page->users) out += "search " + id.value + " " + e.profile->id.value + "\n";
        }
    });
    return out;
}

std::string full_fold(const eventstore::store& s, const domain::state& accounts_of) {
    read_model m;
    EXPECT_TRUE(m.catch_up(s).has_value());
    return everything(m, accounts_of);
}

TEST(restart_checkpoint, checkpoint_plus_tail_equals_a_full_fold_at_many_positions) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 5);
    past_states past(*store, {.snapshot_every = 1000});
    read_model live;
    eventstore::log_position checkpoint;
    std::size_t compared = 0;
    for (int round = 0; round < 30; ++round) {
        w.run(23);
        ASSERT_TRUE(live.catch_up(*store).has_value());
        if (round % 4 == 1) {
            auto written = write_checkpoint(*store, live, past);
            ASSERT_TRUE(written.has_value()) << written.error().message;
            checkpoint = *written;
            ASSERT_EQ(checkpoint, live.position());
        }
        w.run(round % 3 * 7);  // a tail of 0, 7 or 14 events more, beyond the live model
        read_model restarted;
        auto r = restore_from_checkpoint(restarted, *store);
        ASSERT_TRUE(r.has_value()) << r.error().message;
        EXPECT_EQ(r->ignored, "");
        EXPECT_EQ(r->checkpoint, checkpoint);
        EXPECT_EQ(r->folded, store->head().position.value - checkpoint.value);
        ASSERT_EQ(restarted.position(), store->head().position);
        ASSERT_EQ(everything(restarted, w.state()), full_fold(*store, w.state()))
            << "checkpoint at " << checkpoint.value << ", head " << store->head().position.value;
        ASSERT_TRUE(live.catch_up(*store).has_value());
        ++compared;
    }
    EXPECT_EQ(compared, 30u);
    // The checkpoint's snapshot serves as-of reads too: it is listed and restores its position.
    ASSERT_FALSE(past.snapshot_positions().empty());
    EXPECT_EQ(past.snapshot_positions().back(), checkpoint);
    ASSERT_NE(past.load_snapshot(checkpoint), nullptr);
}

// The history index stays in the store in segments, one per checkpoint: restarts that each fold
// a tail and write their own checkpoint chain them, a rebuild starts a new chain, and a crash
// after the events but before the checkpoint (kill -9: nothing of it written) folds the tail
// again. Every start answers as a full fold, paged through the segments.
TEST(restart_checkpoint, the_persisted_history_index_chains_across_restarts_and_rebuilds) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 11);
    past_states past(*store, {.snapshot_every = 1000});
    std::vector<std::uint64_t> checkpoints;
    for (int start = 0; start < 8; ++start) {
        read_model m;
        auto r = restore_from_checkpoint(m, *store, /*rebuild=*/start == 5);
        ASSERT_TRUE(r.has_value()) << r.error().message;
        EXPECT_EQ(r->ignored, "");
        EXPECT_EQ(r->checkpoint.value, start == 0 || start == 5 ? 0 : checkpoints.back()) << start;
        ASSERT_EQ(everything(m, w.state()), full_fold(*store, w.state())) << "start " << start;
        w.run(31);
        ASSERT_TRUE(m.catch_up(*store).has_value());
        if (start % 3 == 2) {
            w.run(9);  // the crash: events written, no checkpoint after them
            continue;
        }
        auto written = write_checkpoint(*store, m, past);
        ASSERT_TRUE(written.has_value()) << written.error().message;
        checkpoints.push_back(written->value);
        // Written and dropped from memory, the model still answers as before.
        ASSERT_EQ(everything(m, w.state()), full_fold(*store, w.state())) << "after checkpoint " << start;
        w.run(start % 2 * 5);
    }
    EXPECT_EQ(checkpoints.size(), 6u);
}

TEST(restart_checkpoint, a_checkpoint_that_does_not_hold_up_is_ignored_and_the_whole_log_folded) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 9);
    w.run(150);
    past_states past(*store);
    read_model live;
    ASSERT_TRUE(live.catch_up(*store).has_value());
    auto written = write_checkpoint(*store, live, past);
    ASSERT_TRUE(written.has_value());
    w.run(40);
    const auto good = *store->get_meta(checkpoint_key);
    const auto snapshot_key = past_states::snapshot_key(*written);
    const auto good_snapshot = *store->get_meta(snapshot_key);
    const auto expected = full_fold(*store, w.state());

    // The record: magic line, then the position (varint), then the log's hash at it.
    const auto hash_at = good.find('\n') + 1 + (written->value < 128 ? 1 : 2);
    std::string wrong_hash = good;
    wrong_hash[hash_at + 31] = static_cast<char>(wrong_hash[hash_at + 31] ^ 1);
    std::string older = good;
    older.replace(good.find("-v2\n"), 4, "-v1\n");
    std::string beyond = good;  // the same record one position further (a log that lost its tail)
    beyond[hash_at - 1] = static_cast<char>(beyond[hash_at - 1] + 1);

    struct damage {
        std::string name, record, snapshot;
    };
    const std::vector<damage> cases{
        {"hash of another log", wrong_hash, good_snapshot},
        {"older format", older, good_snapshot},
        {"position not the hash's", beyond, good_snapshot},
        {"record does not decode", good.substr(0, good.size() - 3), good_snapshot},
        {"snapshot does not decode", good, good_snapshot.substr(0, good_snapshot.size() / 2)},
    };
    for (const auto& c : cases) {
        ASSERT_TRUE(store->put_meta(checkpoint_key, c.record).has_value());
        ASSERT_TRUE(store->put_meta(snapshot_key, c.snapshot).has_value());
        read_model restarted;
        auto r = restore_from_checkpoint(restarted, *store);
        ASSERT_TRUE(r.has_value()) << c.name;
        EXPECT_NE(r->ignored, "") << c.name;
        EXPECT_EQ(r->checkpoint, eventstore::log_position{}) << c.name;
        EXPECT_EQ(r->folded, store->head().position.value) << c.name;
        EXPECT_EQ(everything(restarted, w.state()), expected) << c.name;
    }
    // Intact again: used, unless a rebuild is asked for.
    ASSERT_TRUE(store->put_meta(checkpoint_key, good).has_value());
    ASSERT_TRUE(store->put_meta(snapshot_key, good_snapshot).has_value());
    read_model from_checkpoint, rebuilt;
    EXPECT_EQ(restore_from_checkpoint(from_checkpoint, *store)->checkpoint, *written);
    auto r = restore_from_checkpoint(rebuilt, *store, /*rebuild=*/true);
    EXPECT_EQ(r->checkpoint, eventstore::log_position{});
    EXPECT_EQ(r->ignored, "");
    EXPECT_EQ(everything(from_checkpoint, w.state()), expected);
    EXPECT_EQ(everything(rebuilt, w.state()), expected);
}

// An audit trail may not lose entries without saying so: a persisted segment that does not
// decode fails every page that spans it (and encode), naming the key; other subjects still answer.
TEST(restart_checkpoint, a_history_segment_that_does_not_decode_fails_the_page) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 13);
    w.run(120);
    past_states past(*store);
    read_model live;
    ASSERT_TRUE(live.catch_up(*store).has_value());
    ASSERT_TRUE(write_checkpoint(*store, live, past).has_value());
    std::string key, account, value;
    ASSERT_TRUE(store
                    ->scan_meta("projections/history/",
                                [&](std::string_view k, std::string_view v) {
                                    const auto subject = k.substr(k.rfind('/') + 1);
                                    if (subject.empty() || subject[0] != 'a') return true;
                                    key = k;
                                    account = subject.substr(1);
                                    value = v;
                                    return false;
                                })
                    .has_value());
    ASSERT_FALSE(key.empty());
    ASSERT_TRUE(store->put_meta(key, value + '\x01').has_value());  // a trailing byte: no longer decodes

    read_model restarted;
    ASSERT_TRUE(restore_from_checkpoint(restarted, *store).has_value());
    restarted.read([&](const read_view& v) {
        ASSERT_NE(v.history, nullptr);
        auto page = v.history->page(history_page_request{history_subject::account, account});
        ASSERT_FALSE(page.has_value());
        EXPECT_EQ(page.error().code, eventstore::errc::corrupt);
        EXPECT_NE(page.error().message.find(key), std::string::npos) << page.error().message;
        auto whole = v.history->encode();
        ASSERT_FALSE(whole.has_value());
        EXPECT_EQ(whole.error().code, eventstore::errc::corrupt);
        auto other = v.history->page(history_page_request{history_subject::actor, "operator"});
        ASSERT_TRUE(other.has_value());
        EXPECT_FALSE(other->empty());
    });
}

TEST(projection_checkpointer, writes_as_the_log_grows_and_at_stop) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 3);
    past_states past(*store);
    read_model live;
    {
        projection_checkpointer worker(*store, live, past, 50);
        worker.start();
        for (int i = 0; i < 10; ++i) {
            w.run(30);
            ASSERT_TRUE(live.catch_up(*store).has_value());
        }
        for (int i = 0; i < 2000 && worker.written() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        EXPECT_GT(worker.written(), 0u);
        w.run(7);
        ASSERT_TRUE(live.catch_up(*store).has_value());
        worker.stop();
    }
    // The last one is at the head: a clean restart folds nothing.
    read_model restarted;
    auto r = restore_from_checkpoint(restarted, *store);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->checkpoint, store->head().position);
    EXPECT_EQ(r->folded, 0u);
    EXPECT_EQ(everything(restarted, w.state()), full_fold(*store, w.state()));
}

}  // namespace
}  // namespace roster::projections
