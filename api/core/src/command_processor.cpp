#include "roster/api/command_processor.hpp"

#include <future>
#include <unordered_set>

#include "roster/domain/decide.hpp"
#include "roster/domain/overloaded.hpp"

namespace roster::api {
std::string describe(const command_result& result) {
    return std::visit(domain::overloaded{
                          [](const outcome::accepted& a) { return std::string(a.replayed ? "replayed" : "accepted"); },
                          [](const outcome::refused& r) { return "refused: " + r.error.code + " (" + r.error.detail + ")"; },
                          [](const outcome::version_mismatch& m) {
                              return "version mismatch on " + m.stream + ": expected " + std::to_string(m.expected.value) +
                                     ", now " + std::to_string(m.actual.value);
                          },
                          [](const outcome::idempotency_key_reused&) { return std::string("idempotency key reused"); },
                          [](const outcome::unavailable& u) { return "unavailable: " + u.detail; },
                          [](const outcome::failed&) { return std::string("failed"); },
                      },
                      result);
}

// A command that got through `decide`, waiting for its batch to be durable.
struct command_processor::pending {
    command_request request;
    std::string outcome;                   // what `render` made of it, sent once durable
    std::vector<domain::stream_version> versions;  // stream version of each event, in batch order
    std::size_t batch = SIZE_MAX;          // index into the group's batches; SIZE_MAX = nothing to append
};

command_processor::command_processor(eventstore::store& store, projections::read_model& reads, logger& log,
                                     clock_fn now)
    : store_(store), reads_(reads), log_(log), now_(std::move(now)) {}

command_processor::~command_processor() { stop(); }

eventstore::result<void> command_processor::start() {
    if (auto r = reload_write_model(); !r) return r;
    writer_ = std::thread([this] { writer_loop(); });
    return {};
}

void command_processor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (writer_.joinable()) writer_.join();
}

void command_processor::submit(command_request request) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.push_back(std::move(request));
            wake_.notify_one();
            return;
        }
    }
    request.done(outcome::unavailable{"The server is shutting down."});
}

void command_processor::run_on_writer(std::function<void(const domain::state&)> f) {
    std::promise<void> finished;
    auto done = finished.get_future();
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back([&] {
            f(write_model_);
            finished.set_value();
        });
    }
    wake_.notify_one();
    done.wait();
}

processor_stats command_processor::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

eventstore::result<void> command_processor::reload_write_model() {
    write_model_ = domain::state{};
    versions_.clear();
    return store_.read_from(eventstore::log_position{1}, SIZE_MAX, [this](const eventstore::recorded_event& e) {
        domain::apply(write_model_, e.payload);
        return true;
    });
}

domain::stream_version command_processor::speculative_version(const std::string& stream) {
    auto it = versions_.find(stream);
    if (it != versions_.end()) return it->second;
    auto v = store_.stream_version(stream);
    versions_.emplace(stream, v);
    return v;
}

void command_processor::writer_loop() {
    std::vector<command_request> group;
    while (true) {
        std::deque<std::function<void()>> tasks;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || !tasks_.empty(); });
            tasks.swap(tasks_);
            while (!queue_.empty() && group.size() < max_group_commands) {
                group.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            if (group.empty() && tasks.empty() && stopping_) return;
        }
        for (auto& t : tasks) t();
        if (!group.empty()) process_group(group);
        group.clear();
    }
}

void command_processor::process_group(std::vector<command_request>& group) {
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    const auto now = now_();
    std::vector<pending> decided;
    std::vector<eventstore::append_batch> batches;
    std::vector<command_request> deferred;
    std::unordered_set<std::string> keys_in_group;
    decided.reserve(group.size());

    auto append_as_is = [&](command_request request, const domain::event& e) {
        pending p{std::move(request), {}, {}, batches.size()};
        const auto stream = domain::stream_of(e);
        p.versions.push_back(speculative_version(stream).next());
        versions_[stream] = p.versions.back();
        eventstore::append_batch batch;
        batch.events.push_back({e, std::nullopt, p.request.meta});
        batches.push_back(std::move(batch));
        decided.push_back(std::move(p));
    };

    for (auto& request : group) {
        if (request.record) {
            const auto e = *request.record;
            append_as_is(std::move(request), e);
            continue;
        }
        if (!request.idempotency_key.empty()) {
            if (keys_in_group.contains(request.idempotency_key)) {
                // The same key twice in one group: answer the second once the first is durable.
                deferred.push_back(std::move(request));
                continue;
            }
            auto found = store_.find_idempotency(request.idempotency_key);
            if (!found) {
                request.done(outcome::unavailable{"The event store cannot be read: " + found.error().message});
                continue;
            }
            if (const auto& seen = *found) {
                if (seen->fingerprint != request.fingerprint) request.done(outcome::idempotency_key_reused{});
                else request.done(outcome::accepted{seen->outcome, true});
                continue;
            }
        }
        if (request.if_match) {
            const auto& [stream, expected] = *request.if_match;
            const auto actual = speculative_version(stream);
            if (actual != expected) {
                request.done(outcome::version_mismatch{stream, expected, actual});
                continue;
            }
        }

        auto decision = domain::decide(write_model_, request.command, request.actor, now);
        if (!decision) {
            // Appends nothing; a refusal that must be on record is recorded by the refusal guard.
            request.done(outcome::refused{decision.error()});
            continue;
        }

        auto& events = decision.value();
        pending p{std::move(request), {}, {}, SIZE_MAX};
        eventstore::append_batch batch;
        // Belt and braces: the store re-checks what the writer believes each stream was at
        // before this batch (the same expected version for every event of a stream).
        std::unordered_map<std::string, domain::stream_version> batch_start;
        for (const auto& e : events) {
            const auto stream = domain::stream_of(e);
            const auto before = speculative_version(stream);
            const auto start = batch_start.try_emplace(stream, before).first->second;
            batch.events.push_back({e, start, p.request.meta});
            versions_[stream] = before.next();
            p.versions.push_back(before.next());
            domain::apply(write_model_, e);
        }
        decided_view view{write_model_, events, [this](std::string_view s) { return speculative_version(std::string(s)); }};
        if (p.request.render) p.outcome = p.request.render(view);
        if (!events.empty()) {
            batch.idempotency_key = p.request.idempotency_key;
            batch.fingerprint = p.request.fingerprint;
            batch.outcome = p.outcome;
            p.batch = batches.size();
            batches.push_back(std::move(batch));
            if (!p.request.idempotency_key.empty()) keys_in_group.insert(p.request.idempotency_key);
        }
        decided.push_back(std::move(p));
    }

    const auto decided_at = clock::now();
    std::vector<eventstore::result<eventstore::append_result>> results;
    if (!batches.empty()) results = store_.append_group(batches);
    const auto appended_at = clock::now();

    bool diverged = false;
    std::vector<eventstore::recorded_event> committed;
    for (auto& p : decided) {
        if (p.batch == SIZE_MAX) continue;
        const auto& r = results[p.batch];
        if (!r) {
            diverged = true;
            log_.error("commit refused", {{"code", std::string(eventstore::to_string(r.error().code))},
                                          {"message", r.error().message},
                                          {"request_id", p.request.meta.request_id}});
            continue;
        }
        const auto& batch = batches[p.batch];
        for (std::size_t i = 0; i < batch.events.size(); ++i) {
            eventstore::recorded_event e;
            e.position = eventstore::log_position{r->first_position.value + i};
            e.payload = batch.events[i].payload;
            e.stream = domain::stream_of(e.payload);
            e.type = std::string(domain::type_name(e.payload));
            e.version = p.versions[i];
            e.recorded_at = r->recorded_at;
            e.meta = batch.events[i].meta;
            committed.push_back(std::move(e));
        }
    }
    if (!committed.empty() && !reads_.apply(committed)) {
        log_.error("read model rejected a commit; catching up from the log");
        (void)reads_.catch_up(store_);
    }

    const auto folded_at = clock::now();

    // Counted before anyone is answered, so a caller that got its answer sees its command counted.
    {
        std::lock_guard lock(mutex_);
        stats_.commands += group.size() - deferred.size();
        ++stats_.groups;
        if (diverged) ++stats_.storage_failures;
        for (auto it = deferred.rbegin(); it != deferred.rend(); ++it) queue_.push_front(std::move(*it));
    }

    for (auto& p : decided) {
        if (p.batch != SIZE_MAX && !results[p.batch]) {
            const auto& err = results[p.batch].error();
            if (err.code == eventstore::errc::idempotency_mismatch) p.request.done(outcome::idempotency_key_reused{});
            else if (err.code == eventstore::errc::storage_unavailable)
                p.request.done(outcome::unavailable{"The event store could not make the change durable; nothing was changed."});
            else p.request.done(outcome::failed{});
            continue;
        }
        p.request.done(outcome::accepted{std::move(p.outcome)});
    }

    // Every command of the group waited for the slowest phase; naming it is what an operator
    // needs to tell a slow disk (append) from a slow fold or an overloaded writer (decide).
    const auto finished = clock::now();
    if (finished - started >= slow_group_threshold) {
        auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
        log_.warn("slow_commit_group", {{"commands", group.size()},
                                        {"events", committed.size()},
                                        {"decide_ms", ms(decided_at - started)},
                                        {"append_ms", ms(appended_at - decided_at)},
                                        {"fold_ms", ms(folded_at - appended_at)},
                                        {"reply_ms", ms(finished - folded_at)}});
    }

    if (diverged) {
        // Effects of refused batches were applied speculatively; the log is the truth.
        log_.error("commit group failed; rebuilding the write model from the log");
        if (auto r = reload_write_model(); !r) log_.error("write model reload failed", {{"error", r.error().message}});
    }
}

}  // namespace roster::api
