// rosterctl's command line contract, on the real binary: --help/-h exit 0 (overall and per
// command), unknown commands, flags and malformed values are refused with exit 2 and the flag
// named, switches take no value, --version prints the version (rosterd's too).
#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include "roster/eventstore/store.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

struct run_result {
    int exit_code;
    std::string out, err;
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class cli_args : public ::testing::Test {
protected:
    run_result run(const std::string& binary, const std::string& args) {
        static std::atomic<int> n{0};
        const auto id = std::to_string(n++);
        const auto out = tmp_.path() / ("o" + id), err = tmp_.path() / ("e" + id);
        const std::string cmd = binary + " " + args + " > " + out.string() + " 2> " + err.string() + " < /dev/null";
        const int status = std::system(cmd.c_str());
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
    }
    run_result ctl(const std::string& args) { return run(ROSTERCTL_PATH, args); }

    roster::test_support::temp_dir tmp_;
};

const std::vector<std::string> all_commands{"verify", "head",    "history", "as-of",
                                            "export", "rebuild", "backup",  "restore"};

TEST_F(cli_args, help_exits_zero_overall_and_per_command) {
    for (const std::string flag : {"--help", "-h", "help"}) {
        auto r = ctl(flag);
        EXPECT_EQ(r.exit_code, 0) << flag << r.err;
        for (const auto& c : all_commands)
            EXPECT_NE(r.out.find("  " + c + " "), std::string::npos) << flag << ": " << c;
    }
    for (const auto& c : all_commands)
        for (const std::string flag : {"--help", "-h"}) {
            auto r = ctl(c + " " + flag);
            EXPECT_EQ(r.exit_code, 0) << c << " " << flag << r.err;
            EXPECT_NE(r.out.find("usage: rosterctl " + c + " [options]"), std::string::npos) << r.out;
            EXPECT_NE(r.out.find("--data-dir"), std::string::npos) << r.out;
            EXPECT_TRUE(r.err.empty()) << r.err;
        }
    // Help wins over required options that are missing.
    EXPECT_EQ(ctl("restore --help").exit_code, 0);
}

TEST_F(cli_args, no_command_or_an_unknown_one_is_refused) {
    auto none = ctl("");
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_NE(none.err.find("usage: rosterctl"), std::string::npos) << none.err;
    auto unknown = ctl("exprot --data-dir x");
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("unknown command 'exprot'"), std::string::npos) << unknown.err;
}

TEST_F(cli_args, unknown_flags_are_refused_naming_them) {
    // The case from the issue: a typo used to be accepted and ignored, exporting everything.
    auto typo = ctl("export --acount x --data-dir " + (tmp_.path() / "none").string());
    EXPECT_EQ(typo.exit_code, 2);
    EXPECT_NE(typo.err.find("--acount"), std::string::npos) << typo.err;
    EXPECT_TRUE(typo.out.empty()) << typo.out;
    for (const auto& c : all_commands) {
        auto r = ctl(c + " --bogus-flag 1");
        EXPECT_EQ(r.exit_code, 2) << c;
        EXPECT_NE(r.err.find("--bogus-flag"), std::string::npos) << c << ": " << r.err;
    }
    // A prefix is not completed to the flag it might mean.
    auto prefix = ctl("history --acc acme --data-dir " + (tmp_.path() / "none").string());
    EXPECT_EQ(prefix.exit_code, 2);
    EXPECT_NE(prefix.err.find("--acc"), std::string::npos) << prefix.err;
    // Neither are stray words nor short flags other than -h.
    EXPECT_EQ(ctl("head extra").exit_code, 2);
    EXPECT_EQ(ctl("head -d x").exit_code, 2);
}

TEST_F(cli_args, bad_or_missing_values_are_refused_naming_the_flag) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"history --account a --limit abc", "--limit"},
        {"history --account a --limit -1", "--limit"},
        {"history --account a --limit 0", "--limit"},
        {"history --account a --limit 5x", "--limit"},
        {"history --account", "--account"},
        {"verify --from x", "--from"},
        {"verify --to 99999999999999999999999", "--to"},
        {"rebuild --snapshot-every 0", "--snapshot-every"},
        {"export --format xml", "--format"},
        {"backup --to /tmp/x --timeout-ms soon", "--timeout-ms"},
        {"backup --url http://127.0.0.1:1", "--to"},  // required
        {"restore --data-dir x", "--from"},           // required
        {"restore --from x", "--data-dir"},           // required
        {"history --account a --limit 1 --limit 2", "--limit"},
    };
    for (const auto& [args, flag] : cases) {
        auto r = ctl(args);
        EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
        EXPECT_NE(r.err.find(flag), std::string::npos) << args << ": " << r.err;
        EXPECT_TRUE(r.out.empty()) << args << ": " << r.out;
    }
}

TEST_F(cli_args, switches_take_no_value) {
    // `--force` alone is the switch; a value other than the old `yes` is a stray word.
    auto r = ctl("restore --force --from " + (tmp_.path() / "nothing").string() + " --data-dir " +
                 (tmp_.path() / "d").string());
    EXPECT_EQ(r.exit_code, 2);  // run_restore: no manifest in SRC, not a parse error
    EXPECT_NE(r.err.find("backup.json"), std::string::npos) << r.err;
    auto stray = ctl("restore --force maybe --from x --data-dir y");
    EXPECT_EQ(stray.exit_code, 2);
    EXPECT_NE(stray.err.find("maybe"), std::string::npos) << stray.err;
    auto write = ctl("rebuild --write-snapshots yes");
    EXPECT_EQ(write.exit_code, 2);
    EXPECT_NE(write.err.find("yes"), std::string::npos) << write.err;
}

TEST_F(cli_args, valid_command_lines_still_run_with_the_same_output) {
    const auto data = tmp_.path() / "data";
    {
        auto s = roster::eventstore::store::open(roster::eventstore::store_dir(data));
        ASSERT_TRUE(s.has_value());
        for (int i = 0; i < 3; ++i) {
            roster::eventstore::append_batch b;
            roster::domain::account_id a{"acme" + std::to_string(i)};
            b.events.push_back(
                {roster::domain::account_opened{a, "Acme", roster::domain::account_kind::customer}, std::nullopt, {}});
            ASSERT_TRUE((*s)->append(std::move(b)).has_value());
        }
    }
    auto head = ctl("head --data-dir " + data.string());
    EXPECT_EQ(head.exit_code, 0) << head.err;
    EXPECT_NE(head.out.find("\"position\":3"), std::string::npos) << head.out;
    auto verify = ctl("verify --data-dir=" + data.string() + " --from 2");
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    EXPECT_NE(verify.out.find("\"checked\":2"), std::string::npos) << verify.out;
    auto history = ctl("history --data-dir " + data.string() + " --account acme1 --limit 5");
    EXPECT_EQ(history.exit_code, 0) << history.err;
    EXPECT_NE(history.out.find("\"position\":2"), std::string::npos) << history.out;
    // Arguments run_history itself refuses keep their code.
    EXPECT_EQ(ctl("history --data-dir " + data.string() + " --account a --user u").exit_code, 64);
    auto csv = ctl("export --data-dir " + data.string() + " --format csv --since 3");
    EXPECT_EQ(csv.exit_code, 0) << csv.err;
    EXPECT_NE(csv.out.find("\r\n3,"), std::string::npos) << csv.out;
    // OCSF has no class for account_opened: nothing to write, and that is a success.
    auto ocsf = ctl("export --data-dir " + data.string() + " --format ocsf");
    EXPECT_EQ(ocsf.exit_code, 0) << ocsf.err;
    EXPECT_EQ(ocsf.out, "");
}

TEST_F(cli_args, version_is_printed_by_both_binaries) {
    auto ctl_version = ctl("--version");
    EXPECT_EQ(ctl_version.exit_code, 0) << ctl_version.err;
    EXPECT_EQ(ctl_version.out, std::string("rosterctl ") + ROSTER_VERSION + "\n");
    auto d = run(ROSTERD_PATH, "--version");
    EXPECT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(d.out, std::string("rosterd ") + ROSTER_VERSION + "\n");
}

}  // namespace
