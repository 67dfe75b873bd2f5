#include "roster/replay/token_file.hpp"

#include <cctype>
#include <fstream>

namespace roster::replay {

std::optional<std::string> read_token_file(const std::filesystem::path& path) {
    constexpr std::size_t max_token_bytes = 4096;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string token(max_token_bytes + 1, '\0');
    in.read(token.data(), static_cast<std::streamsize>(token.size()));
    token.resize(static_cast<std::size_t>(in.gcount()));
    if (token.size() > max_token_bytes) return std::nullopt;
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!token.empty() && space(token.back())) token.pop_back();
    std::size_t start = 0;
    while (start < token.size() && space(token[start])) ++start;
    token.erase(0, start);
    if (token.empty()) return std::nullopt;
    return token;
}

}  // namespace roster::replay
