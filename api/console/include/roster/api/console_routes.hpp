// The web console: static files compiled into rosterd (api/console/assets, embedded at build time
// by embed_assets.cmake) and the routes that serve them. Public: the pages hold no data; every
// datum they show comes from the API with the token the user signs in with.
#pragma once

#include <span>
#include <string_view>

#include "roster/api/router.hpp"

namespace roster::api {

struct console_asset {
    std::string_view name;          // file name, e.g. "app.js"
    std::string_view content_type;  // from the extension
    std::string_view etag;          // strong, quoted: the first 128 bits of the SHA-256 of `body`
    std::string_view body;
};

// Every embedded asset, sorted by name. Static storage; never empty in a real build.
std::span<const console_asset> console_assets();

// The asset called `name`, or null.
const console_asset* find_console_asset(std::string_view name);

// The headers every console answer carries: a strict CSP (no inline script or style, nothing
// from another origin, no framing), no sniffing, no referrer. Exposed for tests.
std::string_view console_content_security_policy();

// GET / (index.html) and GET /console/{file}, with ETag / If-None-Match → 304.
void add_console_routes(router& routes);

}  // namespace roster::api
