// Structured logs: one JSON object per line. Callers pass only what is safe to log — route
// templates, never raw targets; never Authorization headers or bodies.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <boost/json/object.hpp>

namespace roster::api {

enum class log_level { debug, info, warn, error };

// "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view s);

// Which answered requests get a "request" line (the access log).
struct access_log_options {
    enum class mode { off, all, sampled };
    mode which = mode::all;
    unsigned every = 1;  // sampled: one request in `every`
    // Sampled or not, a 5xx, a response that could not be written and a request slower than
    // this are logged (unless `off`): they are the ones an operator looks for.
    std::chrono::milliseconds slow{1000};
};

// "off", "all" or "sampled:N" (N >= 1); nullopt for anything else.
std::optional<access_log_options> parse_access_log(std::string_view s);

struct logger_options {
    log_level level = log_level::info;  // lines below it are not written
    access_log_options access;
    // Access records waiting for the logging thread; past it they are dropped and counted.
    std::size_t access_queue_bytes = 4 * 1024 * 1024;
    std::chrono::milliseconds flush_interval{100};
};

// What the access log says about one request: fixed-size, so handing it over allocates nothing.
// Longer strings are cut (the route template and request id never are: both are bounded well
// below these sizes).
struct access_record {
    std::chrono::system_clock::time_point at;
    log_level level = log_level::info;  // from logger::access_level
    std::int64_t latency_us = 0;
    std::uint64_t bytes = 0;
    unsigned status = 0;
    char method[16] = {};
    char route[96] = {};  // empty: no route matched
    char request_id[130] = {};
    char client[56] = {};
    char error[120] = {};  // empty: none

    static void copy(char* to, std::size_t size, std::string_view from);
    template <std::size_t N>
    static void copy(char (&to)[N], std::string_view from) {
        copy(to, N, from);
    }
};

// Owned by main and shared by reference with the server and handlers. Thread-safe.
//
// Info lines are batched and written at most `flush_interval` later by a background thread, so
// that a request does not cost a write(2) on a contended lock; warn and error lines are written
// at once, with everything batched before them. A kill -9 can lose the last interval of info
// lines, never an acknowledged write (the event log is the audit trail).
//
// Access lines never cost the request's thread a lock, an allocation or any formatting: it
// copies a fixed access_record into a bounded lock-free queue, and the background thread
// formats the JSON. When the queue is full the record is dropped and counted (dropped()), so a
// slow log destination never slows the service.
class logger {
public:
    explicit logger(std::FILE* out = stderr, logger_options options = {});
    ~logger();
    logger(const logger&) = delete;
    logger& operator=(const logger&) = delete;

    bool enabled(log_level level) const { return level >= options_.level; }

    // Writes {"ts":..., "level":..., "msg":..., <fields>...} when `level` is enabled.
    void log(log_level level, std::string_view msg, boost::json::object fields = {});
    void debug(std::string_view msg, boost::json::object fields = {}) {
        if (enabled(log_level::debug)) log(log_level::debug, msg, std::move(fields));
    }
    void info(std::string_view msg, boost::json::object fields = {}) {
        if (enabled(log_level::info)) log(log_level::info, msg, std::move(fields));
    }
    void warn(std::string_view msg, boost::json::object fields = {}) { log(log_level::warn, msg, std::move(fields)); }
    void error(std::string_view msg, boost::json::object fields = {}) { log(log_level::error, msg, std::move(fields)); }

    // Whether a request with this outcome gets an access line: the sampling decision, made
    // before anything is copied. Its level: error for a 5xx, warn for a failed write or a slow
    // request, info otherwise.
    std::optional<log_level> access_level(unsigned status, std::chrono::microseconds latency, bool failed) const;
    // Queues an access line; never blocks.
    void access(const access_record& record);
    // Access records dropped because the queue was full.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

    // Writes out everything batched or queued so far.
    void flush();

private:
    struct access_queue;

    void write_locked();
    void drain_access();

    const logger_options options_;
    std::unique_ptr<access_queue> queue_;
    std::atomic<std::uint64_t> dropped_{0};
    std::mutex drain_mutex_;  // one drainer at a time (the thread, flush(), the destructor)
    std::mutex mutex_;
    std::condition_variable wake_;
    std::FILE* out_;
    std::string pending_;
    bool stopping_ = false;
    std::thread flusher_;
};

}  // namespace roster::api
