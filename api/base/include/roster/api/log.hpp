// Structured logs: one JSON object per line. Callers pass only what is safe to log — route
// templates, never raw targets; never Authorization headers or bodies.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <chrono>

#include <boost/json/object.hpp>

namespace roster::api {

// Owned by main and shared by reference with the server and handlers. Thread-safe: each line is
// written whole under a mutex.
//
// Info lines (one per request) are batched and written at most `flush_interval` later by a
// background thread, so serving a request does not cost a write(2) on a contended lock; warn and
// error lines are written at once, with everything batched before them. A kill -9 can lose the
// last interval of info lines, never an acknowledged write (the event log is the audit trail).
class logger {
public:
    explicit logger(std::FILE* out = stderr, std::chrono::milliseconds flush_interval = std::chrono::milliseconds(100));
    ~logger();
    logger(const logger&) = delete;
    logger& operator=(const logger&) = delete;

    // Writes {"ts":..., "level":..., "msg":..., <fields>...}.
    void log(std::string_view level, std::string_view msg, boost::json::object fields = {});
    void info(std::string_view msg, boost::json::object fields = {}) { log("info", msg, std::move(fields)); }
    void warn(std::string_view msg, boost::json::object fields = {}) { log("warn", msg, std::move(fields)); }
    void error(std::string_view msg, boost::json::object fields = {}) { log("error", msg, std::move(fields)); }

    // Writes out everything batched so far.
    void flush();

private:
    void write_locked();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::FILE* out_;
    std::string pending_;
    bool stopping_ = false;
    std::thread flusher_;
};

}  // namespace roster::api
