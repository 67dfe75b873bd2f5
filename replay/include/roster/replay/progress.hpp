// A one-line progress bar with rate and ETA for long rosterctl operations. Drawn on stderr only
// when stderr is a terminal, so pipes and logs stay clean. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace roster::replay {

class progress_bar {
public:
    // `total` = the expected number of units (events); 0 = unknown (no percentage or ETA).
    progress_bar(std::string label, std::uint64_t total, bool enabled);
    // Shows progress from `stderr`'s kind: enabled iff isatty(fileno(stderr)).
    progress_bar(std::string label, std::uint64_t total);
    ~progress_bar();

    void update(std::uint64_t done);
    // Draws the final state and ends the line.
    void finish();

    // The text of one frame (without the leading '\r'); exposed for tests.
    static std::string frame(std::string_view label, std::uint64_t done, std::uint64_t total, double seconds);

private:
    std::string label_;
    std::uint64_t total_;
    bool enabled_;
    bool finished_ = false;
    std::uint64_t done_ = 0;
    std::chrono::steady_clock::time_point start_, last_draw_{};
};

}  // namespace roster::replay
