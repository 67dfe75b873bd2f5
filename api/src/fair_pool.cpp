#include "roster/api/fair_pool.hpp"

#include <algorithm>

namespace roster::api {

fair_pool::fair_pool(unsigned threads, std::size_t max_queued_per_key)
    : max_queued_per_key_(std::max<std::size_t>(1, max_queued_per_key)) {
    for (unsigned i = 0; i < std::max(1u, threads); ++i) workers_.emplace_back([this] { work(); });
}

fair_pool::~fair_pool() { join(); }

bool fair_pool::post(const std::string& key, std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return false;
        auto& q = queues_[key];
        if (q.size() >= max_queued_per_key_) return false;
        if (q.empty()) turns_.push_back(key);
        q.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

void fair_pool::join() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_)
        if (t.joinable()) t.join();
}

void fair_pool::work() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !turns_.empty(); });
            if (turns_.empty()) return;  // stopping, and nothing left to run
            auto key = std::move(turns_.front());
            turns_.pop_front();
            auto it = queues_.find(key);
            job = std::move(it->second.front());
            it->second.pop_front();
            // Back of the line: every other waiting key gets a turn before this one's next job.
            if (it->second.empty()) queues_.erase(it);
            else turns_.push_back(std::move(key));
        }
        try {
            job();
        } catch (...) {
            // A job answers its own failures; one that throws anyway must not take a worker with it.
        }
    }
}

}  // namespace roster::api
