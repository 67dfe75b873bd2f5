// Issue 13 item 1: an account's history, the live stream's account= filter, /v1/events?account=
// and the export's account= filter list the same events, because all of them read the accounts
// an event names itself (domain::concerned). Checked over a random workload for every account.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "roster/api/live_hub.hpp"
#include "roster/projections/history_index.hpp"
#include "roster/replay/export.hpp"
#include "workload.hpp"

namespace roster::projections {
namespace {

using testing::temp_dir;

TEST(attribution, history_live_events_and_export_agree_for_every_account) {
    temp_dir dir;
    eventstore::store_options o;
    auto opened = eventstore::store::open(dir.path() / "db", o);
    ASSERT_TRUE(opened) << opened.error().message;
    auto& store = **opened;
    testing::workload w(store, 13);
    w.run(3000);

    history_index index;
    std::vector<eventstore::recorded_event> log;
    const domain::state unused;
    ASSERT_TRUE(store.read_from(eventstore::log_position{1}, SIZE_MAX, [&](const eventstore::recorded_event& e) {
        index.add(e, unused);
        log.push_back(e);
        return true;
    }));
    ASSERT_EQ(log.size(), store.head().position.value);

    std::size_t user_facts_in_accounts = 0;
    ASSERT_GE(w.state().accounts.size(), 2u);
    for (const auto& [id, account] : w.state().accounts) {
        history_page_request r{history_subject::account,        id.value,        eventstore::log_position{1},
                               eventstore::log_position::max(), all_event_types, SIZE_MAX - 1};
        const auto from_history = index.page(r).value();

        std::vector<eventstore::log_position> from_filter, from_live;
        const api::live_filter live{id.value, {}};
        for (const auto& e : log) {
            if (domain::concerns_account(e.payload, id.value)) {
                from_filter.push_back(e.position);
                if (std::holds_alternative<domain::user_locked>(e.payload) ||
                    std::holds_alternative<domain::profile_retired>(e.payload))
                    ++user_facts_in_accounts;
            }
            if (live.matches(e)) from_live.push_back(e.position);
        }

        std::vector<eventstore::log_position> from_export;
        replay::export_reader reader(store, replay::export_format::jsonl, eventstore::log_position{1},
                                     store.head().position, 97, 4096);
        reader.filter_account(id.value);
        std::string chunk;
        for (bool more = true; more;) {
            chunk.clear();
            auto r = reader.next(chunk);
            ASSERT_TRUE(r) << r.error().message;
            more = *r;
            for (std::size_t at = 0, nl; (nl = chunk.find('\n', at)) != std::string::npos; at = nl + 1)
                from_export.push_back(eventstore::log_position{
                    boost::json::parse(chunk.substr(at, nl - at)).at("position").to_number<std::uint64_t>()});
        }

        EXPECT_FALSE(from_history.empty()) << id.value;
        EXPECT_EQ(from_history, from_filter) << id.value;
        EXPECT_EQ(from_live, from_filter) << id.value;
        EXPECT_EQ(from_export, from_filter) << id.value;
    }
    // Not vacuous: user facts that name no account field of their own reach account histories.
    EXPECT_GT(user_facts_in_accounts, 0u);
}

}  // namespace
}  // namespace roster::projections
