// Live fan-out benchmark (a tool, not a Google Benchmark case): starts a real rosterd on
// 127.0.0.1, connects N WebSocket subscribers to /v1/stream, appends events at a steady rate
// through HTTP (POST /test/append over several connections) and measures delivery latency as
// receive time minus the event's recorded_at (both from this machine's clock).
//
// Each run has two phases in the same process and server: a baseline with one subscriber, then
// N subscribers, both at the same append rate; the table shows both and their ratio.
//
//   build/tests/bench/bench_fanout [--subscribers 1000] [--rate 5000] [--seconds 10]
//                                  [--server-threads 2] [--client-threads 1]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "roster/replay/rfc3339.hpp"
#include "rosterd_process.hpp"

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
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
};

// Latency samples in microseconds, recorded only while `measuring` is set.
struct recorder {
    std::atomic<bool> measuring{false};
    std::mutex mutex;
    std::vector<std::int64_t> samples;
    std::atomic<std::uint64_t> messages{0};
    std::atomic<std::uint64_t> order_errors{0};
    std::atomic<std::uint64_t> closed{0};  // closed by the server before we closed them
    std::atomic<bool> stopping{false};
};

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "position":N and "recorded_at":"..." found by scanning the text: parsing 5 million JSON
// documents a second would measure this client rather than the server.
std::uint64_t field_u64(std::string_view text, std::string_view key) {
    auto at = text.find(key);
    if (at == std::string_view::npos) return 0;
    return std::strtoull(text.data() + at + key.size(), nullptr, 10);
}

std::optional<std::int64_t> recorded_at_us(std::string_view text) {
    constexpr std::string_view key = "\"recorded_at\":\"";
    auto at = text.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    auto end = text.find('"', at + key.size());
    auto t = roster::replay::parse_rfc3339(text.substr(at + key.size(), end - at - key.size()));
    if (!t) return std::nullopt;
    return t->time_since_epoch().count();
}

class subscriber : public std::enable_shared_from_this<subscriber> {
public:
    subscriber(net::io_context& ioc, recorder& rec) : ws_(ioc), rec_(rec) {}

    // Synchronous connect (setup only).
    void connect(unsigned short port, const std::string& token) {
        ws_.next_layer().connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port));
        ws_.set_option(websocket::stream_base::decorator(
            [token](websocket::request_type& req) { req.set(beast::http::field::authorization, "Bearer " + token); }));
        ws_.handshake("127.0.0.1:" + std::to_string(port), "/v1/stream");
    }

    void start() { do_read(); }

    void close() {
        net::post(ws_.get_executor(), [self = shared_from_this()] {
            boost::system::error_code ignored;
            self->ws_.next_layer().close(ignored);
        });
    }

private:
    void do_read() {
        ws_.async_read(buf_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
            if (ec) {
                if (!self->rec_.stopping) self->rec_.closed.fetch_add(1);
                return;
            }
            self->on_message();
            self->do_read();
        });
    }

    void on_message() {
        const auto received = now_us();
        auto data = buf_.cdata();
        std::string_view text(static_cast<const char*>(data.data()), data.size());
        const auto position = field_u64(text, "\"position\":");
        if (last_ != 0 && position != last_ + 1) rec_.order_errors.fetch_add(1);
        last_ = position;
        rec_.messages.fetch_add(1, std::memory_order_relaxed);
        if (rec_.measuring.load(std::memory_order_relaxed)) {
            if (auto t = recorded_at_us(text)) local_.push_back(received - *t);
            if (local_.size() >= 256) flush();
        }
        buf_.consume(buf_.size());
    }

public:
    void flush() {
        std::lock_guard lock(rec_.mutex);
        rec_.samples.insert(rec_.samples.end(), local_.begin(), local_.end());
        local_.clear();
    }

private:
    websocket::stream<tcp::socket> ws_;
    beast::flat_buffer buf_;
    recorder& rec_;
    std::uint64_t last_ = 0;
    std::vector<std::int64_t> local_;
};

struct result_row {
    std::size_t subscribers = 0;
    double appended_per_s = 0, delivered_per_s = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0;
    std::uint64_t order_errors = 0, closed = 0;
};

double percentile(std::vector<std::int64_t>& v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]) / 1000.0;
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

result_row run_phase(unsigned short port, const std::string& token, const config& cfg, std::size_t n) {
    recorder rec;
    net::io_context ioc;
    std::vector<std::shared_ptr<subscriber>> subs;
    subs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto s = std::make_shared<subscriber>(ioc, rec);
        s->connect(port, token);
        s->start();
        subs.push_back(std::move(s));
    }
    auto work = net::make_work_guard(ioc);
    std::vector<std::thread> io;
    for (unsigned i = 0; i < cfg.client_threads; ++i) io.emplace_back([&] { ioc.run(); });

    // Warm-up: one second at the rate, not measured.
    append_at_rate(port, cfg.rate, 1.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    rec.measuring = true;
    const auto before = rec.messages.load();
    const auto t0 = std::chrono::steady_clock::now();
    result_row row;
    row.subscribers = n;
    row.appended_per_s = append_at_rate(port, cfg.rate, cfg.seconds);
    const double appending = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Let the last events arrive before the measurement stops; they count as delivered during
    // the appending (a rate over appending + drain time would understate it).
    std::this_thread::sleep_for(std::chrono::seconds(1));
    rec.measuring = false;
    row.delivered_per_s = static_cast<double>(rec.messages.load() - before) / appending;

    rec.stopping = true;
    for (auto& s : subs) s->close();
    work.reset();
    for (auto& t : io) t.join();
    for (auto& s : subs) s->flush();
    row.p50_ms = percentile(rec.samples, 0.50);
    row.p99_ms = percentile(rec.samples, 0.99);
    row.max_ms = rec.samples.empty()
                     ? 0
                     : static_cast<double>(*std::max_element(rec.samples.begin(), rec.samples.end())) / 1000.0;
    row.order_errors = rec.order_errors.load();
    row.closed = rec.closed.load();
    return row;
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
        else {
            std::cerr << "unknown option " << k << "\n";
            return 2;
        }
    }
    // Every subscriber is a socket here and one in rosterd (which inherits the limit).
    rlimit fds{};
    ::getrlimit(RLIMIT_NOFILE, &fds);
    fds.rlim_cur = fds.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &fds);
    if (fds.rlim_cur < 2 * cfg.subscribers + 100) {
        std::cerr << "file descriptor limit " << fds.rlim_cur << " is too low for " << cfg.subscribers
                  << " subscribers\n";
        return 1;
    }

    temp_dir tmp;
    rosterd_process server(tmp.path() / "data",
                           {"--enable-test-routes", "--threads", std::to_string(cfg.server_threads)});
    const std::string token = roster::test::read_token(tmp.path() / "data");

    std::printf("live fan-out: %zu events/s target, %.0f s measured per phase, rosterd threads %u, client threads %u\n",
                cfg.rate, cfg.seconds, cfg.server_threads, cfg.client_threads);
    auto base = run_phase(server.port(), token, cfg, 1);
    auto full = run_phase(server.port(), token, cfg, cfg.subscribers);

    std::printf(
        "\n| subscribers | appended ev/s | delivered msg/s | p50 ms | p99 ms | max ms | order errors | cut off |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& r : {base, full})
        std::printf("| %zu | %.0f | %.0f | %.2f | %.2f | %.2f | %llu | %llu |\n", r.subscribers, r.appended_per_s,
                    r.delivered_per_s, r.p50_ms, r.p99_ms, r.max_ms, static_cast<unsigned long long>(r.order_errors),
                    static_cast<unsigned long long>(r.closed));
    std::printf("\np99 with %zu subscribers vs 1 subscriber: %.2fx; target p99 < 50 ms: %s\n", cfg.subscribers,
                base.p99_ms > 0 ? full.p99_ms / base.p99_ms : 0.0, full.p99_ms < 50 ? "met" : "NOT met");
    server.terminate();
    return 0;
}
