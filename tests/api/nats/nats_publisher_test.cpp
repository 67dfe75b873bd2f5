// Issue 17, item 1: rosterd publishes every committed event to JetStream exactly once per log
// position, through NATS and rosterd outages. Real nats-server processes on loopback ports (a
// three-node cluster for the node kill), a real rosterd, and at the end the stream compared with
// the stopped store message by message: sequence = position, subject, headers, envelope bytes.
#include <atomic>
#include <set>
#include <span>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "nats_fixture.hpp"
#include "roster/api/nats_publisher.hpp"
#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/store.hpp"
#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// The stopped store at `data_dir` against the stream: exactly one message per position, in
// order, each the right subject, headers and the stored envelope bytes.
void expect_stream_is_the_log(const std::filesystem::path& data_dir, const std::vector<std::string>& urls,
                              const std::string& stream = "ROSTER_EVENTS") {
    auto store = eventstore::store::open(eventstore::store_dir(data_dir), {.read_only = true});
    ASSERT_TRUE(store) << store.error().message;
    const auto head = (*store)->head().position.value;
    stream_reader reader(urls);
    ASSERT_EQ(reader.last_sequence(stream), head);
    std::uint64_t seen = 0;
    const bool failed_before = ::testing::Test::HasFailure();
    auto r = (*store)->read_raw_from(1, head, [&](std::uint64_t position, std::string_view raw) {
        auto e = eventstore::decode_envelope(raw);
        EXPECT_TRUE(e);
        auto m = reader.get(stream, position);
        const auto p = std::to_string(position);
        EXPECT_EQ(m.headers["Roster-Position"], p);
        EXPECT_EQ(m.headers["Nats-Msg-Id"], origin + ":" + p);
        EXPECT_EQ(m.headers["Roster-Type"], e->type);
        EXPECT_EQ(m.headers["Roster-Hash"], eventstore::to_hex(e->hash));
        const auto expected = api::build_nats_message(*e, raw, origin);
        EXPECT_EQ(m.subject, expected.subject);
        const auto body = json::parse(m.data).as_object();
        EXPECT_EQ(body.at("position").as_int64(), static_cast<std::int64_t>(position));
        EXPECT_EQ(body.at("event").at("hash").as_string(), eventstore::to_hex(e->hash));
        EXPECT_EQ(body.at("envelope").as_string(), eventstore::base64_encode(std::span<const std::uint8_t>(
                                                       reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size())));
        ++seen;
        return failed_before || !::testing::Test::HasFailure();  // one bad message is enough to read
    });
    ASSERT_TRUE(r);
    EXPECT_EQ(seen, head);
}

TEST(nats_publisher, subject_tokens_cannot_add_tokens_or_wildcards) {
    EXPECT_EQ(api::nats_subject_token("acme-1"), "acme-1");
    EXPECT_EQ(api::nats_subject_token("a.b*c>d %"), "a%2Eb%2Ac%3Ed%20%25");
}

TEST(nats_publisher, publishes_every_event_once_in_order_with_subject_headers_and_envelope) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto data = dir.path() / "data";
    {
        rosterd_process server(data, nats_args({nats.url()}));
        const auto token = read_token(data);
        EXPECT_EQ(open_accounts(server.port(), token, 0, 40), 40u);
        ASSERT_TRUE(wait_published(server.port()));
        EXPECT_EQ(metric(server.port(), "roster_nats_connected"), 1.0);
        EXPECT_EQ(metric(server.port(), "roster_nats_publish_errors_total"), 0.0);
        http_client http(server.port());
        EXPECT_EQ(http.request("GET", "/readyz").status, 200u);
        // The account's events go to roster.events.<account>.<type>.
        stream_reader reader({nats.url()});
        const auto last = *reader.last_sequence("ROSTER_EVENTS");
        EXPECT_EQ(reader.get("ROSTER_EVENTS", last).subject, "roster.events.a39.account_opened");
        EXPECT_EQ(server.terminate(), 0);
    }
    expect_stream_is_the_log(data, {nats.url()});
}

TEST(nats_publisher, nats_killed_during_load_and_restarted_leaves_no_gap_and_no_duplicate) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto data = dir.path() / "data";
    rosterd_process server(data, nats_args({nats.url()}));
    const auto token = read_token(data);
    {
        load l(server.port(), token, 0);
        ASSERT_TRUE(wait_until([&] { return l.ok >= 100; }));
        nats.kill_hard();
        // Commands do not wait for NATS.
        const auto before = l.ok.load();
        ASSERT_TRUE(wait_until([&] { return l.ok >= before + 100; }, 10s));
        EXPECT_TRUE(wait_until([&] { return metric(server.port(), "roster_nats_connected") == 0.0; }));
        // Down long enough for the client to give up on what was in flight.
        std::this_thread::sleep_for(1500ms);
        EXPECT_GT(*metric(server.port(), "roster_nats_lag_events"), 100.0);
        nats.start();
        ASSERT_TRUE(wait_until([&] { return l.ok >= before + 300; }));
    }
    ASSERT_TRUE(wait_published(server.port()));
    EXPECT_EQ(metric(server.port(), "roster_nats_connected"), 1.0);
    EXPECT_EQ(server.terminate(), 0);
    expect_stream_is_the_log(data, {nats.url()});
}

TEST(nats_publisher, rosterd_killed_mid_load_resumes_from_the_stream_without_gap_or_duplicate) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto data = dir.path() / "data";
    {
        rosterd_process server(data, nats_args({nats.url()}));
        const auto token = read_token(data);
        load l(server.port(), token, 0);
        ASSERT_TRUE(wait_until([&] { return l.ok >= 300; }));
        server.kill_hard();
    }
    {
        rosterd_process server(data, nats_args({nats.url()}));
        const auto token = read_token(data);
        EXPECT_EQ(open_accounts(server.port(), token, 0, 20), 20u);
        ASSERT_TRUE(wait_published(server.port()));
        EXPECT_EQ(server.terminate(), 0);
    }
    expect_stream_is_the_log(data, {nats.url()});
}

TEST(nats_publisher, a_cluster_node_killed_during_load_leaves_no_gap_and_no_duplicate) {
    temp_dir dir;
    nats_cluster cluster(dir.path() / "cluster");
    const auto data = dir.path() / "data";
    rosterd_process server(data, nats_args(cluster.urls(), {"--nats-replicas", "3"}));
    const auto token = read_token(data);
    {
        load l(server.port(), token, 0);
        // The cluster elects its meta leader before the stream can be created.
        ASSERT_TRUE(wait_until([&] { return metric(server.port(), "roster_nats_published_position") >= 100.0; }));
        // The first URL is the server rosterd most likely talks to.
        cluster.node(0).kill_hard();
        // Two of three keep the stream going: publishing goes on while the node is down.
        const auto at_kill = *metric(server.port(), "roster_store_head_position");
        // A new stream leader may take a few seconds to be elected.
        ASSERT_TRUE(
            wait_until([&] { return metric(server.port(), "roster_nats_published_position") >= at_kill + 200; }, 40s))
            << tail(server.log_text());
        cluster.node(0).start();
        const auto at_restart = *metric(server.port(), "roster_store_head_position");
        ASSERT_TRUE(
            wait_until([&] { return metric(server.port(), "roster_nats_published_position") >= at_restart; }, 40s))
            << tail(server.log_text());
    }
    ASSERT_TRUE(wait_published(server.port())) << tail(server.log_text());
    EXPECT_EQ(server.terminate(), 0);
    EXPECT_EQ(stream_reader(cluster.urls()).replicas("ROSTER_EVENTS"), 3);
    expect_stream_is_the_log(data, cluster.urls());
}

TEST(nats_publisher, a_stream_holding_another_log_is_refused_loudly) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    stream_reader reader({nats.url()});
    ASSERT_TRUE(reader.add_stream("ROSTER_EVENTS", 1));
    // Another log's first event: position 1 with a hash this log does not have.
    ASSERT_TRUE(reader.publish("roster.events._system.token_issued", "{}",
                               {{"Roster-Position", "1"}, {"Roster-Hash", std::string(64, '0')}}));
    const auto data = dir.path() / "data";
    rosterd_process server(data, nats_args({nats.url()}));
    const auto token = read_token(data);
    EXPECT_EQ(open_accounts(server.port(), token, 0, 5), 5u);  // commands still work
    ASSERT_TRUE(wait_until([&] {
        http_client http(server.port());
        return http.request("GET", "/readyz").status == 503;
    }));
    http_client http(server.port());
    const auto why = http.request("GET", "/readyz").body;
    EXPECT_NE(why.find("holds another log"), std::string::npos) << why;
    EXPECT_GT(*metric(server.port(), "roster_nats_publish_errors_total"), 0.0);
    EXPECT_TRUE(server.wait_for_log("nats_publisher_stopped"));
    EXPECT_EQ(reader.last_sequence("ROSTER_EVENTS"), 1u);  // nothing was added to it
}

TEST(nats_publisher, the_stream_behind_the_cursor_is_refused_loudly) {
    temp_dir dir;
    const auto data = dir.path() / "data";
    {
        nats_server nats(dir.path() / "nats1");
        rosterd_process server(data, nats_args({nats.url()}));
        EXPECT_EQ(open_accounts(server.port(), read_token(data), 0, 10), 10u);
        ASSERT_TRUE(wait_published(server.port()));
        EXPECT_EQ(server.terminate(), 0);  // writes the cursor
    }
    // The stream is gone (a fresh server): republishing from 1 would hide the loss.
    nats_server nats(dir.path() / "nats2");
    rosterd_process server(data, nats_args({nats.url()}));
    ASSERT_TRUE(wait_until([&] {
        http_client http(server.port());
        return http.request("GET", "/readyz").status == 503;
    }));
    http_client http(server.port());
    const auto why = http.request("GET", "/readyz").body;
    EXPECT_NE(why.find("lost or purged"), std::string::npos) << why;
    stream_reader reader({nats.url()});
    EXPECT_EQ(reader.last_sequence("ROSTER_EVENTS"), 0u);
}

TEST(nats_publisher, rosterd_without_nats_does_nothing_with_nats) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto data = dir.path() / "data";
    rosterd_process server(data);
    EXPECT_EQ(open_accounts(server.port(), read_token(data), 0, 5), 5u);
    EXPECT_EQ(metric(server.port(), "roster_nats_connected"), std::nullopt);
    std::this_thread::sleep_for(300ms);
    stream_reader reader({nats.url()});
    EXPECT_EQ(reader.last_sequence("ROSTER_EVENTS"), std::nullopt);
}

}  // namespace
}  // namespace roster::test
