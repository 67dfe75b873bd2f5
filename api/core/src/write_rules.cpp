#include "write_rules.hpp"

#include <algorithm>

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

namespace {

// The judgement of RFC 9110 §13.1.1 once the current versions are known: `*` matches a resource
// that exists, a list matches if any of its tags is current.
std::optional<outcome::version_mismatch> judge(const if_match_condition& c, std::string resource,
                                               const std::vector<std::uint64_t>& current) {
    if (c.tags.empty() ? !current.empty() : std::any_of(c.tags.begin(), c.tags.end(), [&](std::uint64_t t) {
            return std::find(current.begin(), current.end(), t) != current.end();
        }))
        return std::nullopt;
    return outcome::version_mismatch{std::move(resource), c.tags.empty() ? 0 : c.tags.front(),
                                     current.empty() ? 0 : current.front()};
}

std::string member_name(const domain::account_id& a, const domain::user_id& u) {
    return domain::account_stream(a) + "/" + domain::user_stream(u);
}

}  // namespace

std::optional<outcome::version_mismatch> write_rules::check_if_match(const domain::state& model,
                                                                     const if_match_condition& c) {
    std::vector<std::uint64_t> current;
    std::string name;
    if (const auto* s = std::get_if<stream_resource>(&c.resource)) {
        name = s->stream;
        if (const auto v = version(s->stream); v.exists()) current.push_back(v.value);
    } else if (const auto* m = std::get_if<member_resource>(&c.resource)) {
        name = member_name(m->account, m->user);
        if (const auto v = domain::member_version_of(model, m->account, m->user)) current.push_back(v->value);
    } else {
        const auto& u = std::get<user_resource>(c.resource).user;
        name = domain::user_stream(u);
        // The user's current accounts, employer first: O(memberships of the user).
        if (const auto* rec = model.user(u)) {
            auto add = [&](const domain::account_id& a) {
                if (model.member(a, u))
                    if (const auto v = domain::member_version_of(model, a, u)) current.push_back(v->value);
            };
            add(rec->employer);
            for (const auto& a : rec->third_party) add(a);
        }
    }
    return judge(c, std::move(name), current);
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
