// A small thread pool that shares itself fairly between keys (principals): jobs are queued per
// key, the workers take one job from each waiting key in turn, and one key never runs on more
// than threads - 1 workers at once (with one thread: on it alone). So one caller looping on slow
// work (cold as-of folds, ~0.3–0.5 s each) leaves a worker free for everyone else instead of
// making them wait behind its backlog. Each key may have at most `max_queued_per_key` jobs
// waiting; more are refused so that the caller can be answered 429 instead of growing the queue.
//
// Owned by rosterd main; thread-safe. The destructor runs every job already queued, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace roster::api {

class fair_pool {
public:
    fair_pool(unsigned threads, std::size_t max_queued_per_key);
    ~fair_pool();
    fair_pool(const fair_pool&) = delete;
    fair_pool& operator=(const fair_pool&) = delete;

    // Queues `job` for `key`; false (and nothing queued) when that key's share is full.
    bool post(const std::string& key, std::function<void()> job);
    // Runs what is queued, then stops the workers. Idempotent.
    void join();

private:
    void work();
    // With mutex_ held: the first key in turn that may run one more job; turns_.end() if none.
    std::deque<std::string>::iterator next_turn();

    const std::size_t max_queued_per_key_;
    std::mutex mutex_;
    std::condition_variable wake_;
    const std::size_t max_running_per_key_;
    std::unordered_map<std::string, std::deque<std::function<void()>>> queues_;  // guarded by mutex_
    std::unordered_map<std::string, std::size_t> running_;                       // guarded by mutex_
    std::deque<std::string> turns_;  // keys with queued jobs, in the order they are served; guarded
    bool stopping_ = false;          // guarded by mutex_
    std::vector<std::thread> workers_;
};

}  // namespace roster::api
