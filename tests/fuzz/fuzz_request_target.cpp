// libFuzzer target: the request path and query. The input is used twice:
//  1. as a request target, matched against rosterd's route table and parsed by parse_query;
//  2. as the raw bytes of an HTTP/1.1 request, read by the Beast parser the server uses (same
//     limits), whose target and method are then routed the same way.
// Targets are handed over as heap copies of exactly their size, with no terminating NUL, so ASan
// reports any read past the end (Boost.URL 1.81 measured views with strlen: boostorg/url#757).
// The raw header section goes through the server's obs-fold check and the parsed header through
// its framing checks (api/http/src/request_framing.hpp). A complete request then goes through the JSON
// body check of command routes (its Content-Type handling). Invariants: no crash and no
// exception; a refusal is a problem with the documented status whose document is valid JSON; a
// match names a route of the requested method (GET for HEAD, unless HEAD has its own) whose
// parameters are all non-empty.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include <fstream>
#include <sstream>

#include "request_framing.hpp"
#include "roster/api/json_input.hpp"
#include "roster/api/router.hpp"
#include "roster/domain/types.hpp"
#include "roster/replay/log_range.hpp"

namespace {

using namespace roster;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_request_target: %s\n", what);
    std::abort();
}

// rosterd's route table as `rosterd_test --enable-test-routes --print-routes` printed it at build
// time (ROSTER_ROUTE_TABLE, tests/fuzz/CMakeLists.txt): the real table, not a copy kept by hand.
// Lines that are not "METHOD /template" (the start-up messages) are skipped.
const api::router& routes() {
    static const api::router r = [] {
        api::router out;
        std::ifstream in(ROSTER_ROUTE_TABLE);
        std::string method, path;
        std::size_t added = 0;
        for (std::string line; std::getline(in, line);) {
            std::istringstream fields(line);
            if (!(fields >> method >> path) || path.empty() || path.front() != '/') continue;
            if (method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) continue;
            out.add(method, path, api::route_doc::of("fuzz"), [](api::request_context&, api::responder) {});
            ++added;
        }
        if (added < 10) fail("no route table at ROSTER_ROUTE_TABLE (build it through the normal build)");
        return out;
    }();
    return r;
}

// A heap block holding exactly `s`: nothing after it for a parser to read by mistake.
struct exact_copy {
    explicit exact_copy(std::string_view s) : block(std::make_unique<char[]>(s.size())), size(s.size()) {
        if (size) std::memcpy(block.get(), s.data(), size);
    }
    std::string_view view() const { return {block.get(), size}; }
    std::unique_ptr<char[]> block;
    std::size_t size;
};

// The query values handlers read themselves, through the same parsers.
void read_values(const api::name_values& query) {
    for (const auto& [name, value] : query.items()) {
        if (name == "as_of" || name == "since" || name == "until")
            (void)replay::parse_log_point(value);
        else if (name == "portal")
            (void)domain::parse_portal(value);
        else if (name == "role")
            (void)domain::parse_role(value);
        else if (name == "topic")
            (void)domain::parse_topic(value);
    }
}

// A problem document must be JSON a strict client can read.
void check_document(const api::problem& p) {
    const auto r = p.to_response();
    boost::system::error_code ec;
    (void)boost::json::parse(r.body, ec);
    if (ec) fail("a problem document that is not valid JSON");
}

void route(std::string_view method, std::string_view target) {
    const exact_copy t(target);
    auto m = routes().match(method, t.view());
    if (m) {
        if (m->found == nullptr) fail("a match without a route");
        if (m->found->method != method && !(method == "HEAD" && m->found->method == "GET"))
            fail("a match for another method");
        const auto names = m->found->param_names();
        if (m->path_params.size() != names.size()) fail("path parameters do not follow the template");
        for (const auto& [name, value] : m->path_params.items())
            if (value.empty()) fail("an empty path parameter");
        read_values(m->query);
    } else {
        const auto s = m.error().status;
        if (s != 400 && s != 404 && s != 405) fail("match refused with an unexpected status");
        check_document(m.error());
    }
    auto q = api::parse_query(t.view());
    // Both decode the same query; handlers see match's, parse_query is the public helper.
    if (m && q && m->query.items() != q->items()) fail("match and parse_query decode the query differently");
    if (q)
        read_values(*q);
    else if (q.error().status != 400)
        fail("parse_query refused with a status other than 400");
    else
        check_document(q.error());
}

void parse_http(const std::uint8_t* data, std::size_t size) {
    namespace http = boost::beast::http;
    http::request_parser<http::string_body> parser;
    parser.body_limit(1024 * 1024);  // server_options defaults
    parser.header_limit(16 * 1024);
    parser.eager(true);
    boost::system::error_code ec;
    const exact_copy input(std::string_view(reinterpret_cast<const char*>(data), size));
    auto rest = input.view();
    // The server looks at the raw header section before Beast parses it.
    if (const auto end = api::framing::header_section_length(rest); end != std::string_view::npos)
        if (auto refused = api::framing::check_obs_fold(rest.substr(0, end))) {
            if (refused->status != 400) fail("obs-fold refused with a status other than 400");
            check_document(*refused);
        }
    while (!rest.empty() && !parser.is_done()) {
        const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
        if (ec == http::error::need_more) break;
        if (ec) return;
        if (used == 0) break;
        rest.remove_prefix(used);
    }
    if (!parser.is_done()) {
        if (!parser.got_some()) return;  // put_eof asserts it (the server never calls it otherwise)
        parser.put_eof(ec);
        if (ec || !parser.is_header_done()) return;
    }
    const auto& req = parser.get();
    if (auto refused = api::framing::check_framing(req, parser.chunked())) {
        if (refused->status != 400) fail("framing refused with a status other than 400");
        check_document(*refused);
    }
    route(req.method_string(), req.target());
    if (!parser.is_done()) return;
    // The request as server.cpp hands it to a command route: the body check echoes Content-Type.
    api::request_context ctx;
    ctx.method = std::string(req.method_string());
    ctx.target = std::string(req.target());
    for (const auto& f : req) ctx.headers.add(api::to_lower_ascii(f.name_string()), std::string(f.value()));
    ctx.body = req.body();
    auto body = api::parse_json_object_body(ctx);
    if (!body) {
        const auto s = body.error().status;
        if (s != 400 && s != 415) fail("the body check refused with a status other than 400/415");
        check_document(body.error());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view target(reinterpret_cast<const char*>(data), size);
    route("GET", target);
    route(size % 2 ? "POST" : "DELETE", target);
    route("HEAD", target);
    parse_http(data, size);
    return 0;
}
