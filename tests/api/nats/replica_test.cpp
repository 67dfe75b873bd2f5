// Issue 17, item 2: a read replica (`rosterd --follow`) folds the leader's JetStream stream into
// its own store and projections. Real nats-server processes, a real leader and replica: the
// replica ends with exactly the leader's log (same head hash, same bytes), serves reads,
// redirects commands, reports its lag, and survives NATS node, leader and replica kills. It
// verifies the leader's signed checkpoints against its own log and serves them and proofs itself.
#include <gtest/gtest.h>

#include <sstream>

#include "nats_fixture.hpp"
#include "roster/api/refusal_relay.hpp"
#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/store.hpp"
#include "roster/replay/backup.hpp"

namespace roster::test {
namespace {

namespace es = roster::eventstore;

es::hash256 hash_of(const json::value& v) {
    auto bytes = es::base64_decode(v.as_string()).value();
    es::hash256 h{};
    std::copy(bytes.begin(), bytes.end(), h.begin());
    return h;
}

std::string verifier_of(bearer_client& c) {
    auto r = c.get("/v1/audit/public-key");
    return r.status == 200u ? std::string(r.json().at("verifier_key").as_string()) : std::string();
}

// Waits until the replica serves the leader's current checkpoint; returns it (empty on timeout).
std::string wait_same_checkpoint(bearer_client& leader, bearer_client& replica) {
    std::string note;
    const bool same = wait_until([&] {
        auto theirs = leader.get("/v1/audit/checkpoint");
        auto mine = replica.get("/v1/audit/checkpoint");
        note = mine.body;
        return theirs.status == 200u && mine.status == 200u && theirs.body == mine.body;
    });
    return same ? note : std::string();
}

std::vector<std::string> replica_args(const std::vector<std::string>& urls, std::vector<std::string> more = {}) {
    std::vector<std::string> out;
    for (const auto& u : urls) {
        out.push_back("--follow");
        out.push_back(u);
    }
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

// The replica's own log lines (not the request lines), for failure messages.
std::string follower_log(const rosterd_process& p) {
    std::string out;
    const auto text = p.log_text();
    for (std::size_t at = 0, end; at < text.size(); at = end + 1) {
        end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        const auto line = text.substr(at, end - at);
        if (line.find("\"msg\":\"request\"") == std::string::npos) out += line + "\n";
    }
    return tail(out);
}

std::uint64_t applied(unsigned short port) {
    return static_cast<std::uint64_t>(metric(port, "roster_replica_applied_position").value_or(0));
}
std::uint64_t head_position(unsigned short port) {
    return static_cast<std::uint64_t>(metric(port, "roster_store_head_position").value_or(0));
}

// The stopped stores are the same log: same head, same hash, same bytes at every position.
void expect_same_log(const std::filesystem::path& leader, const std::filesystem::path& replica) {
    auto a = eventstore::store::open(eventstore::store_dir(leader), {.read_only = true});
    auto b = eventstore::store::open(eventstore::store_dir(replica), {.read_only = true});
    ASSERT_TRUE(a && b);
    ASSERT_GT((*a)->head().position.value, 0u);
    EXPECT_EQ((*a)->head().position, (*b)->head().position);
    EXPECT_EQ(eventstore::to_hex((*a)->head().hash), eventstore::to_hex((*b)->head().hash));
    std::vector<std::string> theirs;
    ASSERT_TRUE((*a)->read_raw_from(1, 1'000'000, [&](std::uint64_t, std::string_view v) {
        theirs.emplace_back(v);
        return true;
    }));
    std::size_t i = 0, differing = 0;
    ASSERT_TRUE((*b)->read_raw_from(1, 1'000'000, [&](std::uint64_t, std::string_view v) {
        if (i >= theirs.size() || theirs[i] != v) ++differing;
        ++i;
        return true;
    }));
    EXPECT_EQ(i, theirs.size());
    EXPECT_EQ(differing, 0u);
    EXPECT_TRUE((*b)->verify().ok);
}

TEST(replica, follows_the_leader_serves_reads_redirects_commands_reports_lag_and_resumes_after_kill) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto leader_data = dir.path() / "leader";
    const auto replica_data = dir.path() / "replica";
    rosterd_process leader(leader_data, nats_args({nats.url()}, {"--checkpoint-interval-ms", "200"}));
    const auto token = read_token(leader_data);
    {
        // Thousands of events before the replica exists: it starts empty and catches up.
        load l(leader.port(), token, 0);
        ASSERT_TRUE(wait_until([&] { return l.ok >= 1500; }, 30s));
    }
    http_client lh(leader.port());
    bearer_client op{lh, token};
    ASSERT_EQ(op.post("/v1/accounts", json::object{{"id", "acme"}, {"name", "Acme"}, {"kind", "customer"}}).status,
              201u);
    ASSERT_EQ(op.post("/v1/accounts/acme/users",
                      json::object{{"email", "ada@acme.com"}, {"name", "Ada"}, {"roles", json::object{}}})
                  .status,
              201u);
    ASSERT_TRUE(wait_published(leader.port()));
    const std::string leader_url = "http://127.0.0.1:" + std::to_string(leader.port());
    const auto leader_key = verifier_of(op);
    // A caller of another account, for the refusal a replica forwards to the leader.
    ASSERT_EQ(op.post("/v1/accounts", json::object{{"id", "globex"}, {"name", "Globex"}, {"kind", "customer"}}).status,
              201u);
    const auto gus_token = op.token_for(op.create_user("globex", "gus@globex.com", "Gus", json::object{}));
    ASSERT_TRUE(wait_published(leader.port()));
    const auto args = replica_args({nats.url()}, {"--leader-url", leader_url, "--follow-max-lag", "50", "--leader-key",
                                                  leader_key, "--replica-name", "replica-7"});
    {
        auto replica = std::make_unique<rosterd_process>(replica_data, args);
        const auto rp = replica->port();
        ASSERT_TRUE(wait_until([&] { return applied(rp) == head_position(leader.port()); })) << follower_log(*replica);
        http_client rh(rp);
        bearer_client rop{rh, token};  // the leader's operator token: an event of the log
        EXPECT_EQ(rh.request("GET", "/readyz").status, 200u);
        // It registers no token of its own: one would not work here, the leader's does.
        EXPECT_FALSE(std::filesystem::exists(replica_data / "operator.token"));
        EXPECT_EQ(metric(rp, "roster_replica_connected"), 1.0);
        EXPECT_EQ(metric(rp, "roster_replica_lag_events"), 0.0);

        // Reads: a profile, a search, a history, the audit verification.
        ASSERT_TRUE(wait_until(
            [&] { return rop.get("/v1/accounts/acme/users?q=ada").body.find("ada@acme.com") != std::string::npos; }));
        EXPECT_EQ(rop.get("/v1/accounts/acme").status, 200u);
        auto history = rop.get("/v1/accounts/acme/history");
        EXPECT_EQ(history.status, 200u);
        EXPECT_NE(history.body.find("user_created"), std::string::npos) << history.body;

        // A refusal on the replica goes on record in the leader's log (forwarded through NATS),
        // naming the replica, and comes back to the replica with the log.
        bearer_client gus{rh, gus_token};
        EXPECT_EQ(gus.get("/v1/accounts/acme").status, 404u);  // hides acme from another tenant
        auto refusal_on = [&](bearer_client& c) {
            auto r = c.get("/v1/events?type=access_denied&account=acme&limit=1000");
            return r.status == 200u && r.body.find("read replica replica-7") != std::string::npos &&
                   r.body.find("GET /v1/accounts/{a}") != std::string::npos;
        };
        EXPECT_TRUE(wait_until([&] { return refusal_on(op); }, 10s))
            << follower_log(*replica) << tail(leader.log_text());
        EXPECT_TRUE(wait_until([&] { return refusal_on(rop); }, 10s)) << follower_log(*replica);
        EXPECT_EQ(metric(rp, "roster_refusals_forwarded_total"), 1.0);
        EXPECT_EQ(metric(leader.port(), "roster_replica_refusals_recorded_total"), 1.0);
        {
            // Garbage on the refusal stream is acknowledged and counted, never an event.
            stream_reader planter({nats.url()});
            const std::string id = "refusal:evil:" + std::string(32, 'a');
            ASSERT_TRUE(planter.publish("roster.refusals.evil", "{not json", {{"Nats-Msg-Id", id + "0"}}));
            ASSERT_TRUE(planter.publish("roster.refusals.evil", R"({"subject":"operator","status":200})",
                                        {{"Nats-Msg-Id", "refusal:evil:" + std::string(32, 'b')}}));
            EXPECT_TRUE(wait_until(
                [&] { return metric(leader.port(), "roster_replica_refusals_malformed_total") == 2.0; }, 10s));
            EXPECT_EQ(op.get("/v1/events?type=access_denied&limit=1000").body.find("read replica evil"),
                      std::string::npos);
        }

        auto verify = rop.get("/v1/audit/verify");
        ASSERT_EQ(verify.status, 200u) << verify.body;
        EXPECT_TRUE(verify.json().at("ok").as_bool());
        EXPECT_EQ(static_cast<std::uint64_t>(verify.json().at("checked").as_int64()), head_position(leader.port()));

        // Commands: 307 to the leader, same target; nothing written here.
        const auto before = applied(rp);
        auto cmd = rop.post("/v1/accounts", json::object{{"id", "b"}, {"name", "B"}, {"kind", "customer"}});
        EXPECT_EQ(cmd.status, 307u) << cmd.body;
        EXPECT_EQ(cmd.header("location"), leader_url + "/v1/accounts");
        EXPECT_EQ(cmd.json().at("type").as_string(), "urn:roster:problem:read_replica");
        EXPECT_EQ(rop.get("/v1/audit/evidence?account=acme").status, 307u);  // only the leader signs
        EXPECT_EQ(rop.get("/v1/audit/signing-key/rotations").status, 307u);
        // A POST that changes nothing in the log is answered here: a ticket for its own stream.
        EXPECT_EQ(rop.post("/v1/stream/tickets", json::object{}).status, 201u);
        EXPECT_EQ(applied(rp), before);

        // Evidence from its own log: the leader's checkpoint byte for byte, verified with the
        // leader's key, and an inclusion proof computed here that verifies against it.
        const auto note = wait_same_checkpoint(op, rop);
        ASSERT_FALSE(note.empty()) << follower_log(*replica);
        const auto key = es::verifier_key::parse(leader_key).value();
        const auto cp = es::open_checkpoint(note, std::span(&key, 1));
        ASSERT_TRUE(cp) << note;
        EXPECT_TRUE(wait_until([&] { return metric(rp, "roster_replica_verified_size") == double(cp->size); }));
        EXPECT_EQ(verifier_of(rop), leader_key);
        auto proof = rop.get("/v1/audit/proof/inclusion?position=3&tree_size=" + std::to_string(cp->size));
        ASSERT_EQ(proof.status, 200u) << proof.body;
        std::vector<es::hash256> path;
        const auto proof_body = proof.json();
        for (const auto& h : proof_body.at("hashes").as_array()) path.push_back(hash_of(h));
        EXPECT_TRUE(es::verify_inclusion(hash_of(proof_body.at("leaf_hash")), 2, cp->size, path, cp->root));
        EXPECT_EQ(rop.get("/v1/audit/proof/inclusion?position=1&tree_size=" + std::to_string(cp->size + 1)).status,
                  400u);  // beyond what it verified
        EXPECT_EQ(metric(rp, "roster_replica_checkpoint_unverified"), 0.0);

        // A key rotation on the leader: the replica verifies with the key the log names.
        auto rotated = op.post("/v1/audit/signing-key/rotations", json::object{{"reason", "yearly"}});
        ASSERT_EQ(rotated.status, 201u) << rotated.body;
        const std::string new_key(rotated.json().at("verifier_key").as_string());
        ASSERT_NE(new_key, leader_key);
        EXPECT_TRUE(wait_until([&] { return verifier_of(rop) == new_key; })) << follower_log(*replica);
        EXPECT_FALSE(wait_same_checkpoint(op, rop).empty()) << follower_log(*replica);

        // Live: a command on the leader appears on the replica.
        ASSERT_EQ(op.post("/v1/accounts", json::object{{"id", "live"}, {"name", "L"}, {"kind", "customer"}}).status,
                  201u);
        EXPECT_TRUE(wait_until([&] { return rop.get("/v1/accounts/live").status == 200u; }));

        // kill -9 and restart: resumes at its own head, no gap, no refusal.
        replica->kill_hard();
        replica.reset();
        {
            load l(leader.port(), token, 100'000);
            ASSERT_TRUE(wait_until([&] { return l.ok >= 200; }));
        }
        replica = std::make_unique<rosterd_process>(replica_data, args);
        ASSERT_TRUE(wait_until([&] { return applied(replica->port()) == head_position(leader.port()); }))
            << follower_log(*replica);
        EXPECT_EQ(metric(replica->port(), "roster_replica_stopped"), 0.0);

        // NATS down while the leader writes: the replica's lag is unknown, it is not ready.
        nats.kill_hard();
        http_client rh2(replica->port());
        EXPECT_TRUE(wait_until([&] { return rh2.request("GET", "/readyz").status == 503u; }));
        EXPECT_NE(rh2.request("GET", "/readyz").body.find("not connected"), std::string::npos);
        EXPECT_EQ(open_accounts(leader.port(), token, 200'000, 200'100), 100u);
        nats.start();
        ASSERT_TRUE(wait_published(leader.port()));
        EXPECT_TRUE(wait_until([&] { return applied(replica->port()) == head_position(leader.port()); }))
            << follower_log(*replica);
        EXPECT_TRUE(wait_until([&] { return rh2.request("GET", "/readyz").status == 200u; }));
        EXPECT_EQ(replica->terminate(), 0);
    }
    EXPECT_EQ(leader.terminate(), 0);
    expect_same_log(leader_data, replica_data);
}

TEST(replica, starts_from_a_restored_backup_and_takes_only_the_rest_from_the_stream) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto leader_data = dir.path() / "leader";
    const auto replica_data = dir.path() / "replica";
    const auto backups = dir.path() / "backups";
    std::filesystem::create_directories(backups);
    rosterd_process leader(leader_data, nats_args({nats.url()}, {"--backup-dir", backups.string()}));
    const auto token = read_token(leader_data);
    http_client lh(leader.port());
    bearer_client op{lh, token};
    {
        load l(leader.port(), token, 0);
        ASSERT_TRUE(wait_until([&] { return l.ok >= 300; }, 30s));
    }
    ASSERT_EQ(op.post("/v1/admin/backup", json::object{{"to", (backups / "b1").string()}}).status, 201u);
    {
        load l(leader.port(), token, 100'000);
        ASSERT_TRUE(wait_until([&] { return l.ok >= 200; }, 30s));
    }
    ASSERT_TRUE(wait_published(leader.port()));
    std::ostringstream out, err;
    ASSERT_EQ(replay::run_restore(backups / "b1", replica_data, false, out, err), 0) << err.str();
    std::uint64_t restored = 0;
    {
        auto s = es::store::open(es::store_dir(replica_data), {.read_only = true});
        ASSERT_TRUE(s);
        restored = (*s)->head().position.value;
    }
    ASSERT_GE(restored, 300u);
    ASSERT_LT(restored, head_position(leader.port()));

    // The replica subscribes from the backup's head + 1, not from the start of the stream.
    rosterd_process replica(replica_data, replica_args({nats.url()}));
    const auto head = head_position(leader.port());
    ASSERT_TRUE(wait_until([&] { return applied(replica.port()) == head; }, 30s)) << follower_log(replica);
    ASSERT_TRUE(replica.wait_for_log("\"msg\":\"replica_following\"")) << follower_log(replica);
    const auto text = replica.log_text();
    const auto line_at = text.find("\"msg\":\"replica_following\"");
    ASSERT_NE(line_at, std::string::npos) << follower_log(replica);
    const auto line = text.substr(line_at, text.find('\n', line_at) - line_at);
    EXPECT_NE(line.find("\"from\":" + std::to_string(restored + 1)), std::string::npos) << line;
    EXPECT_EQ(replica.terminate(), 0);
    EXPECT_EQ(leader.terminate(), 0);
    expect_same_log(leader_data, replica_data);
}

TEST(replica, a_node_and_the_leader_killed_under_load_leave_the_replica_with_the_leaders_log) {
    temp_dir dir;
    nats_cluster cluster(dir.path() / "cluster");
    const auto leader_data = dir.path() / "leader";
    const auto replica_data = dir.path() / "replica";
    const auto leader_args = nats_args(cluster.urls(), {"--nats-replicas", "3", "--checkpoint-interval-ms", "300"});
    auto leader = std::make_unique<rosterd_process>(leader_data, leader_args);
    const auto token = read_token(leader_data);
    rosterd_process replica(replica_data, replica_args(cluster.urls()));
    std::optional<stream_watcher> watcher;
    {
        load l(leader->port(), token, 0);
        ASSERT_TRUE(wait_until([&] { return metric(leader->port(), "roster_nats_published_position") >= 100.0; }, 40s));
        watcher.emplace(cluster.urls());
        cluster.node(0).kill_hard();
        const auto at_kill = head_position(leader->port());
        ASSERT_TRUE(wait_until([&] { return applied(replica.port()) >= at_kill + 100; }, 40s)) << follower_log(replica);
        leader->kill_hard();
    }
    leader = std::make_unique<rosterd_process>(leader_data, leader_args);
    cluster.node(0).start();
    {
        load l(leader->port(), token, 100'000);
        ASSERT_TRUE(wait_until([&] { return l.ok >= 200; }, 40s));
    }
    ASSERT_TRUE(wait_published(leader->port())) << tail(leader->log_text());
    const auto head = head_position(leader->port());
    EXPECT_TRUE(wait_until([&] { return applied(replica.port()) == head; }, 40s)) << follower_log(replica);
    EXPECT_TRUE(wait_until([&] { return watcher->highest() == head; }, 40s));
    EXPECT_EQ(watcher->duplicates(), 0u);
    EXPECT_EQ(watcher->distinct(), head);
    watcher.reset();
    EXPECT_EQ(metric(replica.port(), "roster_replica_stopped"), 0.0);
    // No --leader-key and no rotation in the log: the leader's checkpoints arrive but stay
    // unverified (not served), and the replica keeps serving reads.
    EXPECT_TRUE(wait_until([&] { return metric(replica.port(), "roster_replica_checkpoint_unverified") == 1.0; }));
    EXPECT_EQ(metric(replica.port(), "roster_replica_verified_size"), 0.0);
    EXPECT_TRUE(replica.wait_for_log("leader checkpoints unverified"));
    EXPECT_EQ(replica.terminate(), 0);
    EXPECT_EQ(leader->terminate(), 0);
    expect_same_log(leader_data, replica_data);
}

TEST(replica, a_message_that_does_not_chain_stops_the_replica_loudly) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto leader_data = dir.path() / "leader";
    rosterd_process leader(leader_data, nats_args({nats.url()}));
    const auto token = read_token(leader_data);
    EXPECT_EQ(open_accounts(leader.port(), token, 0, 5), 5u);
    ASSERT_TRUE(wait_published(leader.port()));
    EXPECT_EQ(leader.terminate(), 0);
    // Position L+1 as the leader would publish it, but a copy of position L's envelope: it does not chain.
    stream_reader reader({nats.url()});
    const auto last = *reader.last_sequence("ROSTER_EVENTS");
    auto copied = reader.get("ROSTER_EVENTS", last);
    const auto next = std::to_string(last + 1);
    auto headers = std::map<std::string, std::string>{{"Nats-Msg-Id", origin + ":" + next},
                                                      {"Roster-Position", next},
                                                      {"Roster-Type", copied.headers["Roster-Type"]}};
    ASSERT_TRUE(reader.publish(copied.subject, copied.data, headers));

    rosterd_process replica(dir.path() / "replica", replica_args({nats.url()}));
    http_client rh(replica.port());
    ASSERT_TRUE(wait_until([&] { return metric(replica.port(), "roster_replica_stopped") == 1.0; }))
        << follower_log(replica) << " applied " << applied(replica.port()) << " lag "
        << *metric(replica.port(), "roster_replica_lag_events");
    EXPECT_EQ(applied(replica.port()), last);  // everything before it, nothing of it
    auto ready = rh.request("GET", "/readyz");
    EXPECT_EQ(ready.status, 503u);
    EXPECT_NE(ready.body.find("stopped following"), std::string::npos) << ready.body;
    EXPECT_TRUE(replica.wait_for_log("replica_stopped"));
}

// A checkpoint whose root is not the replica's own at that size, or that the leader's key did
// not sign, stops the follower as a message that does not chain would.
TEST(replica, a_leader_checkpoint_with_another_root_or_key_stops_the_replica_loudly) {
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const auto leader_data = dir.path() / "leader";
    std::string leader_key;
    stream_reader reader({nats.url()});
    {
        rosterd_process leader(leader_data, nats_args({nats.url()}, {"--checkpoint-interval-ms", "100"}));
        const auto token = read_token(leader_data);
        EXPECT_EQ(open_accounts(leader.port(), token, 0, 5), 5u);
        ASSERT_TRUE(wait_published(leader.port()));
        http_client lh(leader.port());
        bearer_client op{lh, token};
        leader_key = verifier_of(op);
        ASSERT_TRUE(wait_until([&] { return reader.last_sequence("ROSTER_EVENTS_CHECKPOINTS").value_or(0) > 0; }));
        EXPECT_EQ(leader.terminate(), 0);
    }
    const auto head = *reader.last_sequence("ROSTER_EVENTS");
    // The latest checkpoint (a replica starts from it): the head's size, a root of zeros.
    auto forger = es::signing_key::generate(origin).value();
    const es::checkpoint forged{origin, head, es::hash256{}, {"timestamp 1"}};
    ASSERT_TRUE(reader.publish("roster.checkpoints.forged", es::sign_checkpoint(forged, forger).value(), {}));

    const auto expect_stopped = [&](const std::string& name, const std::string& key, const std::string& why) {
        rosterd_process replica(dir.path() / name, replica_args({nats.url()}, {"--leader-key", key}));
        ASSERT_TRUE(wait_until([&] { return metric(replica.port(), "roster_replica_stopped") == 1.0; }))
            << follower_log(replica);
        http_client rh(replica.port());
        auto ready = rh.request("GET", "/readyz");
        EXPECT_EQ(ready.status, 503u);
        EXPECT_NE(ready.body.find(why), std::string::npos) << ready.body;
        EXPECT_TRUE(replica.wait_for_log("replica_stopped"));
        EXPECT_EQ(metric(replica.port(), "roster_replica_verified_size"), 0.0);
    };
    // Signed with the key the replica was given, but the root is not its log's.
    expect_stopped("wrong-root", forger.verifier().to_string(), "this replica's log has");
    // Checked with the leader's key: another key signed it.
    expect_stopped("wrong-key", leader_key, "does not verify with the leader's key");
}

// A record the leader already holds is acknowledged, not recorded again, when NATS delivers it
// once more to a restarted leader, as after a crash between its commit and its acknowledgement.
// The refusal stream's duplicate window is made short, so that JetStream's own deduplication has
// forgotten the message id by then: only the leader's read-back of its log can know it.
TEST(refusal_relay, a_record_already_on_record_is_acknowledged_not_recorded_again) {
    using namespace roster::domain;
    temp_dir dir;
    nats_server nats(dir.path() / "nats");
    const std::string refusals = api::nats_refusal_stream("ROSTER_EVENTS");
    stream_reader planter({nats.url()});
    ASSERT_TRUE(planter.add_stream(refusals, 1, "roster.refusals.>", [](jsStreamConfig& cfg) {
        cfg.Retention = js_WorkQueuePolicy;
        cfg.Duplicates = std::chrono::nanoseconds(200ms).count();
    }));
    const timestamp at{std::chrono::microseconds{1'700'000'000'000'000}};
    eventstore::event_metadata meta;
    meta.actor = {"user:usr_gus", "tok_1", "127.0.0.1"};
    meta.request_id = meta.correlation_id = "req-1";
    const auto body = api::encode_refusal(access_denied{user_principal{user_id{"usr_gus"}}, "GET /v1/accounts/{a}",
                                                        account_id{"acme"}, "account_not_found", "", 404, 1, at, at},
                                          meta);
    const std::string id = "refusal:replica-9:" + std::string(32, 'c');
    const auto data = dir.path() / "leader";
    auto on_record = [&](unsigned short port) {
        http_client c(port);
        bearer_client op{c, read_token(data)};
        const auto events = op.get("/v1/events?type=access_denied&limit=1000").body;
        std::size_t n = 0;
        for (auto i = events.find(id); i != std::string::npos; i = events.find(id, i + 1)) ++n;
        return n;
    };
    {
        rosterd_process leader(data, nats_args({nats.url()}));
        ASSERT_TRUE(planter.publish("roster.refusals.replica-9", body, {{"Nats-Msg-Id", id}}));
        ASSERT_TRUE(wait_until([&] { return metric(leader.port(), "roster_replica_refusals_recorded_total") == 1.0; }))
            << tail(leader.log_text());
        EXPECT_EQ(on_record(leader.port()), 1u);
        leader.kill_hard();  // acknowledged before the kill: the stream holds nothing more
    }
    std::this_thread::sleep_for(400ms);  // past the stream's duplicate window
    rosterd_process leader(data, nats_args({nats.url()}));
    ASSERT_TRUE(planter.publish("roster.refusals.replica-9", body, {{"Nats-Msg-Id", id}}));
    EXPECT_EQ(planter.last_sequence(refusals), 2u);  // JetStream took it again: the leader must know it
    ASSERT_TRUE(wait_until([&] { return metric(leader.port(), "roster_replica_refusals_duplicate_total") == 1.0; }))
        << tail(leader.log_text());
    EXPECT_EQ(metric(leader.port(), "roster_replica_refusals_recorded_total"), 0.0);
    EXPECT_EQ(on_record(leader.port()), 1u);
}

// What a replica forwards is what the leader records; what a forged message adds is never on record.
TEST(refusal_relay, a_record_survives_the_wire_and_a_forged_one_is_refused) {
    using namespace roster::domain;
    const timestamp at{std::chrono::microseconds{1'700'000'000'000'000}};
    access_denied record{user_principal{user_id{"usr_gus"}},
                         "GET /v1/accounts/{a}",
                         account_id{"acme"},
                         "account_not_found",
                         "",
                         404,
                         3,
                         at,
                         at + std::chrono::seconds(2)};
    eventstore::event_metadata meta;
    meta.actor = {"user:usr_gus", "tok_1", "127.0.0.1"};
    meta.request_id = meta.correlation_id = "req-1";
    const auto body = api::encode_refusal(record, meta);
    auto back = api::decode_refusal(body);
    ASSERT_TRUE(back) << body;
    EXPECT_EQ(back->record, record);
    EXPECT_EQ(back->meta, meta);

    auto forged = [&](std::string_view field, json::value v) {
        auto o = json::parse(body).as_object();
        o[field] = std::move(v);
        return api::decode_refusal(json::serialize(o)).has_value();
    };
    EXPECT_TRUE(forged("target", "usr_ada"));
    EXPECT_FALSE(forged("subject", "root"));
    EXPECT_FALSE(forged("subject", "user:../x"));
    EXPECT_FALSE(forged("status", 200));
    EXPECT_FALSE(forged("count", 0));
    EXPECT_FALSE(forged("account", "acme\n{\"x\":1}"));
    EXPECT_FALSE(forged("target", json::string(std::string(300, 'a'))));
    EXPECT_FALSE(forged("action", "GET \x1b[31m"));
    EXPECT_FALSE(forged("first_at", "yesterday"));
    EXPECT_FALSE(api::decode_refusal("[1,2]"));
    EXPECT_FALSE(api::decode_refusal(std::string(10'000, ' ')));

    EXPECT_TRUE(api::is_refusal_message_id("refusal:replica-7:" + std::string(32, 'f')));
    EXPECT_FALSE(api::is_refusal_message_id("refusal:replica-7:" + std::string(31, 'f')));
    EXPECT_FALSE(api::is_refusal_message_id("refusal:a b:" + std::string(32, 'f')));
    EXPECT_FALSE(api::is_refusal_message_id("other:replica:" + std::string(32, 'f')));
}

}  // namespace
}  // namespace roster::test
