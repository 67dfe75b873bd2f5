#include "roster/api/nats_client.hpp"

namespace roster::api {

std::string nats_status_text(natsStatus s) {
    std::string out = natsStatus_GetText(s);
    natsStatus last = NATS_OK;
    if (const char* detail = nats_GetLastError(&last); detail != nullptr && *detail != '\0')
        out += std::string(": ") + detail;
    return out;
}

natsOptions* nats_reconnecting_options(const std::vector<std::string>& servers) {
    natsOptions* opts = nullptr;
    if (natsOptions_Create(&opts) != NATS_OK) return nullptr;
    std::vector<const char*> urls;
    for (const auto& s : servers) urls.push_back(s.c_str());
    natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
    natsOptions_SetMaxReconnect(opts, -1);
    natsOptions_SetReconnectWait(opts, 250);
    natsOptions_SetTimeout(opts, 2'000);
    return opts;
}

}  // namespace roster::api
