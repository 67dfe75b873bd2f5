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

jsStreamInfo* nats_ensure_stream(jsCtx* js, const std::string& name, const char* subject, int replicas, logger& log,
                                 const std::function<void(jsStreamConfig&)>& configure) {
    jsStreamInfo* si = nullptr;
    jsErrCode ec{};
    auto s = js_GetStreamInfo(&si, js, name.c_str(), nullptr, &ec);
    if (s == NATS_NOT_FOUND || ec == JSStreamNotFoundErr) {
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        const char* subjects[] = {subject};
        cfg.Name = name.c_str();
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = replicas;
        if (configure) configure(cfg);
        s = js_AddStream(&si, js, &cfg, nullptr, &ec);
        if (s == NATS_OK) log.info("nats_stream_created", {{"stream", name}, {"replicas", replicas}});
    }
    if (s != NATS_OK) {
        log.warn("nats_stream_unavailable",
                 {{"stream", name}, {"error", nats_status_text(s)}, {"code", static_cast<int>(ec)}});
        return nullptr;
    }
    return si;
}

}  // namespace roster::api
