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
        return log_point{eventstore::log_position{v}};
    }
    if (auto t = parse_rfc3339(text)) return log_point{*t};
    return std::nullopt;
}

eventstore::log_position first_position_since(const eventstore::store& store, const log_point& p) {
    if (const auto* pos = std::get_if<eventstore::log_position>(&p)) return std::max(*pos, eventstore::log_position{1});
    // Events recorded at or after t start right after the last one recorded before t.
    const auto t = std::get<domain::timestamp>(p);
    return store.position_at(t - std::chrono::microseconds(1)).value_or(eventstore::log_position{}).next();
}

eventstore::log_position last_position_until(const eventstore::store& store, const log_point& p) {
    if (const auto* pos = std::get_if<eventstore::log_position>(&p)) return *pos;
    return store.position_at(std::get<domain::timestamp>(p)).value_or(eventstore::log_position{});
}

}  // namespace roster::replay
