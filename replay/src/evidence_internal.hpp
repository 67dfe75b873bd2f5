// What the evidence pack writer and its verifier share (replay/src only).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace roster::replay::detail {

// The first line of manifest.sig's text; the second is the SHA-256 (hex) of manifest.json.
inline constexpr std::string_view manifest_header = "roster evidence manifest v1\n";
inline constexpr std::string_view manifest_format = "roster-evidence-v1";

std::string sha256_hex(std::string_view bytes);
std::span<const std::uint8_t> as_bytes(std::string_view s);
std::string manifest_note_text(std::string_view manifest);

}  // namespace roster::replay::detail
