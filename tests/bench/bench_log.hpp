// The 1,000,000-event log that bench_replay, bench_audit and bench_evidence measure against, and
// the raw RocksDB scan of it that their ratios divide by. One generator, so that "the same log"
// in their tables is the same log.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include "roster/eventstore/store.hpp"

namespace roster::bench {

struct log_shape {
    int accounts = 1000;
    int users = 50'000;
    std::uint64_t events = 1'000'000;
};

// ROSTER_BENCH_LOG_EVENTS shrinks (or grows) the log: ops/bench.sh --quick uses it, since a 1M
// log alone takes most of a quick run's budget to generate.
inline std::uint64_t log_events(std::uint64_t fallback = 1'000'000) {
    const char* v = std::getenv("ROSTER_BENCH_LOG_EVENTS");
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// `accounts` accounts and `users` users (each created, added as an employee, granted two roles),
// then role changes, locks, contacts and watchlists up to `events`: the shape of a busy tenant
// base. Written in big unsynced append_group batches: the log is the same as a synced one.
inline void generate_log(eventstore::store& store, const log_shape& shape) {
    using namespace domain;
    std::mt19937_64 rng(42);
    std::vector<eventstore::new_event> pending;
    auto flush = [&] {
        std::vector<eventstore::append_batch> group;
        for (std::size_t i = 0; i < pending.size(); i += 1000) {
            eventstore::append_batch b;
            for (std::size_t j = i; j < std::min(pending.size(), i + 1000); ++j)
                b.events.push_back(std::move(pending[j]));
            group.push_back(std::move(b));
        }
        pending.clear();
        for (auto& r : store.append_group(std::move(group)))
            if (!r) throw std::runtime_error("generation failed: " + r.error().message);
    };
    std::uint64_t n = 0;
    auto add = [&](event e, const std::string& actor) {
        eventstore::new_event ne{std::move(e), std::nullopt, {}};
        ne.meta.actor = {actor, "tok_3f2a9c1b", "10.1.2.3:51234"};
        ne.meta.request_id = "req-" + std::to_string(n);
        ne.meta.correlation_id = ne.meta.request_id;
        pending.push_back(std::move(ne));
        if (++n % 20'000 == 0) flush();
    };
    auto acc = [](int i) { return account_id{"acc-" + std::to_string(i)}; };
    auto usr = [](int i) { return user_id{"usr-" + std::to_string(i)}; };
    for (int a = 0; a < shape.accounts; ++a)
        add(account_opened{acc(a), "Account " + std::to_string(a), account_kind::customer}, "operator");
    for (int u = 0; u < shape.users; ++u) {
        const auto a = acc(u % shape.accounts);
        add(user_created{usr(u), *email::parse("user" + std::to_string(u) + "@example.com"),
                         "User Number " + std::to_string(u), a},
            "operator");
        add(member_added{a, usr(u), membership_type::employee}, "operator");
        add(roles_granted{a, usr(u), role_set::of({role::support_viewer, role::learning_learner})}, "operator");
    }
    while (n < shape.events) {
        const int u = static_cast<int>(rng() % static_cast<std::uint64_t>(shape.users));
        const auto a = acc(u % shape.accounts);
        // The account's first employee acts as its admin.
        const std::string actor = "user:usr-" + std::to_string(u % shape.accounts);
        switch (rng() % 10) {
            case 0: add(user_locked{usr(u)}, actor); break;
            case 1: add(user_unlocked{usr(u)}, actor); break;
            case 2: add(contacts_saved{a, {{contact_role::primary_support, usr(u)}}}, actor); break;
            case 3: add(watchlist_changed{a, {{usr(u), {topic::outage}}}}, actor); break;
            case 4:
            case 5:
            case 6: add(roles_granted{a, usr(u), role_set::of({role::impact_member})}, actor); break;
            default: add(roles_revoked{a, usr(u), role_set::of({role::impact_member})}, actor); break;
        }
    }
    flush();
}

// The baseline: a second, read-only handle on the store's files iterating the log column family
// and touching every value, nothing decoded. Returns seconds; throws unless it saw `expected`.
inline double raw_log_scan_seconds(const std::filesystem::path& dir, std::uint64_t expected) {
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, {}}, {"log", {}}, {"streams", {}}, {"idempotency", {}}, {"meta", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::OpenForReadOnly(o, dir.string(), cfs, &handles, &raw);
    if (!s.ok()) throw std::runtime_error(s.ToString());
    std::unique_ptr<rocksdb::DB> db(raw);
    const auto t = std::chrono::steady_clock::now();
    std::uint64_t count = 0, sum = 0;
    {
        std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[1]));
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
            ++count;
            sum += it->value().size() + static_cast<unsigned char>(it->value()[0]);
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    benchmark::DoNotOptimize(sum);
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    if (count != expected) throw std::runtime_error("raw scan count");
    return secs;
}

}  // namespace roster::bench
