// rosterctl's compliance commands on a data directory (called as functions; main only parses).
#include "roster/replay/cli.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>
#include <sstream>

#include <unistd.h>

namespace roster::replay {
namespace {

namespace json = boost::json;
using namespace roster::domain;

class cli_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("roster-cli-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(dir_);
        auto s = eventstore::store::open(eventstore::store_dir(dir_));
        ASSERT_TRUE(s.has_value());
        const account_id acme{"acme"};
        std::vector<event> events{account_opened{acme, "Acme", account_kind::customer}};
        for (int i = 0; i < 20; ++i) {
            user_id u{"u" + std::to_string(i)};
            events.push_back(user_created{u, *email::parse("u" + std::to_string(i) + "@acme.com"),
                                          "User " + std::to_string(i), acme});
            events.push_back(member_added{acme, u, membership_type::employee});
            events.push_back(roles_granted{acme, u, role_set::of({role::support_admin})});
        }
        events.push_back(user_locked{user_id{"u3"}, {acme}});  // position 62: names the account it concerns
        events.push_back(
            member_removed{acme, user_id{"u4"}, membership_type::employee, role_set::of({role::support_admin}), false});
        for (auto& e : events) {
            eventstore::append_batch b;
            eventstore::new_event n{e, std::nullopt, {}};
            n.meta.actor.principal = "operator";
            n.meta.reason = "why, \"because\"";
            b.events.push_back(std::move(n));
            ASSERT_TRUE((*s)->append(std::move(b)).has_value());
        }
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
    std::ostringstream out_, err_;
};

TEST_F(cli_test, verify_reports_every_event) {
    EXPECT_EQ(run_verify_progress(dir_, 1, UINT64_MAX, out_, err_), 0) << err_.str();
    auto v = json::parse(out_.str());
    EXPECT_TRUE(v.at("ok").as_bool());
    EXPECT_EQ(v.at("checked").as_int64(), 63);
}

TEST_F(cli_test, history_selects_like_the_api) {
    history_cli_request r;
    r.account = "acme";
    r.types = "user_locked,member_removed";
    EXPECT_EQ(run_history(dir_, r, out_, err_), 0) << err_.str();
    std::istringstream lines(out_.str());
    std::string line;
    std::vector<std::int64_t> positions;
    while (std::getline(lines, line)) positions.push_back(json::parse(line).at("position").as_int64());
    EXPECT_EQ(positions, (std::vector<std::int64_t>{62, 63}));
    history_cli_request bad;
    EXPECT_EQ(run_history(dir_, bad, out_, err_), 64);
}

TEST_F(cli_test, as_of_shows_the_account_then) {
    EXPECT_EQ(run_as_of(dir_, {"61", "acme", ""}, out_, err_), 0) << err_.str();
    auto then = json::parse(out_.str());
    EXPECT_EQ(then.at("users").as_array().size(), 20u);
    for (const auto& u : then.at("users").as_array()) EXPECT_FALSE(u.at("removed").as_bool());
    std::ostringstream now;
    EXPECT_EQ(run_as_of(dir_, {"63", "acme", "u4"}, now, err_), 0) << err_.str();
    EXPECT_TRUE(json::parse(now.str()).at("user").at("removed").as_bool());
    EXPECT_EQ(run_as_of(dir_, {"64", "acme", ""}, out_, err_), 64);  // beyond the head
    EXPECT_EQ(run_as_of(dir_, {"0", "acme", ""}, out_, err_), 1);    // no account yet
}

TEST_F(cli_test, export_writes_csv_with_quoting) {
    EXPECT_EQ(run_export(dir_, export_format::csv, "61", "62", out_, err_), 0) << err_.str();
    EXPECT_EQ(out_.str().substr(out_.str().find("\r\n") + 2, 3), "61,");
    EXPECT_NE(out_.str().find("\"why, \"\"because\"\"\""), std::string::npos);
    EXPECT_EQ(out_.str().find("\r\n63,"), std::string::npos);
}

// Positions 1..4: account_opened (no OCSF class: no line), user_created, member_added, roles_granted;
// 62, 63: user_locked, member_removed.
TEST_F(cli_test, export_writes_ocsf_lines_of_the_mapped_events_only) {
    EXPECT_EQ(run_export(dir_, export_format::ocsf, "1", "4", out_, err_), 0) << err_.str();
    std::istringstream lines(out_.str());
    std::string line;
    std::vector<std::int64_t> type_uids, sequences;
    while (std::getline(lines, line)) {
        auto o = json::parse(line);
        type_uids.push_back(o.at("type_uid").as_int64());
        sequences.push_back(o.at("metadata").at("sequence").as_int64());
    }
    EXPECT_EQ(type_uids, (std::vector<std::int64_t>{300101, 300101, 300107}));
    EXPECT_EQ(sequences, (std::vector<std::int64_t>{2, 3, 4}));
    std::ostringstream tail;
    EXPECT_EQ(run_export(dir_, export_format::ocsf, "62", "", tail, err_), 0) << err_.str();
    EXPECT_NE(tail.str().find("\"type_uid\":300109"), std::string::npos) << tail.str();
    EXPECT_NE(tail.str().find("\"type_uid\":300106"), std::string::npos) << tail.str();
    EXPECT_EQ(run_export(dir_, export_format::ocsf, "", "", tail, err_, "", true), 64);  // envelope is jsonl's
}

TEST_F(cli_test, rebuild_writes_snapshots_and_then_cross_checks_them) {
    EXPECT_EQ(run_rebuild(dir_, true, 10, out_, err_), 0) << err_.str();
    EXPECT_EQ(json::parse(out_.str()).at("snapshots_written").as_int64(), 6);
    std::ostringstream again;
    EXPECT_EQ(run_rebuild(dir_, false, 10, again, err_), 0) << err_.str();
    auto r = json::parse(again.str());
    EXPECT_EQ(r.at("snapshots_checked").as_int64(), 6);
    EXPECT_TRUE(r.at("snapshots_mismatched").as_array().empty());
    EXPECT_EQ(r.at("events").as_int64(), 63);
}

}  // namespace
}  // namespace roster::replay
