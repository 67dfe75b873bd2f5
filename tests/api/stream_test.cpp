// Streamed (chunked) responses and the WebSocket live stream, against the real rosterd.
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

// A line of /proc/<pid>/status in KiB (VmHWM: the peak resident set size).
std::uint64_t proc_status_kib(pid_t pid, std::string_view key) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
            return std::stoull(line.substr(key.size() + 1));
    return 0;
}

class chunked_test : public ::testing::Test {
protected:
    rosterd_process& start() {
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data",
                                                    std::vector<std::string>{"--threads", "2", "--enable-test-routes"});
        return *server_;
    }
    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
};

bool pieces_in_order(const std::string& body, std::size_t pieces, std::size_t bytes) {
    if (body.size() != pieces * bytes) return false;
    for (std::size_t i = 0; i < pieces; ++i)
        if (body.find_first_not_of(static_cast<char>('a' + i % 26), i * bytes) < (i + 1) * bytes) return false;
    return true;
}

TEST_F(chunked_test, whole_body_arrives_chunked_and_the_connection_is_reused) {
    auto& s = start();
    http_client c(s.port());
    auto r = c.request("GET", "/test/stream?pieces=30&bytes=1000");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("transfer-encoding").value_or(""), "chunked");
    EXPECT_FALSE(r.header("content-length").has_value());
    EXPECT_TRUE(r.header("x-request-id").has_value());
    EXPECT_TRUE(pieces_in_order(r.body, 30, 1000));
    EXPECT_TRUE(r.keep_alive);

    // The same connection serves the next request after the final chunk.
    auto empty = c.request("GET", "/test/stream?pieces=0&bytes=10");
    EXPECT_EQ(empty.status, 200u);
    EXPECT_EQ(empty.body, "");
    EXPECT_EQ(c.request("GET", "/healthz").status, 200u);
    ASSERT_TRUE(s.wait_for_log("\"route\":\"/test/stream\""));
    // The access log counts every byte written, header and chunk framing included.
    EXPECT_NE(s.log_text().find("\"status\":200"), std::string::npos);
}

TEST_F(chunked_test, a_large_body_does_not_grow_the_server_memory) {
    auto& s = start();
    http_client c(s.port());
    // Warm up allocators and the connection first, so the measurement sees only the body.
    ASSERT_EQ(c.request("GET", "/test/stream?pieces=4&bytes=65536").status, 200u);
    const auto before = proc_status_kib(s.pid(), "VmHWM");
    ASSERT_GT(before, 0u);
    constexpr std::size_t pieces = 800, bytes = 65536;  // 52 MB
    auto r = c.request("GET", "/test/stream?pieces=800&bytes=65536");
    ASSERT_EQ(r.status, 200u);
    EXPECT_TRUE(pieces_in_order(r.body, pieces, bytes));
    const auto after = proc_status_kib(s.pid(), "VmHWM");
    // A buffered 52 MB body would raise the peak by at least 50 MB; streamed, it stays at a few pieces.
    EXPECT_LT(after - before, 8u * 1024) << "VmHWM " << before << " KiB -> " << after << " KiB";
}

TEST_F(chunked_test, a_failing_producer_truncates_the_transfer) {
    auto& s = start();
    http_client c(s.port());
    EXPECT_THROW(c.request("GET", "/test/stream?pieces=10&bytes=1000&fail_after=3"), std::runtime_error);
    EXPECT_TRUE(s.wait_for_log("stream_producer_failed"));
    // The server goes on serving other connections.
    http_client other(s.port());
    EXPECT_EQ(other.request("GET", "/healthz").status, 200u);
}

// ---------------------------------------------------------------------------------------------
// The live stream.

namespace json = boost::json;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// One WebSocket client connection. Every operation is bounded by a time limit (never a timing
// assertion: a broken server fails the test instead of hanging it).
class ws_client {
public:
    struct frame {
        enum kind { message, closed, timeout } what = timeout;
        json::object event;  // message
        websocket::close_code code{};
        std::string reason;  // closed: the close reason (empty on a plain EOF/reset)
    };

    // Connects and upgrades; `status` is 101 on success, otherwise the refusal's status (and body).
    ws_client(unsigned short port, const std::string& target, const std::string& token, int receive_buffer = 0)
        : ws_(ioc_) {
        auto& sock = ws_.next_layer();
        sock.open(tcp::v4());
        if (receive_buffer > 0) {
            // Set before connecting so the window is small from the start.
            sock.set_option(net::socket_base::receive_buffer_size(receive_buffer));
        }
        sock.connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port));
        ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
            if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
        }));
        websocket::response_type res;
        boost::system::error_code result;
        bool done = false;
        ws_.async_handshake(res, "127.0.0.1:" + std::to_string(port), target, [&](boost::system::error_code ec) {
            result = ec;
            done = true;
        });
        ioc_.run_for(safety_limit);
        if (!done) throw std::runtime_error("ws_client: no handshake answer within the safety limit");
        status = res.result_int();
        body = res.body();
        if (!result) status = 101;
    }

    // The next message or the close; `timeout` when nothing came within `limit`.
    frame next(std::chrono::milliseconds limit = safety_limit) {
        frame f;
        if (closed_) {
            f.what = frame::closed;
            return f;
        }
        boost::system::error_code result;
        bool done = false;
        buf_.clear();
        ioc_.restart();
        ws_.async_read(buf_, [&](boost::system::error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
        ioc_.run_for(limit);
        if (!done) {
            boost::system::error_code ignored;
            ws_.next_layer().cancel(ignored);
            ioc_.restart();
            ioc_.run();
            closed_ = true;  // a cancelled WebSocket read leaves the stream unusable
            return f;
        }
        if (result) {
            closed_ = true;
            f.what = frame::closed;
            f.code = static_cast<websocket::close_code>(ws_.reason().code);
            f.reason = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
            return f;
        }
        f.what = frame::message;
        f.event = json::parse(beast::buffers_to_string(buf_.data())).as_object();
        return f;
    }

    // Reads messages until the one at `position` (inclusive); the positions seen, in order.
    std::vector<std::uint64_t> positions_until(std::uint64_t position, std::vector<json::object>* events = nullptr) {
        std::vector<std::uint64_t> seen;
        for (;;) {
            auto f = next();
            if (f.what != frame::message)
                throw std::runtime_error("ws_client: stream ended before position " + std::to_string(position));
            seen.push_back(static_cast<std::uint64_t>(f.event.at("position").as_int64()));
            if (events) events->push_back(f.event);
            if (seen.back() >= position) return seen;
        }
    }

    // Control frames seen while reading (Beast answers the server's pings by itself).
    void count_control_frames() {
        ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
            if (kind == websocket::frame_type::ping) ++pings_received;
            if (kind == websocket::frame_type::pong) pongs_received.emplace_back(payload);
        });
    }
    void send_ping(const std::string& payload) { ws_.ping(websocket::ping_data(payload.c_str())); }
    // The closing handshake from the client's side; the error it ended with.
    boost::system::error_code close_normally() {
        boost::system::error_code result = net::error::timed_out;
        ioc_.restart();
        ws_.async_close(websocket::close_code::normal, [&](boost::system::error_code ec) { result = ec; });
        ioc_.run_for(safety_limit);
        closed_ = true;
        return result;
    }

    unsigned status = 0;
    std::string body;
    int pings_received = 0;
    std::vector<std::string> pongs_received;

private:
    net::io_context ioc_;
    websocket::stream<tcp::socket> ws_;
    beast::flat_buffer buf_;
    bool closed_ = false;
};

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> out;
    for (auto p = first; p <= last; ++p) out.push_back(p);
    return out;
}

class live_test : public ::testing::Test {
protected:
    void start(std::vector<std::string> extra = {}) {
        extra.insert(extra.end(), {"--threads", "2", "--enable-test-routes"});
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data", std::move(extra));
        http_ = std::make_unique<http_client>(server_->port());
        op_token_ = read_token(tmp_.path() / "data");
    }
    unsigned short port() const { return server_->port(); }

    http_reply call(std::string_view method, std::string_view target, const json::value* body = nullptr,
                    const std::string& token = {}) {
        std::vector<std::pair<std::string, std::string>> h{
            {"Authorization", "Bearer " + (token.empty() ? op_token_ : token)}};
        std::string payload;
        if (body) {
            payload = json::serialize(*body);
            h.emplace_back("Content-Type", "application/json");
        }
        return http_->request(method, target, payload, h);
    }
    // Appends n events through the writer; returns the head after them.
    std::uint64_t append(std::size_t n, http_client* via = nullptr) {
        auto r = (via ? via : http_.get())->request("POST", "/test/append?n=" + std::to_string(n));
        if (r.status != 200) throw std::runtime_error("append: " + r.body);
        return static_cast<std::uint64_t>(r.json().at("head").as_int64());
    }
    std::uint64_t head() {
        auto r = call("GET", "/v1/events?limit=1");
        return static_cast<std::uint64_t>(r.json().at("head").as_int64());
    }
    void open_account(const std::string& id) {
        json::value body = json::object{{"id", id}, {"name", id + " Inc"}, {"kind", "customer"}};
        auto r = call("POST", "/v1/accounts", &body);
        ASSERT_EQ(r.status, 201u) << r.body;
    }
    std::string create_user(const std::string& account, const std::string& email, json::object roles) {
        json::value body = json::object{{"email", email}, {"name", email}, {"roles", std::move(roles)}};
        auto r = call("POST", "/v1/accounts/" + account + "/users", &body);
        EXPECT_EQ(r.status, 201u) << r.body;
        return std::string(r.json().at("user").at("id").as_string());
    }
    std::string token_for(json::object principal) {
        json::value body = json::object{{"principal", std::move(principal)}};
        auto r = call("POST", "/v1/tokens", &body);
        EXPECT_EQ(r.status, 201u) << r.body;
        return std::string(r.json().at("token").as_string());
    }
    void expect_stalled_cut_off(std::vector<std::string> flags, int rounds, bool with_healthy = true);
    std::string problem_code(const ws_client& c) {
        auto v = json::parse(c.body);
        return std::string(v.at("code").as_string());
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::string op_token_;
};

TEST_F(live_test, catch_up_then_live_under_concurrent_appends_has_no_gap_or_duplicate) {
    start();
    const auto k = append(300) - 150;  // resume from the middle of the log
    std::atomic<bool> writing{true};
    std::uint64_t final_head = 0;
    std::thread writer([&] {
        http_client c(port());
        for (int i = 0; i < 40; ++i) final_head = append(25, &c);
        writing = false;
    });
    // Connects while the writer thread appends, so the switch from log to live happens under load.
    ws_client sub(port(), "/v1/stream?from=" + std::to_string(k), op_token_);
    ASSERT_EQ(sub.status, 101u) << sub.body;
    writer.join();
    ASSERT_GT(final_head, k + 150);
    auto seen = sub.positions_until(final_head);
    EXPECT_EQ(seen, range(k, final_head));  // from=k starts at k, inclusive
    // Nothing after the head either.
    EXPECT_EQ(sub.next(std::chrono::milliseconds(300)).what, ws_client::frame::timeout);
}

// One meaning for a position (README "Positions and cursors"): the same N given to the events
// page, the export, the stream and a history starts each of them at the same event, N itself.
TEST_F(live_test, the_same_position_starts_events_export_stream_and_history_at_the_same_event) {
    start();
    open_account("acme");
    for (int i = 0; i < 6; ++i)
        create_user("acme", "u" + std::to_string(i) + "@acme.test", json::object{{"support", json::array{"viewer"}}});
    append(20);
    // An event of acme's in the middle of the log, so the history has one to start at too.
    auto acme = call("GET", "/v1/events?limit=1000&account=acme").json().at("events").as_array();
    ASSERT_GE(acme.size(), 7u);
    const auto n = static_cast<std::uint64_t>(acme.at(3).at("position").as_int64());
    const auto first_position = [](const json::value& events) {
        return static_cast<std::uint64_t>(events.at(0).at("position").as_int64());
    };

    auto events = call("GET", "/v1/events?limit=1&from=" + std::to_string(n));
    ASSERT_EQ(events.status, 200u) << events.body;
    EXPECT_EQ(first_position(events.json().at("events")), n);
    // next_from is what to pass as from to continue.
    const auto next_from = static_cast<std::uint64_t>(events.json().at("next_from").as_int64());
    EXPECT_EQ(next_from, n + 1);
    EXPECT_EQ(first_position(call("GET", "/v1/events?limit=1&from=" + std::to_string(next_from)).json().at("events")),
              n + 1);

    auto exported = call("GET", "/v1/audit/export?format=jsonl&since=" + std::to_string(n));
    ASSERT_EQ(exported.status, 200u) << exported.body;
    const auto first_line = json::parse(exported.body.substr(0, exported.body.find('\n')));
    EXPECT_EQ(static_cast<std::uint64_t>(first_line.at("position").as_int64()), n) << first_line;

    ws_client sub(port(), "/v1/stream?from=" + std::to_string(n), op_token_);
    ASSERT_EQ(sub.status, 101u) << sub.body;
    EXPECT_EQ(sub.positions_until(n).front(), n);

    auto history = call("GET", "/v1/accounts/acme/history?limit=1&since=" + std::to_string(n));
    ASSERT_EQ(history.status, 200u) << history.body;
    EXPECT_EQ(first_position(history.json().at("events")), n);
    // A history's next_cursor is, like next_from, the position the next page starts at: page two
    // begins with the event a page of two would have listed second.
    const std::string cursor(history.json().at("next_cursor").as_string());
    EXPECT_GT(std::stoull(cursor), n);
    auto two = call("GET", "/v1/accounts/acme/history?limit=2&since=" + std::to_string(n)).json();
    const auto second = static_cast<std::uint64_t>(two.at("events").at(1).at("position").as_int64());
    auto page2 = call("GET", "/v1/accounts/acme/history?limit=1&cursor=" + cursor);
    ASSERT_EQ(page2.status, 200u) << page2.body;
    EXPECT_EQ(first_position(page2.json().at("events")), second);
}

TEST_F(live_test, without_from_only_new_events_arrive_in_the_events_json_shape) {
    start();
    const auto before = append(20);
    ws_client sub(port(), "/v1/stream", op_token_);
    ASSERT_EQ(sub.status, 101u) << sub.body;
    // The subscription is registered after the handshake; a probe append tells where it starts.
    const auto after = append(5);
    std::vector<json::object> events;
    auto seen = sub.positions_until(after, &events);
    ASSERT_FALSE(seen.empty());
    EXPECT_GT(seen.front(), before);
    EXPECT_EQ(seen, range(seen.front(), after));
    // Same JSON as the GET /v1/events entry.
    auto listed = call("GET", "/v1/events?from=" + std::to_string(after) + "&limit=1").json();
    EXPECT_EQ(json::value(events.back()), listed.at("events").at(0));
}

TEST_F(live_test, account_and_type_filters) {
    start();
    open_account("acme");
    open_account("beta");
    create_user("acme", "a1@acme.test", json::object{{"support", json::array{"admin"}}});
    create_user("beta", "b1@beta.test", json::object{{"support", json::array{"admin"}}});
    append(10);
    create_user("acme", "a2@acme.test", json::object{{"learning", json::array{"learner"}}});
    const auto h = head();

    auto expected = [&](const std::string& query) {
        std::vector<std::uint64_t> out;
        auto listed = call("GET", "/v1/events?limit=1000&" + query).json();
        for (auto& e : listed.at("events").as_array())
            out.push_back(static_cast<std::uint64_t>(e.at("position").as_int64()));
        return out;
    };
    auto acme = expected("account=acme");
    ASSERT_GE(acme.size(), 5u);
    ws_client by_account(port(), "/v1/stream?from=0&account=acme", op_token_);
    ASSERT_EQ(by_account.status, 101u) << by_account.body;
    EXPECT_EQ(by_account.positions_until(acme.back()), acme);

    auto opened = expected("type=account_opened");
    ASSERT_EQ(opened.size(), 2u);
    ws_client by_type(port(), "/v1/stream?from=0&types=account_opened,member_removed", op_token_);
    ASSERT_EQ(by_type.status, 101u) << by_type.body;
    EXPECT_EQ(by_type.positions_until(opened.back()), opened);

    // Live events are filtered too: only beta's new member reaches the beta subscriber.
    // head + 1: the next event to be recorded, where a subscriber that has seen everything resumes.
    ws_client beta_live(port(), "/v1/stream?from=" + std::to_string(h + 1) + "&account=beta", op_token_);
    ASSERT_EQ(beta_live.status, 101u) << beta_live.body;
    append(10);
    create_user("beta", "b2@beta.test", json::object{{"learning", json::array{"learner"}}});
    auto beta_new = expected("account=beta&from=" + std::to_string(h + 1));
    ASSERT_FALSE(beta_new.empty());
    EXPECT_EQ(beta_live.positions_until(beta_new.back()), beta_new);

    ws_client unknown(port(), "/v1/stream?types=user_created,no_such_event", op_token_);
    EXPECT_EQ(unknown.status, 400u);
    EXPECT_EQ(problem_code(unknown), "unknown_event_type");
    ws_client beyond(port(), "/v1/stream?from=" + std::to_string(h + 1000), op_token_);
    EXPECT_EQ(beyond.status, 400u);
    EXPECT_EQ(problem_code(beyond), "from_beyond_head");
}

// format=ocsf: the same events a format=ocsf export has, each as its OCSF object; a type without
// an OCSF class sends nothing (test appends are token_issued), catching up and live alike.
TEST_F(live_test, ocsf_format_sends_only_mapped_events_as_the_exports_ocsf_objects) {
    start();
    open_account("acme");
    open_account("beta");
    const auto a1 = create_user("acme", "a1@acme.test", json::object{{"support", json::array{"admin"}}});
    append(10);
    create_user("beta", "b1@beta.test", json::object{{"support", json::array{"viewer"}}});
    const auto h = head();
    auto sequence = [](const json::object& o) {
        return static_cast<std::uint64_t>(o.at("metadata").at("sequence").as_int64());
    };
    auto exported = [&](const std::string& query) {
        std::vector<json::object> out;
        auto r = call("GET", "/v1/audit/export?format=ocsf" + query);
        EXPECT_EQ(r.status, 200u) << r.body;
        for (std::size_t start = 0; start < r.body.size();) {
            const auto end = r.body.find('\n', start);
            out.push_back(json::parse(r.body.substr(start, end - start)).as_object());
            start = end + 1;
        }
        return out;
    };
    // Reads OCSF messages until the one at `position`.
    auto until = [&](ws_client& sub, std::uint64_t position) {
        std::vector<json::object> out;
        for (;;) {
            auto f = sub.next();
            if (f.what != ws_client::frame::message) {
                ADD_FAILURE() << "stream ended before position " << position;
                return out;
            }
            out.push_back(f.event);
            if (sequence(f.event) >= position) return out;
        }
    };

    const auto want = exported("");
    ASSERT_GE(want.size(), 4u);  // per user at least user_created and roles_granted
    ws_client all(port(), "/v1/stream?from=0&format=ocsf", op_token_);
    ASSERT_EQ(all.status, 101u) << all.body;
    EXPECT_EQ(until(all, sequence(want.back())), want);

    // Live, with the account filter: the appended token events send nothing, acme's lock does.
    ws_client acme(port(), "/v1/stream?from=" + std::to_string(h + 1) + "&account=acme&format=ocsf", op_token_);
    ASSERT_EQ(acme.status, 101u) << acme.body;
    // Beside it, a subscriber of Roster's JSON: the hub serializes each form once, never one for the other.
    ws_client plain(port(), "/v1/stream?from=" + std::to_string(h + 1) + "&account=acme", op_token_);
    ASSERT_EQ(plain.status, 101u) << plain.body;
    append(10);
    json::value reason = json::object{{"reason", "left"}};
    ASSERT_EQ(call("POST", "/v1/users/" + a1 + "/lock", &reason).status, 200u);
    const auto lock = head();
    const auto got = until(acme, lock);
    ASSERT_FALSE(got.empty());
    EXPECT_GT(sequence(got.front()), h + 10);  // past the token events
    EXPECT_EQ(got.back().at("activity_name").as_string(), "Lock");
    EXPECT_EQ(json::value(got.back()), json::value(exported("&since=" + std::to_string(lock)).at(0)));
    EXPECT_EQ(acme.next(std::chrono::milliseconds(300)).what, ws_client::frame::timeout);
    std::vector<json::object> roster_json;
    plain.positions_until(lock, &roster_json);
    ASSERT_FALSE(roster_json.empty());
    EXPECT_EQ(roster_json.back().at("type").as_string(), "user_locked");
    EXPECT_FALSE(roster_json.back().contains("metadata"));

    ws_client bad(port(), "/v1/stream?format=cef", op_token_);
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(problem_code(bad), "invalid_query");
}

TEST_F(live_test, authorization_matrix) {
    start();
    open_account("acme");
    open_account("beta");
    auto acme_admin = token_for(
        {{"user_id", create_user("acme", "admin@acme.test", json::object{{"impact", json::array{"admin"}}})}});
    auto acme_member = token_for(
        {{"user_id", create_user("acme", "m@acme.test", json::object{{"learning", json::array{"learner"}}})}});
    auto beta_admin = token_for(
        {{"user_id", create_user("beta", "admin@beta.test", json::object{{"support", json::array{"admin"}}})}});
    auto auditor = token_for({{"auditor", true}});

    auto status_of = [&](const std::string& target, const std::string& token) {
        ws_client c(port(), target, token);
        return c.status;
    };
    EXPECT_EQ(status_of("/v1/stream", ""), 401u);
    EXPECT_EQ(status_of("/v1/stream", "not-a-token"), 401u);
    EXPECT_EQ(status_of("/v1/stream", acme_admin), 403u);  // an admin must name the account
    EXPECT_EQ(status_of("/v1/stream?account=acme", acme_member), 403u);
    auto other = status_of("/v1/stream?account=acme", beta_admin);
    EXPECT_TRUE(other == 403u || other == 404u) << other;
    EXPECT_EQ(status_of("/v1/stream?account=nope", auditor), 404u);
    EXPECT_EQ(status_of("/v1/stream?account=acme", acme_admin), 101u);
    EXPECT_EQ(status_of("/v1/stream", auditor), 101u);
    EXPECT_EQ(status_of("/v1/stream?account=beta", auditor), 101u);

    // An admin's stream carries only its account's events.
    ws_client admin(port(), "/v1/stream?from=0&account=acme", acme_admin);
    ASSERT_EQ(admin.status, 101u);
    for (int i = 0; i < 3; ++i) {
        auto f = admin.next();
        ASSERT_EQ(f.what, ws_client::frame::message);
        EXPECT_NE(json::serialize(f.event.at("data")).find("acme"), std::string::npos) << json::serialize(f.event);
    }

    // A plain GET (no upgrade) is told to upgrade.
    auto plain = http_->request("GET", "/v1/stream", {}, {{"Authorization", "Bearer " + op_token_}});
    EXPECT_EQ(plain.status, 426u) << plain.body;
}

// Starts rosterd with `flags` (a limit small enough for the stalled subscriber to reach),
// appends `rounds` times 100 events while a healthy subscriber (if `with_healthy`) keeps up and a
// stalled one does not, and checks that only the stalled one is cut off, with its last
// position, and can resume.
void live_test::expect_stalled_cut_off(std::vector<std::string> flags, int rounds, bool with_healthy) {
    start(std::move(flags));
    const auto start_head = head();
    // A tiny receive window: the client stops reading and the server's queue fills up fast.
    ws_client stalled(port(), "/v1/stream", op_token_, 4096);
    ASSERT_EQ(stalled.status, 101u) << stalled.body;
    std::optional<ws_client> healthy;
    if (with_healthy) {
        healthy.emplace(port(), "/v1/stream", op_token_);
        ASSERT_EQ(healthy->status, 101u) << healthy->body;
    }
    std::uint64_t last = 0;
    std::vector<std::uint64_t> healthy_seen;
    for (int i = 0; i < rounds; ++i) {
        last = append(100);
        if (!healthy) continue;
        // The healthy one keeps reading while the stalled one does not.
        auto got = healthy->positions_until(last);
        healthy_seen.insert(healthy_seen.end(), got.begin(), got.end());
    }
    if (healthy) {
        EXPECT_EQ(healthy_seen, range(start_head + 1, last));
    }

    std::vector<std::uint64_t> stalled_seen;
    ws_client::frame f;
    for (;;) {
        f = stalled.next();
        if (f.what != ws_client::frame::message) break;
        stalled_seen.push_back(static_cast<std::uint64_t>(f.event.at("position").as_int64()));
    }
    ASSERT_EQ(f.what, ws_client::frame::closed);
    EXPECT_EQ(f.code, websocket::close_code::policy_error);
    ASSERT_FALSE(stalled_seen.empty());
    EXPECT_LT(stalled_seen.back(), last);
    EXPECT_EQ(stalled_seen, range(start_head + 1, stalled_seen.back()));
    EXPECT_NE(f.reason.find("last_position=" + std::to_string(stalled_seen.back())), std::string::npos) << f.reason;
    const auto next_from = std::to_string(stalled_seen.back() + 1);
    EXPECT_NE(f.reason.find("next_from=" + next_from), std::string::npos) << f.reason;

    // Resuming from the reported next_from gives the rest, once.
    ws_client resumed(port(), "/v1/stream?from=" + next_from, op_token_);
    ASSERT_EQ(resumed.status, 101u);
    EXPECT_EQ(resumed.positions_until(last), range(stalled_seen.back() + 1, last));
    EXPECT_TRUE(server_->wait_for_log("live_subscriber_dropped"));
}

TEST_F(live_test, a_stalled_subscriber_is_cut_off_with_its_last_position_and_can_resume) {
    expect_stalled_cut_off({"--live-queue-events", "100"}, 20);
}

// Events can be ~1 MB: a count of events is no bound, the bytes held for a subscriber are.
TEST_F(live_test, a_subscriber_past_its_queue_bytes_is_cut_off_like_a_slow_one) {
    expect_stalled_cut_off({"--live-queue-bytes", "65536"}, 40);
}

// The budget of all subscribers together cuts off whichever subscriber's next event would pass
// it, so the stalled one is alone here (beside it, a healthy one could be the unlucky one).
TEST_F(live_test, a_subscriber_past_the_hub_wide_bytes_is_cut_off_like_a_slow_one) {
    expect_stalled_cut_off({"--live-total-bytes", "524288"}, 40, false);
}

// A value of the text exposition, e.g. "roster_live_subscribers".
double metric_value(const std::string& text, const std::string& name) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
    return -1;
}

TEST_F(live_test, subscribers_still_catching_up_are_counted) {
    start();
    // More than a stalled reader's socket buffers hold, so catch-up cannot end.
    for (int i = 0; i < 4; ++i) append(1000);
    ws_client catching_up_1(port(), "/v1/stream?from=0", op_token_, 4096);
    ASSERT_EQ(catching_up_1.status, 101u) << catching_up_1.body;
    ws_client catching_up_2(port(), "/v1/stream?from=0", op_token_, 4096);
    ASSERT_EQ(catching_up_2.status, 101u) << catching_up_2.body;
    ws_client live(port(), "/v1/stream", op_token_);
    ASSERT_EQ(live.status, 101u) << live.body;
    EXPECT_EQ(metric_value(http_->request("GET", "/metrics").body, "roster_live_subscribers"), 3);
    live.close_normally();
    // The count follows a subscriber's end (bounded poll: the close is asynchronous).
    double now = -1;
    for (auto until = std::chrono::steady_clock::now() + safety_limit; std::chrono::steady_clock::now() < until;) {
        now = metric_value(http_->request("GET", "/metrics").body, "roster_live_subscribers");
        if (now == 2) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(now, 2);
}

TEST_F(live_test, pings_keep_a_quiet_subscriber_alive_and_its_own_pings_are_answered) {
    start({"--live-ping-ms", "100"});
    ws_client sub(port(), "/v1/stream", op_token_);
    ASSERT_EQ(sub.status, 101u) << sub.body;
    sub.count_control_frames();
    sub.send_ping("are you there");
    // Quiet for several ping intervals: the server pings, Beast answers, and the stream stays up.
    http_client other(port());
    std::uint64_t appended = 0;
    std::thread later([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        appended = append(1, &other);
    });
    auto f = sub.next();
    later.join();
    ASSERT_EQ(f.what, ws_client::frame::message);
    EXPECT_EQ(static_cast<std::uint64_t>(f.event.at("position").as_int64()), appended);
    EXPECT_GE(sub.pings_received, 1);
    ASSERT_FALSE(sub.pongs_received.empty());
    EXPECT_EQ(sub.pongs_received.front(), "are you there");
}

TEST_F(live_test, a_client_that_never_answers_is_dropped_after_two_quiet_intervals) {
    start({"--live-ping-ms", "100"});
    ws_client silent(port(), "/v1/stream", op_token_);  // never reads, so never answers a ping
    ASSERT_EQ(silent.status, 101u) << silent.body;
    EXPECT_TRUE(server_->wait_for_log("live_subscriber_timed_out"));
}

TEST_F(live_test, the_client_closing_handshake_is_answered) {
    start();
    ws_client sub(port(), "/v1/stream", op_token_);
    ASSERT_EQ(sub.status, 101u);
    const auto h = append(2);
    sub.positions_until(h);
    EXPECT_FALSE(sub.close_normally());
    EXPECT_TRUE(server_->wait_for_log("live_subscriber_closed"));
}

// An open stream ends when its caller loses the right to it: roles taken (4403), the token
// revoked (4401, also for a stream opened with a ticket), the token expired (4401, at a ping
// tick); the event that withdrew access and everything after it never reach the subscriber,
// and other subscribers go on.
TEST_F(live_test, a_stream_ends_when_its_access_is_withdrawn) {
    // Ticks often enough to find the expiry soon, seldom enough that a client busy elsewhere in
    // this test (it reads only when asked to) is not dropped for silence.
    start({"--live-ping-ms", "1000"});
    open_account("acme");
    const auto admin = create_user("acme", "admin@acme.test", json::object{{"impact", json::array{"admin"}}});
    auto issue = [&](json::object body) {
        json::value v = std::move(body);
        auto r = call("POST", "/v1/tokens", &v);
        EXPECT_EQ(r.status, 201u) << r.body;
        return std::pair{std::string(r.json().at("token_id").as_string()),
                         std::string(r.json().at("token").as_string())};
    };
    const auto admin_token = issue({{"principal", {{"user_id", admin}}}}).second;
    const auto [auditor_id, auditor_token] = issue({{"principal", {{"auditor", true}}}});
    const auto [ticket_owner_id, ticket_owner_token] = issue({{"principal", {{"auditor", true}}}});
    const auto expiring_token = issue({{"principal", {{"auditor", true}}}, {"expires_in", 60}}).second;
    auto ticket =
        http_->request("POST", "/v1/stream/tickets", "{}",
                       {{"Authorization", "Bearer " + ticket_owner_token}, {"Content-Type", "application/json"}});
    ASSERT_EQ(ticket.status, 201u) << ticket.body;

    ws_client watcher(port(), "/v1/stream", op_token_);
    ws_client admin_sub(port(), "/v1/stream?account=acme", admin_token);
    ws_client auditor_sub(port(), "/v1/stream", auditor_token);
    ws_client ticket_sub(port(), "/v1/stream?ticket=" + std::string(ticket.json().at("ticket").as_string()), "");
    ws_client expiring_sub(port(), "/v1/stream", expiring_token);
    for (auto* c : {&watcher, &admin_sub, &auditor_sub, &ticket_sub, &expiring_sub})
        ASSERT_EQ(c->status, 101u) << c->body;
    // Events before the one that withdrew access (at `withdrawn`) may still come; then the close.
    auto expect_closed = [](ws_client& c, int code, std::uint64_t withdrawn) {
        for (;;) {
            auto f = c.next();
            if (f.what == ws_client::frame::message) {
                ASSERT_LT(static_cast<std::uint64_t>(f.event.at("position").as_int64()), withdrawn)
                    << json::serialize(f.event);
                continue;
            }
            ASSERT_EQ(f.what, ws_client::frame::closed);
            EXPECT_EQ(static_cast<int>(f.code), code) << f.reason;
            EXPECT_NE(f.reason.find("access withdrawn"), std::string::npos) << f.reason;
            return;
        }
    };

    // Another user's roles taken: every subscriber checks again, and all keep their streams.
    const auto other = create_user("acme", "m@acme.test", json::object{{"learning", json::array{"learner"}}});
    ASSERT_EQ(call("DELETE", "/v1/accounts/acme/users/" + other + "/roles").status, 200u);
    const auto unaffected = head();
    for (auto* c : {&admin_sub, &auditor_sub, &ticket_sub, &expiring_sub})
        EXPECT_EQ(c->positions_until(unaffected).back(), unaffected);

    // The admin's own roles taken, then more events in its account: it gets none of them.
    ASSERT_EQ(call("DELETE", "/v1/accounts/acme/users/" + admin + "/roles").status, 200u);
    const auto roles_taken = head();
    create_user("acme", "later@acme.test", json::object{{"learning", json::array{"learner"}}});
    expect_closed(admin_sub, 4403, roles_taken);
    ASSERT_EQ(call("DELETE", "/v1/tokens/" + auditor_id).status, 200u);
    expect_closed(auditor_sub, 4401, head());
    ASSERT_EQ(call("DELETE", "/v1/tokens/" + ticket_owner_id).status, 200u);
    expect_closed(ticket_sub, 4401, head());
    EXPECT_TRUE(server_->wait_for_log("live_access_withdrawn"));

    // Expiry has no event: the next ping tick finds it.
    const auto before_expiry = head();
    ASSERT_EQ(http_->request("POST", "/test/clock?advance_s=120").status, 200u);
    expect_closed(expiring_sub, 4401, before_expiry + 1);

    // The operator's stream saw every one of those events.
    const auto last = head();
    EXPECT_EQ(watcher.positions_until(last).back(), last);
}

TEST_F(live_test, sigterm_closes_subscribers_with_a_close_frame) {
    start();
    ws_client sub(port(), "/v1/stream", op_token_);
    ASSERT_EQ(sub.status, 101u);
    const auto h = append(3);
    sub.positions_until(h);
    ::kill(server_->pid(), SIGTERM);
    auto f = sub.next();
    ASSERT_EQ(f.what, ws_client::frame::closed);
    EXPECT_EQ(f.code, websocket::close_code::going_away);
    EXPECT_NE(f.reason.find("last_position=" + std::to_string(h)), std::string::npos) << f.reason;
    EXPECT_NE(f.reason.find("next_from=" + std::to_string(h + 1)), std::string::npos) << f.reason;
    EXPECT_EQ(server_->wait_exit(), 0);
}

}  // namespace
}  // namespace roster::test
