#include "roster/api/fair_pool.hpp"

#include <algorithm>

namespace roster::api {

fair_pool::fair_pool(unsigned threads, std::size_t max_queued_per_key)
    : max_queued_per_key_(std::max<std::size_t>(1, max_queued_per_key)),
      max_running_per_key_(std::max(1u, threads) > 1 ? std::max(1u, threads) - 1 : 1) {
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

std::deque<std::string>::iterator fair_pool::next_turn() {
    return std::find_if(turns_.begin(), turns_.end(), [this](const std::string& key) {
        auto it = running_.find(key);
        return it == running_.end() || it->second < max_running_per_key_;
    });
}

void fair_pool::work() {
    for (;;) {
        std::function<void()> job;
        std::string key;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return (stopping_ && turns_.empty()) || next_turn() != turns_.end(); });
            auto turn = next_turn();
            if (turn == turns_.end()) return;  // stopping, and nothing left to run
            key = std::move(*turn);
            turns_.erase(turn);
            auto it = queues_.find(key);
            job = std::move(it->second.front());
            it->second.pop_front();
            ++running_[key];
            // Back of the line: every other waiting key gets a turn before this one's next job.
            if (it->second.empty())
                queues_.erase(it);
            else
                turns_.push_back(key);
        }
        try {
            job();
        } catch (...) {
            // A job answers its own failures; one that throws anyway must not take a worker with it.
        }
        {
            std::lock_guard lock(mutex_);
            if (auto it = running_.find(key); it != running_.end() && --it->second == 0) running_.erase(it);
        }
        // This key may have been held back by its running job; another worker can take it now.
        wake_.notify_all();
    }
}

}  // namespace roster::api
