// The stop plumbing shared by the threads that follow the log or NATS until rosterd stops (the
// NATS publisher, the refusal forwarder and intake, a replica's follower): one mutex that also
// guards the owner's shared state, one condition variable that wakes the thread, a stop flag.
// An owner's impl derives from it and keeps its own fields under mutex_.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace roster::api {

// Public members: the impls derive from it and are private types of their owners.
struct stoppable_worker {
    stoppable_worker() = default;
    ~stoppable_worker() = default;
    stoppable_worker(const stoppable_worker&) = delete;
    stoppable_worker& operator=(const stoppable_worker&) = delete;

    bool stopping() const {
        std::lock_guard lock(mutex_);
        return stopping_;
    }
    // Sleeps up to `d`, less when stopping.
    void pause(std::chrono::milliseconds d) {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, d, [&] { return stopping_; });
    }

    template <class Body>
    void start_thread(Body&& body) {
        thread_ = std::thread(std::forward<Body>(body));
    }
    // Asks the thread to stop, wakes it and joins it. Idempotent.
    void stop_and_join() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;  // guarded by mutex_
    std::thread thread_;
};

}  // namespace roster::api
