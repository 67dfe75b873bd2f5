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
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                  static_cast<long long>(hms.subseconds().count()));
    return buf;
}
}  // namespace

void logger::log(std::string_view level, std::string_view msg, boost::json::object fields) {
    boost::json::object line;
    line["ts"] = now_rfc3339();
    line["level"] = level;
    line["msg"] = msg;
    for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
    std::string text = boost::json::serialize(line);
    text.push_back('\n');
    std::lock_guard lock(mutex_);
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
}

}  // namespace roster::api
