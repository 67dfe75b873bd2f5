// The read model's long fold from nothing (catch_up at position 0: directory filed once at the
// end) must give exactly what folding the same events one by one gives, and leave a directory
// that later events keep folding into like any other.
#include <gtest/gtest.h>

#include <string>

#include "roster/projections/read_model.hpp"
#include "workload.hpp"

namespace roster::projections {
namespace {

using testing::temp_dir;
using testing::workload;

std::unique_ptr<eventstore::store> open_store(const temp_dir& dir) {
    auto s = eventstore::store::open(dir.path() / "db", {});
    if (!s) throw std::runtime_error(s.error().message);
    return std::move(*s);
}

// Every event from the model's position + 1 to `to`, applied one at a time.
void apply_one_by_one(read_model& m, const eventstore::store& s, std::uint64_t to) {
    ASSERT_TRUE(s.read_from(m.position().next(), to - m.position().value, [&](const eventstore::recorded_event& e) {
                     EXPECT_TRUE(m.apply(e));
                     return true;
                 }).has_value());
    ASSERT_EQ(m.position().value, to);
}

// What the fingerprint does not show: searches through the directory's trigram postings, with a
// cursor, a filter and the totals, in every account.
std::string searches(const read_model& m, const domain::state& s) {
    std::string out;
    m.read([&](const read_view& v) {
        for (const auto& [id, a] : s.accounts)
            for (const char* text : {"name 1", "ame", "ünï", "moved", "renamed", "example"}) {
                directory_query q;
                q.q = text;
                q.statuses = status_filter::all();
                q.limit = 3;
                for (int page = 0; page < 3; ++page) {
                    auto p = v.directory.query(id, q);
                    if (!p) {
                        out += "!";
                        break;
                    }
                    out += id.value + ' ' + text + " total " + std::to_string(p->total) + ':';
                    for (const auto& e : p->users) out += e.profile->id.value + ',';
                    out += '\n';
                    if (!p->next_cursor) break;
                    q.after = p->next_cursor;
                }
                q = {};
                q.role = domain::role::support_viewer;
                q.statuses.locked = true;
                if (auto p = v.directory.query(id, q)) out += "role total " + std::to_string(p->total) + '\n';
            }
    });
    return out;
}

TEST(read_model, a_fold_from_nothing_equals_the_events_applied_one_by_one) {
    temp_dir dir;
    auto store = open_store(dir);
    workload w(*store, 23);
    // The workload never adds a removed member back (removal from the employer retires the
    // profile): one is appended in each half of the log, as a third party.
    auto add_back = [&] {
        for (const auto& [id, a] : w.state().accounts)
            for (const auto& u : a.removed) {
                eventstore::append_batch b;
                b.events.push_back({domain::member_added{id, u, domain::membership_type::third_party}, {}, {}});
                b.events.push_back(
                    {domain::roles_granted{id, u, domain::role_set::of({domain::role::support_viewer})}, {}, {}});
                ASSERT_TRUE(store->append(std::move(b)).has_value());
                return;
            }
        FAIL() << "no removed member to add back";
    };
    w.run(700);
    add_back();
    const auto middle = store->head().position.value;
    w.run(500);
    add_back();
    const auto head = store->head().position.value;

    // The deferred directory from the first event (the threshold lowered so that a test-sized log takes that path).
    read_model bulk(read_model_options{.deferred_fold_at_least = 1});
    ASSERT_TRUE(bulk.catch_up(*store, eventstore::log_position{middle}).has_value());
    read_model one_by_one;
    apply_one_by_one(one_by_one, *store, middle);
    ASSERT_EQ(bulk.fingerprint(), one_by_one.fingerprint());
    EXPECT_EQ(searches(bulk, w.state()), searches(one_by_one, w.state()));
    bulk.read([&](const read_view& bv) {
        one_by_one.read([&](const read_view& ov) {
            ASSERT_NE(bv.history, nullptr);
            ASSERT_NE(ov.history, nullptr);
            EXPECT_EQ(*bv.history->encode(), *ov.history->encode());
        });
    });

    // Past the middle the bulk-folded model folds event by event (catch_up in chunks: it is no
    // longer empty), through the ranks and class sets its one filing built.
    ASSERT_TRUE(bulk.catch_up(*store).has_value());
    apply_one_by_one(one_by_one, *store, head);
    ASSERT_EQ(bulk.position().value, head);
    EXPECT_EQ(bulk.fingerprint(), one_by_one.fingerprint());
    EXPECT_EQ(searches(bulk, w.state()), searches(one_by_one, w.state()));

    // The workload reached the states that move rows between classes and in the list order.
    bool removed = false, retired = false, locked = false, registered = false, renamed = false;
    for (const auto& [id, a] : w.state().accounts) removed |= !a.removed.empty();
    for (const auto& [id, u] : w.state().users) {
        retired |= u.retired;
        locked |= u.locked();
        registered |= u.reg == domain::registration::registered;
        renamed |= u.name.starts_with("Renamed");
    }
    EXPECT_TRUE(removed && retired && locked && registered && renamed);
}

}  // namespace
}  // namespace roster::projections
