// The bearer token rosterctl's HTTP commands read from --token-file (operator.token by default):
// one line, surrounding white space dropped.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace roster::replay {

// The token, or nullopt when the file cannot be read, is empty, or holds more than 4 KiB (no
// token is that long; a wrong path to a large file must not be sent as a header).
std::optional<std::string> read_token_file(const std::filesystem::path& path);

}  // namespace roster::replay
