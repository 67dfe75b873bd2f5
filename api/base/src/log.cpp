#include "roster/api/log.hpp"

#include <chrono>
#include <cstdio>

#include <boost/json/serialize.hpp>

namespace roster::api {

namespace {
std::string now_rfc3339() {
    using namespace std::chrono;
    auto now = time_point_cast<microseconds>(system_clock::now());
    auto days = floor<std::chrono::days>(now);
    year_month_day ymd{days};
    hh_mm_ss hms{now - days};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
    return buf;
}
}  // namespace

logger::logger(std::FILE* out, std::chrono::milliseconds flush_interval) : out_(out) {
    flusher_ = std::thread([this, flush_interval] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            wake_.wait_for(lock, flush_interval);
            write_locked();
        }
    });
}

logger::~logger() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    flusher_.join();
    std::lock_guard lock(mutex_);
    write_locked();
}

void logger::flush() {
    std::lock_guard lock(mutex_);
    write_locked();
}

void logger::write_locked() {
    if (pending_.empty()) return;
    std::fwrite(pending_.data(), 1, pending_.size(), out_);
    std::fflush(out_);
    pending_.clear();
}

void logger::log(std::string_view level, std::string_view msg, boost::json::object fields) {
    boost::json::object line;
    line["ts"] = now_rfc3339();
    line["level"] = level;
    line["msg"] = msg;
    for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
    std::string text = boost::json::serialize(line);
    text.push_back('\n');
    // Past this much batched text, the logging thread writes it itself rather than let it grow.
    constexpr std::size_t max_pending = 256 * 1024;
    std::lock_guard lock(mutex_);
    pending_ += text;
    if (level != "info" || pending_.size() >= max_pending) write_locked();
}

}  // namespace roster::api
