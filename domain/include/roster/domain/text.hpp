// Rules for the free text commands carry (names, reasons): how long it may be and which code
// points it may hold. Pure functions, safe from any thread.
//
// Why: text stored in events is shown later in terminals, browsers and spreadsheets. Control
// characters (ESC sequences, NUL), bidirectional overrides (U+202E shows "gpj.exe" as
// "exe.jpg") and line separators let stored text pretend to be something else there, and an
// unbounded text lets one command store a megabyte event.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "roster/domain/errors.hpp"

namespace roster::domain {

inline constexpr std::size_t max_name_chars = 200;  // code points, after trimming
inline constexpr std::size_t max_name_bytes = 800;  // UTF-8 bytes (200 four-byte code points)
inline constexpr std::size_t max_reason_bytes = 1000;
inline constexpr std::size_t max_reference_bytes = 200;

// Code points that change how the text around them is shown instead of showing themselves:
// C0 controls U+0000-U+001F, DEL U+007F, C1 controls U+0080-U+009F, the bidirectional
// formatting characters U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, and the line and
// paragraph separators U+2028, U+2029. Names and reasons refuse all of them; exports escape them.
bool is_hidden_control(char32_t cp) noexcept;

// One step of a strict UTF-8 decoder (no overlong forms, no surrogates, nothing past U+10FFFF).
struct utf8_step {
    char32_t code_point = 0;  // meaningful only when `valid`
    std::size_t size = 1;     // bytes consumed: the sequence, or 1 for an invalid byte
    bool valid = false;
};
// Decodes the code point starting at `text[pos]` (pos < text.size()).
utf8_step decode_utf8(std::string_view text, std::size_t pos) noexcept;

// `text` with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD, so that
// text a client sent can be echoed in JSON (which must be UTF-8, RFC 8259 section 8.1).
std::string with_invalid_utf8_replaced(std::string_view text);

// A display or account name: trimmed of surrounding white space, then 1-200 code points and at
// most 800 bytes of valid UTF-8 with no hidden control (TAB, CR, LF included). Returns the
// trimmed name; `invalid_name` (bad_input) otherwise.
result<std::string> valid_name(std::string_view raw);

// The optional reason an admin attaches to a command (stored in the event's metadata): 0-1000
// bytes of valid UTF-8 with no hidden control at all (not even TAB or line breaks: one line of
// text keeps the rule simple). Returned unchanged; `invalid_reason` (bad_input) otherwise.
result<std::string> valid_reason(std::string_view raw);

// The optional reference (e.g. a change ticket) any command may carry, stored beside the
// reason: the same character rule, at most 200 bytes; `invalid_reference` (bad_input) otherwise.
result<std::string> valid_reference(std::string_view raw);

}  // namespace roster::domain
