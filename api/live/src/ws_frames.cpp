#include "ws_frames.hpp"

#include <algorithm>

namespace roster::api::ws {

namespace {

void append_header(std::string& out, opcode op, std::size_t length) {
    out.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(op)));  // FIN, no RSV bits
    if (length < 126) {
        out.push_back(static_cast<char>(length));
    } else if (length <= 0xFFFF) {
        out.push_back(static_cast<char>(126));
        out.push_back(static_cast<char>(length >> 8));
        out.push_back(static_cast<char>(length & 0xFF));
    } else {
        out.push_back(static_cast<char>(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(length) >> shift) & 0xFF));
    }
}

bool is_control(std::uint8_t op) { return (op & 0x8) != 0; }

bool is_known(std::uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

}  // namespace

std::string encode_frame(opcode op, std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 10);
    append_header(out, op, payload.size());
    out.append(payload);
    return out;
}

std::string encode_close(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
    // A control frame carries at most 125 bytes; keep the end, where the resume position is.
    if (reason.size() > 123) reason.remove_prefix(reason.size() - 123);
    payload.append(reason);
    return encode_frame(opcode::close, payload);
}

std::optional<client_frame> client_frame_reader::next(frame_error& error) {
    if (failed_) return std::nullopt;
    auto fail = [&](std::uint16_t code, std::string why) -> std::optional<client_frame> {
        failed_ = true;
        error = {code, std::move(why)};
        return std::nullopt;
    };
    const std::string_view in = std::string_view(pending_).substr(consumed_);
    if (in.size() < 2) return std::nullopt;
    const auto b0 = static_cast<std::uint8_t>(in[0]);
    const auto b1 = static_cast<std::uint8_t>(in[1]);
    const std::uint8_t op = b0 & 0x0F;
    if ((b0 & 0x70) != 0) return fail(1002, "reserved bits set (no extension was negotiated)");
    if (!is_known(op)) return fail(1002, "unknown opcode");
    if ((b1 & 0x80) == 0) return fail(1002, "client frames must be masked");
    std::uint64_t length = b1 & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
        if (in.size() < 4) return std::nullopt;
        length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(in[2])) << 8) | static_cast<std::uint8_t>(in[3]);
        header = 4;
    } else if (length == 127) {
        if (in.size() < 10) return std::nullopt;
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(in[i]);
        header = 10;
    }
    if (is_control(op) && (length > 125 || (b0 & 0x80) == 0))
        return fail(1002, "control frames are short and unfragmented");
    if (length > max_payload_) return fail(1009, "frame too big");
    if (in.size() < header + 4 + length) return std::nullopt;

    const char* mask = in.data() + header;
    client_frame f;
    f.fin = (b0 & 0x80) != 0;
    f.op = static_cast<opcode>(op);
    f.payload.assign(in.data() + header + 4, static_cast<std::size_t>(length));
    for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] = static_cast<char>(f.payload[i] ^ mask[i % 4]);
    consumed_ += header + 4 + static_cast<std::size_t>(length);
    // Compact once the parsed prefix dominates, so the buffer stays about one frame long.
    if (consumed_ > 4096 && consumed_ * 2 > pending_.size()) {
        pending_.erase(0, consumed_);
        consumed_ = 0;
    }
    return f;
}

}  // namespace roster::api::ws
