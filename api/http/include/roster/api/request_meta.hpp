// Small per-request helpers the connection and handlers share: credentials and request ids.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roster::api {

// The token of an `Authorization: Bearer <token>` header value. The scheme is matched
// case-insensitively (RFC 9110); nullopt for a missing header, another scheme or an empty or
// malformed token (token68 characters only). Checking the token is the caller's job.
std::optional<std::string_view> bearer_token(std::optional<std::string_view> authorization_header);

// True when an incoming X-Request-Id may be echoed and logged as is: 1..128 characters of
// [A-Za-z0-9._:-]. Anything else is replaced, so clients cannot inject into logs.
bool is_sane_request_id(std::string_view id);

// A W3C Trace Context `traceparent` of version 00: "00-" 32 lower-case hex (trace id, not all
// zero) "-" 16 lower-case hex (parent id, not all zero) "-" 2 lower-case hex (flags), nothing
// else. Anything else is ignored as the spec says: not echoed, not recorded.
bool is_valid_traceparent(std::string_view header);
// The request's traceparent when it is valid.
std::optional<std::string_view> valid_traceparent(std::optional<std::string_view> header);

// A fresh request id: 32 lower-case hex characters. Unique, not secret: each thread mixes a
// counter with a key drawn once from OpenSSL's RAND_bytes, so an id costs no system RNG call.
std::string generate_request_id();
// The same into `out` (its capacity reused: no allocation per request).
void generate_request_id(std::string& out);

}  // namespace roster::api
