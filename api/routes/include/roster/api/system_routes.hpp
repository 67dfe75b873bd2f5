// Routes that need no store: health, readiness, the OpenAPI document and the retired
// deactivate endpoint; plus test-only routes behind rosterd's hidden --enable-test-routes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "roster/api/log.hpp"
#include "roster/api/router.hpp"

namespace roster::api {

// Readiness as main sees it (false until the store is open and projections caught up, and
// again while stopping), plus checks made on every /readyz (e.g. projection lag). Shared by
// main and the /readyz handler; set/get are thread-safe, checks are added before serving.
class readiness {
public:
    void set(bool ready) noexcept { ready_.store(ready, std::memory_order_release); }
    bool get() const noexcept { return ready_.load(std::memory_order_acquire); }
    // `check` returns why the server is not ready, or nullopt. Must be thread-safe and cheap.
    void add_check(std::function<std::optional<std::string>()> check) { checks_.push_back(std::move(check)); }
    // nullopt when ready; otherwise the first reason.
    std::optional<std::string> why_not() const {
        if (!get()) return std::string("The server is starting or stopping.");
        for (const auto& c : checks_)
            if (auto reason = c()) return reason;
        return std::nullopt;
    }

private:
    std::atomic<bool> ready_{false};
    std::vector<std::function<std::optional<std::string>()>> checks_;
};

// GET /healthz, GET /readyz, GET /v1/openapi.json, POST /v1/accounts/{a}/users/{u}/deactivate.
// The OpenAPI handler reads `routes` when called, so it also lists routes added afterwards;
// `routes` and `ready` must outlive the server.
void add_system_routes(router& routes, const readiness& ready);

}  // namespace roster::api
