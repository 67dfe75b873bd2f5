#include "roster/replay/progress.hpp"

#include <unistd.h>

#include <cmath>

namespace roster::replay {
namespace {

std::string human_rate(double per_second) {
    char buf[32];
    if (per_second >= 1e6)
        std::snprintf(buf, sizeof buf, "%.2fM/s", per_second / 1e6);
    else if (per_second >= 1e3)
        std::snprintf(buf, sizeof buf, "%.1fk/s", per_second / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.0f/s", per_second);
    return buf;
}

std::string human_duration(double seconds) {
    char buf[32];
    const auto s = static_cast<long long>(std::llround(seconds));
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
    else if (s >= 60)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%llds", s);
    return buf;
}

}  // namespace

progress_bar::progress_bar(std::string label, std::uint64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

progress_bar::progress_bar(std::string label, std::uint64_t total)
    : progress_bar(std::move(label), total, isatty(fileno(stderr)) == 1) {}

progress_bar::~progress_bar() { finish(); }

std::string progress_bar::frame(std::string_view label, std::uint64_t done, std::uint64_t total, double seconds) {
    constexpr int width = 30;
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    std::string out(label);
    out += ' ';
    if (total > 0) {
        const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
        const int filled = static_cast<int>(fraction * width);
        out += '[';
        out.append(static_cast<std::size_t>(filled), '=');
        if (filled < width) out += '>';
        out.append(static_cast<std::size_t>(std::max(0, width - filled - 1)), ' ');
        out += "] ";
        char pct[16];
        std::snprintf(pct, sizeof pct, "%3.0f%% ", fraction * 100);
        out += pct;
    }
    out += std::to_string(done);
    if (total > 0) out += "/" + std::to_string(total);
    out += "  " + human_rate(rate);
    if (total > 0 && rate > 0 && done < total)
        out += "  ETA " + human_duration(static_cast<double>(total - done) / rate);
    else if (total > 0 && done >= total)
        out += "  in " + human_duration(seconds);
    return out;
}

void progress_bar::update(std::uint64_t done) {
    done_ = done;
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    // Redrawing at most ten times a second keeps the terminal cheap at millions of events/s.
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const auto line = frame(label_, done_, total_, std::chrono::duration<double>(now - start_).count());
    std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    std::fflush(stderr);
}

void progress_bar::finish() {
    if (finished_) return;
    finished_ = true;
    if (!enabled_) return;
    const auto line =
        frame(label_, done_, total_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    std::fprintf(stderr, "\r%s\x1b[K\n", line.c_str());
    std::fflush(stderr);
}

}  // namespace roster::replay
