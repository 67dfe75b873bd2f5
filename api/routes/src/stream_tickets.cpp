#include "roster/api/stream_tickets.hpp"

#include "roster/api/secrets.hpp"

namespace roster::api {

namespace {

// What one ticket costs while it lives: its hash twice (map key and expiry queue), the grant,
// and a generous allowance for the node, queue slot and string headers.
std::size_t charge_of(const stream_ticket_grant& g) {
    return 2 * 64 + g.token_sha256_hex.size() + g.account.size() + 256;
}

}  // namespace

stream_tickets::stream_tickets(stream_ticket_options options) : options_(options) {}

void stream_tickets::purge(clock::time_point now) {
    while (!expiry_.empty() && expiry_.front().expires <= now) {
        auto& front = expiry_.front();
        by_hash_.erase(front.hash);  // absent when it was used
        bytes_ -= front.charge;
        expiry_.pop_front();
    }
}

boost::system::result<stream_tickets::issued, std::chrono::milliseconds> stream_tickets::issue(
    stream_ticket_grant grant, clock::time_point now) {
    const auto charge = charge_of(grant);
    // Generated outside the lock: the CSPRNG is the slow part.
    issued out{"stk_" + random_hex(32), now + options_.ttl};
    auto hash = sha256_hex(out.ticket);
    std::lock_guard lock(mutex_);
    purge(now);
    if (bytes_ + charge > options_.max_bytes) {
        if (expiry_.empty()) return std::chrono::milliseconds(options_.ttl);  // a bound below one ticket
        return std::chrono::ceil<std::chrono::milliseconds>(expiry_.front().expires - now);
    }
    by_hash_.emplace(hash, entry{std::move(grant), out.expires});
    expiry_.push_back(pending_expiry{out.expires, std::move(hash), charge});
    bytes_ += charge;
    return out;
}

std::optional<stream_ticket_grant> stream_tickets::redeem(std::string_view ticket, clock::time_point now) {
    const bool well_formed = ticket.starts_with("stk_") && ticket.size() == 4 + 64;
    const auto hash = well_formed ? sha256_hex(ticket) : std::string{};
    std::lock_guard lock(mutex_);
    purge(now);
    if (!well_formed) return std::nullopt;
    auto it = by_hash_.find(hash);
    if (it == by_hash_.end()) return std::nullopt;
    // Its bytes stay charged until it expires (the expiry queue still holds its hash).
    auto grant = std::move(it->second.grant);
    by_hash_.erase(it);
    return grant;
}

std::size_t stream_tickets::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::size_t stream_tickets::size() const {
    std::lock_guard lock(mutex_);
    return by_hash_.size();
}

}  // namespace roster::api
