#include "roster/api/command_processor.hpp"

#include <algorithm>
#include <future>

#include "roster/domain/decide.hpp"
#include "roster/domain/overloaded.hpp"
#include "write_rules.hpp"

namespace roster::api {
std::string describe(const command_result& result) {
    return std::visit(
        domain::overloaded{
            [](const outcome::accepted& a) { return std::string(a.replayed ? "replayed" : "accepted"); },
            [](const outcome::refused& r) { return "refused: " + r.error.code + " (" + r.error.detail + ")"; },
            [](const outcome::version_mismatch& m) {
                return "version mismatch on " + m.stream + ": expected " + std::to_string(m.expected) + ", now " +
                       std::to_string(m.actual);
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
    std::string outcome;                           // what `render` made of it, sent once durable
    std::vector<domain::stream_version> versions;  // stream version of each event, in batch order
    std::size_t batch = SIZE_MAX;                  // index into the group's batches; SIZE_MAX = nothing to append
};

command_processor::command_processor(eventstore::store& store, projections::read_model& reads, logger& log,
                                     clock_fn now)
    : store_(store), reads_(reads), log_(log), now_(std::move(now)), rules_(std::make_unique<write_rules>(store)) {}

command_processor::~command_processor() { stop(); }

eventstore::result<void> command_processor::start() {
    // The read model's domain state is the same fold (plus token times the rules never read), so
    // the write model starts as a copy of it and folds only what the read model has not: at
    // start-up that is nothing, however long the log (a restart from a projection checkpoint).
    eventstore::log_position folded;
    reads_.read([&](const projections::read_view& v) {
        write_model_ = v.state;
        folded = v.position;
    });
    auto r = store_.read_from(folded.next(), SIZE_MAX, [this](const eventstore::recorded_event& e) {
        domain::apply(write_model_, e.payload, e.position);
        return true;
    });
    if (!r) return r;
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

std::optional<std::string> command_processor::why_not_healthy() const {
    std::lock_guard lock(mutex_);
    return lost_reason_;
}

processor_stats command_processor::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

eventstore::result<void> command_processor::reload_write_model() {
    write_model_ = domain::state{};
    return store_.read_from(eventstore::log_position{1}, SIZE_MAX, [this](const eventstore::recorded_event& e) {
        domain::apply(write_model_, e.payload, e.position);
        return true;
    });
}

bool command_processor::rebuild() {
    auto r = reload_write_model();
    if (r) {
        if (lost_) {
            lost_ = false;
            {
                std::lock_guard lock(mutex_);
                lost_reason_.reset();
            }
            log_.info("write model rebuilt from the log; accepting commands again");
        }
        return true;
    }
    // What was read is a prefix of the log at best: deciding against it could accept what the
    // full log forbids (a taken email, a removed member), so nothing is decided until it is whole.
    if (!lost_) {
        lost_ = true;
        rebuild_backoff_ = rebuild_backoff_initial;
        {
            std::lock_guard lock(mutex_);
            lost_reason_ = "The write model could not be rebuilt from the event log (" + r.error().message +
                           "); commands are refused until it is.";
        }
        log_.error("write model lost: it cannot be rebuilt from the log; refusing commands until it is",
                   {{"error", r.error().message}, {"retry_ms", rebuild_backoff_.count()}});
    } else {
        rebuild_backoff_ = std::min(rebuild_backoff_ * 2, rebuild_backoff_max);
        log_.warn("write model rebuild failed again",
                  {{"error", r.error().message}, {"retry_ms", rebuild_backoff_.count()}});
    }
    next_rebuild_ = std::chrono::steady_clock::now() + rebuild_backoff_;
    return false;
}

void command_processor::writer_loop() {
    std::vector<command_request> group;
    while (true) {
        std::deque<std::function<void()>> tasks;
        {
            std::unique_lock lock(mutex_);
            auto has_work = [this] { return stopping_ || !queue_.empty() || !tasks_.empty(); };
            // While lost, wake for the next rebuild attempt too.
            if (lost_)
                wake_.wait_until(lock, next_rebuild_, has_work);
            else
                wake_.wait(lock, has_work);
            tasks.swap(tasks_);
            while (!queue_.empty() && group.size() < max_group_commands) {
                group.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            if (group.empty() && tasks.empty() && stopping_) return;
        }
        if (lost_ && std::chrono::steady_clock::now() >= next_rebuild_) (void)rebuild();
        for (auto& t : tasks) t();
        if (group.empty()) continue;
        if (!lost_) {
            process_group(group);
        } else {
            {
                std::lock_guard lock(mutex_);
                stats_.commands += group.size();
            }
            for (auto& request : group)
                request.done(
                    outcome::unavailable{"The write model is being rebuilt from the event log; nothing was changed."});
        }
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
    decided.reserve(group.size());

    auto append_as_is = [&](command_request request, const domain::event& e) {
        pending p{std::move(request), {}, {}, batches.size()};
        p.versions.push_back(rules_->number_next(domain::stream_of(e)));
        // Changes nothing the rules read, but takes its position: the write model's positions
        // (member versions) are the store's only if it folds every event the store appends.
        domain::apply(write_model_, e);
        eventstore::append_batch batch;
        batch.events.push_back({e, p.versions.back(), p.request.meta});
        batches.push_back(std::move(batch));
        decided.push_back(std::move(p));
    };

    for (auto& request : group) {
        if (request.record) {
            const auto e = *request.record;
            append_as_is(std::move(request), e);
            continue;
        }
        auto key = rules_->check_key(request.idempotency_key, request.fingerprint);
        if (std::holds_alternative<write_rules::after_group>(key)) {
            deferred.push_back(std::move(request));
            continue;
        }
        if (auto* answer = std::get_if<command_result>(&key)) {
            request.done(std::move(*answer));
            continue;
        }
        if (request.if_match) {
            if (auto mismatch = rules_->check_if_match(write_model_, *request.if_match)) {
                request.done(std::move(*mismatch));
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
        for (const auto& e : events) {
            // The answer and the read model use this numbering before the store assigns its
            // own; the store asserts they agree (eventstore::new_event::version).
            p.versions.push_back(rules_->number_next(domain::stream_of(e)));
            batch.events.push_back({e, p.versions.back(), p.request.meta});
            domain::apply(write_model_, e);
            // After the fold, so a user_created labels its own user; names as they are now.
            batch.events.back().meta.labels = domain::labels_of(write_model_, p.request.actor, e);
        }
        decided_view view{write_model_, events, [this](std::string_view s) { return rules_->version(std::string(s)); }};
        if (p.request.render) p.outcome = p.request.render(view);
        if (!events.empty()) {
            batch.idempotency_key = p.request.idempotency_key;
            batch.fingerprint = p.request.fingerprint;
            batch.outcome = p.outcome;
            p.batch = batches.size();
            batches.push_back(std::move(batch));
            if (!p.request.idempotency_key.empty()) rules_->claim_key(p.request.idempotency_key);
        }
        decided.push_back(std::move(p));
    }

    const auto decided_at = clock::now();
    std::vector<eventstore::result<eventstore::append_result>> results;
    if (!batches.empty()) results = store_.append_group(batches);
    const auto appended_at = clock::now();
    rules_->end_group();

    bool diverged = false;
    std::vector<eventstore::recorded_event> committed;
    for (auto& p : decided) {
        if (p.batch == SIZE_MAX) continue;
        const auto& r = results[p.batch];
        if (!r) {
            diverged = true;
            // storage_unavailable is the disk; anything else is a defect of the writer or the store.
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

    if (diverged) {
        // Effects of refused batches were applied speculatively; the log is the truth. Rebuilt
        // before anyone is answered, so a caller told `unavailable` finds the writer already
        // serving again or already failed closed (/readyz), never in between.
        log_.error("commit group failed; rebuilding the write model from the log");
        (void)rebuild();
    }

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
            if (err.code == eventstore::errc::storage_unavailable)
                p.request.done(
                    outcome::unavailable{"The event store could not make the change durable; nothing was changed."});
            else
                p.request.done(outcome::failed{});
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
}

}  // namespace roster::api
