// Test support shared by the NATS tests (publisher, read replica): rosterd flags, metrics,
// waiting, and a command load on a leader.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "nats_server.hpp"
#include "rosterd_process.hpp"

namespace roster::test {

namespace json = boost::json;
using namespace std::chrono_literals;

inline const std::string origin = "nats-test/log";

inline std::vector<std::string> nats_args(const std::vector<std::string>& urls, std::vector<std::string> more = {}) {
    std::vector<std::string> out{"--log-origin", origin};
    for (const auto& u : urls) {
        out.push_back("--nats");
        out.push_back(u);
    }
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

// A metric's value from /metrics text (nullopt when absent).
inline std::optional<double> metric(unsigned short port, const std::string& name) {
    http_client http(port);
    const auto body = http.request("GET", "/metrics").body;
    const auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return std::nullopt;
    return std::stod(body.substr(at + name.size() + 2));
}

inline std::string tail(const std::string& log) {
    return log.substr(log.size() - std::min<std::size_t>(log.size(), 3000));
}

inline bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit = safety_limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

// Until published == head, while rosterd runs.
inline bool wait_published(unsigned short port) {
    return wait_until([&] {
        auto lag = metric(port, "roster_nats_lag_events");
        return lag && *lag == 0;
    });
}

// Opens accounts a<from>..a<to-1> (one event each); returns how many were answered 201.
inline std::size_t open_accounts(unsigned short port, const std::string& token, int from, int to) {
    http_client http(port);
    bearer_client op{http, token};
    std::size_t ok = 0;
    for (int i = from; i < to; ++i) {
        const auto id = "a" + std::to_string(i);
        if (op.post("/v1/accounts", json::object{{"id", id}, {"name", id}, {"kind", "customer"}}).status == 201) ++ok;
    }
    return ok;
}

// A client thread opening accounts until told to stop; a rosterd killed under it ends it.
struct load {
    std::atomic<bool> stop{false};
    std::atomic<int> next{0};
    std::atomic<std::size_t> ok{0};
    std::thread thread;
    load(unsigned short port, std::string token, int first) : next(first) {
        thread = std::thread([this, port, token] {
            try {
                http_client http(port);
                bearer_client op{http, token};
                while (!stop) {
                    const auto id = "l" + std::to_string(next++);
                    if (op.post("/v1/accounts", json::object{{"id", id}, {"name", id}, {"kind", "customer"}}).status ==
                        201)
                        ++ok;
                    // Some hundreds of commands a second: enough to overlap every outage, few
                    // enough for the final message-by-message comparison to stay quick.
                    std::this_thread::sleep_for(1ms);
                }
            } catch (const std::exception&) {
                // The server went away under the load.
            }
        });
    }
    ~load() { finish(); }
    void finish() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
};

// A plain JetStream subscriber of the whole stream (an ordered consumer from sequence 1): counts
// every Roster-Position it is delivered, so a test can tell that none came twice.
class stream_watcher {
public:
    stream_watcher(const std::vector<std::string>& urls, const std::string& stream = "ROSTER_EVENTS") {
        natsOptions* opts = nullptr;
        natsOptions_Create(&opts);
        std::vector<const char*> u;
        for (const auto& s : urls) u.push_back(s.c_str());
        natsOptions_SetServers(opts, u.data(), static_cast<int>(u.size()));
        natsOptions_SetMaxReconnect(opts, -1);
        natsOptions_SetReconnectWait(opts, 100);
        const auto until = std::chrono::steady_clock::now() + safety_limit;
        while (natsConnection_Connect(&nc_, opts) != NATS_OK) {
            if (std::chrono::steady_clock::now() > until) throw std::runtime_error("cannot connect to nats");
            std::this_thread::sleep_for(100ms);
        }
        natsOptions_Destroy(opts);
        natsConnection_JetStream(&js_, nc_, nullptr);
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream.c_str();
        so.Ordered = true;
        // The stream may not exist yet (the leader creates it): retry.
        while (js_Subscribe(&sub_, js_, "roster.events.>", &stream_watcher::on_message, this, nullptr, &so, nullptr) !=
               NATS_OK) {
            if (std::chrono::steady_clock::now() > until) throw std::runtime_error("cannot subscribe");
            std::this_thread::sleep_for(100ms);
        }
    }
    ~stream_watcher() {
        natsSubscription_Unsubscribe(sub_);
        natsSubscription_Destroy(sub_);
        jsCtx_Destroy(js_);
        natsConnection_Close(nc_);
        natsConnection_Destroy(nc_);
    }
    stream_watcher(const stream_watcher&) = delete;
    stream_watcher& operator=(const stream_watcher&) = delete;

    // Positions delivered more than once, and the distinct positions seen.
    std::uint64_t duplicates() const { return duplicates_.load(); }
    std::uint64_t distinct() const {
        std::lock_guard lock(mutex_);
        return seen_.size();
    }
    std::uint64_t highest() const {
        std::lock_guard lock(mutex_);
        return seen_.empty() ? 0 : *seen_.rbegin();
    }

private:
    static void on_message(natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
        auto* self = static_cast<stream_watcher*>(closure);
        const char* v = nullptr;
        if (natsMsgHeader_Get(m, "Roster-Position", &v) == NATS_OK && v != nullptr) {
            std::lock_guard lock(self->mutex_);
            if (!self->seen_.insert(std::stoull(v)).second) ++self->duplicates_;
        }
        natsMsg_Destroy(m);
    }
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    natsSubscription* sub_ = nullptr;
    mutable std::mutex mutex_;
    std::set<std::uint64_t> seen_;
    std::atomic<std::uint64_t> duplicates_{0};
};

}  // namespace roster::test
