// Short-lived, single-use tickets that open GET /v1/stream without an Authorization header.
//
// A browser's WebSocket API cannot set headers, so the stream needs another way to know who
// calls. Putting the bearer token itself in the URL would leak a long-lived secret: URLs end up
// in access logs, proxy logs, browser history and Referer headers. A ticket in the URL is
// harmless once used or 30 s old, and it only ever opens the stream, as the principal whose
// token asked for it (POST /v1/stream/tickets with that token in a header).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/system/result.hpp>

namespace roster::api {

struct stream_ticket_options {
    std::chrono::milliseconds ttl{30'000};
    // Memory all unexpired tickets may take. A ticket is charged until it expires, used or not,
    // so this bounds the tickets issued per `ttl`, whatever clients do.
    std::size_t max_bytes = 1024 * 1024;
};

// What a ticket stands for. The token, not the principal, is remembered, so that a token revoked
// or a user locked between issue and use is refused at use (authentication is judged again).
struct stream_ticket_grant {
    std::string token_sha256_hex;
    std::string account;  // the account named at issue; empty: none
};

// Thread-safe (one mutex; every operation is O(1) amortized). Only the SHA-256 of a ticket is
// kept, so the store's memory holds nothing that opens the stream.
class stream_tickets {
public:
    using clock = std::chrono::steady_clock;

    explicit stream_tickets(stream_ticket_options options = {});

    struct issued {
        std::string ticket;  // "stk_" + 256 random bits in hex
        clock::time_point expires;
    };
    // A new ticket for `grant`, or, when the store is full, how long until the oldest ticket
    // expires and frees room.
    boost::system::result<issued, std::chrono::milliseconds> issue(stream_ticket_grant grant, clock::time_point now);

    // Consumes `ticket`: its grant when it was issued here, has not expired and was not used
    // before; nullopt otherwise (unknown, expired and used look the same to the caller).
    std::optional<stream_ticket_grant> redeem(std::string_view ticket, clock::time_point now);

    const stream_ticket_options& options() const noexcept { return options_; }
    std::size_t bytes() const;
    std::size_t size() const;  // unexpired, unused tickets

private:
    struct entry {
        stream_ticket_grant grant;
        clock::time_point expires;
    };
    struct pending_expiry {
        clock::time_point expires;
        std::string hash;
        std::size_t charge;
    };
    void purge(clock::time_point now);  // mutex_ held

    const stream_ticket_options options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, entry> by_hash_;  // guarded by mutex_
    // Every ticket issued and not yet expired, in issue order, which is expiry order (one TTL).
    std::deque<pending_expiry> expiry_;  // guarded by mutex_
    std::size_t bytes_ = 0;              // guarded by mutex_
};

}  // namespace roster::api
