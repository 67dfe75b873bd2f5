#include "ws_frames.hpp"

#include <string>

#include <gtest/gtest.h>

namespace roster::api::ws {
namespace {

// A client frame as RFC 6455 §5.3 requires: masked with `key`.
std::string masked(std::uint8_t first_byte, const std::string& payload, std::uint32_t key = 0x37fa213d) {
    std::string f;
    f.push_back(static_cast<char>(first_byte));
    const std::size_t n = payload.size();
    if (n < 126) {
        f.push_back(static_cast<char>(0x80 | n));
    } else if (n <= 0xFFFF) {
        f.push_back(static_cast<char>(0x80 | 126));
        f.push_back(static_cast<char>(n >> 8));
        f.push_back(static_cast<char>(n & 0xFF));
    } else {
        f.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            f.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xFF));
    }
    const char mask[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16), static_cast<char>(key >> 8),
                          static_cast<char>(key)};
    f.append(mask, 4);
    for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return f;
}

TEST(ws_frames, server_frames_use_the_shortest_length_form) {
    EXPECT_EQ(encode_frame(opcode::text, "hi"), std::string("\x81\x02hi", 4));
    const std::string medium(300, 'a');
    auto f = encode_frame(opcode::text, medium);
    ASSERT_EQ(f.size(), 4 + medium.size());
    EXPECT_EQ(f.substr(0, 4), std::string("\x81\x7e\x01\x2c", 4));
    const std::string large(70'000, 'b');
    auto g = encode_frame(opcode::binary, large);
    ASSERT_EQ(g.size(), 10 + large.size());
    EXPECT_EQ(g.substr(0, 10), std::string("\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10));
    EXPECT_EQ(encode_frame(opcode::ping, ""), std::string("\x89\x00", 2));
}

TEST(ws_frames, close_frames_carry_the_code_and_keep_the_end_of_a_long_reason) {
    EXPECT_EQ(encode_close(1008, "slow"), std::string("\x88\x06\x03\xf0slow", 8));
    const std::string reason = std::string(200, 'x') + "; last_position=42";
    auto f = encode_close(1001, reason);
    ASSERT_EQ(f.size(), 2 + 125u);  // the control-frame maximum
    EXPECT_TRUE(f.ends_with("; last_position=42"));
}

TEST(ws_frames, reader_unmasks_frames_split_anywhere) {
    const std::string bytes =
        masked(0x89, "are you there") + masked(0x81, std::string(1000, 'q')) + masked(0x88, "\x03\xe8");
    for (std::size_t cut = 0; cut <= bytes.size(); cut += 7) {
        client_frame_reader reader(64 * 1024);
        frame_error error;
        std::vector<client_frame> frames;
        reader.feed(std::string_view(bytes).substr(0, cut));
        while (auto f = reader.next(error)) frames.push_back(*f);
        reader.feed(std::string_view(bytes).substr(cut));
        while (auto f = reader.next(error)) frames.push_back(*f);
        ASSERT_FALSE(reader.failed()) << error.why;
        ASSERT_EQ(frames.size(), 3u) << "cut at " << cut;
        EXPECT_EQ(frames[0].op, opcode::ping);
        EXPECT_EQ(frames[0].payload, "are you there");
        EXPECT_EQ(frames[1].op, opcode::text);
        EXPECT_EQ(frames[1].payload, std::string(1000, 'q'));
        EXPECT_EQ(frames[2].op, opcode::close);
        EXPECT_EQ(frames[2].payload, "\x03\xe8");
    }
}

TEST(ws_frames, reader_refuses_what_the_protocol_forbids) {
    auto refusal = [](const std::string& bytes, std::size_t max = 1024) {
        client_frame_reader reader(max);
        frame_error error;
        reader.feed(bytes);
        while (reader.next(error)) {}
        return reader.failed() ? error : frame_error{0, ""};
    };
    std::string unmasked("\x81\x02hi", 4);
    EXPECT_EQ(refusal(unmasked).close_code, 1002);
    EXPECT_EQ(refusal(masked(0xC1, "x")).close_code, 1002);                     // RSV1 without an extension
    EXPECT_EQ(refusal(masked(0x83, "x")).close_code, 1002);                     // reserved opcode
    EXPECT_EQ(refusal(masked(0x09, "x")).close_code, 1002);                     // fragmented ping
    EXPECT_EQ(refusal(masked(0x89, std::string(126, 'p'))).close_code, 1002);   // control frame too long
    EXPECT_EQ(refusal(masked(0x81, std::string(2000, 'm'))).close_code, 1009);  // beyond the limit
    // Refused from the header alone, before a byte of the payload arrives.
    EXPECT_EQ(refusal(masked(0x81, std::string(70'000, 'm')).substr(0, 14)).close_code, 1009);
    EXPECT_EQ(refusal(masked(0x81, "fine")).close_code, 0);
}

}  // namespace
}  // namespace roster::api::ws
