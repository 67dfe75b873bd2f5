// rosterd: the Roster server. Wires the components (no singletons below main) and owns their
// lifetimes: store and domain (issue 4), router, server.
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <csignal>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>

#include <boost/program_options.hpp>

#include <fstream>
#include <future>

#include "roster/api/admin_routes.hpp"
#include "roster/api/checkpointer.hpp"
#include "roster/api/command_processor.hpp"
#include "roster/api/console_routes.hpp"
#include "roster/api/fair_pool.hpp"
#include "roster/api/http_commands.hpp"
#include "roster/api/http_metrics.hpp"
#include "roster/api/live_hub.hpp"
#include "roster/api/live_stream.hpp"
#include "roster/api/log.hpp"
#include "roster/api/nats_publisher.hpp"
#include "roster/api/operator_token.hpp"
#include "roster/api/principal_limits.hpp"
#include "roster/api/proof_routes.hpp"
#include "roster/api/refusal_guard.hpp"
#include "roster/api/refusal_relay.hpp"
#include "roster/api/replica_follower.hpp"
#include "roster/api/replica_routes.hpp"
#include "roster/api/resource_routes.hpp"
#include "roster/api/router.hpp"
#include "roster/api/server.hpp"
#include "roster/api/store_metrics.hpp"
#include "roster/api/stream_tickets.hpp"
#include "roster/api/system_routes.hpp"
#include "roster/api/webhook_routes.hpp"
#include "roster/api/webhooks.hpp"
#ifdef ROSTER_TEST_HOOKS
#include "roster/api/test_hooks.hpp"
#endif
#include "roster/api/service.hpp"
#include "roster/domain/events.hpp"
#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"
#include "roster/projections/restart_checkpoint.hpp"

namespace po = boost::program_options;

namespace {

roster::domain::timestamp wall_clock() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// The operator token in the file must be known to the log (only its hash is stored). It is
// issued on first start; a token revoked through the API stays revoked and is reported.
bool register_operator_token(roster::api::command_processor& writer, const std::filesystem::path& token_path,
                             roster::api::logger& log) {
    std::ifstream in(token_path);
    std::string secret;
    std::getline(in, secret);
    if (secret.empty()) {
        std::cerr << "rosterd: " << token_path << " is empty\n";
        return false;
    }
    const auto hash = roster::api::sha256_hex(secret);
    bool known = false, revoked = false;
    writer.run_on_writer([&](const roster::domain::state& s) {
        auto it = s.token_by_secret.find(hash);
        known = it != s.token_by_secret.end();
        // A rotated-away secret is as dead as a revoked one (and must not be issued again).
        if (known) revoked = s.token(it->second)->revoked || s.token(it->second)->secret_sha256_hex != hash;
    });
    if (revoked)
        log.warn(
            "the operator token in the data directory was revoked or rotated; issue a new one with rosterctl or delete "
            "the file "
            "and restart");
    if (known) return true;

    std::promise<roster::api::command_result> answered;
    roster::api::command_request request;
    request.command = roster::domain::issue_token{roster::domain::token_id{"tok_operator_" + hash.substr(0, 16)},
                                                  roster::domain::operator_principal{}, hash};
    request.actor = roster::domain::operator_principal{};
    request.meta.actor.principal = "system";
    request.meta.reason = "operator token bootstrap";
    request.done = [&](roster::api::command_result r) { answered.set_value(std::move(r)); };
    writer.submit(std::move(request));
    auto r = answered.get_future().get();
    if (std::holds_alternative<roster::api::outcome::accepted>(r)) return true;
    std::cerr << "rosterd: could not register the operator token: " << roster::api::describe(r) << "\n";
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    roster::api::server_options options;
    std::string listen;
    std::string data_dir;
    std::size_t max_body = 0;
    unsigned header_ms = 0, body_ms = 0, idle_ms = 0, grace_ms = 0;
    bool enable_test_routes = false;
    std::string config_path;
    std::string backup_dir;
    std::uint64_t ready_max_lag = 0;
    roster::api::live_hub_options live_options;
    std::size_t live_queue = live_options.queue_events;
    std::size_t live_queue_bytes = live_options.queue_bytes;
    std::size_t live_catch_up_bytes = live_options.catch_up_bytes;
    std::size_t live_total_bytes = live_options.total_bytes;
    std::size_t page_bytes = 4 * 1024 * 1024;
    unsigned live_ping_ms = static_cast<unsigned>(live_options.ping_interval.count());
    unsigned live_flush_ms = static_cast<unsigned>(live_options.flush_interval.count());
    std::uint64_t snapshot_every = 0;
    roster::api::principal_limits_options limit_options;
    roster::api::refusal_guard_options refusal_options;
    unsigned refusal_window_ms = static_cast<unsigned>(refusal_options.window.count());
    unsigned as_of_threads = 2;
    std::size_t as_of_queue = 4;
    std::string signing_key_path;
    std::string test_crash_at;
    roster::api::checkpointer_options checkpoint_options;
    unsigned checkpoint_interval_ms = static_cast<unsigned>(checkpoint_options.interval.count());

    roster::api::stream_ticket_options ticket_options;
    unsigned ticket_ttl_ms = static_cast<unsigned>(ticket_options.ttl.count());
    unsigned cors_max_age_s = static_cast<unsigned>(options.cors.max_age.count());
    roster::api::nats_publisher_options nats_options;
    roster::api::replica_follower_options follow_options;
    std::string leader_url;
    std::string replica_name;
    std::string leader_key_text;

    roster::api::webhook_options webhook_options;
    unsigned webhook_backoff_ms = static_cast<unsigned>(webhook_options.backoff.count());
    unsigned webhook_max_backoff_ms = static_cast<unsigned>(webhook_options.max_backoff.count());
    unsigned webhook_timeout_ms = static_cast<unsigned>(webhook_options.timeout.count());
    std::string webhook_ca_file;

    bool print_routes = false;
    bool rebuild_projections = false;
    po::options_description command_line_only("rosterd — Roster user-management server\n\nOptions");
    command_line_only.add_options()("help,h", "Show this help and exit.")("version", "Print the version and exit.")(
        "print-routes", po::bool_switch(&print_routes),
        "Start as usual (data directory included), print the routes served (METHOD /template, one a line) "
        "instead of listening, and stop. The fuzz build takes its route table from this.")(
        "config", po::value(&config_path),
        "Read options from this INI file (one 'name = value' per line, names as the flags below without "
        "'--', '#' comments; see ops/rosterd.conf.example). Flags given on the command line win over the file.")(
        "rebuild-projections", po::bool_switch(&rebuild_projections),
        "Fold the projections from the whole log instead of starting from the stored projection checkpoint.");
    po::options_description visible("Options (command line or config file)");
    visible.add_options()("listen", po::value(&listen)->default_value("127.0.0.1:8080"),
                          "Address to serve HTTP on, host:port or [ipv6]:port. Port 0 picks a free port; the line "
                          "'listening on <host>:<port>' on stdout tells which.")(
        "data-dir", po::value(&data_dir)->default_value("./data"),
        "Directory of the event store and operator.token; created when missing.")(
        "threads", po::value(&options.threads)->default_value(std::max(1u, std::thread::hardware_concurrency())),
        "I/O threads serving HTTP.")("max-body-bytes", po::value(&max_body)->default_value(1024 * 1024),
                                     "Largest accepted request body in bytes; larger bodies are answered 413.")(
        "header-timeout-ms", po::value(&header_ms)->default_value(10'000),
        "Time allowed to receive a request header (and the first request of a connection).")(
        "body-timeout-ms", po::value(&body_ms)->default_value(30'000), "Time allowed to receive a request body.")(
        "idle-timeout-ms", po::value(&idle_ms)->default_value(60'000),
        "Time a kept-alive connection may wait for its next request.")(
        "shutdown-grace-ms", po::value(&grace_ms)->default_value(10'000),
        "On SIGTERM/SIGINT, how long in-flight requests may take to finish.")(
        "backup-dir", po::value(&backup_dir)->default_value(""),
        "Directory under which POST /v1/admin/backup (and 'rosterctl backup --url') may write backups; "
        "empty disables backups over HTTP.")(
        "ready-max-lag", po::value(&ready_max_lag)->default_value(10'000),
        "/readyz answers 503 while the projections are more than this many events behind the log.")(
        "tls-cert", po::value(&options.tls_cert_file),
        "PEM certificate chain; with --tls-key, serve HTTPS and WSS instead of plain HTTP.")(
        "tls-key", po::value(&options.tls_key_file), "PEM private key of --tls-cert.")(
        "live-queue-events", po::value(&live_queue)->default_value(live_queue),
        "Events queued for one /v1/stream subscriber; a subscriber that falls further behind is closed "
        "with its last delivered position.")(
        "live-queue-bytes", po::value(&live_queue_bytes)->default_value(live_queue_bytes),
        "Bytes of events held for one /v1/stream subscriber (queued or being written); a subscriber "
        "that falls further behind is closed with its last delivered position.")(
        "live-catch-up-bytes", po::value(&live_catch_up_bytes)->default_value(live_catch_up_bytes),
        "A /v1/stream catch-up reads the log in slices of at most this many bytes of events (and 256 events).")(
        "live-total-bytes", po::value(&live_total_bytes)->default_value(live_total_bytes),
        "Bytes of events held for all /v1/stream subscribers together (each is charged for every event "
        "it holds, shared or not); the subscriber whose next event would pass it is closed with its "
        "last delivered position.")(
        "page-bytes", po::value(&page_bytes)->default_value(page_bytes),
        "A page of GET /v1/events or of a history ends once its events take this many bytes of JSON "
        "(always at least one event); its next_from / next_cursor continues it.")(
        "live-ping-ms", po::value(&live_ping_ms)->default_value(live_ping_ms),
        "Ping a quiet /v1/stream subscriber after this many milliseconds; close it after twice as long without an "
        "answer.")("live-flush-ms", po::value(&live_flush_ms)->default_value(live_flush_ms),
                   "Hand new events to the /v1/stream subscribers at most once per this many milliseconds (0 = at "
                   "every commit): under a steady stream of commits each subscriber gets them in one write per "
                   "interval; an event waits at most this long.")(
        "snapshot-every", po::value(&snapshot_every)->default_value(100'000),
        "Write a projection checkpoint (the next start-up folds only the events after it; also the "
        "snapshot of as_of reads) every this many events, on a background thread, and at shutdown.")(
        "command-rate", po::value(&limit_options.commands.per_second)->default_value(limit_options.commands.per_second),
        "Commands per second one principal may send (token bucket; 0 = unlimited); beyond it 429 with "
        "Retry-After. The operator is not limited.")(
        "command-burst", po::value(&limit_options.commands.burst)->default_value(limit_options.commands.burst),
        "Commands one principal may send at once before --command-rate applies.")(
        "refusal-rate", po::value(&limit_options.refusals.per_second)->default_value(limit_options.refusals.per_second),
        "Refused requests (401 with a known token, 403, 404 hiding a resource) per second one principal may "
        "cause; once its budget is spent every request of it is answered 429 until the budget refills. 0 = unlimited.")(
        "refusal-burst", po::value(&limit_options.refusals.burst)->default_value(limit_options.refusals.burst),
        "Refusals one principal may cause at once before --refusal-rate applies.")(
        "refusal-window-ms", po::value(&refusal_window_ms)->default_value(refusal_window_ms),
        "Refusals of one principal on one route within this window are recorded as one access_denied "
        "event with their count (the first at once, the rest when the window closes).")(
        "as-of-threads", po::value(&as_of_threads)->default_value(as_of_threads),
        "Threads for cold as_of folds, shared fairly between principals.")(
        "as-of-queue-per-principal", po::value(&as_of_queue)->default_value(as_of_queue),
        "as_of reads one principal may have waiting for a fold; more are answered 429.")(
        "signing-key", po::value(&signing_key_path)->default_value(""),
        "Ed25519 key (PKCS#8 PEM, mode 0600) that signs the log's checkpoints; created on first start when "
        "missing, never replaced. Empty = <data-dir>/checkpoint.key. Keep it apart from the data (and back it "
        "up) so that whoever can write the store cannot also sign a rewritten history.")(
        "log-origin", po::value(&checkpoint_options.origin)->default_value(checkpoint_options.origin),
        "Origin line of the signed checkpoints and name of the signing key: a name unique to this log "
        "(e.g. its host name and path).")("checkpoint-every",
                                          po::value(&checkpoint_options.every)->default_value(checkpoint_options.every),
                                          "Sign a checkpoint of the log's Merkle tree every this many events.")(
        "checkpoint-interval-ms", po::value(&checkpoint_interval_ms)->default_value(checkpoint_interval_ms),
        "Also sign one after this many milliseconds when the tree grew (and always at shutdown).")(
        "cors-origin", po::value(&options.cors.allowed_origins),
        "An origin (scheme://host[:port], exactly as browsers send it) whose pages may call the API from a "
        "browser (CORS); repeat for several. None: no CORS headers at all, and OPTIONS is 405.")(
        "cors-max-age-s", po::value(&cors_max_age_s)->default_value(cors_max_age_s),
        "How long a browser may cache a CORS preflight answer, in seconds.")(
        "stream-ticket-ttl-ms", po::value(&ticket_ttl_ms)->default_value(ticket_ttl_ms),
        "How long a ticket from POST /v1/stream/tickets may be used to open /v1/stream (once).")(
        "stream-ticket-bytes", po::value(&ticket_options.max_bytes)->default_value(ticket_options.max_bytes),
        "Memory all unexpired stream tickets may take (a ticket is charged about 450 bytes until it expires, "
        "used or not); beyond it POST /v1/stream/tickets answers 503 with Retry-After.")(
        "webhook-max-attempts", po::value(&webhook_options.max_attempts)->default_value(webhook_options.max_attempts),
        "Attempts to deliver one webhook message (non-2xx, timeout or no connection each count) before it goes "
        "to the endpoint's dead-letter list.")(
        "webhook-backoff-ms", po::value(&webhook_backoff_ms)->default_value(webhook_backoff_ms),
        "Wait before the first webhook retry; doubled for each further one (with jitter), up to "
        "--webhook-max-backoff-ms.")("webhook-max-backoff-ms",
                                     po::value(&webhook_max_backoff_ms)->default_value(webhook_max_backoff_ms),
                                     "Longest wait between two webhook attempts.")(
        "webhook-timeout-ms", po::value(&webhook_timeout_ms)->default_value(webhook_timeout_ms),
        "Time each step of a webhook attempt (connect, TLS, send, answer) may take.")(
        "webhook-max-endpoints",
        po::value(&webhook_options.max_endpoints)->default_value(webhook_options.max_endpoints),
        "Webhook endpoints that may be registered; each has one delivery thread.")(
        "webhook-dead-letter-bytes",
        po::value(&webhook_options.dead_letter_bytes)->default_value(webhook_options.dead_letter_bytes),
        "Bytes of one endpoint's dead-letter list; once full, further dead letters are only counted (dropped).")(
        "webhook-ca-file", po::value(&webhook_ca_file)->default_value(""),
        "PEM bundle https webhook receivers are verified against; empty = the system's trust store.")(
        "nats", po::value(&nats_options.servers),
        "Publish every committed event to NATS JetStream at this server URL (nats://host:port); repeat for "
        "several servers of one cluster. None: no publishing. Commands never wait for NATS.")(
        "nats-stream", po::value(&nats_options.stream)->default_value(nats_options.stream),
        "The JetStream stream the events go to (subjects roster.events.>), created when missing.")(
        "nats-replicas", po::value(&nats_options.replicas)->default_value(nats_options.replicas),
        "Replicas of the stream when rosterd creates it.")(
        "nats-max-lag", po::value(&nats_options.max_lag)->default_value(nats_options.max_lag),
        "/readyz answers 503 while more than this many events are not yet published to NATS.")(
        "follow", po::value(&follow_options.servers),
        "Run as a read replica of the leader that publishes to NATS JetStream at this server URL "
        "(nats://host:port; repeat for several servers of one cluster): no writer, the log is the leader's "
        "stream (--nats-stream), every read is served here, commands are redirected to --leader-url. "
        "Not together with --nats.")(
        "leader-url", po::value(&leader_url)->default_value(""),
        "With --follow: the leader's base URL (e.g. https://leader:8080). Commands sent to the replica are "
        "answered 307 with Location <leader-url><target>; empty: 503.")(
        "replica-name", po::value(&replica_name)->default_value(""),
        "With --follow: this replica's name ([A-Za-z0-9._-], at most 64 bytes; empty: the host name), on record "
        "(the event's reference 'read replica <name>') with each refusal it forwards to the leader.")(
        "leader-key", po::value(&leader_key_text)->default_value(""),
        "With --follow: the leader's checkpoint verifier key (the verifier_key of its /v1/audit/public-key, "
        "'<name>+<hex key id>+<base64>'). The replica verifies the leader's signed checkpoints with it (or with the "
        "key the log's latest signing_key_rotated names) before serving them; empty and never rotated: they stay "
        "unverified (metric roster_replica_checkpoint_unverified, a log line) and are not served.")(
        "follow-max-lag", po::value(&follow_options.max_lag)->default_value(follow_options.max_lag),
        "With --follow: /readyz answers 503 while the replica is more than this many events behind the stream "
        "(and while it is not connected to NATS).");
    std::string log_level_name = "info";
    std::string access_log = "all";
    visible.add_options()("log-level", po::value(&log_level_name)->default_value(log_level_name),
                          "Least severe log lines written: debug, info, warn or error.")(
        "access-log", po::value(&access_log)->default_value(access_log),
        "Which requests get a 'request' log line: off, all, or sampled:N (one in N). Sampled or not, 5xx "
        "answers, failed writes and requests slower than 1 s are always logged (at error or warn).");
    po::options_description hidden;
#ifdef ROSTER_TEST_HOOKS
    // rosterd_test only: registers the /test/* routes the integration tests use (slow, throwing,
    // echo, append, storage faults). The production rosterd does not know the flag.
    hidden.add_options()("enable-test-routes", po::bool_switch(&enable_test_routes));
    // Kills the process (SIGKILL) when a key rotation reaches this step (the crash tests).
    hidden.add_options()("test-crash-at", po::value(&test_crash_at));
#endif
    po::options_description all;
    all.add(command_line_only).add(visible).add(hidden);
    po::options_description in_file;
    in_file.add(visible).add(hidden);

    po::variables_map vm;
    try {
        // Command line first: program_options keeps the first value stored for an option, so
        // the file only fills in what the flags left at their defaults.
        po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
        if (vm.count("config")) {
            const auto file = vm["config"].as<std::string>();
            std::ifstream in(file);
            if (!in) {
                std::cerr << "rosterd: cannot read config file " << file << "\n";
                return 2;
            }
            po::store(po::parse_config_file(in, in_file), vm);
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "rosterd: " << e.what() << "\n" << command_line_only << visible << "\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << command_line_only << visible << "\n";
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "rosterd " << ROSTER_VERSION << "\n";
        return 0;
    }

    const bool replica = !follow_options.servers.empty();
    if (replica && !nats_options.servers.empty()) {
        std::cerr << "rosterd: --follow and --nats exclude each other: a read replica does not publish\n";
        return 2;
    }
    follow_options.stream = nats_options.stream;

    auto where = roster::api::parse_listen_address(listen);
    if (!where) {
        std::cerr << "rosterd: --listen must be host:port or [ipv6]:port, got '" << listen << "'\n";
        return 2;
    }
    options.address = where->first;
    options.port = where->second;
    options.max_body_bytes = max_body;
    options.header_timeout = std::chrono::milliseconds(header_ms);
    options.body_timeout = std::chrono::milliseconds(body_ms);
    options.idle_timeout = std::chrono::milliseconds(idle_ms);
    options.shutdown_grace = std::chrono::milliseconds(grace_ms);
    for (const auto& origin : options.cors.allowed_origins) {
        // An Origin header is scheme "://" host [":" port], nothing more; anything else here
        // would never match one, so it is a configuration mistake worth stopping for.
        const auto rest = origin.starts_with("https://")  ? std::string_view(origin).substr(8)
                          : origin.starts_with("http://") ? std::string_view(origin).substr(7)
                                                          : std::string_view{};
        if (rest.empty() || rest.find_first_of("/?#* ") != std::string_view::npos) {
            std::cerr << "rosterd: --cors-origin must be scheme://host[:port] (no path, no wildcard), got '" << origin
                      << "'\n";
            return 2;
        }
    }
    options.cors.max_age = std::chrono::seconds(cors_max_age_s);
    ticket_options.ttl = std::chrono::milliseconds(std::max(1u, ticket_ttl_ms));
    live_options.queue_events = std::max<std::size_t>(1, live_queue);
    live_options.queue_bytes = std::max<std::size_t>(1, live_queue_bytes);
    live_options.catch_up_bytes = std::max<std::size_t>(1, live_catch_up_bytes);
    live_options.total_bytes = std::max<std::size_t>(1, live_total_bytes);
    live_options.ping_interval = std::chrono::milliseconds(std::max(1u, live_ping_ms));
    live_options.flush_interval = std::chrono::milliseconds(live_flush_ms);

    roster::api::logger_options log_options;
    if (auto level = roster::api::parse_log_level(log_level_name))
        log_options.level = *level;
    else {
        std::cerr << "rosterd: --log-level must be debug, info, warn or error, got '" << log_level_name << "'\n";
        return 2;
    }
    if (auto access = roster::api::parse_access_log(access_log))
        log_options.access = *access;
    else {
        std::cerr << "rosterd: --access-log must be off, all or sampled:N (N >= 1), got '" << access_log << "'\n";
        return 2;
    }
    roster::api::logger log(stderr, log_options);

    std::error_code fs_ec;
    std::filesystem::create_directories(data_dir, fs_ec);
    if (fs_ec) {
        std::cerr << "rosterd: cannot create data directory " << data_dir << ": " << fs_ec.message() << "\n";
        return 1;
    }
    // A replica registers nothing (it has no writer): the leader's operator token, copied with the
    // log, is the one that works there, so a file of its own would only mislead.
    std::optional<roster::api::operator_token_file> token;
    if (replica) {
        std::cout << "operator token: none (read replica; the leader's token works here)" << std::endl;
    } else {
        auto ensured = roster::api::ensure_operator_token(data_dir);
        if (!ensured) {
            std::cerr << "rosterd: " << ensured.error() << "\n";
            return 1;
        }
        token = std::move(*ensured);
        std::cout << "operator token: " << token->path.string() << (token->created ? " (created)" : "") << std::endl;
    }

    // --enable-test-routes: the store's WAL writes and log reads fail on demand (/test/fail-*).
    auto write_faults = enable_test_routes ? std::make_shared<roster::eventstore::write_faults>() : nullptr;
    auto store = roster::eventstore::store::open(roster::eventstore::store_dir(data_dir), {.faults = write_faults});
    if (!store) {
        std::cerr << "rosterd: cannot open the event store: " << store.error().message << "\n";
        return 1;
    }
    const std::filesystem::path key_path = signing_key_path.empty() ? std::filesystem::path(data_dir) / "checkpoint.key"
                                                                    : std::filesystem::path(signing_key_path);
    // The log is the truth about which key signs: a rotation that crashed between its event and
    // its key files is finished here, before the key is loaded. A replica signs nothing.
    if (!replica) {
        std::optional<std::string> logged_key;
        const auto version = (*store)->stream_version(roster::domain::signing_key_stream);
        if (version.value > 0) {
            auto r = (*store)->read_stream(
                roster::domain::signing_key_stream, version, 1, [&](const roster::eventstore::recorded_event& e) {
                    if (auto* x = std::get_if<roster::domain::signing_key_rotated>(&e.payload))
                        logged_key = x->new_verifier_key;
                    return true;
                });
            if (!r) {
                std::cerr << "rosterd: cannot read the signing key rotations: " << r.error().message << "\n";
                return 1;
            }
        }
        auto done = roster::api::reconcile_signing_key(key_path, checkpoint_options.origin, logged_key);
        if (!done) {
            std::cerr << "rosterd: checkpoint signing key " << key_path << ": " << done.error().message << "\n";
            return 1;
        }
        if (!done->empty()) std::cout << "signing key: " << *done << std::endl;
    }
    std::optional<roster::eventstore::verifier_key> leader_key;
    if (!leader_key_text.empty()) {
        auto k = roster::eventstore::verifier_key::parse(leader_key_text);
        if (!k) {
            std::cerr << "rosterd: --leader-key: " << k.error().message << "\n";
            return 1;
        }
        leader_key = *k;
    }
    const auto report_checkpointer = [&log](std::string_view message) {
        log.warn("checkpointer", {{"error", message}});
    };
    checkpoint_options.interval = std::chrono::milliseconds(std::max(1u, checkpoint_interval_ms));
    // Trails the head on its own thread; declared after the store so it stops before the store closes.
    // A replica's builds the same tree over its copy of the log and verifies the leader's
    // checkpoints against it instead of signing.
    std::optional<roster::api::checkpointer> checkpoints_holder;
    if (replica) {
        std::cout << "signing key: none (read replica; it verifies the leader's checkpoints"
                  << (leader_key ? " with " + leader_key->to_string() : std::string(" once the log names a key")) << ")"
                  << std::endl;
        roster::api::checkpoint_verification verification;
        // The key of a checkpoint of `size` leaves: the one the latest rotation at or before it
        // names (and that rotation's old key, which signs until the leader switches), else --leader-key.
        verification.keys_for =
            [&store, leader_key](
                std::uint64_t size) -> roster::eventstore::result<std::vector<roster::eventstore::verifier_key>> {
            std::optional<roster::domain::signing_key_rotated> last;
            auto r =
                (*store)->read_stream(roster::domain::signing_key_stream, roster::domain::stream_version{1}, 1'000'000,
                                      [&](const roster::eventstore::recorded_event& e) {
                                          if (e.position.value > size) return false;
                                          if (auto* x = std::get_if<roster::domain::signing_key_rotated>(&e.payload))
                                              last = *x;
                                          return true;
                                      });
            if (!r) return r.error();
            std::vector<roster::eventstore::verifier_key> keys;
            if (!last) {
                if (leader_key) keys.push_back(*leader_key);
                return keys;
            }
            for (const auto* text : {&last->new_verifier_key, &last->old_verifier_key})
                if (auto k = roster::eventstore::verifier_key::parse(*text)) keys.push_back(*k);
            return keys;
        };
        checkpoints_holder.emplace(**store, std::move(verification), checkpoint_options, report_checkpointer);
    } else {
        auto signing = roster::api::load_or_create_signing_key(key_path, checkpoint_options.origin);
        if (!signing) {
            std::cerr << "rosterd: checkpoint signing key " << key_path << ": " << signing.error().message << "\n";
            return 1;
        }
        std::cout << "signing key: " << key_path.string() << (signing->created ? " (created)" : "") << std::endl;
        checkpoints_holder.emplace(**store, std::move(signing->key), checkpoint_options, report_checkpointer);
    }
    auto& checkpoints = *checkpoints_holder;
    if (auto r = checkpoints.start(); !r) {
        std::cerr << "rosterd: cannot resume the merkle tree: " << r.error().message << "\n";
        return 1;
    }
    roster::projections::read_model reads;
    {
        const auto started = std::chrono::steady_clock::now();
        auto r = roster::projections::restore_from_checkpoint(reads, **store, rebuild_projections);
        if (!r) {
            std::cerr << "rosterd: cannot fold the projections: " << r.error().message << "\n";
            return 1;
        }
        if (!r->ignored.empty())
            log.warn("projection checkpoint ignored; folding the whole log", {{"reason", r->ignored}});
        log.info(
            "projections loaded",
            {{"checkpoint", r->checkpoint.value},
             {"folded", r->folded},
             {"rebuild", rebuild_projections},
             {"ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count()}});
    }
    roster::domain::timestamp (*clock)() = wall_clock;
#ifdef ROSTER_TEST_HOOKS
    // rosterd_test with test routes: a clock POST /test/clock can move forward (token expiry).
    if (enable_test_routes) clock = roster::api::test_clock_now;
#endif
    roster::api::command_processor writer(**store, reads, log, clock);
    if (replica) {
        // No writer on a replica: commands are redirected before they reach it, and the refusal
        // records go to the leader (refusal_forwarder below).
        writer.stop();
    } else {
        if (auto r = writer.start(); !r) {
            std::cerr << "rosterd: cannot load the write model: " << r.error().message << "\n";
            return 1;
        }
        if (!register_operator_token(writer, token->path, log)) return 1;
    }
    log.info("store opened", {{"position", (*store)->head().position.value}});

    roster::api::service svc{**store, reads, writer, log, clock};
    // Every --snapshot-every events (and at shutdown) the live model is written as a snapshot, which
    // serves as-of reads and the next start-up (a restart checkpoint): no second fold of the log.
    roster::projections::past_states past(**store, {.snapshot_every = snapshot_every});
    roster::projections::projection_checkpointer projection_checkpoints(
        **store, reads, past, snapshot_every, [&log](std::string_view message) {
            log.warn("projection checkpoint failed", {{"error", message}});
        });
    projection_checkpoints.start();
    svc.past = &past;
    svc.page_bytes = std::max<std::size_t>(1, page_bytes);
    // Cold as-of folds take a few hundred ms each: a small pool, served a principal at a time, so
    // one looping caller delays another by about one fold.
    roster::api::fair_pool slow_reads(std::max(1u, as_of_threads), as_of_queue);
    svc.run_slow_read = [&slow_reads](const std::string& principal, std::function<void()> read) {
        return slow_reads.post(principal, std::move(read));
    };
    roster::api::principal_limits limits(limit_options);
    svc.limits = &limits;
    refusal_options.window = std::chrono::milliseconds(std::max(1u, refusal_window_ms));
    // A replica's refusals go on record in the leader's log: forwarded through NATS, appended by
    // the leader's refusal intake (below), and back here with the log.
    std::optional<roster::api::refusal_forwarder> forwarder;
    if (replica && !print_routes) {
        if (replica_name.empty()) {
            char host[256] = {};
            if (::gethostname(host, sizeof host - 1) == 0) replica_name = host;
        }
        replica_name = replica_name.substr(0, 64);
        for (auto& c : replica_name)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
        if (replica_name.empty()) replica_name = "replica";
        forwarder.emplace(
            log, roster::api::refusal_forwarder_options{
                     .servers = follow_options.servers, .stream = follow_options.stream, .replica = replica_name});
        forwarder->start();
        refusal_options.sink = [&forwarder](roster::domain::access_denied record,
                                            roster::eventstore::event_metadata meta) {
            forwarder->forward(std::move(record), std::move(meta));
        };
    }
    roster::api::refusal_guard guard(svc, &limits, refusal_options);
    guard.start();
    roster::api::readiness ready;
    ready.add_check([&store, &reads, ready_max_lag]() -> std::optional<std::string> {
        const auto projected = reads.position().value;  // a lag is a count of events
        const auto head = (*store)->head().position.value;
        if (head > projected && head - projected > ready_max_lag)
            return "The projections are " + std::to_string(head - projected) + " events behind the log.";
        return std::nullopt;
    });
    // The writer refuses every command while its write model cannot be rebuilt from the log.
    ready.add_check([&writer] { return writer.why_not_healthy(); });
    roster::api::router routes;
    // Every route's refusals are on record (the guard sees each answer).
    routes.wrap_handlers([&guard, replica, &leader_url](roster::api::handler h, const roster::api::route& r) {
        if (replica && !r.answered_by_replica()) return roster::api::replica_redirect(leader_url);
        return guard.wrap(std::move(h));
    });
    roster::api::add_system_routes(routes, ready);
    roster::api::add_console_routes(routes);
    roster::api::add_resource_routes(routes, svc);
    roster::api::add_admin_routes(routes, svc, backup_dir);
    roster::api::add_proof_routes(routes, svc, checkpoints);
    roster::api::key_rotation_options rotation_options{key_path, checkpoint_options.origin, {}};
    if (!test_crash_at.empty())
        rotation_options.crash_at = [step = test_crash_at](std::string_view at) {
            if (at == step) ::raise(SIGKILL);
        };
    roster::api::add_key_rotation_routes(routes, svc, checkpoints, std::move(rotation_options));

    webhook_options.origin = checkpoint_options.origin;
    webhook_options.backoff = std::chrono::milliseconds(webhook_backoff_ms);
    webhook_options.max_backoff = std::chrono::milliseconds(std::max(webhook_backoff_ms, webhook_max_backoff_ms));
    webhook_options.timeout = std::chrono::milliseconds(std::max(1u, webhook_timeout_ms));
    if (!webhook_ca_file.empty()) webhook_options.ca_file = webhook_ca_file;
    // Follows the log from each endpoint's durable cursor; commands never wait for it.
    roster::api::webhook_dispatcher webhooks(**store, reads, log, webhook_options);
    roster::api::add_webhook_routes(routes, svc, webhooks);
    if (!print_routes && !replica) webhooks.start();

    // Follows the store from its head now; the writer only ever wakes it.
    roster::api::live_hub hub(**store, log, live_options);
    hub.start();
    roster::api::stream_tickets tickets(ticket_options);
    roster::api::add_stream_routes(routes, svc, hub, tickets);

    roster::api::metrics_registry metrics;
    roster::api::http_metrics http_metrics(metrics);
    roster::api::add_store_metrics(metrics, **store, reads);
    metrics.add_gauge("roster_ready", "1 while /readyz answers 200, else 0.",
                      [&ready] { return ready.why_not() ? 0.0 : 1.0; });
    metrics.add_gauge("roster_stream_ticket_bytes",
                      "Bytes charged for unexpired stream tickets (--stream-ticket-bytes).",
                      [&tickets] { return static_cast<double>(tickets.bytes()); });
    metrics.add_gauge("roster_live_subscribers", "Open /v1/stream subscriptions, catching up or live.",
                      [&hub] { return static_cast<double>(hub.subscriber_count()); });
    metrics.add_counter_callback(
        "roster_refusals_total",
        "Refused requests attributed to a principal (401 with a known token, 403, 404 hiding a resource, 429).",
        [&guard] { return static_cast<double>(guard.stats().refusals); });
    metrics.add_counter_callback("roster_refusal_records_total",
                                 "access_denied events the refusals were coalesced into.",
                                 [&guard] { return static_cast<double>(guard.stats().records); });
    metrics.add_counter_callback("roster_live_dropped_total",
                                 "/v1/stream subscribers closed because they fell too far behind.",
                                 [&hub] { return static_cast<double>(hub.dropped_total()); });
    metrics.add_collector([&webhooks](roster::api::exposition& out) { webhooks.collect(out); });
    metrics.add_counter_callback("roster_log_dropped_total",
                                 "Access log lines dropped because the logging thread fell behind (--access-log).",
                                 [&log] { return static_cast<double>(log.dropped()); });
    if (forwarder) {
        metrics.add_counter_callback(
            "roster_refusals_forwarded_total",
            "Refusal records this replica forwarded to the leader (acknowledged by JetStream).",
            [&forwarder] { return static_cast<double>(forwarder->stats().forwarded); });
        metrics.add_counter_callback(
            "roster_refusals_forward_dropped_total",
            "Refusal records dropped because the forward buffer was full (NATS unreachable too long).",
            [&forwarder] { return static_cast<double>(forwarder->stats().dropped); });
        metrics.add_counter_callback("roster_refusals_forward_errors_total", "Failed forwards (retried).",
                                     [&forwarder] { return static_cast<double>(forwarder->stats().errors); });
        metrics.add_gauge("roster_refusals_forward_buffer_bytes", "Refusal records waiting to be forwarded, in bytes.",
                          [&forwarder] { return static_cast<double>(forwarder->stats().buffered_bytes); });
    }
    // Publishes to NATS on its own thread from the log's durable cursor; off without --nats.
    std::optional<roster::api::nats_publisher> nats;
    if (!nats_options.servers.empty()) {
        nats_options.log_origin = checkpoint_options.origin;
        nats_options.replicas = std::max(1, nats_options.replicas);
        nats_options.latest_checkpoint = [&checkpoints]() -> std::optional<std::pair<std::uint64_t, std::string>> {
            auto latest = checkpoints.latest();
            if (!latest) return std::nullopt;
            return std::pair{latest->body.size, std::move(latest->note)};
        };
        nats.emplace(**store, log, nats_options);
        nats->start();
        ready.add_check([&nats] { return nats->why_not_ready(); });
        metrics.add_gauge("roster_nats_published_position", "The last log position JetStream acknowledged.",
                          [&nats] { return static_cast<double>(nats->published()); });
        metrics.add_gauge("roster_nats_lag_events", "Committed events not yet acknowledged by JetStream.",
                          [&nats] { return static_cast<double>(nats->lag()); });
        metrics.add_gauge("roster_nats_connected", "1 while connected to a NATS server, else 0.",
                          [&nats] { return nats->connected() ? 1.0 : 0.0; });
        metrics.add_counter_callback("roster_nats_publish_errors_total",
                                     "Failed or missing JetStream acks, lost connections and refusals.",
                                     [&nats] { return static_cast<double>(nats->errors()); });
    }
    // The read replicas' refusals, appended here like local ones (the replica's name in the
    // reference, the message id as causation_id so a redelivery is recorded once).
    std::optional<roster::api::refusal_intake> intake;
    if (!nats_options.servers.empty() && !print_routes) {
        intake.emplace(
            **store, log,
            roster::api::refusal_intake_options{
                .servers = nats_options.servers, .stream = nats_options.stream, .replicas = nats_options.replicas},
            [&writer](roster::api::forwarded_refusal r, std::function<void(bool)> done) {
                roster::api::command_request request;
                request.actor = r.record.subject;
                request.meta = std::move(r.meta);
                request.record = roster::domain::event(std::move(r.record));
                request.done = [done = std::move(done)](roster::api::command_result result) {
                    done(std::holds_alternative<roster::api::outcome::accepted>(result));
                };
                writer.submit(std::move(request));
            });
        intake->start();
        using stats = roster::api::refusal_intake_stats;
        for (auto [name, help, field] : {
                 std::tuple{"roster_replica_refusals_recorded_total", "Refusal records of read replicas appended.",
                            &stats::recorded},
                 std::tuple{"roster_replica_refusals_duplicate_total",
                            "Redelivered refusal records of read replicas already on record (acknowledged).",
                            &stats::duplicates},
                 std::tuple{"roster_replica_refusals_malformed_total",
                            "Messages of the refusal stream that are no well-formed record (acknowledged, dropped).",
                            &stats::malformed},
                 std::tuple{"roster_replica_refusals_failed_total",
                            "Refusal records of read replicas the writer did not commit (redelivered later).",
                            &stats::failed},
             })
            metrics.add_counter_callback(name, help,
                                         [&intake, field] { return static_cast<double>(intake->stats().*field); });
    }
    // A read replica: follows the leader's stream into the store and folds the projections after
    // each batch, as the writer does after a commit on the leader.
    std::optional<roster::api::replica_follower> follower;
    if (replica && !print_routes) {
        follow_options.on_checkpoint = [&checkpoints](std::string note) { checkpoints.offer(std::move(note)); };
        follow_options.halted = [&checkpoints]() -> std::optional<std::string> {
            if (auto why = checkpoints.verification().refused)
                return "a leader checkpoint failed verification: " + *why;
            return std::nullopt;
        };
        follower.emplace(**store, log, follow_options, [&reads, &store, &log](roster::eventstore::log_position head) {
            if (auto r = reads.catch_up(**store, head); !r)
                log.error("replica_fold_failed", {{"error", r.error().message}});
        });
        follower->start();
        ready.add_check([&follower] { return follower->why_not_ready(); });
        metrics.add_gauge("roster_replica_applied_position", "The last log position this read replica applied.",
                          [&follower] { return static_cast<double>(follower->applied()); });
        metrics.add_gauge("roster_replica_lag_events", "Events in the leader's stream not yet applied here.",
                          [&follower] { return static_cast<double>(follower->lag_events()); });
        metrics.add_gauge("roster_replica_lag_seconds",
                          "Age of the oldest received event not yet applied (0 when caught up).",
                          [&follower] { return follower->lag_seconds(); });
        metrics.add_gauge("roster_replica_connected", "1 while connected to a NATS server, else 0.",
                          [&follower] { return follower->connected() ? 1.0 : 0.0; });
        metrics.add_gauge("roster_replica_stopped", "1 once the stream was refused (see /readyz), else 0.",
                          [&follower] { return follower->stopped_reason() ? 1.0 : 0.0; });
        metrics.add_gauge("roster_replica_verified_size",
                          "Tree size of the latest leader checkpoint this replica verified against its own log "
                          "(what /v1/audit/checkpoint serves; proofs go up to it).",
                          [&checkpoints] { return static_cast<double>(checkpoints.verification().verified_size); });
        metrics.add_gauge(
            "roster_replica_checkpoint_unverified",
            "1 while the leader's latest checkpoints cannot be verified for want of a key (--leader-key).",
            [&checkpoints] { return checkpoints.verification().unverified_reason ? 1.0 : 0.0; });
        metrics.add_gauge("roster_replica_checkpoints_pending",
                          "Leader checkpoints received and waiting for this replica's log to reach their size.",
                          [&checkpoints] { return static_cast<double>(checkpoints.verification().pending); });
        metrics.add_counter_callback(
            "roster_replica_checkpoints_received_total", "Leader checkpoints received.",
            [&checkpoints] { return static_cast<double>(checkpoints.verification().offered); });
        metrics.add_counter_callback(
            "roster_replica_checkpoints_unverified_total", "Leader checkpoints no known key could verify.",
            [&checkpoints] { return static_cast<double>(checkpoints.verification().unverified); });
    }
    roster::api::add_metrics_route(routes, metrics);
    options.on_request_done = [&http_metrics](const roster::api::request_context& ctx, unsigned status,
                                              std::chrono::microseconds latency,
                                              std::size_t bytes) { http_metrics.record(ctx, status, latency, bytes); };

    roster::api::server server(options, routes, log);
    // Declared after the server so it is destroyed first: its threads hold responders that post
    // into the server's io_context.
#ifdef ROSTER_TEST_HOOKS
    std::optional<roster::api::test_routes> test_only;
    if (enable_test_routes) {
        test_only.emplace(routes, log);
        // Storage-fault injection for the 503 tests: failing WAL writes and log reads.
        roster::api::add_fault_test_routes(routes, write_faults);
        roster::api::add_live_test_routes(routes, svc);
        roster::api::add_clock_test_routes(routes);
    }
#endif

    if (print_routes) {
        for (const auto& r : routes.routes()) std::cout << r.method << ' ' << r.path_template << '\n';
        std::cout << std::flush;
    } else {
        if (auto r = server.listen(); !r) {
            std::cerr << "rosterd: " << r.error() << "\n";
            return 1;
        }
        std::string shown_host =
            options.address.find(':') != std::string::npos ? "[" + options.address + "]" : options.address;
        std::cout << "listening on " << shown_host << ":" << server.port() << std::endl;
        ready.set(true);
        log.info("started",
                 {{"port", server.port()}, {"threads", options.threads}, {"test_routes", enable_test_routes}});

        server.run();
    }
    ready.set(false);
    // The server drained every request, slow reads included; nothing is left in the pool.
    slow_reads.join();
    // The server has closed every subscriber; the hub lets go of them before the server's
    // io_context (their executor) is destroyed.
    hub.stop();
    webhooks.stop();
    if (follower) follower->stop();
    // The counts of open refusal windows go to the writer (or the forwarder) before it stops.
    guard.stop();
    if (forwarder) forwarder->stop();
    // Its records in flight are answered before the writer stops.
    if (intake) intake->stop();
    // Every accepted command is answered before the writer stops; the store closes (and
    // flushes) when `store` goes out of scope after it.
    writer.stop();
    // After the writer: the next start folds nothing.
    projection_checkpoints.stop();
    // After the writer: the last checkpoint covers every event written.
    checkpoints.stop();
    if (nats) nats->stop();
    log.info("stopped");
    return 0;
}
