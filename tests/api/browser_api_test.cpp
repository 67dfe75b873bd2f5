// The API from a browser (issue 14, item 8): CORS with configured origins, and the single-use
// tickets that open the WebSocket stream without an Authorization header. Against the real
// rosterd, except the ticket store's own bounds, which are checked with a made-up clock.
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/api/stream_tickets.hpp"
#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using headers = std::vector<std::pair<std::string, std::string>>;

const std::string app = "https://app.example.com";
const std::string dev = "http://localhost:3000";
const std::string evil = "https://evil.example.net";

bool lists(const http_reply& r, const std::string& header, std::string_view item) {
    auto v = r.header(header);
    return v && v->find(item) != std::string::npos;
}

// A browser's WebSocket: no Authorization header (the API cannot set one), an Origin.
struct browser_socket {
    browser_socket(unsigned short port, const std::string& target) : ws(ioc) {
        ws.next_layer().connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port));
        ws.set_option(websocket::stream_base::decorator(
            [](websocket::request_type& req) { req.set(beast::http::field::origin, app); }));
        websocket::response_type res;
        boost::system::error_code result;
        bool done = false;
        ws.async_handshake(res, "127.0.0.1:" + std::to_string(port), target, [&](boost::system::error_code ec) {
            result = ec;
            done = true;
        });
        ioc.run_for(safety_limit);
        if (!done) throw std::runtime_error("browser_socket: no handshake answer within the safety limit");
        status = result ? res.result_int() : 101;
        body = res.body();
    }
    // The next message as JSON; throws when none comes within the safety limit.
    json::object next() {
        beast::flat_buffer buf;
        boost::system::error_code result = net::error::timed_out;
        ioc.restart();
        ws.async_read(buf, [&](boost::system::error_code ec, std::size_t) { result = ec; });
        ioc.run_for(safety_limit);
        if (result) throw std::runtime_error("browser_socket: no message: " + result.message());
        return json::parse(beast::buffers_to_string(buf.data())).as_object();
    }
    std::string code() const { return std::string(json::parse(body).at("code").as_string()); }

    net::io_context ioc;
    websocket::stream<tcp::socket> ws;
    unsigned status = 0;
    std::string body;
};

class browser_test : public ::testing::Test {
protected:
    void start(std::vector<std::string> extra = {}) {
        extra.insert(extra.end(), {"--threads", "2"});
        server_ = std::make_unique<rosterd_process>(tmp_.path() / "data", std::move(extra));
        http_ = std::make_unique<http_client>(server_->port());
        op_ = read_token(tmp_.path() / "data");
    }
    void start_with_cors(std::vector<std::string> extra = {}) {
        extra.insert(extra.end(), {"--cors-origin", app, "--cors-origin", dev});
        start(std::move(extra));
    }
    http_reply call(const std::string& method, const std::string& target, headers h = {}, std::string body = {}) {
        if (!body.empty()) h.emplace_back("Content-Type", "application/json");
        return http_->request(method, target, std::move(body), std::move(h));
    }
    http_reply as(const std::string& token, const std::string& method, const std::string& target,
                  std::string body = {}) {
        return call(method, target, {{"Authorization", "Bearer " + token}}, std::move(body));
    }
    json::object must(const std::string& token, const std::string& method, const std::string& target, std::string body,
                      unsigned status) {
        auto r = as(token, method, target, std::move(body));
        EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
        return r.json().as_object();
    }
    void open_account(const std::string& id) {
        must(op_, "POST", "/v1/accounts", R"({"id":")" + id + R"(","name":")" + id + R"(","kind":"customer"})", 201);
    }
    std::string ticket(const std::string& token, const std::string& body = "{}") {
        auto o = must(token, "POST", "/v1/stream/tickets", body, 201);
        return std::string(o.at("ticket").as_string());
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::string op_;
};

// ---------------------------------------------------------------------------------------------
// CORS

TEST_F(browser_test, preflight_from_an_allowed_origin_lists_methods_and_headers) {
    start_with_cors();
    auto r = call("OPTIONS", "/v1/accounts/acme/users",
                  {{"Origin", app},
                   {"Access-Control-Request-Method", "POST"},
                   {"Access-Control-Request-Headers", "authorization, content-type, idempotency-key"}});
    ASSERT_EQ(r.status, 204u) << r.body;
    EXPECT_EQ(r.header("access-control-allow-origin").value_or(""), app);
    for (auto m : {"POST", "GET", "HEAD"}) EXPECT_TRUE(lists(r, "access-control-allow-methods", m)) << m;
    EXPECT_FALSE(lists(r, "access-control-allow-methods", "DELETE")) << "only what the path serves";
    for (auto h : {"Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", "traceparent"})
        EXPECT_TRUE(lists(r, "access-control-allow-headers", h)) << h;
    EXPECT_EQ(r.header("access-control-max-age").value_or(""), "600");
    EXPECT_TRUE(lists(r, "vary", "Origin"));
    EXPECT_FALSE(r.header("access-control-allow-credentials").has_value()) << "bearer tokens, not cookies";
    EXPECT_TRUE(r.body.empty());

    // Each configured origin is answered as itself; a path with a parameter is "served" too.
    auto other = call("OPTIONS", "/v1/users/usr_1/lock", {{"Origin", dev}, {"Access-Control-Request-Method", "POST"}});
    ASSERT_EQ(other.status, 204u) << other.body;
    EXPECT_EQ(other.header("access-control-allow-origin").value_or(""), dev);
    EXPECT_TRUE(lists(other, "access-control-allow-methods", "POST"));

    // An unknown path is 404, not a blanket yes; the browser can read it.
    auto unknown = call("OPTIONS", "/v1/nothing-here", {{"Origin", app}, {"Access-Control-Request-Method", "GET"}});
    EXPECT_EQ(unknown.status, 404u) << unknown.body;
    EXPECT_EQ(unknown.header("access-control-allow-origin").value_or(""), app);
}

TEST_F(browser_test, preflight_from_another_origin_is_refused) {
    start_with_cors();
    for (const auto& origin : {evil, app + ".evil.net", std::string("null"), std::string("https://APP.example.com")}) {
        SCOPED_TRACE(origin);
        auto r = call("OPTIONS", "/v1/accounts", {{"Origin", origin}, {"Access-Control-Request-Method", "POST"}});
        ASSERT_EQ(r.status, 403u) << r.body;
        EXPECT_EQ(r.header("content-type").value_or(""), "application/problem+json");
        EXPECT_EQ(r.json().at("code").as_string(), "cors_origin_not_allowed");
        EXPECT_FALSE(r.header("access-control-allow-origin").has_value());
        EXPECT_FALSE(r.header("access-control-allow-methods").has_value());
    }
    // A plain OPTIONS (no Origin, not a browser) says what the path serves.
    auto plain = call("OPTIONS", "/v1/accounts");
    EXPECT_EQ(plain.status, 204u) << plain.body;
    EXPECT_TRUE(lists(plain, "allow", "POST"));
    EXPECT_FALSE(plain.header("access-control-allow-origin").has_value());
}

TEST_F(browser_test, answers_to_an_allowed_origin_carry_allow_origin_and_expose_headers) {
    start_with_cors();
    open_account("acme");
    auto r = call("GET", "/v1/accounts/acme", {{"Origin", app}, {"Authorization", "Bearer " + op_}});
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("access-control-allow-origin").value_or(""), app);
    EXPECT_TRUE(lists(r, "vary", "Origin"));
    ASSERT_TRUE(r.header("etag").has_value());
    for (auto h :
         {"ETag", "Location", "Roster-As-Of", "Idempotent-Replayed", "Retry-After", "traceparent", "X-Request-Id"})
        EXPECT_TRUE(lists(r, "access-control-expose-headers", h)) << h;

    // Problems too, or the page could not read why it was refused.
    auto refused = call("GET", "/v1/accounts/acme", {{"Origin", app}});
    ASSERT_EQ(refused.status, 401u) << refused.body;
    EXPECT_EQ(refused.header("access-control-allow-origin").value_or(""), app);
    EXPECT_TRUE(lists(refused, "access-control-expose-headers", "WWW-Authenticate"));
    // A route's 405 as well.
    auto wrong = call("PATCH", "/v1/accounts", {{"Origin", app}});
    EXPECT_EQ(wrong.status, 405u);
    EXPECT_EQ(wrong.header("access-control-allow-origin").value_or(""), app);

    // A streamed (chunked) answer as well.
    auto exported = call("GET", "/v1/audit/export?format=jsonl", {{"Origin", dev}, {"Authorization", "Bearer " + op_}});
    EXPECT_EQ(exported.status, 200u) << exported.body;
    EXPECT_EQ(exported.header("transfer-encoding").value_or(""), "chunked");
    EXPECT_EQ(exported.header("access-control-allow-origin").value_or(""), dev);

    // Another origin gets the answer (CORS is enforced by the browser) but no permission to read it.
    auto other = call("GET", "/v1/accounts/acme", {{"Origin", evil}, {"Authorization", "Bearer " + op_}});
    EXPECT_EQ(other.status, 200u);
    EXPECT_FALSE(other.header("access-control-allow-origin").has_value());
    EXPECT_FALSE(other.header("access-control-expose-headers").has_value());
    EXPECT_TRUE(lists(other, "vary", "Origin")) << "so a cache never hands the allowed origin's answer to it";
}

TEST_F(browser_test, without_configured_origins_there_are_no_cors_headers) {
    start();
    open_account("acme");
    auto r = call("GET", "/v1/accounts/acme", {{"Origin", app}, {"Authorization", "Bearer " + op_}});
    ASSERT_EQ(r.status, 200u);
    for (const auto& [name, value] : r.headers) {
        EXPECT_FALSE(name.starts_with("access-control-")) << name;
        EXPECT_NE(name, "vary");
    }
    auto pre = call("OPTIONS", "/v1/accounts", {{"Origin", app}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(pre.status, 405u) << pre.body;
    EXPECT_FALSE(pre.header("access-control-allow-origin").has_value());
}

TEST_F(browser_test, a_cors_origin_that_no_browser_would_send_stops_the_start) {
    for (const std::string bad : {"app.example.com", "https://app.example.com/", "*", "https://*.example.com"}) {
        SCOPED_TRACE(bad);
        EXPECT_THROW(rosterd_process(tmp_.path() / ("bad" + std::to_string(bad.size())), {"--cors-origin", bad}),
                     std::runtime_error);
    }
}

// ---------------------------------------------------------------------------------------------
// Stream tickets

TEST_F(browser_test, a_ticket_opens_the_stream_once_without_an_authorization_header) {
    start_with_cors();
    auto issued = as(op_, "POST", "/v1/stream/tickets", "{}");
    ASSERT_EQ(issued.status, 201u) << issued.body;
    EXPECT_EQ(issued.header("cache-control").value_or(""), "no-store");
    const auto o = issued.json().as_object();
    const std::string t(o.at("ticket").as_string());
    EXPECT_GE(t.size(), 4u + 32u) << "at least 128 random bits";
    EXPECT_TRUE(o.at("expires_at").is_string());
    EXPECT_NE(ticket(op_), t) << "random, not derived from the token";

    browser_socket sub(server_->port(), "/v1/stream?ticket=" + t);
    ASSERT_EQ(sub.status, 101u) << sub.body;
    open_account("acme");
    auto event = sub.next();
    EXPECT_EQ(event.at("type").as_string(), "account_opened") << json::serialize(event);

    browser_socket again(server_->port(), "/v1/stream?ticket=" + t);
    EXPECT_EQ(again.status, 401u) << again.body;
    EXPECT_EQ(again.code(), "invalid_stream_ticket");
    browser_socket made_up(server_->port(), "/v1/stream?ticket=stk_" + std::string(64, '0'));
    EXPECT_EQ(made_up.status, 401u) << made_up.body;

    // The ticket is in a URL, but never in the log (which names the route, not the target).
    ASSERT_TRUE(server_->wait_for_log("\"status\":401"));
    EXPECT_EQ(server_->log_text().find(t.substr(4)), std::string::npos);
    // Nor in the events.
    auto events = must(op_, "GET", "/v1/events?limit=1000", "", 200);
    EXPECT_EQ(json::serialize(events).find(t.substr(4)), std::string::npos);
}

TEST_F(browser_test, an_expired_ticket_is_refused) {
    start({"--stream-ticket-ttl-ms", "200"});
    const auto t = ticket(op_);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    browser_socket sub(server_->port(), "/v1/stream?ticket=" + t);
    EXPECT_EQ(sub.status, 401u) << sub.body;
    EXPECT_EQ(sub.code(), "invalid_stream_ticket");
}

TEST_F(browser_test, a_ticket_is_judged_at_use_by_the_token_that_asked_for_it) {
    start();
    open_account("acme");
    auto u = must(op_, "POST", "/v1/accounts/acme/users",
                  R"({"email":"ada@acme.com","name":"Ada","roles":{"support":["admin"]}})", 201);
    const std::string ada(u.at("user").at("id").as_string());
    auto tok = must(op_, "POST", "/v1/tokens", R"({"principal":{"user_id":")" + ada + R"("}})", 201);
    const std::string ada_token(tok.at("token").as_string()), ada_token_id(tok.at("token_id").as_string());

    // An account admin asks for her account; the stream defaults to it.
    const auto kept = ticket(ada_token, R"({"account":"acme"})");
    const auto revoked = ticket(ada_token, R"({"account":"acme"})");
    const auto elsewhere = ticket(ada_token, R"({"account":"acme"})");
    // Without the account she may not (the whole log is for auditors and the operator).
    EXPECT_EQ(as(ada_token, "POST", "/v1/stream/tickets", "{}").status, 403u);
    EXPECT_EQ(as(ada_token, "POST", "/v1/stream/tickets", R"({"acount":"acme"})").status, 400u);

    browser_socket ok(server_->port(), "/v1/stream?ticket=" + kept);
    ASSERT_EQ(ok.status, 101u) << ok.body;
    browser_socket mismatch(server_->port(), "/v1/stream?account=globex&ticket=" + elsewhere);
    EXPECT_EQ(mismatch.status, 400u) << mismatch.body;

    must(op_, "DELETE", "/v1/tokens/" + ada_token_id, "", 200);
    browser_socket after(server_->port(), "/v1/stream?ticket=" + revoked);
    EXPECT_EQ(after.status, 401u) << after.body;
    EXPECT_EQ(after.code(), "unauthenticated");
}

TEST_F(browser_test, tickets_are_bounded_in_bytes) {
    start({"--stream-ticket-bytes", "1000"});
    ticket(op_);
    ticket(op_);
    auto full = as(op_, "POST", "/v1/stream/tickets", "{}");
    ASSERT_EQ(full.status, 503u) << full.body;
    EXPECT_EQ(full.json().at("code").as_string(), "stream_tickets_exhausted");
    EXPECT_TRUE(full.header("retry-after").has_value());
}

TEST(stream_tickets, single_use_expiring_and_bounded_with_memory_given_back_at_expiry) {
    using clock = api::stream_tickets::clock;
    api::stream_tickets store({.ttl = std::chrono::milliseconds(1000), .max_bytes = 3 * 500});
    const auto t0 = clock::time_point{} + std::chrono::hours(1);
    auto a = store.issue({"hash-a", ""}, t0);
    auto b = store.issue({"hash-b", "acme"}, t0 + std::chrono::milliseconds(10));
    auto c = store.issue({"hash-c", ""}, t0 + std::chrono::milliseconds(20));
    ASSERT_TRUE(a && b && c);
    auto full = store.issue({"hash-d", ""}, t0 + std::chrono::milliseconds(30));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error(), std::chrono::milliseconds(970)) << "until the oldest expires";

    auto got = store.redeem(b->ticket, t0 + std::chrono::milliseconds(40));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->token_sha256_hex, "hash-b");
    EXPECT_EQ(got->account, "acme");
    EXPECT_FALSE(store.redeem(b->ticket, t0 + std::chrono::milliseconds(41))) << "single use";
    EXPECT_FALSE(store.issue({"hash-d", ""}, t0 + std::chrono::milliseconds(42))) << "charged until it expires";
    EXPECT_FALSE(store.redeem(a->ticket, t0 + std::chrono::milliseconds(1000))) << "expired";
    EXPECT_FALSE(store.redeem("stk_" + std::string(64, 'f'), t0)) << "unknown";
    EXPECT_TRUE(store.redeem(c->ticket, t0 + std::chrono::milliseconds(1019)));
    EXPECT_TRUE(store.issue({"hash-e", ""}, t0 + std::chrono::milliseconds(1019))) << "a's room was given back";
    EXPECT_EQ(store.size(), 1u);
    store.redeem("stk_x", t0 + std::chrono::hours(1));
    EXPECT_EQ(store.bytes(), 0u) << "everything expired";
}

}  // namespace
}  // namespace roster::test
