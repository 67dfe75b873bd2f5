#include "roster/domain/text.hpp"

#include <optional>

namespace roster::domain {
namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

std::string_view trimmed(std::string_view s) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// The number of code points of `text` when it is valid UTF-8 free of hidden controls.
std::optional<std::size_t> visible_code_points(std::string_view text) {
    std::size_t count = 0;
    for (std::size_t pos = 0; pos < text.size(); ++count) {
        const auto step = decode_utf8(text, pos);
        if (!step.valid || is_hidden_control(step.code_point)) return std::nullopt;
        pos += step.size;
    }
    return count;
}

domain_error invalid(std::string_view code, std::string detail) {
    return make_error(error_kind::bad_input, code, std::move(detail));
}

}  // namespace

bool is_hidden_control(char32_t cp) noexcept {
    return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

utf8_step decode_utf8(std::string_view text, std::size_t pos) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80) return {b0, 1, true};
    std::size_t size = 0;
    char32_t cp = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte (RFC 3629 table)
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        size = 2, cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        size = 3, cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        size = 4, cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
        return {};
    }
    if (text.size() - pos < size || byte(1) < lo || byte(1) > hi) return {};
    for (std::size_t i = 1; i < size; ++i) {
        if (!is_continuation(byte(i))) return {};
        cp = (cp << 6) | (byte(i) & 0x3F);
    }
    return {cp, size, true};
}

std::string with_invalid_utf8_replaced(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        const auto step = decode_utf8(text, pos);
        if (step.valid)
            out.append(text.substr(pos, step.size));
        else
            out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        pos += step.size;
    }
    return out;
}

result<std::string> valid_name(std::string_view raw) {
    const std::string_view name = trimmed(raw);
    // The byte bound first: a megabyte of text is refused without being decoded.
    if (name.empty() || name.size() > max_name_bytes)
        return invalid(codes::invalid_name, "A name must have 1 to 200 characters (at most 800 bytes of UTF-8).");
    const auto chars = visible_code_points(name);
    if (!chars)
        return invalid(codes::invalid_name,
                       "A name must be valid UTF-8 without control characters (tab and line breaks included), "
                       "bidirectional formatting characters or line separators.");
    if (*chars > max_name_chars)
        return invalid(codes::invalid_name, "A name must have 1 to 200 characters (at most 800 bytes of UTF-8).");
    return std::string(name);
}

result<std::string> valid_reason(std::string_view raw) {
    if (raw.size() > max_reason_bytes)
        return invalid(codes::invalid_reason, "A reason must have at most 1000 bytes of UTF-8.");
    if (!visible_code_points(raw))
        return invalid(codes::invalid_reason,
                       "A reason must be one line of valid UTF-8: no control characters U+0000-U+001F (tab and line "
                       "breaks included) or U+007F-U+009F, no bidirectional formatting characters (U+061C, U+200E, "
                       "U+200F, U+202A-U+202E, U+2066-U+2069) and no U+2028/U+2029.");
    return std::string(raw);
}

result<std::string> valid_reference(std::string_view raw) {
    if (raw.size() > max_reference_bytes)
        return invalid(codes::invalid_reference, "A reference must have at most 200 bytes of UTF-8.");
    if (!visible_code_points(raw))
        return invalid(codes::invalid_reference,
                       "A reference must be one line of valid UTF-8 without control or bidirectional formatting "
                       "characters (the rule of a reason).");
    return std::string(raw);
}

}  // namespace roster::domain
