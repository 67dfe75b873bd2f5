#include "roster/replay/log_range.hpp"

#include <charconv>

#include "roster/replay/rfc3339.hpp"

namespace roster::replay {

std::optional<log_point> parse_log_point(std::string_view text) {
    if (text.empty()) return std::nullopt;
    if (text.find_first_not_of("0123456789") == std::string_view::npos) {
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
        return log_point{v};
    }
    if (auto t = parse_rfc3339(text)) return log_point{*t};
    return std::nullopt;
}

std::uint64_t first_position_since(const eventstore::store& store, const log_point& p) {
    if (const auto* pos = std::get_if<std::uint64_t>(&p)) return std::max<std::uint64_t>(*pos, 1);
    // Events recorded at or after t start right after the last one recorded before t.
    const auto t = std::get<domain::timestamp>(p);
    return store.position_at(t - std::chrono::microseconds(1)).value_or(0) + 1;
}

std::uint64_t last_position_until(const eventstore::store& store, const log_point& p) {
    if (const auto* pos = std::get_if<std::uint64_t>(&p)) return *pos;
    return store.position_at(std::get<domain::timestamp>(p)).value_or(0);
}

}  // namespace roster::replay
