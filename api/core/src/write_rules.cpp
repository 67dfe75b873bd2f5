#include "write_rules.hpp"

namespace roster::api {

write_rules::key_verdict write_rules::check_key(const std::string& key, const std::string& fingerprint) const {
    if (key.empty()) return decide{};
    // Deciding it now would record the key twice; once the first is durable it is a replay.
    if (keys_.contains(key)) return after_group{};
    auto found = store_.find_idempotency(key);
    if (!found) return command_result{outcome::unavailable{"The event store cannot be read: " + found.error().message}};
    const auto& seen = *found;
    if (!seen) return decide{};
    if (seen->fingerprint != fingerprint) return command_result{outcome::idempotency_key_reused{}};
    return command_result{outcome::accepted{seen->outcome, true}};
}

std::optional<outcome::version_mismatch> write_rules::check_if_match(const std::string& stream,
                                                                     domain::stream_version expected) {
    const auto actual = version(stream);
    if (actual == expected) return std::nullopt;
    return outcome::version_mismatch{stream, expected, actual};
}

domain::stream_version write_rules::version(const std::string& stream) {
    if (auto it = versions_.find(stream); it != versions_.end()) return it->second;
    return store_.stream_version(stream);
}

domain::stream_version write_rules::number_next(const std::string& stream) {
    const auto next = version(stream).next();
    versions_[stream] = next;
    return next;
}

}  // namespace roster::api
