#include "roster/api/log.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include <boost/json/serialize.hpp>

namespace roster::api {

namespace {
void append_rfc3339(std::string& out, std::chrono::system_clock::time_point at) {
    using namespace std::chrono;
    auto now = time_point_cast<microseconds>(at);
    auto days = floor<std::chrono::days>(now);
    year_month_day ymd{days};
    hh_mm_ss hms{now - days};
    const int year = static_cast<int>(ymd.year());
    if (year >= 0 && year <= 9999) {
        // The access thread writes one of these a request: digits by hand, not snprintf's parser.
        char buf[27];
        auto put = [&buf](std::size_t at, std::size_t width, long long v) {
            for (std::size_t i = at + width; i-- > at; v /= 10) buf[i] = static_cast<char>('0' + v % 10);
        };
        put(0, 4, year);
        buf[4] = '-';
        put(5, 2, static_cast<unsigned>(ymd.month()));
        buf[7] = '-';
        put(8, 2, static_cast<unsigned>(ymd.day()));
        buf[10] = 'T';
        put(11, 2, hms.hours().count());
        buf[13] = ':';
        put(14, 2, hms.minutes().count());
        buf[16] = ':';
        put(17, 2, hms.seconds().count());
        buf[19] = '.';
        put(20, 6, hms.subseconds().count());
        buf[26] = 'Z';
        out.append(buf, sizeof buf);
        return;
    }
    char buf[40];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<int>(ymd.year()),
                          static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                          static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                          static_cast<int>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
    out.append(buf, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

std::string_view level_name(log_level level) {
    switch (level) {
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warn: return "warn";
        case log_level::error: return "error";
    }
    return "info";
}

// A JSON string (RFC 8259 section 7): quotes, backslashes and control characters escaped.
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t plain = 0;  // start of the run of characters copied as they are
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const auto u = static_cast<unsigned char>(c);
        if (c != '"' && c != '\\' && u >= 0x20) continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else {
            out.append("\\u00");
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out.push_back('"');
}

template <class Int>
void append_int(std::string& out, Int v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

// The same keys, in the same order, as the request lines logged before access records existed.
void append_access_line(std::string& out, const access_record& r) {
    auto field = [&](std::string_view name, const char* text) {
        out.append(",\"").append(name).append("\":");
        if (*text == '\0')
            out.append("null");
        else
            append_json_string(out, text);
    };
    out.append("{\"ts\":\"");
    append_rfc3339(out, r.at);
    out.append("\",\"level\":\"").append(level_name(r.level)).append("\",\"msg\":\"request\"");
    field("request_id", r.request_id);
    field("method", r.method);
    field("route", r.route);
    out.append(",\"status\":");
    append_int(out, r.status);
    out.append(",\"latency_us\":");
    append_int(out, r.latency_us);
    out.append(",\"bytes\":");
    append_int(out, r.bytes);
    field("client", r.client);
    if (r.error[0] != '\0') field("error", r.error);
    out.append("}\n");
}

// Which request of this thread is next, for sampling: no shared counter for the I/O threads to
// contend on.
thread_local std::uint64_t requests_seen = 0;
}  // namespace

std::optional<log_level> parse_log_level(std::string_view s) {
    for (auto level : {log_level::debug, log_level::info, log_level::warn, log_level::error})
        if (s == level_name(level)) return level;
    return std::nullopt;
}

std::optional<access_log_options> parse_access_log(std::string_view s) {
    access_log_options o;
    if (s == "off") {
        o.which = access_log_options::mode::off;
        return o;
    }
    if (s == "all") {
        o.which = access_log_options::mode::all;
        return o;
    }
    constexpr std::string_view prefix = "sampled:";
    if (!s.starts_with(prefix)) return std::nullopt;
    auto n = s.substr(prefix.size());
    unsigned every = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), every);
    if (n.empty() || ec != std::errc{} || end != n.data() + n.size() || every == 0) return std::nullopt;
    o.which = access_log_options::mode::sampled;
    o.every = every;
    return o;
}

void access_record::copy(char* to, std::size_t size, std::string_view from) {
    const auto n = std::min(from.size(), size - 1);
    // An empty string_view may hold a null data(), which memcpy must never be given (UBSan).
    if (n != 0) std::memcpy(to, from.data(), n);
    to[n] = '\0';
}

// Bounded multi-producer, single-consumer queue of access records (D. Vyukov's bounded queue):
// a producer claims a cell with one compare-and-swap and publishes it with one store; a full
// queue is a failed push, never a wait.
struct logger::access_queue {
    struct cell {
        std::atomic<std::size_t> sequence;
        access_record record;
    };

    explicit access_queue(std::size_t bytes)
        : capacity(std::bit_floor(std::max<std::size_t>(2, bytes / sizeof(cell)))), cells(capacity) {
        for (std::size_t i = 0; i < capacity; ++i) cells[i].sequence.store(i, std::memory_order_relaxed);
    }

    // False when full. `filled` is how many records were waiting before this one.
    bool push(const access_record& r, std::size_t& filled) {
        auto pos = tail.load(std::memory_order_relaxed);
        for (;;) {
            auto& c = cells[pos & (capacity - 1)];
            const auto seq = c.sequence.load(std::memory_order_acquire);
            const auto diff = static_cast<std::ptrdiff_t>(seq) - static_cast<std::ptrdiff_t>(pos);
            if (diff == 0) {
                if (tail.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                    c.record = r;
                    c.sequence.store(pos + 1, std::memory_order_release);
                    filled = pos - head.load(std::memory_order_relaxed);
                    return true;
                }
            } else if (diff < 0) {
                return false;
            } else {
                pos = tail.load(std::memory_order_relaxed);
            }
        }
    }

    // Single consumer (under logger::drain_mutex_).
    bool pop(access_record& out) {
        const auto pos = head.load(std::memory_order_relaxed);
        auto& c = cells[pos & (capacity - 1)];
        if (c.sequence.load(std::memory_order_acquire) != pos + 1) return false;
        out = c.record;
        c.sequence.store(pos + capacity, std::memory_order_release);
        head.store(pos + 1, std::memory_order_relaxed);
        return true;
    }

    const std::size_t capacity;  // a power of two
    std::vector<cell> cells;
    alignas(64) std::atomic<std::size_t> tail{0};
    alignas(64) std::atomic<std::size_t> head{0};
};

logger::logger(std::FILE* out, logger_options options)
    : options_(options), queue_(std::make_unique<access_queue>(options.access_queue_bytes)), out_(out) {
    flusher_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            wake_.wait_for(lock, options_.flush_interval);
            lock.unlock();
            drain_access();
            lock.lock();
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
    flush();
}

void logger::flush() {
    drain_access();
    std::lock_guard lock(mutex_);
    write_locked();
}

void logger::write_locked() {
    if (pending_.empty()) return;
    std::fwrite(pending_.data(), 1, pending_.size(), out_);
    std::fflush(out_);
    pending_.clear();
}

void logger::drain_access() {
    std::lock_guard drain(drain_mutex_);
    // Formatted outside mutex_, so other lines are not held up; appended in slices so that a
    // full queue does not become one huge string.
    std::string text;
    access_record r;
    bool more = true;
    while (more) {
        text.clear();
        while (text.size() < 256 * 1024 && (more = queue_->pop(r))) {
            append_access_line(text, r);
        }
        if (text.empty()) break;
        std::lock_guard lock(mutex_);
        pending_ += text;
        write_locked();
    }
}

std::optional<log_level> logger::access_level(unsigned status, std::chrono::microseconds latency, bool failed) const {
    const auto& a = options_.access;
    if (a.which == access_log_options::mode::off) return std::nullopt;
    const auto level = status >= 500                                            ? log_level::error
                       : failed || latency >= std::chrono::microseconds(a.slow) ? log_level::warn
                                                                                : log_level::info;
    if (!enabled(level)) return std::nullopt;
    if (level == log_level::info && a.which == access_log_options::mode::sampled && requests_seen++ % a.every != 0)
        return std::nullopt;
    return level;
}

void logger::access(const access_record& record) {
    std::size_t filled = 0;
    if (!queue_->push(record, filled)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // Past a quarter and a half full (and for the lines an operator waits for) the thread drains
    // now rather than at its next interval; only the pushes that cross a mark wake it.
    if (filled == queue_->capacity / 4 || filled == queue_->capacity / 2 || record.level != log_level::info)
        wake_.notify_one();
}

void logger::log(log_level level, std::string_view msg, boost::json::object fields) {
    if (!enabled(level)) return;
    boost::json::object line;
    std::string ts;
    append_rfc3339(ts, std::chrono::system_clock::now());
    line["ts"] = ts;
    line["level"] = level_name(level);
    line["msg"] = msg;
    for (auto& kv : fields) line[kv.key()] = std::move(kv.value());
    std::string text = boost::json::serialize(line);
    text.push_back('\n');
    // Past this much batched text, the logging thread writes it itself rather than let it grow.
    constexpr std::size_t max_pending = 256 * 1024;
    std::lock_guard lock(mutex_);
    pending_ += text;
    if (level != log_level::info && level != log_level::debug)
        write_locked();
    else if (pending_.size() >= max_pending)
        write_locked();
}

}  // namespace roster::api
