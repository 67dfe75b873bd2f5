// The audit export (SPEC §3 "Export"): events of a position range as JSON Lines, CSV or OCSF,
// produced in bounded batches so that neither the server nor rosterctl ever holds the whole
// log in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "roster/eventstore/store.hpp"

namespace roster::replay {

// ocsf: JSON Lines of OCSF objects (replay/ocsf.hpp); events without an OCSF form are left out.
enum class export_format { jsonl, csv, ocsf };
std::optional<export_format> parse_export_format(std::string_view);

// One RFC 4180 field, safe to open in a spreadsheet:
// - hidden controls (roster/domain/text.hpp: C0 U+0000-U+001F, DEL, C1 U+0080-U+009F, the bidi
//   formatting characters U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, and U+2028,
//   U+2029) are replaced by a visible escape, lower-case "\u001b", "\u202e", except TAB, CR
//   and LF, which quoting carries. Names and reasons refuse them today, but older events may
//   hold them. The escape is for display: a stored "\u001b" text looks the same (the JSON Lines
//   export is the lossless one);
// - OWASP CSV injection: a field whose first character (after escaping) is '=', '+', '-', '@',
//   TAB or CR gets a leading single quote ("'=1+1") and is quoted, so it is shown as text;
// - quoted (with doubled quotes) when it holds a comma, quote, CR or LF, or starts/ends with a
//   space. Other bytes pass unchanged (UTF-8 stays UTF-8, invalid bytes are not repaired).
std::string csv_field(std::string_view text);

// The CSV columns, in order (columns are only ever added at the end, so a reader of the first
// ones keeps working):
//   position, recorded_at (RFC 3339 UTC), stream, version, type,
//   actor (principal label), token_id, address, request_id, reason,
//   data            the event's data object as JSON (event_data_json: before/after included),
//   correlation_id, causation_id, reference,
//   prev_hash, hash the chain's hashes, 64 lower-case hex digits each,
//   labels          [{user, name, email}] as JSON, the people named as they were (empty in older events)
//   traceparent     the W3C traceparent of the request that caused it (empty when none or in older events)
std::string_view csv_header();
// One CSV record (CRLF-terminated).
std::string csv_row(const eventstore::recorded_event& e);
// One JSON Lines record: replay::event_json, then '\n'. Besides the C0 controls Boost.JSON
// escapes, DEL, C1, the bidi formatting characters and U+2028/U+2029 are written as \uXXXX.
// With `envelope` (the stored bytes, store::read_raw_from) the object gains
// "envelope": base64 of them: the canonical Cap'n Proto Envelope the hash chain covers
// (eventstore/README.md says how to recompute `hash` from it).
std::string jsonl_row(const eventstore::recorded_event& e, std::optional<std::string_view> envelope = std::nullopt);
// The same line appended to `out` (what export_reader writes: no value built, no temporary).
void append_jsonl_row(std::string& out, const eventstore::recorded_event& e,
                      std::optional<std::string_view> envelope = std::nullopt);
// One OCSF JSON Lines record (ocsf_event, then '\n', hidden controls escaped as in jsonl_row);
// nullopt for an event type OCSF has no class for.
std::optional<std::string> ocsf_row(const eventstore::recorded_event& e);

// Pulls the events of [from, to] in log order, `batch` events per call, and fewer once the call
// has appended `max_bytes` (always at least one event): events can be ~1 MB each, so a count
// alone does not bound a piece. Owned by one consumer; not thread-safe. The store must outlive
// it. Events appended while it runs are included as long as they are within `to` (pass the head
// position at the start for a fixed range).
class export_reader {
public:
    export_reader(const eventstore::store& store, export_format format, eventstore::log_position from,
                  eventstore::log_position to, std::size_t batch = 1000, std::size_t max_bytes = 1024 * 1024);

    // Appends the next rows (and the CSV header on the first call) to `out`. Returns false once
    // nothing follows; an error when the store fails (the caller then truncates the transfer).
    eventstore::result<bool> next(std::string& out);

    // Only the events domain::concerned names `account` in (the history's and live stream's filter).
    void filter_account(std::string account) { account_ = std::move(account); }
    // JSON Lines only: each line also carries its stored envelope bytes (jsonl_row's `envelope`).
    void include_envelope(bool on) { include_envelope_ = on; }

    eventstore::log_position next_position() const noexcept { return next_; }
    std::uint64_t rows() const noexcept { return rows_; }

private:
    const eventstore::store& store_;
    export_format format_;
    eventstore::log_position next_;
    eventstore::log_position to_;
    std::size_t batch_;
    std::size_t max_bytes_;
    bool header_done_ = false;
    std::optional<std::string> account_;
    bool include_envelope_ = false;
    std::uint64_t rows_ = 0;
};

}  // namespace roster::replay
