#include "roster/api/console_routes.hpp"

#include <algorithm>

namespace roster::api {

namespace {

// RFC 9110 section 13.1.2: If-None-Match is a list of entity tags (weak comparison) or "*".
bool none_match_hits(std::string_view header, std::string_view etag) {
    while (!header.empty()) {
        auto comma = header.find(',');
        auto item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (item.starts_with("W/")) item.remove_prefix(2);
        if (item == "*" || item == etag) return true;
    }
    return false;
}

response serve(const request_context& ctx, const console_asset& asset) {
    response r;
    r.headers.emplace_back("ETag", std::string(asset.etag));
    // The file names are not versioned, so the browser revalidates every time; an unchanged file
    // costs one 304 without a body.
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("Content-Security-Policy", std::string(console_content_security_policy()));
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    if (auto inm = ctx.header("if-none-match"); inm && none_match_hits(*inm, asset.etag)) {
        r.status = 304;
        return r;
    }
    r.status = 200;
    r.content_type = std::string(asset.content_type);
    r.body = std::string(asset.body);
    return r;
}

}  // namespace

const console_asset* find_console_asset(std::string_view name) {
    auto all = console_assets();
    auto it = std::find_if(all.begin(), all.end(), [&](const console_asset& a) { return a.name == name; });
    return it == all.end() ? nullptr : &*it;
}

std::string_view console_content_security_policy() {
    // 'self' in connect-src covers the same-origin ws:/wss: stream (CSP Level 3).
    return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

void add_console_routes(router& routes) {
    routes.add("GET", "/",
               route_doc::of("The web console (index.html); public, its data comes from the API.")
                   .in_tag("console")
                   .no_token()
                   .responds({200, 304})
                   .returns(200, "ConsoleFile", "text/html"),
               [](request_context& ctx, responder reply) {
                   const auto* index = find_console_asset("index.html");
                   if (!index)
                       return void(reply(make_problem(404, "not_found", "No console in this build.").to_response()));
                   reply(serve(ctx, *index));
               });
    routes.add(
        "GET", "/console/{file}",
        route_doc::of("A static file of the web console (script, style sheet, image).")
            .param(path_param("file", "File name, e.g. app.js."))
            .in_tag("console")
            .no_token()
            .responds({200, 304, 404})
            .returns(200, "ConsoleFile", "text/javascript")
            .returns(200, "ConsoleFile", "text/css")
            .returns(200, "ConsoleFile", "image/svg+xml"),
        [](request_context& ctx, responder reply) {
            const auto* asset = find_console_asset(ctx.param("file"));
            if (!asset)
                return void(reply(make_problem(404, "not_found", "The console has no such file.").to_response()));
            reply(serve(ctx, *asset));
        });
}

}  // namespace roster::api
