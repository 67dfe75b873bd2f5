// Live fan-out benchmark (a tool, not a Google Benchmark case): starts a real rosterd on
// 127.0.0.1, connects N subscribers, appends events at a steady rate through HTTP (POST
// /test/append over several connections) and measures delivery latency as receive time minus
// the event's recorded_at (both from this machine's clock).
//
// Transports (issue 17's comparison):
//   ws    N WebSocket subscribers of rosterd's own GET /v1/stream.
//   nats  rosterd --nats publishing to a local `nats-server -js` (its real JetStream publisher),
//         and N core NATS subscriptions on roster.events.> spread over --nats-connections
//         connections: what a dashboard would use (JetStream consumers add acks and server-side
//         state per consumer, which a live view does not need; the stream is for replay).
//
// Each run has two phases in the same process and server: a baseline with one subscriber, then
// N subscribers, both at the same append rate; the table shows both and their ratio, and the
// CPU time rosterd, this client and nats-server spent per second of each phase.
//
//   build/tests/bench/bench_fanout [--subscribers 1000] [--rate 5000] [--seconds 10]
//                                  [--server-threads 2] [--client-threads 1]
//                                  [--transport ws|nats] [--nats-connections 100]
//                                  [--rows-only 1] [--live-flush-ms N (rosterd's; default its own)]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "nats_server.hpp"
#include "roster/replay/rfc3339.hpp"
#include "rosterd_process.hpp"

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using roster::test::http_client;
using roster::test::rosterd_process;
using roster::test::temp_dir;

struct config {
    std::size_t subscribers = 1000;
    std::size_t rate = 5000;
    double seconds = 10;
    unsigned server_threads = 2;
    unsigned client_threads = 1;
    std::string transport = "ws";
    std::size_t nats_connections = 100;
    bool rows_only = false;
    std::string live_flush_ms;  // rosterd's --live-flush-ms; empty = its default
};

// Latency samples in microseconds, recorded only while `measuring` is set.
struct recorder {
    std::atomic<bool> measuring{false};
    std::mutex mutex;
    std::vector<std::int64_t> samples;
    std::atomic<std::uint64_t> messages{0};
    std::atomic<std::uint64_t> order_errors{0};
    std::atomic<std::uint64_t> closed{0};   // closed by the server before we closed them
    std::atomic<std::uint64_t> dropped{0};  // messages the NATS client dropped (slow consumer)
    std::atomic<bool> stopping{false};
};

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "position":N and "recorded_at":"..." found by scanning the text: parsing a million JSON
// documents a second would measure this client rather than the server.
std::uint64_t field_u64(std::string_view text, std::string_view key) {
    auto at = text.find(key);
    if (at == std::string_view::npos) return 0;
    return std::strtoull(text.data() + at + key.size(), nullptr, 10);
}

// Every subscriber gets the same events, so recorded_at is parsed once per position and thread.
std::optional<std::int64_t> recorded_at_us(std::uint64_t position, std::string_view text) {
    struct entry {
        std::uint64_t position = 0;
        std::int64_t at = 0;
    };
    thread_local std::array<entry, 8192> cache{};
    auto& e = cache[position % cache.size()];
    if (position != 0 && e.position == position) return e.at;
    constexpr std::string_view key = "\"recorded_at\":\"";
    auto at = text.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    auto end = text.find('"', at + key.size());
    auto t = roster::replay::parse_rfc3339(text.substr(at + key.size(), end - at - key.size()));
    if (!t) return std::nullopt;
    e = {position, t->time_since_epoch().count()};
    return e.at;
}

// One subscriber's bookkeeping, whatever the transport.
struct tally {
    explicit tally(recorder& r) : rec(r) {}
    recorder& rec;
    std::uint64_t last = 0;
    std::vector<std::int64_t> local;

    void on_message(std::string_view text, std::int64_t received) {
        const auto position = field_u64(text, "\"position\":");
        if (last != 0 && position != last + 1) rec.order_errors.fetch_add(1, std::memory_order_relaxed);
        last = position;
        rec.messages.fetch_add(1, std::memory_order_relaxed);
        if (rec.measuring.load(std::memory_order_relaxed)) {
            if (auto t = recorded_at_us(position, text)) local.push_back(received - *t);
            if (local.size() >= 4096) flush();
        }
    }
    void flush() {
        std::lock_guard lock(rec.mutex);
        rec.samples.insert(rec.samples.end(), local.begin(), local.end());
        local.clear();
    }
};

// A WebSocket subscriber reading frames off the socket itself: Beast's websocket::stream reads
// one message per operation, which at a million messages a second is this client's ceiling, not
// the server's. The handshake is done by hand too, so that no frame bytes are left in a library's
// buffer. Server frames are unmasked and, on /v1/stream, unfragmented text (plus control frames).
class ws_subscriber : public std::enable_shared_from_this<ws_subscriber> {
public:
    ws_subscriber(net::io_context& ioc, recorder& rec) : socket_(ioc), tally_(rec) {}

    // Synchronous connect and upgrade (setup only).
    void connect(unsigned short port, const std::string& token) {
        socket_.connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port));
        socket_.set_option(tcp::no_delay(true));
        const std::string req = "GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                "Authorization: Bearer " +
                                token + "\r\n\r\n";
        net::write(socket_, net::buffer(req));
        net::streambuf head;
        const auto n = net::read_until(socket_, head, "\r\n\r\n");
        std::string text(net::buffers_begin(head.data()), net::buffers_end(head.data()));
        if (text.rfind("HTTP/1.1 101", 0) != 0) throw std::runtime_error("no upgrade: " + text.substr(0, 200));
        // Whatever came after the response head is already frames.
        pending_.assign(text.begin() + static_cast<std::ptrdiff_t>(n), text.end());
    }

    void start() {
        buf_.resize(64 * 1024);
        std::memcpy(buf_.data(), pending_.data(), pending_.size());
        filled_ = pending_.size();
        parse(now_us());
        do_read();
    }

    void close() {
        net::post(socket_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code ignored;
            self->socket_.close(ignored);
        });
    }
    void flush() { tally_.flush(); }

private:
    void do_read() {
        if (filled_ == buf_.size()) buf_.resize(buf_.size() * 2);  // one frame larger than the buffer
        socket_.async_read_some(net::buffer(buf_.data() + filled_, buf_.size() - filled_),
                                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                    if (ec) {
                                        if (!self->tally_.rec.stopping) self->tally_.rec.closed.fetch_add(1);
                                        return;
                                    }
                                    self->filled_ += n;
                                    // Everything in one read arrived at once.
                                    if (!self->parse(now_us())) {
                                        if (!self->tally_.rec.stopping) self->tally_.rec.closed.fetch_add(1);
                                        return;
                                    }
                                    self->do_read();
                                });
    }

    // Consumes the complete frames in buf_; false once a close frame came.
    bool parse(std::int64_t received) {
        std::size_t at = 0;
        bool open = true;
        while (filled_ - at >= 2) {
            const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + at);
            std::uint64_t length = p[1] & 0x7F;
            std::size_t header = 2;
            if (length == 126) {
                if (filled_ - at < 4) break;
                length = (std::uint64_t{p[2]} << 8) | p[3];
                header = 4;
            } else if (length == 127) {
                if (filled_ - at < 10) break;
                length = 0;
                for (int i = 2; i < 10; ++i) length = (length << 8) | p[i];
                header = 10;
            }
            if (filled_ - at < header + length) break;
            const auto op = p[0] & 0x0F;
            if (op == 0x1) tally_.on_message(std::string_view(buf_.data() + at + header, length), received);
            if (op == 0x8) open = false;
            at += header + static_cast<std::size_t>(length);
        }
        std::memmove(buf_.data(), buf_.data() + at, filled_ - at);
        filled_ -= at;
        return open;
    }

    tcp::socket socket_;
    std::string pending_;
    std::vector<char> buf_;
    std::size_t filled_ = 0;
    tally tally_;
};

struct result_row {
    std::size_t subscribers = 0;
    double appended_per_s = 0, delivered_per_s = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0;
    std::uint64_t order_errors = 0;
    std::uint64_t closed = 0;  // ws: subscribers cut off; nats: messages dropped as a slow consumer's
    double server_cpu = 0, client_cpu = 0, broker_cpu = 0;  // CPU seconds per second of the phase
};

double percentile(std::vector<std::int64_t>& v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1000.0;
}

// User + system CPU seconds of a process so far (/proc/<pid>/stat), 0 if unknown.
double process_cpu_seconds(pid_t pid) {
    if (pid <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream fields(text.substr(paren + 2));
    std::string f;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
        if (i == 14) utime = std::stoull(f);
        if (i == 15) stime = std::stoull(f);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Appends `rate` events/s for `seconds` over four connections, each sending a batch per tick.
double append_at_rate(unsigned short port, std::size_t rate, double seconds) {
    constexpr unsigned connections = 4;
    // About every 20 ms per connection; slower ticks when the rate is too low for that.
    const std::size_t per_tick = std::max<std::size_t>(1, rate * 20 / 1000 / connections);
    const auto tick = std::chrono::microseconds(per_tick * connections * 1'000'000 / std::max<std::size_t>(1, rate));
    std::atomic<std::uint64_t> appended{0};
    const auto begin = std::chrono::steady_clock::now();
    const auto end =
        begin + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::thread> threads;
    for (unsigned c = 0; c < connections; ++c)
        threads.emplace_back([&, c] {
            http_client http(port);
            auto next = begin + tick * c / connections;
            while (next < end) {
                std::this_thread::sleep_until(next);
                auto r = http.request("POST", "/test/append?n=" + std::to_string(per_tick));
                if (r.status == 200) appended.fetch_add(per_tick);
                next += tick;  // a late batch does not shift the schedule: the rate is kept when possible
            }
        });
    for (auto& t : threads) t.join();
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return static_cast<double>(appended.load()) / took;
}

// The subscribers of one phase: connected by the constructor, disconnected by stop().
class audience {
public:
    virtual ~audience() = default;
    virtual void stop() = 0;  // after it, every sample is in the recorder
};

class ws_audience final : public audience {
public:
    ws_audience(const config& cfg, unsigned short port, const std::string& token, recorder& rec, std::size_t n)
        : work_(net::make_work_guard(ioc_)) {
        subs_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto s = std::make_shared<ws_subscriber>(ioc_, rec);
            s->connect(port, token);
            s->start();
            subs_.push_back(std::move(s));
        }
        for (unsigned i = 0; i < cfg.client_threads; ++i) io_.emplace_back([this] { ioc_.run(); });
    }
    void stop() override {
        for (auto& s : subs_) s->close();
        work_.reset();
        for (auto& t : io_) t.join();
        for (auto& s : subs_) s->flush();
    }

private:
    net::io_context ioc_;
    net::executor_work_guard<net::io_context::executor_type> work_;
    std::vector<std::shared_ptr<ws_subscriber>> subs_;
    std::vector<std::thread> io_;
};

// Core NATS subscriptions; the C client's global delivery pool (client_threads threads) runs the
// callbacks instead of one thread per subscription.
class nats_audience final : public audience {
public:
    nats_audience(const config& cfg, const std::string& url, recorder& rec, std::size_t n) : rec_(rec) {
        const auto connections = std::max<std::size_t>(1, std::min(n, cfg.nats_connections));
        for (std::size_t c = 0; c < connections; ++c) {
            natsOptions* opts = nullptr;
            natsOptions_Create(&opts);
            natsOptions_SetURL(opts, url.c_str());
            natsOptions_UseGlobalMessageDelivery(opts, true);
            natsConnection* nc = nullptr;
            if (natsConnection_Connect(&nc, opts) != NATS_OK) throw std::runtime_error("cannot connect to nats");
            natsOptions_Destroy(opts);
            conns_.push_back(nc);
        }
        for (std::size_t i = 0; i < n; ++i) {
            auto& t = tallies_.emplace_back(std::make_unique<tally>(rec));
            natsSubscription* sub = nullptr;
            if (natsConnection_Subscribe(&sub, conns_[i % conns_.size()], "roster.events.>", &nats_audience::on_msg,
                                         t.get()) != NATS_OK)
                throw std::runtime_error("cannot subscribe");
            // Generous pending limits: a slow subscription should show as latency, not as drops.
            natsSubscription_SetPendingLimits(sub, 1'000'000, 1024 * 1024 * 1024);
            subs_.push_back(sub);
        }
        for (auto* nc : conns_) natsConnection_FlushTimeout(nc, 5'000);
    }
    ~nats_audience() override { stop(); }
    void stop() override {
        if (conns_.empty()) return;
        for (auto* s : subs_) {
            int64_t d = 0;
            if (natsSubscription_GetDropped(s, &d) == NATS_OK) rec_.dropped += static_cast<std::uint64_t>(d);
            natsSubscription_Unsubscribe(s);
            natsSubscription_Destroy(s);
        }
        for (auto* nc : conns_) {
            natsConnection_Close(nc);
            natsConnection_Destroy(nc);
        }
        subs_.clear();
        conns_.clear();
        for (auto& t : tallies_) t->flush();
    }

private:
    static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
        const auto received = now_us();
        auto* t = static_cast<tally*>(closure);
        t->on_message(std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))),
                      received);
        natsMsg_Destroy(msg);
    }

    recorder& rec_;
    std::vector<natsConnection*> conns_;
    std::vector<natsSubscription*> subs_;
    std::vector<std::unique_ptr<tally>> tallies_;  // one per subscription; the callbacks of one are serial
};

struct servers {
    rosterd_process* rosterd = nullptr;
    pid_t broker = -1;  // nats-server, when measured
    std::string nats_url;
};

result_row run_phase(const servers& srv, const std::string& token, const config& cfg, std::size_t n) {
    recorder rec;
    const auto port = srv.rosterd->port();
    std::unique_ptr<audience> subs;
    if (cfg.transport == "nats")
        subs = std::make_unique<nats_audience>(cfg, srv.nats_url, rec, n);
    else
        subs = std::make_unique<ws_audience>(cfg, port, token, rec, n);

    // Warm-up: one second at the rate, not measured.
    append_at_rate(port, cfg.rate, 1.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    rec.measuring = true;
    const auto before = rec.messages.load();
    const auto server0 = process_cpu_seconds(srv.rosterd->pid());
    const auto broker0 = process_cpu_seconds(srv.broker);
    const auto client0 = process_cpu_seconds(::getpid());
    const auto t0 = std::chrono::steady_clock::now();
    result_row row;
    row.subscribers = n;
    row.appended_per_s = append_at_rate(port, cfg.rate, cfg.seconds);
    const double appending = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Let the last events arrive before the measurement stops; they count as delivered during
    // the appending (a rate over appending + drain time would understate it).
    std::this_thread::sleep_for(std::chrono::seconds(1));
    rec.measuring = false;
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    row.delivered_per_s = static_cast<double>(rec.messages.load() - before) / appending;
    row.server_cpu = (process_cpu_seconds(srv.rosterd->pid()) - server0) / took;
    row.broker_cpu = srv.broker > 0 ? (process_cpu_seconds(srv.broker) - broker0) / took : 0;
    row.client_cpu = (process_cpu_seconds(::getpid()) - client0) / took;

    rec.stopping = true;
    subs->stop();
    row.p50_ms = percentile(rec.samples, 0.50);
    row.p99_ms = percentile(rec.samples, 0.99);
    row.max_ms = rec.samples.empty()
                     ? 0
                     : static_cast<double>(*std::max_element(rec.samples.begin(), rec.samples.end())) / 1000.0;
    row.order_errors = rec.order_errors.load();
    row.closed = rec.closed.load() + rec.dropped.load();
    return row;
}

// The pid of the nats-server listening on `port` (the test helper keeps its pid to itself).
pid_t pid_listening_on(unsigned short port) {
    const std::string cmd = "ss -Htlnp 'sport = :" + std::to_string(port) + "' | grep -o 'pid=[0-9]*' | head -1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return -1;
    char line[64] = {};
    const bool got = std::fgets(line, sizeof line, p) != nullptr;
    ::pclose(p);
    return got ? static_cast<pid_t>(std::atoi(line + 4)) : -1;
}

}  // namespace

int main(int argc, char** argv) {
    config cfg;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        std::string v = argv[i + 1];
        if (k == "--subscribers")
            cfg.subscribers = std::stoul(v);
        else if (k == "--rate")
            cfg.rate = std::stoul(v);
        else if (k == "--seconds")
            cfg.seconds = std::stod(v);
        else if (k == "--server-threads")
            cfg.server_threads = static_cast<unsigned>(std::stoul(v));
        else if (k == "--client-threads")
            cfg.client_threads = static_cast<unsigned>(std::stoul(v));
        else if (k == "--transport" && (v == "ws" || v == "nats"))
            cfg.transport = v;
        else if (k == "--nats-connections")
            cfg.nats_connections = std::stoul(v);
        else if (k == "--rows-only")
            cfg.rows_only = v == "1";
        else if (k == "--live-flush-ms")
            cfg.live_flush_ms = v;
        else {
            std::cerr << "unknown option " << k << " " << v << "\n";
            return 2;
        }
    }
    // Every WebSocket subscriber is a socket here and one in rosterd (which inherits the limit).
    rlimit fds{};
    ::getrlimit(RLIMIT_NOFILE, &fds);
    fds.rlim_cur = fds.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &fds);
    if (cfg.transport == "ws" && fds.rlim_cur < 2 * cfg.subscribers + 100) {
        std::cerr << "file descriptor limit " << fds.rlim_cur << " is too low for " << cfg.subscribers
                  << " subscribers\n";
        return 1;
    }

    temp_dir tmp;
    std::optional<roster::test::nats_server> broker;
    servers srv;
    std::vector<std::string> args{"--enable-test-routes", "--threads", std::to_string(cfg.server_threads)};
    if (cfg.transport == "nats") {
        nats_Open(-1);
        // The delivery pool runs the subscription callbacks (see nats_audience).
        nats_SetMessageDeliveryPoolSize(static_cast<int>(std::max(1u, cfg.client_threads)));
        broker.emplace(tmp.path() / "nats");
        srv.nats_url = broker->url();
        srv.broker = pid_listening_on(broker->port());
        args.insert(args.end(), {"--nats", srv.nats_url});
    }
    if (!cfg.live_flush_ms.empty()) args.insert(args.end(), {"--live-flush-ms", cfg.live_flush_ms});
    rosterd_process server(tmp.path() / "data", args);
    srv.rosterd = &server;
    const std::string token = roster::test::read_token(tmp.path() / "data");

    if (!cfg.rows_only)
        std::printf(
            "live fan-out over %s: %zu events/s target, %.0f s measured per phase, rosterd threads %u, client "
            "threads %u\n",
            cfg.transport.c_str(), cfg.rate, cfg.seconds, cfg.server_threads, cfg.client_threads);
    auto base = run_phase(srv, token, cfg, 1);
    auto full = run_phase(srv, token, cfg, cfg.subscribers);

    if (!cfg.rows_only) {
        std::printf(
            "\n| subscribers | appended ev/s | delivered msg/s | p50 ms | p99 ms | max ms | order errors | cut off | "
            "rosterd CPU | client CPU | nats-server CPU |\n");
        std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    }
    for (const auto& r : {base, full})
        std::printf("| %zu | %.0f | %.0f | %.2f | %.2f | %.2f | %llu | %llu | %.0f%% | %.0f%% | %s |\n", r.subscribers,
                    r.appended_per_s, r.delivered_per_s, r.p50_ms, r.p99_ms, r.max_ms,
                    static_cast<unsigned long long>(r.order_errors), static_cast<unsigned long long>(r.closed),
                    100 * r.server_cpu, 100 * r.client_cpu,
                    srv.broker > 0 ? (std::to_string(static_cast<int>(100 * r.broker_cpu)) + "%").c_str() : "-");
    if (!cfg.rows_only)
        std::printf("\np99 with %zu subscribers vs 1 subscriber: %.2fx; target p99 < 50 ms: %s\n", cfg.subscribers,
                    base.p99_ms > 0 ? full.p99_ms / base.p99_ms : 0.0, full.p99_ms < 50 ? "met" : "NOT met");
    server.terminate();
    return 0;
}
