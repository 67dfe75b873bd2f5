#include <cstdint>
#include <span>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "roster/api/nats_publisher.hpp"
#include "roster/domain/events.hpp"
#include "roster/eventstore/checkpoint.hpp"
#include "roster/replay/event_json.hpp"

namespace roster::api {

std::string nats_subject_token(std::string_view account) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(account.size());
    for (const char c : account) {
        const bool plain =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (plain) {
            out += c;
            continue;
        }
        const auto b = static_cast<unsigned char>(c);
        out += '%';
        out += hex[b >> 4];
        out += hex[b & 0xf];
    }
    return out;
}

std::string nats_cursor_key(std::string_view stream) { return "nats/cursor/" + std::string(stream); }

std::string nats_checkpoint_stream(std::string_view stream) { return std::string(stream) + "_CHECKPOINTS"; }

std::string nats_checkpoint_subject(std::string_view log_origin) {
    return "roster.checkpoints." + nats_subject_token(log_origin);
}

nats_event_message build_nats_message(const eventstore::recorded_event& e, std::string_view raw,
                                      std::string_view log_origin) {
    const auto parties = domain::concerned(e.payload);
    const std::string account = parties.accounts.empty() ? std::string("_system") : parties.accounts.front().str();
    const auto position = std::to_string(e.position.value);
    const auto hash = eventstore::to_hex(e.hash);

    auto event = replay::event_json(e);
    boost::json::object body;
    body["position"] = e.position.value;
    body["type"] = e.type;
    body["account"] = account;
    body["stream"] = e.stream;
    if (auto* at = event.if_contains("recorded_at")) body["recorded_at"] = *at;
    body["hash"] = hash;
    body["event"] = std::move(event);
    body["envelope"] = eventstore::base64_encode(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));

    nats_event_message m;
    m.subject = "roster.events." + nats_subject_token(account) + "." + nats_subject_token(e.type);
    m.headers = {{"Nats-Msg-Id", std::string(log_origin) + ":" + position},
                 {"Roster-Position", position},
                 {"Roster-Type", e.type},
                 {"Roster-Account", account},
                 {"Roster-Hash", hash}};
    m.data = boost::json::serialize(body);
    return m;
}

}  // namespace roster::api
