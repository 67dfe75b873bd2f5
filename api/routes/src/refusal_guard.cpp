#include "roster/api/refusal_guard.hpp"
#include "roster/api/http_commands.hpp"

#include <vector>

#include "roster/api/request_meta.hpp"
#include "roster/domain/events.hpp"

namespace roster::api {

namespace {

using steady = std::chrono::steady_clock;

struct pending_record {
    domain::access_denied record;
    eventstore::event_metadata meta;
};

// The id a request named, if it has the shape of one: whatever else a refused caller typed
// (kilobytes, escape sequences) never goes on record.
std::string first_of(const request_context& ctx, std::string_view path_name, std::string_view query_name) {
    std::optional<std::string_view> v = ctx.path_params.get(path_name);
    if (!v && !query_name.empty()) v = ctx.query.get(query_name);
    return v && domain::is_well_formed_id(*v) ? std::string(*v) : std::string();
}

// Whether a 404 hid something from this caller: the id the refusal says is missing exists now
// and the caller cannot see it. (A 404 for what the caller can see is no refusal: an id that
// exists nowhere, or an `as_of` before the thing existed.)
bool hides_existing(const domain::state& s, const domain::principal& who, std::string_view code,
                    const std::string& account, const std::string& user, const request_context& ctx) {
    if (std::holds_alternative<domain::operator_principal>(who) ||
        std::holds_alternative<domain::auditor_principal>(who))
        return false;  // they see every account, user and token
    const auto* me = std::get_if<domain::user_principal>(&who);
    auto member_of = [&](const domain::account_id& a) {
        const auto* acc = s.account(a);
        return me && acc && acc->member(me->user);
    };
    if (code == "account_not_found")
        return !account.empty() && s.account(domain::account_id{account}) && !member_of(domain::account_id{account});
    if (code == "user_not_found" || code == "member_not_found") {
        const auto* u = user.empty() ? nullptr : s.user(domain::user_id{user});
        if (!u) return false;
        if (me && me->user == u->id) return false;
        // Someone of an account the caller belongs to (as employee, third party or former member) is known to it.
        if (member_of(u->employer)) return false;
        for (const auto& a : u->third_party)
            if (member_of(a)) return false;
        for (const auto& [id, acc] : s.accounts)
            if (acc.removed.contains(u->id) && member_of(id)) return false;
        return true;
    }
    if (code == "token_not_found") {
        const auto id = first_of(ctx, "id", "");
        const auto* t = id.empty() ? nullptr : s.token(domain::token_id{id});
        if (!t) return false;
        const auto* subject = std::get_if<domain::user_principal>(&t->subject);
        return !(me && subject && subject->user == me->user);
    }
    return false;
}

}  // namespace

struct refusal_guard::window {
    steady::time_point opened;
    std::uint64_t pending = 0;  // refusals since the window's first, not yet recorded
    pending_record first_pending;
};

refusal_guard::refusal_guard(service& svc, principal_limits* limits, refusal_guard_options options)
    : svc_(svc), limits_(limits), options_(options) {}

refusal_guard::~refusal_guard() { stop(); }

void refusal_guard::start() {
    closer_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            wake_.wait_for(lock, std::max(options_.window / 4, std::chrono::milliseconds(10)));
            if (stopping_) break;
            lock.unlock();
            close_windows(false);
            lock.lock();
        }
    });
}

void refusal_guard::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && !closer_.joinable()) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (closer_.joinable()) closer_.join();
    close_windows(true);
}

handler refusal_guard::wrap(handler inner) {
    return [this, inner = std::move(inner)](request_context& ctx, responder reply) {
        // The context stays valid until `reply` is called, which this does last.
        inner(ctx, make_responder([this, &ctx, reply](response r) {
                  // Answered already (the server's 500 for a handler that threw): the context may
                  // be gone, and there is nothing left to send.
                  if (reply.responded()) return;
                  try {
                      on_answer(ctx, r);
                  } catch (const std::exception& e) {
                      // Never lose the answer over its record; the log says what was missed.
                      svc_.log.error("refusal_record_failed", {{"request_id", ctx.request_id}, {"error", e.what()}});
                  }
                  reply(std::move(r));
              }));
    };
}

refusal_stats refusal_guard::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void refusal_guard::on_answer(const request_context& ctx, const response& r) {
    const unsigned status = r.status;
    if (status != 401 && status != 403 && status != 404 && status != 429) return;
    // Only a token the server knows names a principal; refusals of made-up tokens are counted
    // by the HTTP metrics but cannot be attributed to anyone.
    auto token = bearer_token(ctx.header("authorization"));
    if (!token) return;
    const auto secret_hash = sha256_hex(*token);
    const auto now = svc_.now();

    std::optional<pending_record> found;
    svc_.reads.read([&](const projections::read_view& v) {
        const auto& s = v.state;
        auto it = s.token_by_secret.find(secret_hash);
        if (it == s.token_by_secret.end()) return false;
        const auto* t = s.token(it->second);
        if (!t) return false;
        std::string account = first_of(ctx, "a", "account");
        const std::string user = first_of(ctx, "u", "user");
        if (status == 404 && !hides_existing(s, t->subject, r.problem_code, account, user, ctx)) return false;
        std::string target = user;
        if (target.empty()) target = first_of(ctx, "id", "");    // a token
        if (target.empty()) target = first_of(ctx, "role", "");  // a contact role
        if (account.empty() && !user.empty())
            if (const auto* u = s.user(domain::user_id{user})) account = u->employer.value;  // lock, unlock, history
        pending_record p;
        p.record = domain::access_denied{t->subject,
                                         ctx.method + " " + ctx.route,
                                         domain::account_id{account},
                                         r.problem_code,
                                         std::move(target),
                                         static_cast<std::uint16_t>(status),
                                         1,
                                         now,
                                         now};
        p.meta.actor = {domain::principal_label(t->subject), t->id.value, ctx.client_address};
        p.meta.request_id = ctx.request_id;
        p.meta.correlation_id = ctx.request_id;
        found = std::move(p);
        return true;
    });
    if (!found) return;

    const auto label = found->meta.actor.principal;
    std::vector<pending_record> to_submit;
    {
        std::lock_guard lock(mutex_);
        ++stats_.refusals;
        auto key = label + '\x1f' + found->record.action;
        auto it = windows_.find(key);
        if (it == windows_.end() && windows_.size() >= options_.max_windows) {
            key = std::string("(many principals)\x1f") + found->record.action;
            it = windows_.find(key);
        }
        const auto at = steady::now();
        if (it != windows_.end() && at - it->second.opened >= options_.window) {
            // The closer has not got to it yet: close it here, in order.
            if (it->second.pending > 0) to_submit.push_back(std::move(it->second.first_pending));
            windows_.erase(it);
            it = windows_.end();
        }
        if (it == windows_.end()) {
            windows_.emplace(std::move(key), window{at, 0, {}});
            to_submit.push_back(std::move(*found));
        } else {
            auto& w = it->second;
            if (w.pending == 0) w.first_pending = std::move(*found);
            ++w.pending;
            w.first_pending.record.count = w.pending;
            w.first_pending.record.last_at = now;
        }
        stats_.records += to_submit.size();
    }
    // A 429 is itself the answer to a spent budget; charging it again would only lengthen the wait.
    if (limits_ && status != 429) limits_->charge_refusal(label);
    for (auto& p : to_submit) submit(std::move(p.record), std::move(p.meta));
}

void refusal_guard::close_windows(bool all) {
    std::vector<pending_record> to_submit;
    {
        std::lock_guard lock(mutex_);
        const auto at = steady::now();
        for (auto it = windows_.begin(); it != windows_.end();) {
            if (!all && at - it->second.opened < options_.window) {
                ++it;
                continue;
            }
            if (it->second.pending > 0) to_submit.push_back(std::move(it->second.first_pending));
            it = windows_.erase(it);
        }
        stats_.records += to_submit.size();
    }
    for (auto& p : to_submit) submit(std::move(p.record), std::move(p.meta));
}

void refusal_guard::submit(domain::access_denied record, eventstore::event_metadata meta) {
    if (options_.sink) {
        options_.sink(std::move(record), std::move(meta));
        return;
    }
    command_request request;
    request.actor = record.subject;
    request.meta = std::move(meta);
    request.record = domain::event(std::move(record));
    request.done = [log = &svc_.log](command_result r) {
        if (!std::holds_alternative<outcome::accepted>(r))
            log->error("refusal_not_recorded", {{"outcome", describe(r)}});
    };
    svc_.writer.submit(std::move(request));
}

}  // namespace roster::api
