// Private: the ordered, bounded handoff of the store's two-thread scans (verify, read_bulk_from).
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace roster::eventstore {

// N buffers of T passed from one producer to one consumer, in order. All of them exist from the
// start, so what the pair holds is bounded by N buffers whatever the scan's length; T bounds
// itself (in bytes) and has clear(). Shared by exactly one producer and one consumer thread.
template <class T, std::size_t N>
class handoff {
public:
    handoff() {
        for (auto& b : pool_) free_.push_back(&b);
    }
    // Producer: an empty buffer to fill, or null once the consumer stopped.
    T* take_free() {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !free_.empty() || stopped_; });
        if (stopped_) return nullptr;
        auto* b = free_.front();
        free_.pop_front();
        b->clear();
        return b;
    }
    void submit(T* b) {
        {
            std::lock_guard lk(mu_);
            full_.push_back(b);
        }
        cv_.notify_all();
    }
    // The producer submits nothing more.
    void finish() {
        {
            std::lock_guard lk(mu_);
            finished_ = true;
        }
        cv_.notify_all();
    }
    // Consumer: the next buffer in order, or null after the last.
    T* take_full() {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !full_.empty() || finished_; });
        if (full_.empty()) return nullptr;
        auto* b = full_.front();
        full_.pop_front();
        return b;
    }
    void give_back(T* b) {
        {
            std::lock_guard lk(mu_);
            free_.push_back(b);
        }
        cv_.notify_all();
    }
    // The consumer wants nothing more: the producer stops at its next buffer.
    void stop() {
        {
            std::lock_guard lk(mu_);
            stopped_ = true;
        }
        cv_.notify_all();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::array<T, N> pool_;
    std::deque<T*> free_, full_;
    bool stopped_ = false;
    bool finished_ = false;
};

// The second thread of such a scan, told to end (`tell`: the queue's stop or finish) and joined
// however the scope ends (an exception included), before the queue it uses goes away. A
// constructor, not aggregate init: clang 14 (the fuzz build) lacks C++20's parenthesised
// aggregate initialisation, which std::in_place construction needs.
class joined_on_exit {
public:
    joined_on_exit(std::thread& thread, std::function<void()> tell) : thread_(thread), tell_(std::move(tell)) {}
    joined_on_exit(const joined_on_exit&) = delete;
    joined_on_exit& operator=(const joined_on_exit&) = delete;
    ~joined_on_exit() {
        tell_();
        thread_.join();
    }

private:
    std::thread& thread_;
    std::function<void()> tell_;
};

}  // namespace roster::eventstore
