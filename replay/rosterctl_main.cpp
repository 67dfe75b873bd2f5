// rosterctl: the operator and compliance CLI. Each subcommand is one entry of `commands`;
// main only parses the command line and wires the pieces.
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "roster/replay/backup.hpp"
#include "roster/replay/cli.hpp"
#include "roster/replay/verify.hpp"

namespace {

struct args {
    std::map<std::string, std::string> options;  // --name value
};

// Flags that take no value.
bool is_switch(const std::string& name) { return name == "write-snapshots"; }

std::optional<args> parse(int argc, char** argv, int first) {
    args a;
    for (int i = first; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0) return std::nullopt;
        if (is_switch(k.substr(2))) {
            a.options[k.substr(2)] = "true";
            continue;
        }
        if (i + 1 >= argc) return std::nullopt;
        a.options[k.substr(2)] = argv[++i];
    }
    return a;
}

std::string text(const args& a, const std::string& name) {
    auto it = a.options.find(name);
    return it == a.options.end() ? std::string() : it->second;
}

std::optional<std::uint64_t> number(const args& a, const std::string& name, std::uint64_t fallback) {
    auto it = a.options.find(name);
    if (it == a.options.end()) return fallback;
    try {
        std::size_t used = 0;
        const auto v = std::stoull(it->second, &used);
        if (used != it->second.size()) return std::nullopt;
        return v;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string data_dir(const args& a) {
    auto it = a.options.find("data-dir");
    return it == a.options.end() ? std::string("./data") : it->second;
}

int usage(std::ostream& os) {
    os << "usage: rosterctl <command> [options]\n"
          "  verify  --data-dir DIR [--from N] [--to N]   check the event hash chain (exit 1 if broken)\n"
          "  head    --data-dir DIR                      print the log head\n"
          "  history --data-dir DIR (--account A | --user U | --actor LABEL) [--since P|T] [--until P|T]\n"
          "          [--type t1,t2] [--limit N]          events as JSON Lines (same selection as the API)\n"
          "  as-of   --data-dir DIR --at P|T --account A [--user U]   the account (or one user) as it was then\n"
          "  export  --data-dir DIR [--format jsonl|csv] [--since P|T] [--until P|T]   events to stdout\n"
          "  rebuild --data-dir DIR [--write-snapshots] [--snapshot-every N]   fold the log from 0 and\n"
          "          cross-check the stored snapshots (exit 1 on a mismatch); --write-snapshots also\n"
          "          writes missing ones and needs rosterd stopped\n"
          "  backup  --data-dir DIR --to DEST [--url http://HOST:PORT] [--token-file F]\n"
          "          consistent online copy; with --url the running rosterd checkpoints itself (DEST inside its\n"
          "          --backup-dir, token default DIR/operator.token), without it no server may hold DIR\n"
          "  restore --from SRC --data-dir DIR [--force yes]  copy a backup in and verify it (refuses a\n"
          "          non-empty DIR/eventstore unless --force yes; never while a server holds it)\n"
          "P is a log position, T an RFC 3339 time. DIR defaults to ./data; the store is opened\n"
          "read-only (except rebuild --write-snapshots, backup without --url and restore), so a running\n"
          "rosterd is fine. Long commands draw a progress bar on stderr when it is a terminal.\n";
    return 64;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) return usage(argc < 2 ? std::cerr : std::cout);
    const std::string command = argv[1];
    auto a = parse(argc, argv, 2);
    if (!a) return usage(std::cerr);

    const std::map<std::string, std::function<int(const args&)>> commands{
        {"verify",
         [](const args& x) {
             auto from = number(x, "from", 1);
             auto to = number(x, "to", UINT64_MAX);
             if (!from || !to) return usage(std::cerr);
             return roster::replay::run_verify_progress(data_dir(x), *from, *to, std::cout, std::cerr);
         }},
        {"history",
         [](const args& x) {
             roster::replay::history_cli_request r;
             r.account = text(x, "account");
             r.user = text(x, "user");
             r.actor = text(x, "actor");
             r.since = text(x, "since");
             r.until = text(x, "until");
             r.types = text(x, "type");
             auto limit = number(x, "limit", 1000);
             if (!limit || *limit == 0) return usage(std::cerr);
             r.limit = *limit;
             return roster::replay::run_history(data_dir(x), r, std::cout, std::cerr);
         }},
        {"as-of",
         [](const args& x) {
             return roster::replay::run_as_of(data_dir(x), {text(x, "at"), text(x, "account"), text(x, "user")}, std::cout,
                                              std::cerr);
         }},
        {"export",
         [](const args& x) {
             auto f = roster::replay::parse_export_format(x.options.count("format") ? text(x, "format") : "jsonl");
             if (!f) return usage(std::cerr);
             std::ios::sync_with_stdio(false);
             return roster::replay::run_export(data_dir(x), *f, text(x, "since"), text(x, "until"), std::cout, std::cerr);
         }},
        {"rebuild",
         [](const args& x) {
             auto every = number(x, "snapshot-every", 100'000);
             if (!every || *every == 0) return usage(std::cerr);
             return roster::replay::run_rebuild(data_dir(x), x.options.count("write-snapshots") > 0, *every, std::cout,
                                                std::cerr);
         }},
        {"head", [](const args& x) { return roster::replay::run_head(data_dir(x), std::cout, std::cerr); }},
        {"backup",
         [](const args& x) {
             roster::replay::backup_request req;
             req.data_dir = data_dir(x);
             if (auto it = x.options.find("to"); it != x.options.end()) req.dest = it->second;
             if (auto it = x.options.find("url"); it != x.options.end()) req.url = it->second;
             if (auto it = x.options.find("token-file"); it != x.options.end()) req.token_file = it->second;
             return roster::replay::run_backup(req, std::cout, std::cerr);
         }},
        {"restore",
         [](const args& x) {
             auto from = x.options.find("from");
             auto force = x.options.find("force");
             if (from == x.options.end() || x.options.find("data-dir") == x.options.end()) return usage(std::cerr);
             const bool forced = force != x.options.end() && (force->second == "yes" || force->second == "true" || force->second == "1");
             return roster::replay::run_restore(from->second, data_dir(x), forced, std::cout, std::cerr);
         }},
    };
    auto it = commands.find(command);
    if (it == commands.end()) {
        std::cerr << "rosterctl: unknown command '" << command << "'\n";
        return usage(std::cerr);
    }
    return it->second(*a);
}
