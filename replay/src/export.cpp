#include "roster/replay/export.hpp"

#include <boost/json/serialize.hpp>

#include "roster/replay/event_json.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::replay {

std::optional<export_format> parse_export_format(std::string_view s) {
    if (s == "jsonl") return export_format::jsonl;
    if (s == "csv") return export_format::csv;
    return std::nullopt;
}

std::string csv_field(std::string_view text) {
    const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                       (!text.empty() && (text.front() == ' ' || text.back() == ' '));
    if (!quote) return std::string(text);
    std::string out;
    out.reserve(text.size() + 2);
    out.push_back('"');
    for (char c : text) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string_view csv_header() {
    return "position,recorded_at,stream,version,type,actor,token_id,address,request_id,reason,data\r\n";
}

std::string csv_row(const eventstore::recorded_event& e) {
    std::string row;
    row.reserve(256);
    auto add = [&](std::string_view field, bool last = false) {
        row += csv_field(field);
        row += last ? "\r\n" : ",";
    };
    add(std::to_string(e.position));
    add(format_rfc3339(e.recorded_at));
    add(e.stream);
    add(std::to_string(e.version));
    add(e.type);
    add(e.meta.actor.principal);
    add(e.meta.actor.token_id);
    add(e.meta.actor.address);
    add(e.meta.request_id);
    add(e.meta.reason);
    add(boost::json::serialize(event_data_json(e.payload)), true);
    return row;
}

std::string jsonl_row(const eventstore::recorded_event& e) {
    auto line = boost::json::serialize(event_json(e));
    line.push_back('\n');
    return line;
}

export_reader::export_reader(const eventstore::store& store, export_format format, std::uint64_t from, std::uint64_t to,
                             std::size_t batch, std::size_t max_bytes)
    : store_(store),
      format_(format),
      next_(std::max<std::uint64_t>(from, 1)),
      to_(to),
      batch_(std::max<std::size_t>(batch, 1)),
      max_bytes_(std::max<std::size_t>(max_bytes, 1)) {}

eventstore::result<bool> export_reader::next(std::string& out) {
    if (!header_done_) {
        header_done_ = true;
        if (format_ == export_format::csv) out += csv_header();
    }
    if (next_ > to_) return false;
    std::size_t got = 0;
    bool full = false;  // stopped by the byte budget, not by the log's or the range's end
    const auto start = out.size();
    auto r = store_.read_from(next_, batch_, [&](const eventstore::recorded_event& e) {
        if (e.position > to_) return false;
        out += format_ == export_format::csv ? csv_row(e) : jsonl_row(e);
        next_ = e.position + 1;
        ++got;
        ++rows_;
        full = out.size() - start >= max_bytes_;
        return !full;
    });
    if (!r) return r.error();
    // A short batch (not cut by bytes) means the log or the range ended inside it.
    return (got == batch_ || full) && next_ <= to_;
}

}  // namespace roster::replay
