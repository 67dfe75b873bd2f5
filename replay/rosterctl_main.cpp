// rosterctl: the operator and compliance CLI. Each subcommand is one entry of `commands` with its
// own options; main only parses the command line and wires the pieces (the HTTP(S) client of
// `backup --url` comes from roster_api).
// Exit codes of the parsing here: 0 for --help/--version, 2 for a command line that is refused
// (unknown command or flag, bad or missing value). The commands keep their own codes (cli.hpp,
// backup.hpp).
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/program_options.hpp>

#include "roster/api/http_client.hpp"
#include "roster/replay/backup.hpp"
#include "roster/replay/cli.hpp"
#include "roster/replay/evidence.hpp"
#include "roster/replay/tokens_cli.hpp"
#include "roster/replay/verify.hpp"
#include "roster/replay/witness.hpp"

namespace po = boost::program_options;

namespace {

constexpr int refused = 2;

// Unsigned flags parsed strictly: program_options' lexical_cast would take "-1" as 2^64-1.
struct count_arg {
    std::uint64_t value = 0;
};
struct positive_arg {
    std::uint64_t value = 0;
};

std::uint64_t parse_unsigned(const std::vector<std::string>& values, std::uint64_t minimum) {
    const auto& s = po::validators::get_single_string(values);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || n < minimum) throw po::invalid_option_value(s);
    return n;
}

// Found by argument-dependent lookup from program_options' typed_value.
void validate(boost::any& v, const std::vector<std::string>& values, count_arg*, int) {
    po::validators::check_first_occurrence(v);
    v = count_arg{parse_unsigned(values, 0)};
}
void validate(boost::any& v, const std::vector<std::string>& values, positive_arg*, int) {
    po::validators::check_first_occurrence(v);
    v = positive_arg{parse_unsigned(values, 1)};
}

std::string text(const po::variables_map& vm, const char* name) {
    return vm.count(name) ? vm[name].as<std::string>() : std::string();
}

struct command {
    const char* name;
    const char* synopsis;  // one line for the overview
    const char* about;     // the rest of `rosterctl <name> --help`
    std::function<void(po::options_description&)> add_options;
    std::function<int(const po::variables_map&)> run;
};

void add_data_dir(po::options_description& d) {
    d.add_options()("data-dir", po::value<std::string>()->default_value("./data"), "data directory of rosterd");
}

std::vector<command> make_commands() {
    return {
        {"verify", "check the event hash chain (exit 1 if broken)", "",
         [](po::options_description& d) {
             add_data_dir(d);
             d.add_options()("from", po::value<count_arg>(), "first position (default 1)")(
                 "to", po::value<count_arg>(), "last position (default the head)");
         },
         [](const po::variables_map& vm) {
             const auto from = vm.count("from") ? vm["from"].as<count_arg>().value : 1;
             const auto to = vm.count("to") ? vm["to"].as<count_arg>().value : UINT64_MAX;
             return roster::replay::run_verify_progress(text(vm, "data-dir"), from, to, std::cout, std::cerr);
         }},
        {"head", "print the log head", "", add_data_dir,
         [](const po::variables_map& vm) {
             return roster::replay::run_head(text(vm, "data-dir"), std::cout, std::cerr);
         }},
        {"history", "events of one account, user or actor as JSON Lines (same selection as the API)",
         "Give exactly one of --account, --user, --actor. P is a log position, T an RFC 3339 time.\n",
         [](po::options_description& d) {
             add_data_dir(d);
             d.add_options()("account", po::value<std::string>(), "account id")(
                 "user", po::value<std::string>(), "user id")("actor", po::value<std::string>(), "actor label")(
                 "since", po::value<std::string>(), "P|T, inclusive")(
                 "until", po::value<std::string>(), "P|T, inclusive")("type", po::value<std::string>(),
                                                                      "event types, comma-separated")(
                 "limit", po::value<positive_arg>(), "at most this many events (default 1000)");
         },
         [](const po::variables_map& vm) {
             roster::replay::history_cli_request r;
             r.account = text(vm, "account");
             r.user = text(vm, "user");
             r.actor = text(vm, "actor");
             r.since = text(vm, "since");
             r.until = text(vm, "until");
             r.types = text(vm, "type");
             if (vm.count("limit")) r.limit = vm["limit"].as<positive_arg>().value;
             return roster::replay::run_history(text(vm, "data-dir"), r, std::cout, std::cerr);
         }},
        {"as-of", "the account (or one user) as it was at a position or time",
         "--at and --account are required. P is a log position, T an RFC 3339 time.\n",
         [](po::options_description& d) {
             add_data_dir(d);
             d.add_options()("at", po::value<std::string>(), "P|T")("account", po::value<std::string>(), "account id")(
                 "user", po::value<std::string>(), "only this user's profile in the account");
         },
         [](const po::variables_map& vm) {
             return roster::replay::run_as_of(
                 text(vm, "data-dir"), {text(vm, "at"), text(vm, "account"), text(vm, "user")}, std::cout, std::cerr);
         }},
        {"export", "events to stdout as JSON Lines, CSV or OCSF", "P is a log position, T an RFC 3339 time.\n",
         [](po::options_description& d) {
             add_data_dir(d);
             d.add_options()("format", po::value<std::string>()->default_value("jsonl"), "jsonl, csv or ocsf")(
                 "since", po::value<std::string>(), "P|T, inclusive")("until", po::value<std::string>(),
                                                                      "P|T, inclusive")(
                 "account", po::value<std::string>(), "only the events concerning this account (its history's)")(
                 "include-envelope", "jsonl: each line also carries `envelope`, base64 of the stored hashed bytes");
         },
         [](const po::variables_map& vm) {
             auto f = roster::replay::parse_export_format(text(vm, "format"));
             if (!f) {
                 std::cerr << "rosterctl export: the argument ('" << text(vm, "format")
                           << "') for option '--format' is invalid: jsonl, csv or ocsf\n";
                 return refused;
             }
             std::ios::sync_with_stdio(false);
             return roster::replay::run_export(text(vm, "data-dir"), *f, text(vm, "since"), text(vm, "until"),
                                               std::cout, std::cerr, text(vm, "account"),
                                               vm.count("include-envelope") > 0);
         }},
        {"rebuild", "fold the log from 0 and cross-check the stored snapshots (exit 1 on a mismatch)",
         "--write-snapshots also writes the missing snapshots and needs rosterd stopped.\n",
         [](po::options_description& d) {
             add_data_dir(d);
             d.add_options()("write-snapshots", po::bool_switch(), "write the missing snapshots (stop rosterd first)")(
                 "snapshot-every", po::value<positive_arg>(), "snapshot spacing in events (default 100000)");
         },
         [](const po::variables_map& vm) {
             const auto every = vm.count("snapshot-every") ? vm["snapshot-every"].as<positive_arg>().value : 100'000;
             return roster::replay::run_rebuild(text(vm, "data-dir"), vm["write-snapshots"].as<bool>(), every,
                                                std::cout, std::cerr);
         }},
        {"backup", "consistent online copy of the event store",
         "With --url the running rosterd checkpoints itself (DEST inside its --backup-dir, token\n"
         "default DIR/operator.token); without it no server may hold DIR. https:// verifies the\n"
         "server's certificate against the system's trust store, or against --ca-file.\n",
         [](po::options_description& d) {
             add_data_dir(d);
             d.add_options()("to", po::value<std::string>()->required(), "DEST, a new or empty directory")(
                 "url", po::value<std::string>(), "http(s)://HOST:PORT of the running rosterd")(
                 "token-file", po::value<std::string>(), "operator token (default DIR/operator.token)")(
                 "ca-file", po::value<std::string>(), "PEM certificates to trust for https:// instead of the system's")(
                 "timeout-ms", po::value<positive_arg>(),
                 "limit on each step of the request (connect, handshake, send, answer); default 60000");
         },
         [](const po::variables_map& vm) {
             roster::replay::backup_request req;
             req.data_dir = text(vm, "data-dir");
             req.dest = text(vm, "to");
             if (vm.count("url")) req.url = text(vm, "url");
             if (vm.count("token-file")) req.token_file = text(vm, "token-file");
             roster::api::http_client_options client;
             if (vm.count("ca-file")) client.ca_file = text(vm, "ca-file");
             if (vm.count("timeout-ms"))
                 client.timeout = std::chrono::milliseconds(vm["timeout-ms"].as<positive_arg>().value);
             auto post = [client](const std::string& url, const std::string& target, const std::string& bearer,
                                  const std::string& body) -> std::variant<roster::replay::backup_answer, std::string> {
                 auto r = roster::api::http_request(
                     "POST", url, target, {{"Authorization", "Bearer " + bearer}, {"Content-Type", "application/json"}},
                     body, client);
                 if (!r.response) return r.error;
                 return roster::replay::backup_answer{r.response->status, std::move(r.response->body)};
             };
             return roster::replay::run_backup(req, post, std::cout, std::cerr);
         }},
        {"witness", "check a server's latest signed checkpoint extends the last one kept",
         "Fetches the checkpoint, verifies its signature with the pinned key (--public-key, or the one\n"
         "in FILE, or on the first run the server's), verifies a consistency proof from the checkpoint\n"
         "kept in FILE, and only then replaces FILE. Exit 0 ok, 1 bad signature / smaller tree / fork,\n"
         "2 bad arguments or state, 3 server unreachable.\n",
         [](po::options_description& d) {
             d.add_options()("url", po::value<std::string>()->required(), "http(s)://HOST:PORT of the rosterd")(
                 "token-file", po::value<std::string>()->required(), "auditor or operator token")(
                 "state", po::value<std::string>()->required(), "FILE keeping the pinned key and last checkpoint")(
                 "public-key", po::value<std::string>(), "verifier key to pin (GET /v1/audit/public-key)")(
                 "ca-file", po::value<std::string>(), "PEM certificates to trust for https:// instead of the system's")(
                 "timeout-ms", po::value<positive_arg>(), "limit on each step of a request; default 60000");
         },
         [](const po::variables_map& vm) {
             roster::replay::witness_request req;
             req.token_file = text(vm, "token-file");
             req.state_file = text(vm, "state");
             if (vm.count("public-key")) req.public_key = text(vm, "public-key");
             roster::api::http_client_options client;
             if (vm.count("ca-file")) client.ca_file = text(vm, "ca-file");
             if (vm.count("timeout-ms"))
                 client.timeout = std::chrono::milliseconds(vm["timeout-ms"].as<positive_arg>().value);
             client.max_response_bytes = 4 * 1024 * 1024;
             const auto url = text(vm, "url");
             auto get = [client, url](
                            const std::string& target,
                            const std::string& bearer) -> std::variant<roster::replay::witness_answer, std::string> {
                 auto r =
                     roster::api::http_request("GET", url, target, {{"Authorization", "Bearer " + bearer}}, "", client);
                 if (!r.response) return r.error;
                 return roster::replay::witness_answer{r.response->status, std::move(r.response->body)};
             };
             return roster::replay::run_witness(req, get, std::cout, std::cerr);
         }},
        {"evidence", "download an account's evidence pack (a tar that verifies offline)",
         "T is an RFC 3339 time; --since is inclusive, --until exclusive. Exit 0 written, 1 refused by\n"
         "the server, 2 bad arguments, 3 server unreachable. Check the pack with verify-pack.\n",
         [](po::options_description& d) {
             d.add_options()("url", po::value<std::string>()->required(), "http(s)://HOST:PORT of the rosterd")(
                 "token-file", po::value<std::string>()->required(), "auditor or operator token")(
                 "account", po::value<std::string>()->required(), "account id")(
                 "since", po::value<std::string>(), "T, inclusive")("until", po::value<std::string>(), "T, exclusive")(
                 "out", po::value<std::string>()->required(), "FILE to write the pack to")(
                 "ca-file", po::value<std::string>(), "PEM certificates to trust for https:// instead of the system's")(
                 "timeout-ms", po::value<positive_arg>(), "limit on each step of the request; default 60000");
         },
         [](const po::variables_map& vm) {
             roster::replay::evidence_request req;
             req.token_file = text(vm, "token-file");
             req.out = text(vm, "out");
             req.account = text(vm, "account");
             req.since = text(vm, "since");
             req.until = text(vm, "until");
             roster::api::http_client_options client;
             if (vm.count("ca-file")) client.ca_file = text(vm, "ca-file");
             if (vm.count("timeout-ms"))
                 client.timeout = std::chrono::milliseconds(vm["timeout-ms"].as<positive_arg>().value);
             // The client holds the answer in memory: a pack of replay::max_pack_events events of
             // typical size fits well below this.
             client.max_response_bytes = std::size_t{1} << 30;
             const auto url = text(vm, "url");
             auto get = [client, url](
                            const std::string& target,
                            const std::string& bearer) -> std::variant<roster::replay::evidence_answer, std::string> {
                 auto r =
                     roster::api::http_request("GET", url, target, {{"Authorization", "Bearer " + bearer}}, "", client);
                 if (!r.response) return r.error;
                 return roster::replay::evidence_answer{r.response->status, std::move(r.response->body)};
             };
             return roster::replay::run_evidence(req, get, std::cout, std::cerr);
         }},
        {"tokens", "list, issue, revoke or rotate API tokens on a running rosterd",
         "usage: rosterctl tokens list|issue|revoke|rotate --url URL --token-file F [options]\n"
         "  list   [--status active,expired,revoked]       a table of the tokens the caller may see\n"
         "  issue  --principal P [--expires-in SECONDS]    P: operator, auditor, service:NAME, user:ID\n"
         "  revoke --id TOKEN_ID\n"
         "  rotate --id TOKEN_ID                           a new secret; the old one stops working\n"
         "issue and rotate print the new secret once, alone on the last line. Exit 0 done, 1 refused\n"
         "by the server, 2 bad arguments, 3 server unreachable.\n",
         [](po::options_description& d) {
             d.add_options()("action", po::value<std::string>()->required(), "list, issue, revoke or rotate")(
                 "url", po::value<std::string>()->required(), "http(s)://HOST:PORT of the rosterd")(
                 "token-file", po::value<std::string>()->required(), "the caller's token")(
                 "principal", po::value<std::string>(), "issue: operator, auditor, service:NAME or user:ID")(
                 "expires-in", po::value<positive_arg>(), "issue: seconds until it expires (60 to 34560000)")(
                 "id", po::value<std::string>(), "revoke, rotate: the token id")(
                 "status", po::value<std::string>(), "list: comma list of active, expired, revoked (default active)")(
                 "reason", po::value<std::string>(), "issue, revoke, rotate: recorded with the event")(
                 "ca-file", po::value<std::string>(), "PEM certificates to trust for https:// instead of the system's")(
                 "timeout-ms", po::value<positive_arg>(), "limit on each step of a request; default 60000");
         },
         [](const po::variables_map& vm) {
             roster::replay::tokens_request req;
             req.action = text(vm, "action");
             req.token_file = text(vm, "token-file");
             req.principal = text(vm, "principal");
             if (vm.count("expires-in")) req.expires_in = vm["expires-in"].as<positive_arg>().value;
             req.id = text(vm, "id");
             req.status = text(vm, "status");
             req.reason = text(vm, "reason");
             roster::api::http_client_options client;
             if (vm.count("ca-file")) client.ca_file = text(vm, "ca-file");
             if (vm.count("timeout-ms"))
                 client.timeout = std::chrono::milliseconds(vm["timeout-ms"].as<positive_arg>().value);
             client.max_response_bytes = 16 * 1024 * 1024;  // a page: 500 tokens, at most --page-bytes
             const auto url = text(vm, "url");
             auto exchange = [client, url](
                                 const std::string& method, const std::string& target, const std::string& bearer,
                                 const std::string& body) -> std::variant<roster::replay::tokens_answer, std::string> {
                 std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + bearer}};
                 if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
                 auto r = roster::api::http_request(method, url, target, headers, body, client);
                 if (!r.response) return r.error;
                 return roster::replay::tokens_answer{r.response->status, std::move(r.response->body)};
             };
             return roster::replay::run_tokens(req, exchange, std::cout, std::cerr);
         }},
        {"verify-pack", "verify an evidence pack offline (exit 1 naming the first failure)",
         "usage: rosterctl verify-pack FILE [--public-key VERIFIER_KEY]\n"
         "Checks both signatures (against the pinned key when given, else the pack's own, saying so),\n"
         "every event's bytes, JSON and inclusion proof against the manifest and the checkpoint, and\n"
         "that the archive holds exactly the manifest's events. Exit 0 ok, 1 failed, 2 unreadable.\n",
         [](po::options_description& d) {
             d.add_options()("pack", po::value<std::string>()->required(), "FILE (may also come first, bare)")(
                 "public-key", po::value<std::string>(), "verifier key to check against (GET /v1/audit/public-key)");
         },
         [](const po::variables_map& vm) {
             std::optional<std::string> pinned;
             if (vm.count("public-key")) pinned = text(vm, "public-key");
             return roster::replay::run_verify_pack(text(vm, "pack"), pinned, std::cout, std::cerr);
         }},
        {"restore", "copy a backup in and verify it",
         "Refuses a non-empty DIR/eventstore unless --force; never while a server holds it.\n",
         [](po::options_description& d) {
             d.add_options()("from", po::value<std::string>()->required(), "SRC, a backup directory")(
                 "data-dir", po::value<std::string>()->required(), "DIR to restore into")(
                 "force", po::bool_switch(), "replace a non-empty DIR/eventstore");
         },
         [](const po::variables_map& vm) {
             return roster::replay::run_restore(text(vm, "from"), text(vm, "data-dir"), vm["force"].as<bool>(),
                                                std::cout, std::cerr);
         }},
    };
}

void overview(std::ostream& os, const std::vector<command>& commands) {
    os << "usage: rosterctl <command> [options]      rosterctl <command> --help for its options\n"
          "       rosterctl --version\n\ncommands:\n";
    for (const auto& c : commands) {
        std::string name = c.name;
        name.resize(10, ' ');
        os << "  " << name << c.synopsis << '\n';
    }
    os << "\nThe store is opened read-only (except rebuild --write-snapshots, backup without --url and\n"
          "restore), so a running rosterd is fine. Long commands draw a progress bar on stderr when it\n"
          "is a terminal. DIR (--data-dir) defaults to ./data.\n";
}

}  // namespace

int main(int argc, char** argv) {
    const auto commands = make_commands();
    if (argc < 2) {
        overview(std::cerr, commands);
        return refused;
    }
    const std::string first = argv[1];
    if (first == "--help" || first == "-h" || first == "help") {
        overview(std::cout, commands);
        return 0;
    }
    if (first == "--version") {
        std::cout << "rosterctl " << ROSTER_VERSION << '\n';
        return 0;
    }
    const command* c = nullptr;
    for (const auto& x : commands)
        if (first == x.name) c = &x;
    if (!c) {
        std::cerr << "rosterctl: unknown command '" << first << "' (rosterctl --help lists them)\n";
        return refused;
    }

    po::options_description options(std::string("usage: rosterctl ") + c->name + " [options]\n" + c->synopsis +
                                    "\n\noptions");
    options.add_options()("help,h", "show this help");
    c->add_options(options);
    std::vector<std::string> rest(argv + 2, argv + argc);
    // `restore --force yes` was the syntax before --force became a switch; scripts keep working.
    if (std::strcmp(c->name, "restore") == 0)
        for (std::size_t i = 0; i + 1 < rest.size(); ++i)
            if (rest[i] == "--force" && (rest[i + 1] == "yes" || rest[i + 1] == "true" || rest[i + 1] == "1"))
                rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i) + 1);

    // `verify-pack FILE`: the file is its one bare argument.
    if (std::strcmp(c->name, "verify-pack") == 0 && !rest.empty() && !rest.front().starts_with("-"))
        rest.insert(rest.begin(), "--pack");
    // `tokens ACTION`: the action is its one bare argument.
    if (std::strcmp(c->name, "tokens") == 0 && !rest.empty() && !rest.front().starts_with("-"))
        rest.insert(rest.begin(), "--action");
    po::variables_map vm;
    try {
        // No positional options: a stray word is refused like an unknown flag. Short options
        // other than -h do not exist, and guessing a flag from its prefix is off (`--acc` is not
        // --account: a typo should fail, not be completed).
        auto parsed = po::command_line_parser(rest)
                          .options(options)
                          .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
                          .run();
        for (const auto& o : parsed.options)
            if (o.position_key >= 0) {
                std::cerr << "rosterctl " << c->name << ": unexpected argument '" << o.value.front()
                          << "' (options take the form --name value; rosterctl " << c->name << " --help)\n";
                return refused;
            }
        po::store(parsed, vm);
        if (vm.count("help")) {
            std::cout << options << '\n' << c->about;
            return 0;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "rosterctl " << c->name << ": " << e.what() << " (rosterctl " << c->name << " --help)\n";
        return refused;
    }
    return c->run(vm);
}
