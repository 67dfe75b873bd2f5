#include "roster/replay/export.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

#include <unistd.h>

#include <openssl/evp.h>

#include "roster/eventstore/checkpoint.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/log_range.hpp"
#include "roster/replay/progress.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::replay {
namespace {

namespace json = boost::json;

// RFC 4180 parser for the round trip (records of fields; quoted fields may hold anything).
std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false, in_quotes = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_quotes) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
                field += '"', ++i;
            else if (c == '"')
                in_quotes = false;
            else
                field += c;
        } else if (c == '"' && field.empty() && !quoted) {
            in_quotes = quoted = true;
        } else if (c == ',') {
            rows.back().push_back(std::move(field));
            field.clear();
            quoted = false;
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            rows.back().push_back(std::move(field));
            field.clear();
            quoted = false;
            ++i;
            rows.emplace_back();
        } else {
            EXPECT_NE(c, '"') << "bare quote in an unquoted field";
            EXPECT_NE(c, '\n') << "bare LF in an unquoted field";
            field += c;
        }
    }
    EXPECT_FALSE(in_quotes);
    EXPECT_TRUE(field.empty());
    rows.pop_back();  // after the final CRLF
    return rows;
}

TEST(csv_field, quotes_exactly_when_needed) {
    EXPECT_EQ(csv_field("plain"), "plain");
    EXPECT_EQ(csv_field(""), "");
    EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(csv_field("cr\rx"), "\"cr\rx\"");
    EXPECT_EQ(csv_field(" padded "), "\" padded \"");
    EXPECT_EQ(csv_field("Zoë 日本"), "Zoë 日本");
}

TEST(csv_field, neutralises_every_formula_prefix) {
    // OWASP CSV injection: the cell is shown as text, not evaluated.
    EXPECT_EQ(csv_field("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    EXPECT_EQ(csv_field("=1+1"), "\"'=1+1\"");
    EXPECT_EQ(csv_field("+1+1"), "\"'+1+1\"");
    EXPECT_EQ(csv_field("-1+1"), "\"'-1+1\"");
    EXPECT_EQ(csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
    EXPECT_EQ(csv_field("\t=1"), "\"'\t=1\"");
    EXPECT_EQ(csv_field("\r=1"), "\"'\r=1\"");
    EXPECT_EQ(csv_field("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
    // Only the first character counts.
    EXPECT_EQ(csv_field("a=1"), "a=1");
    EXPECT_EQ(csv_field("x-1"), "x-1");
    EXPECT_EQ(csv_field("user@example.com"), "user@example.com");
}

TEST(csv_field, shows_hidden_controls_as_escapes) {
    using namespace std::string_literals;
    EXPECT_EQ(csv_field("a\x1b[31mb"), "a\\u001b[31mb");
    EXPECT_EQ(csv_field("a\0b"s), "a\\u0000b");
    EXPECT_EQ(csv_field("a\x7f"
                        "b"),
              "a\\u007fb");
    EXPECT_EQ(csv_field("a\xc2\x9b"
                        "b"),
              "a\\u009bb");  // C1 CSI
    EXPECT_EQ(csv_field("Bob \xe2\x80\xae"
                        "exe.gpj"),
              "Bob \\u202eexe.gpj");
    EXPECT_EQ(csv_field("a\xe2\x81\xa6"
                        "b\xe2\x81\xa9"),
              "a\\u2066b\\u2069");
    EXPECT_EQ(csv_field("a\xd8\x9c"
                        "b\xe2\x80\x8e\xe2\x80\x8f"),
              "a\\u061cb\\u200e\\u200f");
    EXPECT_EQ(csv_field("a\xe2\x80\xa8"
                        "b\xe2\x80\xa9"),
              "a\\u2028b\\u2029");
    // An escaped control at the start hides nothing: "\u001b=..." is not a formula.
    EXPECT_EQ(csv_field("\x1b=1"), "\\u001b=1");
    // TAB, CR and LF are kept (quoted); invalid UTF-8 is passed through untouched.
    EXPECT_EQ(csv_field("a\tb"), "a\tb");
    EXPECT_EQ(csv_field("a\r\nb"), "\"a\r\nb\"");
    EXPECT_EQ(csv_field("a\xff\xe2\x80"), "a\xff\xe2\x80");
    // Ordinary non-ASCII text is unchanged.
    EXPECT_EQ(csv_field("Zo\xc3\xab \xe2\x80\x8d \xc2\xa0 \xf0\x9f\x8e\x89"),
              "Zo\xc3\xab \xe2\x80\x8d \xc2\xa0 \xf0\x9f\x8e\x89");
}

class export_test : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("roster-export-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
        auto s = eventstore::store::open(dir_);
        ASSERT_TRUE(s.has_value());
        store_ = std::move(*s);
        const std::vector<std::string> reasons{"",           "a,b", "say \"hi\"", "two\nlines\r\nthree",
                                               "Zoë 日本 🎉", " x ", "\"",         ",,,"};
        for (std::size_t i = 0; i < 2500; ++i) {
            eventstore::append_batch b;
            eventstore::new_event n{
                domain::account_opened{domain::account_id{"acc-" + std::to_string(i)},
                                       "Name, \"" + reasons[i % reasons.size()] + "\"", domain::account_kind::customer},
                std::nullopt,
                {}};
            n.meta.actor = {"operator", "tok,1", "127.0.0.1"};
            n.meta.request_id = "req-" + std::to_string(i);
            n.meta.reason = reasons[i % reasons.size()];
            n.meta.correlation_id = "corr-" + std::to_string(i);
            n.meta.causation_id = i % 2 ? "cause" : "";
            n.meta.reference = i % 3 ? "" : "CHG-" + std::to_string(i);
            b.events.push_back(std::move(n));
            ASSERT_TRUE(store_->append(std::move(b)).has_value());
        }
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }
    std::string drain(export_reader& r, std::size_t* calls = nullptr, std::size_t* max_rows_per_call = nullptr) {
        std::string all;
        std::size_t n = 0, max_rows = 0;
        while (true) {
            std::string chunk;
            const auto before = r.rows();
            auto more = r.next(chunk);
            EXPECT_TRUE(more.has_value());
            max_rows = std::max<std::size_t>(max_rows, r.rows() - before);
            all += chunk;
            ++n;
            if (!more || !*more) break;
        }
        if (calls) *calls = n;
        if (max_rows_per_call) *max_rows_per_call = max_rows;
        return all;
    }
    std::filesystem::path dir_;
    std::unique_ptr<eventstore::store> store_;
};

TEST_F(export_test, csv_round_trips_any_text_in_bounded_batches) {
    export_reader r(*store_, export_format::csv, eventstore::log_position{1}, eventstore::log_position::max(), 300);
    std::size_t calls = 0, max_rows = 0;
    auto text = drain(r, &calls, &max_rows);
    EXPECT_LE(max_rows, 300u);
    EXPECT_GE(calls, 2500u / 300);
    auto rows = parse_csv(text);
    ASSERT_EQ(rows.size(), 2501u);
    EXPECT_EQ(rows[0],
              (std::vector<std::string>{"position", "recorded_at", "stream", "version", "type", "actor", "token_id",
                                        "address", "request_id", "reason", "data", "correlation_id", "causation_id",
                                        "reference", "prev_hash", "hash", "labels", "traceparent"}));
    for (std::uint64_t p = 1; p <= 2500; ++p) {
        const auto& row = rows[p];
        ASSERT_EQ(row.size(), 18u);
        auto e = store_->read_at(eventstore::log_position{p});
        ASSERT_TRUE(e && *e);
        EXPECT_EQ(row[0], std::to_string(p));
        EXPECT_EQ(row[1], format_rfc3339((*e)->recorded_at));
        EXPECT_EQ(row[2], (*e)->stream);
        EXPECT_EQ(row[4], "account_opened");
        EXPECT_EQ(row[6], "tok,1");
        EXPECT_EQ(row[9], (*e)->meta.reason);
        EXPECT_EQ(json::parse(row[10]), json::value(event_data_json((*e)->payload)));
        EXPECT_EQ(row[11], (*e)->meta.correlation_id);
        EXPECT_EQ(row[12], (*e)->meta.causation_id);
        EXPECT_EQ(row[13], (*e)->meta.reference);
        EXPECT_EQ(row[14], eventstore::to_hex((*e)->prev_hash));
        EXPECT_EQ(row[15], eventstore::to_hex((*e)->hash));
        EXPECT_EQ(row[16], "");
    }
}

TEST_F(export_test, the_envelope_is_the_stored_bytes_its_hash_is_computed_over) {
    export_reader r(*store_, export_format::jsonl, eventstore::log_position{1}, eventstore::log_position{40}, 7);
    r.include_envelope(true);
    auto text = drain(r);
    std::string prev(64, '0');
    std::uint64_t expect = 1;
    for (std::size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1, ++expect) {
        auto line = json::parse(text.substr(start, end - start)).as_object();
        ASSERT_EQ(line.at("position").to_number<std::uint64_t>(), expect);
        auto bytes = eventstore::base64_decode(std::string_view(line.at("envelope").as_string()));
        ASSERT_TRUE(bytes.has_value());
        std::string stored;
        ASSERT_TRUE(store_->read_raw_from(expect, 1, [&](std::uint64_t, std::string_view raw) {
            stored.assign(raw);
            return false;
        }));
        EXPECT_EQ(std::string(bytes->begin(), bytes->end()), stored);
        // The README procedure: the hash occurs once; zero it, prepend prev_hash, SHA-256.
        const std::string hash_hex(line.at("hash").as_string());
        EXPECT_EQ(std::string(line.at("prev_hash").as_string()), prev);
        std::string h;
        for (std::size_t i = 0; i < 64; i += 2)
            h.push_back(static_cast<char>(std::stoi(hash_hex.substr(i, 2), nullptr, 16)));
        ASSERT_NE(stored.find(h), std::string::npos);
        EXPECT_EQ(stored.find(h, stored.find(h) + 1), std::string::npos);
        std::string zeroed = stored;
        zeroed.replace(zeroed.find(h), 32, std::string(32, '\0'));
        std::string p;
        for (std::size_t i = 0; i < 64; i += 2)
            p.push_back(static_cast<char>(std::stoi(prev.substr(i, 2), nullptr, 16)));
        unsigned char digest[32];
        unsigned int len = 0;
        const std::string input = p + zeroed;
        ASSERT_EQ(EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr), 1);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(digest), 32), h) << expect;
        prev = hash_hex;
    }
    EXPECT_EQ(expect, 41u);
}

TEST_F(export_test, the_account_filter_keeps_only_that_accounts_events) {
    export_reader r(*store_, export_format::csv, eventstore::log_position{1}, eventstore::log_position::max(), 100);
    r.filter_account("acc-1234");
    auto rows = parse_csv(drain(r));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1][0], "1235");
}

TEST_F(export_test, jsonl_lines_are_the_event_objects_of_the_range) {
    export_reader r(*store_, export_format::jsonl, eventstore::log_position{100}, eventstore::log_position{1299}, 256);
    auto text = drain(r);
    std::size_t n = 0, start = 0;
    std::uint64_t expect = 100;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        ASSERT_NE(end, std::string::npos);
        auto line = json::parse(text.substr(start, end - start));
        auto e = store_->read_at(eventstore::log_position{expect});
        EXPECT_EQ(line, json::value(event_json(**e)));
        ++expect;
        ++n;
        start = end + 1;
    }
    EXPECT_EQ(n, 1200u);
    EXPECT_EQ(r.rows(), 1200u);
}

TEST_F(export_test, an_old_event_with_controls_and_a_formula_is_defused_in_csv_and_jsonl) {
    // Events recorded before names and reasons were checked may hold anything.
    const std::string reason =
        "=HYPERLINK(\"http://evil\") \x1b[2J \xe2\x80\xae"
        "fdp.exe \x7f\xc2\x9b\xe2\x80\xa8";
    eventstore::append_batch b;
    eventstore::new_event n{domain::account_opened{domain::account_id{"old"},
                                                   "-2+3 \xe2\x81\xa6"
                                                   "x",
                                                   domain::account_kind::customer},
                            std::nullopt,
                            {}};
    n.meta.actor = {"operator", "@tok", "127.0.0.1"};
    n.meta.request_id = "+req";
    n.meta.reason = reason;
    b.events.push_back(std::move(n));
    ASSERT_TRUE(store_->append(std::move(b)).has_value());

    export_reader r(*store_, export_format::csv, eventstore::log_position{2501}, eventstore::log_position{2501});
    const auto text = drain(r);
    for (std::string_view hidden : {"\x1b", "\x7f", "\xc2\x9b", "\xe2\x80\xae", "\xe2\x80\xa8", "\xe2\x81\xa6"})
        EXPECT_EQ(text.find(hidden), std::string::npos) << text;
    auto rows = parse_csv(text);
    ASSERT_EQ(rows.size(), 2u);
    ASSERT_EQ(rows[1].size(), 18u);
    EXPECT_EQ(rows[1][6], "'@tok");
    EXPECT_EQ(rows[1][8], "'+req");
    EXPECT_EQ(rows[1][9], "'=HYPERLINK(\"http://evil\") \\u001b[2J \\u202efdp.exe \\u007f\\u009b\\u2028");
    // The data column is JSON: the escapes land inside its strings and mean the same text.
    EXPECT_EQ(json::parse(rows[1][10]),
              json::value(event_data_json((*store_->read_at(eventstore::log_position{2501}))->payload)));
    EXPECT_NE(rows[1][10].find("\\u2066"), std::string::npos) << rows[1][10];

    export_reader j(*store_, export_format::jsonl, eventstore::log_position{2501}, eventstore::log_position{2501});
    const auto line = drain(j);
    for (std::string_view hidden : {"\x1b", "\x7f", "\xc2\x9b", "\xe2\x80\xae", "\xe2\x80\xa8", "\xe2\x81\xa6"})
        EXPECT_EQ(line.find(hidden), std::string::npos) << line;
    EXPECT_NE(line.find("\\u202e"), std::string::npos) << line;
    EXPECT_EQ(json::parse(line), json::value(event_json(**store_->read_at(eventstore::log_position{2501}))));
}

TEST_F(export_test, pieces_stop_at_the_byte_budget_after_at_least_one_row) {
    // The whole range in one piece (no budget to speak of) is the reference.
    export_reader whole(*store_, export_format::jsonl, eventstore::log_position{1}, eventstore::log_position{2000},
                        5000, SIZE_MAX);
    const auto reference = drain(whole);
    std::size_t longest_row = 0;
    for (std::size_t start = 0; start < reference.size();) {
        const auto end = reference.find('\n', start) + 1;
        longest_row = std::max(longest_row, end - start);
        start = end;
    }

    constexpr std::size_t budget = 4096;
    export_reader r(*store_, export_format::jsonl, eventstore::log_position{1}, eventstore::log_position{2000}, 1000,
                    budget);
    std::string all;
    std::size_t calls = 0;
    for (;;) {
        std::string piece;
        const auto before = r.rows();
        auto more = r.next(piece);
        ASSERT_TRUE(more.has_value());
        ++calls;
        all += piece;
        if (!*more) break;
        // A count of 1000 would make pieces of ~100 KiB; the budget cuts them after the row that
        // reaches it, so a piece passes it by less than one row.
        EXPECT_GE(r.rows() - before, 1u);
        EXPECT_GE(piece.size(), budget);
        EXPECT_LT(piece.size(), budget + longest_row);
    }
    EXPECT_EQ(all, reference);
    EXPECT_EQ(r.rows(), 2000u);
    EXPECT_GT(calls, reference.size() / (budget + longest_row));

    // A budget smaller than any row still makes progress, one row per piece.
    export_reader tiny(*store_, export_format::csv, eventstore::log_position{11}, eventstore::log_position{20}, 1000,
                       1);
    std::size_t tiny_calls = 0, max_rows = 0;
    drain(tiny, &tiny_calls, &max_rows);
    EXPECT_EQ(max_rows, 1u);
    EXPECT_EQ(tiny.rows(), 10u);
}

TEST_F(export_test, an_empty_range_has_only_the_csv_header) {
    export_reader r(*store_, export_format::csv, eventstore::log_position{3000}, eventstore::log_position{4000});
    EXPECT_EQ(drain(r), std::string(csv_header()));
    export_reader j(*store_, export_format::jsonl, eventstore::log_position{10}, eventstore::log_position{9});
    EXPECT_EQ(drain(j), "");
}

TEST_F(export_test, log_points_resolve_positions_and_times) {
    EXPECT_FALSE(parse_log_point(""));
    EXPECT_FALSE(parse_log_point("12x"));
    EXPECT_FALSE(parse_log_point("2026-02-30T00:00:00Z"));
    EXPECT_EQ(std::get<eventstore::log_position>(*parse_log_point("42")), eventstore::log_position{42});
    auto at5 = (*store_->read_at(eventstore::log_position{5}))->recorded_at;
    auto p = *parse_log_point(format_rfc3339(at5));
    // Several events may share a microsecond; the bounds bracket position 5 either way.
    EXPECT_LE(first_position_since(*store_, p), eventstore::log_position{5});
    EXPECT_GE(last_position_until(*store_, p), eventstore::log_position{5});
    EXPECT_EQ(last_position_until(*store_, *parse_log_point("1970-01-01T00:00:00Z")), eventstore::log_position{0});
    EXPECT_EQ(first_position_since(*store_, *parse_log_point("1970-01-01T00:00:00Z")), eventstore::log_position{1});
    EXPECT_EQ(first_position_since(*store_, *parse_log_point("0")), eventstore::log_position{1});
}

TEST(progress_bar, frames_show_percentage_rate_and_eta) {
    auto f = progress_bar::frame("verifying", 250, 1000, 1.0);
    EXPECT_NE(f.find(" 25% "), std::string::npos) << f;
    EXPECT_NE(f.find("250/1000"), std::string::npos) << f;
    EXPECT_NE(f.find("250/s"), std::string::npos) << f;
    EXPECT_NE(f.find("ETA 3s"), std::string::npos) << f;
    auto done = progress_bar::frame("verifying", 1000, 1000, 2.0);
    EXPECT_NE(done.find("100%"), std::string::npos) << done;
    EXPECT_EQ(done.find("ETA"), std::string::npos) << done;
    auto unknown = progress_bar::frame("x", 5, 0, 1.0);
    EXPECT_EQ(unknown.find('%'), std::string::npos) << unknown;
}

}  // namespace
}  // namespace roster::replay
