// Request framing rules the Beast 1.81 parser does not enforce (RFC 9112 §5.2, §6.1, §6.3).
// Header-only so that fuzz_request_target (which links no Asio) runs the very checks the server
// runs. Each check answers the 400 problem to send, or nothing when the request may go on; the
// server then closes the connection, since the message's end cannot be trusted.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/message.hpp>

#include "roster/api/problem.hpp"

namespace roster::api::framing {

// Fields a request may carry once only. A second Authorization or Content-Length would be read
// differently by different parsers (the first wins in Beast, the last in others): a desync.
inline constexpr std::array<std::string_view, 9> singleton_headers = {
    "Authorization", "Content-Length", "Content-Type",    "Host",        "Transfer-Encoding",
    "If-Match",      "If-None-Match",  "Idempotency-Key", "X-Request-Id"};

// The length of the header section at the start of `bytes`, through its empty line, or npos when
// it is not all there yet. `from` is where a previous call stopped looking (it rescans 3 bytes),
// so a header trickling in byte by byte is scanned once, not once per byte.
inline std::size_t header_section_length(std::string_view bytes, std::size_t from = 0) {
    auto at = bytes.find("\r\n\r\n", from >= 3 ? from - 3 : 0);
    return at == std::string_view::npos ? at : at + 4;
}

// Beast 1.81 unfolds obs-fold silently (detail/basic_parser.ipp, parse_field: a CRLF followed by
// SP or HTAB continues the value, joined with one space), so "Transfer-Encoding: gzip,\r\n chunked"
// reaches us as "gzip, chunked" while a proxy may have framed it otherwise. The fold is invisible
// in the parsed fields, hence this look at the raw header section before Beast reads it.
inline std::optional<problem> check_obs_fold(std::string_view header_section) {
    for (auto at = header_section.find("\r\n"); at != std::string_view::npos;
         at = header_section.find("\r\n", at + 2)) {
        if (at + 2 >= header_section.size()) break;
        const char next = header_section[at + 2];
        if (next == ' ' || next == '\t')
            return bad_request(
                "obs_fold",
                "A header line starts with whitespace: folded header fields (obs-fold, RFC 9112 section 5.2) "
                "are not accepted; send each field on one line.");
    }
    return std::nullopt;
}

namespace detail {
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline problem bad_transfer_encoding(std::string why) { return bad_request("bad_transfer_encoding", std::move(why)); }
}  // namespace detail

// The checks on a parsed request header, before its body is read. `parser_chunked` is what the
// parser decided (basic_parser::chunked()): a Transfer-Encoding we accept must be one the parser
// reads as chunked too, or the body we read would not be the body the client framed.
inline std::optional<problem> check_framing(const boost::beast::http::request_header<>& req, bool parser_chunked) {
    namespace http = boost::beast::http;
    for (auto name : singleton_headers) {
        std::size_t n = 0;
        for (const auto& f : req)
            if (boost::beast::iequals(f.name_string(), name)) ++n;
        if (n > 1) {
            auto p = bad_request("duplicate_header", "The request has " + std::to_string(n) + " " + std::string(name) +
                                                         " header fields; it may carry at most one.");
            p.extra["header"] = std::string(name);
            return p;
        }
    }
    // Beast takes "Content-Length: 5, 5" as 5; a length is digits only.
    if (auto cl = req.find(http::field::content_length); cl != req.end()) {
        auto v = detail::trim_ows(cl->value());
        if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos)
            return bad_request("bad_content_length", "Content-Length must be a single decimal number.");
    }
    auto te = req.find(http::field::transfer_encoding);
    if (te == req.end()) return std::nullopt;
    if (req.version() < 11)
        return detail::bad_transfer_encoding("Transfer-Encoding is not allowed in an HTTP/1.0 request.");
    if (req.find(http::field::content_length) != req.end())
        return detail::bad_transfer_encoding(
            "The request has both Transfer-Encoding and Content-Length; send one (RFC 9112 section 6.3).");
    // Only `chunked`, alone: its last coding must be chunked for the length to be known, and we
    // decode no other coding, so `gzip, chunked` is refused as well.
    std::size_t codings = 0, chunked_at = 0;
    bool other = false;
    std::string_view rest = te->value();
    for (;;) {
        auto comma = rest.find(',');
        auto coding = detail::trim_ows(rest.substr(0, comma));
        if (!coding.empty()) {  // empty list elements are allowed (RFC 9110 section 5.6.1)
            ++codings;
            if (boost::beast::iequals(coding, "chunked"))
                chunked_at = codings;
            else
                other = true;
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (chunked_at == 0)
        return detail::bad_transfer_encoding(
            "The final transfer coding is not chunked, so the body's length is unknown; the only transfer coding "
            "accepted is chunked.");
    if (chunked_at != codings) return detail::bad_transfer_encoding("chunked must be the final transfer coding.");
    if (other)
        return detail::bad_transfer_encoding(
            "Transfer codings other than chunked (gzip, deflate, compress, ...) are not supported, not even before "
            "chunked: send Transfer-Encoding: chunked alone.");
    if (codings != 1) return detail::bad_transfer_encoding("chunked may be applied only once.");
    if (!parser_chunked)
        return detail::bad_transfer_encoding("The Transfer-Encoding header could not be read as chunked.");
    return std::nullopt;
}

}  // namespace roster::api::framing
