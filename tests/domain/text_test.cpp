// Free text rules (roster/domain/text.hpp): lengths in characters and bytes, refused code
// points, trimming, and their use by the commands that take names.
#include "roster/domain/text.hpp"

#include "fixture.hpp"

namespace roster::domain::testing {
namespace {

// One representative per refused class, as UTF-8.
struct refused_text {
    const char* what;
    std::string text;
};
std::vector<refused_text> refused_classes() {
    using namespace std::string_literals;
    return {
        {"NUL", "a\0b"s},
        {"ESC", "a\x1b[31mb"},
        {"TAB", "a\tb"},
        {"LF", "a\nb"},
        {"CR", "a\rb"},
        {"US U+001F",
         "a\x1f"
         "b"},
        {"DEL",
         "a\x7f"
         "b"},
        {"C1 U+0080",
         "a\xc2\x80"
         "b"},
        {"C1 U+009B (CSI)",
         "a\xc2\x9b"
         "b"},
        {"C1 U+009F",
         "a\xc2\x9f"
         "b"},
        {"ALM U+061C",
         "a\xd8\x9c"
         "b"},
        {"LRM U+200E",
         "a\xe2\x80\x8e"
         "b"},
        {"RLM U+200F",
         "a\xe2\x80\x8f"
         "b"},
        {"LRE U+202A",
         "a\xe2\x80\xaa"
         "b"},
        {"RLO U+202E",
         "a\xe2\x80\xae"
         "b"},
        {"LRI U+2066",
         "a\xe2\x81\xa6"
         "b"},
        {"PDI U+2069",
         "a\xe2\x81\xa9"
         "b"},
        {"LS U+2028",
         "a\xe2\x80\xa8"
         "b"},
        {"PS U+2029",
         "a\xe2\x80\xa9"
         "b"},
        {"lone continuation byte",
         "a\x80"
         "b"},
        {"truncated sequence", "a\xe2\x80"},
        {"overlong '/'",
         "a\xc0\xaf"
         "b"},
        {"overlong 3-byte",
         "a\xe0\x80\xaf"
         "b"},
        {"surrogate U+D800",
         "a\xed\xa0\x80"
         "b"},
        {"past U+10FFFF",
         "a\xf4\x90\x80\x80"
         "b"},
        {"0xFF byte",
         "a\xff"
         "b"},
    };
}

TEST(Text, NamesRefuseEveryHiddenControlAndInvalidUtf8) {
    for (const auto& [what, text] : refused_classes()) {
        auto r = valid_name(text);
        ASSERT_FALSE(r.has_value()) << what;
        EXPECT_EQ(r.error().code, codes::invalid_name) << what;
        EXPECT_EQ(r.error().kind, error_kind::bad_input) << what;
    }
}

TEST(Text, ReasonsRefuseEveryHiddenControlAndInvalidUtf8) {
    for (const auto& [what, text] : refused_classes()) {
        auto r = valid_reason(text);
        ASSERT_FALSE(r.has_value()) << what;
        EXPECT_EQ(r.error().code, codes::invalid_reason) << what;
        EXPECT_EQ(r.error().kind, error_kind::bad_input) << what;
    }
    // Unlike a name, a reason is not trimmed: a trailing line break is refused too.
    EXPECT_FALSE(valid_reason("locked after review\n"));
}

TEST(Text, NeighboursOfTheRefusedRangesAreAccepted) {
    // U+00A0 (after C1), U+200D (before LRM), U+2027, U+202F, U+2065, U+206A, U+061B: ordinary text.
    for (std::string ok : {"a\xc2\xa0"
                           "b",
                           "a\xe2\x80\x8d"
                           "b",
                           "a\xe2\x80\xa7"
                           "b",
                           "a\xe2\x80\xaf"
                           "b",
                           "a\xe2\x81\xa5"
                           "b",
                           "a\xe2\x81\xaa"
                           "b",
                           "a\xd8\x9b"
                           "b",
                           "Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89"}) {
        EXPECT_TRUE(valid_name(ok).has_value()) << ok;
        EXPECT_TRUE(valid_reason(ok).has_value()) << ok;
    }
    EXPECT_TRUE(valid_name(" ~ ").has_value());
}

TEST(Text, NamesAreTrimmedAndCountCharactersNotBytes) {
    EXPECT_EQ(*valid_name("  Ada Lovelace \t\r\n"), "Ada Lovelace");
    EXPECT_EQ(valid_name(" \t\n ").error().code, codes::invalid_name);
    EXPECT_EQ(valid_name("").error().code, codes::invalid_name);

    EXPECT_TRUE(valid_name(std::string(200, 'x')));
    EXPECT_FALSE(valid_name(std::string(201, 'x')));
    // 200 three-byte characters (600 bytes) and 200 four-byte ones (800 bytes) are at the limit.
    std::string cjk, emoji;
    for (int i = 0; i < 200; ++i) cjk += "\xe6\x97\xa5", emoji += "\xf0\x9f\x8e\x89";
    EXPECT_EQ(*valid_name(cjk), cjk);
    EXPECT_EQ(*valid_name("  " + emoji + "  "), emoji);
    EXPECT_FALSE(valid_name(cjk + "\xe6\x97\xa5"));
    EXPECT_FALSE(valid_name(emoji + "x"));
    // A megabyte is refused by its size; the detail names both limits.
    auto big = valid_name(std::string(1 << 20, 'x'));
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().detail.find("800 bytes"), std::string::npos) << big.error().detail;
    EXPECT_NE(big.error().detail.find("200 characters"), std::string::npos) << big.error().detail;
}

TEST(Text, ReasonsHaveAtMostAThousandBytes) {
    EXPECT_EQ(*valid_reason(""), "");
    EXPECT_EQ(*valid_reason("  left the company  "), "  left the company  ");
    EXPECT_TRUE(valid_reason(std::string(1000, 'r')));
    auto over = valid_reason(std::string(1001, 'r'));
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code, codes::invalid_reason);
    EXPECT_NE(over.error().detail.find("1000 bytes"), std::string::npos) << over.error().detail;
    // Bytes, not characters: 334 three-byte characters are 1002 bytes.
    std::string cjk;
    for (int i = 0; i < 333; ++i) cjk += "\xe6\x97\xa5";
    EXPECT_TRUE(valid_reason(cjk + "x"));  // 1000 bytes
    EXPECT_FALSE(valid_reason(cjk + "\xe6\x97\xa5"));
}

TEST(Text, Utf8DecoderReportsCodePointsAndSizes) {
    const std::string s = "a\xc3\xab\xe2\x80\xae\xf0\x9f\x8e\x89";
    std::vector<std::pair<char32_t, std::size_t>> got;
    for (std::size_t pos = 0; pos < s.size();) {
        auto step = decode_utf8(s, pos);
        ASSERT_TRUE(step.valid);
        got.emplace_back(step.code_point, step.size);
        pos += step.size;
    }
    EXPECT_EQ(got, (std::vector<std::pair<char32_t, std::size_t>>{{U'a', 1}, {0xEB, 2}, {0x202E, 3}, {0x1F389, 4}}));
    EXPECT_FALSE(decode_utf8("\xe2\x80", 0).valid);
    EXPECT_EQ(decode_utf8("\xe2\x80", 0).size, 1u);
}

TEST(Text, InvalidUtf8IsReplacedByteByByteAndValidTextKept) {
    EXPECT_EQ(with_invalid_utf8_replaced("a\xc3\xab\xf0\x9f\x8e\x89"), "a\xc3\xab\xf0\x9f\x8e\x89");
    EXPECT_EQ(with_invalid_utf8_replaced("si\xcc"
                                         "con"),
              "si\xef\xbf\xbd"
              "con");
    // A truncated sequence, an overlong form and a surrogate: each bad byte becomes one U+FFFD.
    EXPECT_EQ(with_invalid_utf8_replaced("\xe2\x80"), "\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(with_invalid_utf8_replaced("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(with_invalid_utf8_replaced("\xed\xa0\x80").size(), 9u);
    EXPECT_EQ(with_invalid_utf8_replaced(""), "");
}

TEST(Text, AccountAndUserCreationUseTheNameRule) {
    world w;
    const std::string rlo =
        "Bob \xe2\x80\xae"
        "exe.gpj";
    EXPECT_EQ(w.refused(open_account{account_id("acme"), rlo, account_kind::customer}).code, codes::invalid_name);
    EXPECT_EQ(w.refused(open_account{account_id("acme"), std::string("A\0B", 3), account_kind::customer}).code,
              codes::invalid_name);
    w.customer("acme");
    EXPECT_EQ(w.refused(create_user{account_id("acme"), user_id("b"), "b@acme.com", rlo, {}, std::nullopt}).code,
              codes::invalid_name);
    EXPECT_EQ(
        w.refused(create_user{account_id("acme"), user_id("b"), "b@acme.com", "Line\nbreak", {}, std::nullopt}).code,
        codes::invalid_name);
    std::string cjk;
    for (int i = 0; i < 200; ++i) cjk += "\xe6\x97\xa5";
    w.ok(create_user{account_id("acme"), user_id("b"), "b@acme.com", "  " + cjk + " ", {}, std::nullopt});
    EXPECT_EQ(w.s.user(user_id("b"))->name, cjk);
}

TEST(Text, EmailsAreBoundedAt254Characters) {
    // RFC 5321: at most 254 characters in a path; the local part at most 64.
    const std::string local(64, 'l');
    std::string domain;
    for (int i = 0; i < 18; ++i) domain += "abcdefghi.";
    domain += "abcd.com";  // 64 + 1 + 188 = 253
    ASSERT_EQ(local.size() + 1 + domain.size(), 253u);
    EXPECT_TRUE(email::parse(local + "@" + domain));
    EXPECT_TRUE(email::parse(local + "@x" + domain));    // 254
    EXPECT_FALSE(email::parse(local + "@xx" + domain));  // 255
    EXPECT_FALSE(email::parse(std::string(65, 'l') + "@acme.com"));
    EXPECT_FALSE(
        email::parse("a\xe2\x80\xae"
                     "b@acme.com"));
    EXPECT_FALSE(
        email::parse("a\x1b"
                     "b@acme.com"));
}

}  // namespace
}  // namespace roster::domain::testing
