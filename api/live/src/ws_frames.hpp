// The RFC 6455 framing the live stream writes and reads itself once Beast has done the
// handshake. Why not Beast's websocket::stream for the data: it writes one message per
// async_write, i.e. one syscall per event per subscriber, and a server frame (unmasked) is the
// same bytes for every subscriber. Built once per event, frames are gathered into one write per
// subscriber for whatever its queue holds (measured in tests/bench/fanout_bench.cpp).
//
// Value types and free functions; no I/O. Internal to roster_api.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roster::api::ws {

enum class opcode : std::uint8_t { continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA };

// One unfragmented, unmasked (server-to-client) frame carrying `payload`.
std::string encode_frame(opcode op, std::string_view payload);
// A close frame: the code in network order, then the reason cut to fit a control frame (123 bytes).
std::string encode_close(std::uint16_t code, std::string_view reason);

// One frame received from a client, unmasked.
struct client_frame {
    bool fin = false;
    opcode op = opcode::continuation;
    std::string payload;
};

// Why a client's bytes are not acceptable (the close code to answer with, RFC 6455 §7.4.1).
struct frame_error {
    std::uint16_t close_code = 1002;  // protocol error; 1009: too big
    std::string why;
};

// Parses client frames out of a byte buffer. Owned by one connection; not synchronized.
class client_frame_reader {
public:
    explicit client_frame_reader(std::size_t max_payload) : max_payload_(max_payload) {}

    // Appends received bytes.
    void feed(std::string_view bytes) { pending_.append(bytes); }
    // The next complete frame, nullopt if more bytes are needed, or an error (the connection
    // must then be closed with the given code; the reader is spent).
    std::optional<client_frame> next(frame_error& error);
    bool failed() const { return failed_; }

private:
    std::size_t max_payload_;
    std::string pending_;
    std::size_t consumed_ = 0;
    bool failed_ = false;
};

}  // namespace roster::api::ws
