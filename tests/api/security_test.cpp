// Security matrix: every management endpoint of SPEC §5 against every kind of caller that must
// be turned away, table-driven, over HTTP against a real rosterd. Besides the status, it checks
// that a refusal changes nothing (only access_denied security events are appended) and that an
// admin of another account cannot tell an existing id of that account from a made-up one.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace json = boost::json;

// The callers of the matrix; `operator_` and `admin` are only used to set the scene.
enum caller {
    no_token,
    revoked_token,
    locked_user,
    removed_user,
    member,
    other_account_admin,
    other_portal_admin,
    caller_count
};
const char* const caller_names[] = {"no token",
                                    "revoked token",
                                    "locked user",
                                    "removed user",
                                    "member without admin",
                                    "admin of another account",
                                    "admin of another portal"};

// What a caller must get. `allowed` cells are not sent when they would change state (the
// scenario tests cover the successful paths); allowed reads are sent and must answer 200.
enum expect : unsigned { allowed = 200, unauthorized = 401, forbidden = 403, not_found = 404 };

struct endpoint {
    std::string method;
    std::string target;  // {a} {u} {tok} are substituted
    std::string body;    // JSON, {u} substituted
    // Per caller, in the order of `caller`. The first four are always 401.
    expect member, other_account_admin, other_portal_admin;
};

// SPEC §5. acme is the account under attack; tess an employee of acme with support:viewer;
// ada acme's admin in every portal and its security contact.
// other_portal_admin is acme's impact:admin: an admin of acme, but not in the support portal.
const std::vector<endpoint> endpoints = {
    {"POST", "/v1/accounts", R"({"name":"Evil","kind":"customer"})", forbidden, forbidden, forbidden},
    // The account list is for operators and auditors: no user, however much an admin, sees other tenants.
    {"GET", "/v1/accounts", "", forbidden, forbidden, forbidden},
    // Any valid token may ask who it is.
    {"GET", "/v1/me", "", allowed, allowed, allowed},
    {"GET", "/v1/accounts/{a}", "", allowed, not_found, allowed},
    // Operator-only: 403 for every user, whatever the account (the ghost check proves it says nothing of acme).
    {"POST", "/v1/accounts/{a}/partners", R"({"partner_id":"partnerco"})", forbidden, forbidden, forbidden},
    {"POST", "/v1/accounts/{a}/users", R"({"email":"new@acme.com","name":"New","roles":{"support":["viewer"]}})",
     forbidden, not_found, forbidden},
    {"POST", "/v1/accounts/{a}/members", R"({"email":"pat@partnerco.com","roles":{"support":["viewer"]}})", forbidden,
     not_found, forbidden},
    {"GET", "/v1/accounts/{a}/users", "", forbidden, not_found, allowed},
    // Counts are authorized as the user list they summarize.
    {"GET", "/v1/accounts/{a}/stats", "", forbidden, not_found, allowed},
    {"GET", "/v1/accounts/{a}/users/{u}", "", forbidden, not_found, allowed},
    {"GET", "/v1/users/lookup?email=tess%40acme.com&account={a}", "", forbidden, not_found, allowed},
    {"POST", "/v1/accounts/{a}/users/{u}/roles", R"({"grant":{"support":["contributor"]}})", forbidden, not_found,
     forbidden},
    {"DELETE", "/v1/accounts/{a}/users/{u}/roles", "", forbidden, not_found, forbidden},
    {"POST", "/v1/users/{u}/lock", R"({"reason":"x"})", forbidden, not_found, allowed},
    {"POST", "/v1/users/{u}/unlock", "{}", forbidden, not_found, allowed},
    // A profile update is authorized as a lock (a member may change only their own name).
    {"PATCH", "/v1/users/{u}", R"({"name":"Renamed"})", forbidden, not_found, allowed},
    {"GET", "/v1/accounts/{a}/users/{u}/removal", "", forbidden, not_found, allowed},
    {"DELETE", "/v1/accounts/{a}/users/{u}", "", forbidden, not_found, forbidden},
    {"POST", "/v1/accounts/{a}/users/{u}/invitation", "{}", forbidden, not_found, allowed},
    {"GET", "/v1/accounts/{a}/contacts", "", allowed, not_found, allowed},
    {"PUT", "/v1/accounts/{a}/contacts", R"({"secondary_support":"{u}"})", forbidden, not_found, forbidden},
    {"POST", "/v1/accounts/{a}/contacts/security/handover", R"({"to_user_id":"{u}"})", forbidden, not_found, forbidden},
    {"GET", "/v1/accounts/{a}/watchlist", "", forbidden, not_found, forbidden},
    {"PUT", "/v1/accounts/{a}/watchlist", R"({"subscriptions":[{"user_id":"{u}","topics":["outage"]}]})", forbidden,
     not_found, forbidden},
    {"GET", "/v1/accounts/{a}/recipients?topic=outage", "", forbidden, not_found, forbidden},
    {"GET", "/v1/access?user={u}&account={a}&portal=support", "", forbidden, forbidden, forbidden},
    {"POST", "/v1/tokens", R"({"principal":{"user_id":"{u}"}})", forbidden, forbidden, forbidden},
    // Another principal's token is not found rather than forbidden: token ids are not probeable.
    {"DELETE", "/v1/tokens/{tok}", "", not_found, not_found, not_found},
    {"POST", "/v1/tokens/{tok}/rotation", "{}", not_found, not_found, not_found},
    {"GET", "/v1/tokens/{tok}", "", not_found, not_found, not_found},
    // Every user may list tokens: only their own are in the answer (tokens_test pins which).
    {"GET", "/v1/tokens", "", allowed, allowed, allowed},
    {"GET", "/v1/events", "", forbidden, forbidden, forbidden},
    // Whoever may open the stream for the account (an admin of it) may ask for a ticket to it.
    {"POST", "/v1/stream/tickets", R"({"account":"{a}"})", forbidden, not_found, allowed},
    // Auditor and operator only, as /v1/audit/verify.
    {"GET", "/v1/audit/export?format=ocsf&account={a}", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/audit/checkpoint", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/audit/proof/inclusion?position=1", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/audit/proof/consistency?from=1", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/audit/public-key", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/audit/evidence?account={a}", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/audit/signing-key/rotations", "", forbidden, forbidden, forbidden},
    // Operator only.
    {"POST", "/v1/audit/signing-key/rotations", "{}", forbidden, forbidden, forbidden},
    // Webhook endpoints: operator only, whatever the id (refused before it is looked up).
    {"POST", "/v1/admin/webhooks", R"({"url":"http://127.0.0.1:9/x"})", forbidden, forbidden, forbidden},
    {"GET", "/v1/admin/webhooks", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/admin/webhooks/whk_x", "", forbidden, forbidden, forbidden},
    {"PATCH", "/v1/admin/webhooks/whk_x", R"({"enabled":false})", forbidden, forbidden, forbidden},
    {"DELETE", "/v1/admin/webhooks/whk_x", "", forbidden, forbidden, forbidden},
    {"GET", "/v1/admin/webhooks/whk_x/dead-letters", "", forbidden, forbidden, forbidden},
    {"POST", "/v1/admin/webhooks/whk_x/dead-letters/replay", "{}", forbidden, forbidden, forbidden},
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
}

// A problem body without what differs per request by design (none today; kept explicit).
json::object comparable(const http_reply& r) {
    auto v = r.json();
    if (!v.is_object()) return {};
    auto o = v.as_object();
    o.erase("instance");
    o.erase("request_id");
    return o;
}

// RFC 9110 reason phrases, written out here rather than taken from the server: the test checks
// the server's table, it does not share it.
std::string reason_phrase(unsigned status) {
    switch (status) {
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        default: return "status " + std::to_string(status) + " not expected here";
    }
}

// Every error answer is one RFC 9457 problem: its title is the reason phrase of its status (never
// a machine code, which goes in `code`), and its status member is the HTTP status.
void expect_problem(const http_reply& r) {
    if (r.status < 400) return;
    EXPECT_EQ(r.header("content-type").value_or(""), "application/problem+json") << r.body;
    auto v = r.json();
    ASSERT_TRUE(v.is_object()) << r.body;
    const auto& o = v.as_object();
    ASSERT_TRUE(o.contains("title") && o.at("title").is_string()) << r.body;
    EXPECT_EQ(o.at("title").as_string(), reason_phrase(r.status)) << r.body;
    ASSERT_TRUE(o.contains("status")) << r.body;
    EXPECT_EQ(o.at("status").to_number<unsigned>(), r.status) << r.body;
    ASSERT_TRUE(o.contains("code") && o.at("code").is_string()) << r.body;
    EXPECT_FALSE(o.at("code").as_string().empty()) << r.body;
}

class security_matrix : public ::testing::Test {
protected:
    void SetUp() override {
        // Short refusal windows and no refusal budget: the matrix counts every record.
        server_ = std::make_unique<rosterd_process>(
            tmp_.path() / "data",
            std::vector<std::string>{"--threads", "2", "--refusal-window-ms", "200", "--refusal-rate", "0"});
        http_ = std::make_unique<http_client>(server_->port());
        op_ = read_token(tmp_.path() / "data");
    }

    http_reply call(const std::string& token, const std::string& method, const std::string& target,
                    const std::string& body = {}) {
        std::vector<std::pair<std::string, std::string>> h;
        if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
        if (!body.empty()) h.emplace_back("Content-Type", "application/json");
        return http_->request(method, target, body, h);
    }
    json::object must(const std::string& token, const std::string& method, const std::string& target,
                      const std::string& body, unsigned status) {
        auto r = call(token, method, target, body);
        EXPECT_EQ(r.status, status) << method << " " << target << ": " << r.body;
        return r.json().as_object();
    }
    std::string user(const std::string& account, const std::string& name, const std::string& roles) {
        auto o = must(
            op_, "POST", "/v1/accounts/" + account + "/users",
            R"({"email":")" + name + "@" + account + R"(.com","name":")" + name + R"(","roles":)" + roles + "}", 201);
        return std::string(o.at("user").at("id").as_string());
    }
    std::pair<std::string, std::string> token(const std::string& user_id) {
        auto o = must(op_, "POST", "/v1/tokens", R"({"principal":{"user_id":")" + user_id + R"("}})", 201);
        return {std::string(o.at("token_id").as_string()), std::string(o.at("token").as_string())};
    }
    std::uint64_t head() {
        return static_cast<std::uint64_t>(
            must(op_, "GET", "/v1/events?limit=1", "", 200).at("head").to_number<std::int64_t>());
    }

    temp_dir tmp_;
    std::unique_ptr<rosterd_process> server_;
    std::unique_ptr<http_client> http_;
    std::string op_;
};

TEST_F(security_matrix, every_management_endpoint_turns_away_every_unentitled_caller) {
    const std::string all_admin = R"({"support":["admin"],"impact":["admin"],"learning":["admin"]})";
    for (auto [id, kind] : {std::pair{"acme", "customer"}, {"globex", "customer"}, {"partnerco", "partner"}})
        must(op_, "POST", "/v1/accounts",
             std::string(R"({"id":")") + id + R"(","name":")" + id + R"(","kind":")" + kind + "\"}", 201);
    const auto ada = user("acme", "ada", all_admin);
    const auto tess = user("acme", "tess", R"({"support":["viewer"],"impact":[],"learning":[]})");
    const auto mel = user("acme", "mel", R"({"support":["viewer"],"impact":[],"learning":[]})");
    const auto imp = user("acme", "imp", R"({"impact":["admin"]})");
    const auto lok = user("acme", "lok", all_admin);
    const auto rem = user("acme", "rem", all_admin);
    const auto gus = user("globex", "gus", all_admin);
    user("partnerco", "pat", R"({"support":["viewer"],"impact":[],"learning":[]})");
    const auto ada_token = token(ada);
    must(ada_token.second, "PUT", "/v1/accounts/acme/contacts", R"({"security":")" + ada + "\"}", 200);

    std::string tokens[caller_count];
    tokens[no_token] = "";
    const auto revoked = token(ada);
    tokens[revoked_token] = revoked.second;
    must(op_, "DELETE", "/v1/tokens/" + revoked.first, "", 200);
    tokens[locked_user] = token(lok).second;
    must(ada_token.second, "POST", "/v1/users/" + lok + "/lock", R"({"reason":"matrix"})", 200);
    tokens[removed_user] = token(rem).second;
    must(ada_token.second, "DELETE", "/v1/accounts/acme/users/" + rem, "", 200);
    tokens[member] = token(mel).second;
    tokens[other_account_admin] = token(gus).second;
    tokens[other_portal_admin] = token(imp).second;

    const auto head_before = head();
    auto fill = [&](const std::string& s, const std::string& account, const std::string& u, const std::string& tok) {
        return replace_all(replace_all(replace_all(s, "{a}", account), "{u}", u), "{tok}", tok);
    };
    const std::string ghost_account = "no-such-account", ghost_user = "usr_000000000000",
                      ghost_token = "tok_000000000000";
    auto same_answer = [&](const http_reply& a, const http_reply& b) {
        EXPECT_EQ(a.status, b.status) << a.body << "\nvs\n" << b.body;
        EXPECT_EQ(comparable(a), comparable(b)) << a.body << "\nvs\n" << b.body;
    };
    int denials_sent = 0;
    // Refusals that must be on record: every one made with a token the server knows, except a
    // 404 for an id that exists nowhere (it hides nothing).
    std::uint64_t must_be_recorded = 0;
    auto count = [&](int c, const http_reply& reply, bool ghost_ids) {
        if (tokens[c].empty() || reply.status < 400) return;
        if (reply.status == 404 && ghost_ids) return;
        ++must_be_recorded;
    };
    for (const auto& ep : endpoints) {
        const auto target = fill(ep.target, "acme", tess, ada_token.first);
        const auto body = fill(ep.body, "acme", tess, ada_token.first);
        const expect row[caller_count] = {unauthorized, unauthorized,           unauthorized,         unauthorized,
                                          ep.member,    ep.other_account_admin, ep.other_portal_admin};
        for (int c = 0; c < caller_count; ++c) {
            SCOPED_TRACE(ep.method + " " + target + " as " + caller_names[c]);
            if (row[c] == allowed && ep.method != "GET") continue;
            auto r = call(tokens[c], ep.method, target, body);
            EXPECT_EQ(r.status, static_cast<unsigned>(row[c])) << r.body;
            expect_problem(r);
            if (row[c] == allowed) continue;
            count(c, r, false);
            ++denials_sent;
            EXPECT_EQ(r.header("content-type").value_or(""), "application/problem+json") << r.body;
            auto problem = comparable(r);
            EXPECT_TRUE(problem.contains("code")) << r.body;
            if (row[c] == forbidden && c == member) {
                EXPECT_EQ(problem["detail"], "You do not have access to this feature.") << r.body;
            }
            if (row[c] == unauthorized) {
                EXPECT_TRUE(r.header("www-authenticate").has_value());
            }

            if (row[c] == unauthorized || c == other_account_admin) {
                // Outsiders learn nothing of acme: its real ids answer exactly like ids that do
                // not exist at all, and no answer spells out the account.
                auto ghost = call(tokens[c], ep.method, fill(ep.target, ghost_account, ghost_user, ghost_token),
                                  fill(ep.body, ghost_account, ghost_user, ghost_token));
                count(c, ghost, true);
                expect_problem(ghost);
                same_answer(r, ghost);
                EXPECT_EQ(r.body.find("acme"), std::string::npos) << r.body;
            } else if (ep.target.find("{u}") != std::string::npos || ep.target.find("{tok}") != std::string::npos) {
                // Insiders of acme may know acme's people, but not probe other accounts': a user
                // of globex answers like a user id that does not exist.
                auto foreign = call(tokens[c], ep.method, fill(ep.target, "acme", gus, ghost_token),
                                    fill(ep.body, "acme", gus, ghost_token));
                auto ghost = call(tokens[c], ep.method, fill(ep.target, "acme", ghost_user, ghost_token),
                                  fill(ep.body, "acme", ghost_user, ghost_token));
                // For the token route "foreign" names a made-up token: nothing hidden there.
                count(c, foreign, ep.target.find("{tok}") != std::string::npos);
                count(c, ghost, true);
                expect_problem(foreign);
                expect_problem(ghost);
                same_answer(foreign, ghost);
                EXPECT_EQ(foreign.body.find("globex"), std::string::npos) << foreign.body;
            }
        }
    }
    ASSERT_GT(denials_sent, 100);

    // A refusal changes nothing: the only events appended since are security events, and once
    // the coalescing windows have closed they count every refusal (SPEC §1, hardening issue).
    std::uint64_t recorded = 0;
    std::size_t security_events = 0;
    const auto deadline = std::chrono::steady_clock::now() + safety_limit;
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto appended = must(op_, "GET", "/v1/events?limit=1000&from=" + std::to_string(head_before + 1), "", 200);
        recorded = 0;
        security_events = 0;
        for (const auto& e : appended.at("events").as_array()) {
            EXPECT_EQ(e.at("type").as_string(), "access_denied") << json::serialize(e);
            recorded += static_cast<std::uint64_t>(e.at("data").at("count").as_int64());
            ++security_events;
        }
    } while (recorded < must_be_recorded && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(recorded, must_be_recorded) << "every refusal must be on record";
    EXPECT_LT(security_events, static_cast<std::size_t>(must_be_recorded)) << "refusals are coalesced";
    // And the state is as it was: tess still has her one role, the contact is still ada.
    auto view = must(op_, "GET", "/v1/accounts/acme/users/" + tess, "", 200);
    EXPECT_EQ(json::serialize(view.at("user").at("roles")), R"({"support":["viewer"],"impact":[],"learning":[]})");
    auto contacts = must(op_, "GET", "/v1/accounts/acme/contacts", "", 200);
    EXPECT_EQ(contacts.at("contacts").at("security").at("id").as_string(), ada);
}

// Query parameters are checked like body fields (README "Problems"): one unknown to the route is a
// 400 naming it (HEAD, matched like GET, in router_test); a missing or malformed one names itself in `field` too.
TEST_F(security_matrix, query_parameter_errors_name_the_parameter) {
    must(op_, "POST", "/v1/accounts", R"({"id":"acme","name":"Acme","kind":"customer"})", 201);
    auto expect_field = [&](const std::string& method, const std::string& target, const std::string& code,
                            const std::string& field) {
        SCOPED_TRACE(method + " " + target);
        auto r = call(op_, method, target);
        EXPECT_EQ(r.status, 400u) << r.body;
        expect_problem(r);
        auto o = r.json().as_object();
        EXPECT_EQ(o["code"], code.c_str()) << r.body;
        EXPECT_EQ(o["field"], field.c_str()) << r.body;
    };
    // Unknown: a misspelt filter is refused rather than ignored (which would list everyone).
    expect_field("GET", "/v1/accounts/acme/users?stauts=locked", "unknown_query_parameter", "stauts");
    expect_field("GET", "/v1/events?form=3", "unknown_query_parameter", "form");
    expect_field("GET", "/v1/accounts/acme?verbose=1", "unknown_query_parameter", "verbose");
    expect_field("GET", "/v1/stream?form=3", "unknown_query_parameter", "form");
    // Malformed.
    expect_field("GET", "/v1/accounts/acme/users?limit=0", "invalid_query", "limit");
    expect_field("GET", "/v1/accounts/acme/users?status=sleeping", "invalid_query", "status");
    expect_field("GET", "/v1/events?from=x", "invalid_query", "from");
    expect_field("GET", "/v1/accounts/acme?as_of=yesterday", "invalid_as_of", "as_of");
    expect_field("GET", "/v1/audit/export?format=xml", "invalid_query", "format");
    expect_field("GET", "/v1/stream?format=xml", "invalid_query", "format");
    expect_field("GET", "/v1/accounts/acme/history?cursor=x", "invalid_cursor", "cursor");
    expect_field("GET", "/v1/accounts/acme/recipients?topic=gossip", "invalid_query", "topic");
    // Missing.
    expect_field("GET", "/v1/access?user=usr_1&account=acme", "missing_query", "portal");
    expect_field("GET", "/v1/audit/history", "missing_query", "actor");
    expect_field("GET", "/v1/users/lookup?account=acme", "missing_query", "email");
    // The parameters a route declares are all accepted together (the server takes its own clients).
    EXPECT_EQ(call(op_, "GET",
                   "/v1/accounts/acme/users?q=a&portal=support&role=support:admin&status=active&type=employee"
                   "&include_removed=false&limit=5&cursor=")
                  .status,
              200u);
    EXPECT_EQ(call(op_, "GET", "/v1/events?from=1&limit=1&stream=account-acme&type=account_opened&account=acme").status,
              200u);
    EXPECT_EQ(call(op_, "GET", "/v1/audit/export?format=csv&since=1&until=2&account=acme").status, 200u);
    EXPECT_EQ(call(op_, "GET", "/v1/audit/export?format=ocsf&since=1&until=2&account=acme").status, 200u);
    EXPECT_EQ(call(op_, "GET", "/v1/accounts/acme/history?since=1&until=9&type=account_opened&limit=1&cursor=1").status,
              200u);
}

}  // namespace
}  // namespace roster::test
