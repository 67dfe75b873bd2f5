// Structured logs: one JSON object per line. Callers pass only what is safe to log — route
// templates, never raw targets; never Authorization headers or bodies.
#pragma once

#include <cstdio>
#include <mutex>
#include <string_view>

#include <boost/json/object.hpp>

namespace roster::api {

// Owned by main and shared by reference with the server and handlers. Thread-safe: each line is
// written whole under a mutex.
class logger {
public:
    explicit logger(std::FILE* out = stderr) : out_(out) {}

    // Writes {"ts":..., "level":..., "msg":..., <fields>...} and flushes.
    void log(std::string_view level, std::string_view msg, boost::json::object fields = {});
    void info(std::string_view msg, boost::json::object fields = {}) { log("info", msg, std::move(fields)); }
    void warn(std::string_view msg, boost::json::object fields = {}) { log("warn", msg, std::move(fields)); }
    void error(std::string_view msg, boost::json::object fields = {}) { log("error", msg, std::move(fields)); }

private:
    std::mutex mutex_;
    std::FILE* out_;
};

}  // namespace roster::api
