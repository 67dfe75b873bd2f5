#include "roster/replay/export.hpp"

#include <algorithm>
#include <span>

#include <boost/json/serialize.hpp>

#include "roster/domain/events.hpp"
#include "roster/domain/text.hpp"
#include "roster/eventstore/checkpoint.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/ocsf.hpp"
#include "roster/replay/rfc3339.hpp"

#include "event_json_writer.hpp"

namespace roster::replay {

std::optional<export_format> parse_export_format(std::string_view s) {
    if (s == "jsonl") return export_format::jsonl;
    if (s == "csv") return export_format::csv;
    if (s == "ocsf") return export_format::ocsf;
    return std::nullopt;
}

namespace {

// "\u202e": the JSON spelling of a BMP code point, readable in a spreadsheet cell too.
void append_u_escape(std::string& out, char32_t cp) {
    static constexpr char hex[] = "0123456789abcdef";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out.push_back(hex[(cp >> shift) & 0xF]);
}

// `text` with every hidden control (domain::is_hidden_control) for which `escape(cp)` holds
// replaced by its \uXXXX escape; other bytes, invalid UTF-8 included, are copied unchanged.
template <class Pred>
std::string escape_hidden(std::string_view text, Pred escape) {
    // Nearly every field is printable ASCII: copy it without decoding.
    if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7F; }))
        return std::string(text);
    std::string out;
    out.reserve(text.size());
    std::size_t copied = 0;  // text before it is in `out`
    for (std::size_t pos = 0; pos < text.size();) {
        const auto step = domain::decode_utf8(text, pos);
        if (step.valid && domain::is_hidden_control(step.code_point) && escape(step.code_point)) {
            out.append(text.substr(copied, pos - copied));
            append_u_escape(out, step.code_point);
            copied = pos + step.size;
        }
        pos += step.size;
    }
    out.append(text.substr(copied));
    return out;
}

// OWASP "CSV injection": spreadsheets evaluate a cell starting with one of these.
bool starts_like_formula(std::string_view text) {
    return !text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos;
}

}  // namespace

std::string csv_field(std::string_view raw) {
    // TAB, CR and LF stay: RFC 4180 quoting carries them and a spreadsheet shows them as space
    // and line breaks. Every other hidden control is shown as its escape.
    const std::string text = escape_hidden(raw, [](char32_t cp) { return cp != U'\t' && cp != U'\r' && cp != U'\n'; });
    const bool formula = starts_like_formula(text);
    const bool quote = formula || text.find_first_of(",\"\r\n") != std::string::npos ||
                       (!text.empty() && (text.front() == ' ' || text.back() == ' '));
    if (!quote) return text;
    std::string out;
    out.reserve(text.size() + 3);
    out.push_back('"');
    if (formula) out.push_back('\'');
    for (char c : text) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string_view csv_header() {
    // Columns after `data` were added later, at the end, so readers of the first eleven keep working.
    return "position,recorded_at,stream,version,type,actor,token_id,address,request_id,reason,data,"
           "correlation_id,causation_id,reference,prev_hash,hash,labels,traceparent\r\n";
}

std::string csv_row(const eventstore::recorded_event& e) {
    std::string row;
    row.reserve(256);
    auto add = [&](std::string_view field, bool last = false) {
        row += csv_field(field);
        row += last ? "\r\n" : ",";
    };
    add(std::to_string(e.position.value));
    add(format_rfc3339(e.recorded_at));
    add(e.stream);
    add(std::to_string(e.version.value));
    add(e.type);
    add(e.meta.actor.principal);
    add(e.meta.actor.token_id);
    add(e.meta.actor.address);
    add(e.meta.request_id);
    add(e.meta.reason);
    add(boost::json::serialize(event_data_json(e.payload)));
    add(e.meta.correlation_id);
    add(e.meta.causation_id);
    add(e.meta.reference);
    add(eventstore::to_hex(e.prev_hash));
    add(eventstore::to_hex(e.hash));
    add(e.meta.labels.empty() ? std::string() : boost::json::serialize(labels_json(e.meta.labels)));
    add(e.meta.traceparent, true);
    return row;
}

namespace {

std::string json_line(const boost::json::object& object) {
    // Boost.JSON escapes only U+0000-U+001F (and '"', '\\'): the other hidden controls (DEL, C1,
    // bidi formatting, U+2028/U+2029) are escaped here. They occur only inside strings, where
    // \uXXXX means the same code point, so the line still parses to the same value.
    auto line = escape_hidden(boost::json::serialize(object), [](char32_t) { return true; });
    line.push_back('\n');
    return line;
}

}  // namespace

void append_jsonl_row(std::string& out, const eventstore::recorded_event& e, std::optional<std::string_view> envelope) {
    const auto start = out.size();
    detail::append_event_json(out, e, envelope);
    // As json_line: the hidden controls Boost.JSON leaves (it escapes C0 itself, and so does the
    // writer) are escaped here. Nearly every line is printable ASCII and is left as written.
    const std::string_view line(out.data() + start, out.size() - start);
    if (!std::all_of(line.begin(), line.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7F; })) {
        auto escaped = escape_hidden(line, [](char32_t) { return true; });
        out.replace(start, std::string::npos, escaped);
    }
    out.push_back('\n');
}

std::string jsonl_row(const eventstore::recorded_event& e, std::optional<std::string_view> envelope) {
    std::string line;
    append_jsonl_row(line, e, envelope);
    return line;
}

std::optional<std::string> ocsf_row(const eventstore::recorded_event& e) {
    auto object = ocsf_event(e);
    if (!object) return std::nullopt;
    return json_line(*object);
}

export_reader::export_reader(const eventstore::store& store, export_format format, eventstore::log_position from,
                             eventstore::log_position to, std::size_t batch, std::size_t max_bytes)
    : store_(store),
      format_(format),
      next_(std::max(from, eventstore::log_position{1})),
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
    // One pass either way: with the envelope, the stored bytes are read raw and decoded here,
    // rather than decoded by the store and then read a second time for the bytes.
    auto emit = [&](const eventstore::recorded_event& e, std::optional<std::string_view> envelope) {
        if (e.position > to_) return false;
        next_ = e.position.next();
        ++got;  // scanned: a batch short of events, not of matches, is the log's or range's end
        if (account_ && !domain::concerns_account(e.payload, *account_)) return true;
        if (format_ == export_format::csv) {
            out += csv_row(e);
        } else if (format_ == export_format::ocsf) {
            auto row = ocsf_row(e);
            if (!row) return true;  // no OCSF class: scanned, not a row
            out += *row;
        } else {
            append_jsonl_row(out, e, envelope);
        }
        ++rows_;
        full = out.size() - start >= max_bytes_;
        return !full;
    };
    eventstore::result<void> r;
    if (include_envelope_ && format_ == export_format::jsonl) {
        std::optional<eventstore::error> bad;
        r = store_.read_raw_from(next_.value, batch_, [&](std::uint64_t, std::string_view raw) {
            auto e = eventstore::decode_envelope(raw);
            if (!e) {
                bad = e.error();
                return false;
            }
            return emit(*e, raw);
        });
        if (r && bad) return *bad;
    } else {
        // Decoding ahead on a second thread pays for itself over a batch of the default size.
        auto read = batch_ >= 512 ? &eventstore::store::read_bulk_from : &eventstore::store::read_from;
        r = (store_.*read)(next_, batch_, [&](const eventstore::recorded_event& e) { return emit(e, std::nullopt); });
    }
    if (!r) return r.error();
    // A short batch (not cut by bytes) means the log or the range ended inside it.
    return (got == batch_ || full) && next_ <= to_;
}

}  // namespace roster::replay
