// Test support: real nats-server processes with JetStream on loopback ports (one server, or a
// three-node cluster), and a reader of a JetStream stream by sequence through the C client.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nats/nats.h>

#include <fcntl.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace roster::test {

inline unsigned short free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

inline bool port_accepts(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// One nats-server -js on 127.0.0.1:<port> with its store in `dir`; restartable on the same port
// and store. The destructor kills it.
class nats_server {
public:
    nats_server(std::filesystem::path dir, std::vector<std::string> extra = {})
        : dir_(std::move(dir)), port_(free_loopback_port()), extra_(std::move(extra)) {
        start();
    }
    ~nats_server() { kill_hard(); }
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;

    unsigned short port() const { return port_; }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

    void start() {
        std::filesystem::create_directories(dir_);
        std::vector<std::string> args{"nats-server", "-js",       "-sd", (dir_ / "js").string(),
                                      "-a",          "127.0.0.1", "-p",  std::to_string(port_)};
        args.insert(args.end(), extra_.begin(), extra_.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        const auto log = (dir_ / "server.log").string();
        posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        const int rc = posix_spawnp(&pid_, "nats-server", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error("cannot start nats-server (ops/deps.sh installs it)");
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!port_accepts(port_)) {
            if (std::chrono::steady_clock::now() > until) throw std::runtime_error("nats-server did not listen");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    void kill_hard() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

private:
    std::filesystem::path dir_;
    unsigned short port_;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
};

// Three JetStream servers routed into one cluster.
class nats_cluster {
public:
    explicit nats_cluster(const std::filesystem::path& dir) {
        std::vector<unsigned short> cluster_ports{free_loopback_port(), free_loopback_port(), free_loopback_port()};
        std::string routes;
        for (auto p : cluster_ports)
            routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") + std::to_string(p);
        for (int i = 0; i < 3; ++i)
            nodes_.push_back(std::make_unique<nats_server>(
                dir / ("n" + std::to_string(i)),
                std::vector<std::string>{"--server_name", "n" + std::to_string(i), "--cluster_name", "roster-test",
                                         "--cluster", "nats://127.0.0.1:" + std::to_string(cluster_ports[i]),
                                         "--routes", routes}));
    }
    nats_server& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
    std::vector<std::string> urls() const {
        std::vector<std::string> out;
        for (const auto& n : nodes_) out.push_back(n->url());
        return out;
    }

private:
    std::vector<std::unique_ptr<nats_server>> nodes_;
};

// One message of a stream as stored.
struct stored_message {
    std::uint64_t sequence = 0;
    std::string subject;
    std::map<std::string, std::string> headers;
    std::string data;
};

// A JetStream client of the test: reads a stream's messages by sequence.
class stream_reader {
public:
    explicit stream_reader(const std::vector<std::string>& urls) {
        natsOptions* opts = nullptr;
        natsOptions_Create(&opts);
        std::vector<const char*> u;
        for (const auto& s : urls) u.push_back(s.c_str());
        natsOptions_SetServers(opts, u.data(), static_cast<int>(u.size()));
        natsOptions_SetTimeout(opts, 2'000);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (natsConnection_Connect(&nc_, opts) != NATS_OK) {
            if (std::chrono::steady_clock::now() > until) throw std::runtime_error("cannot connect to nats");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        natsOptions_Destroy(opts);
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 5'000;
        natsConnection_JetStream(&js_, nc_, &jo);
    }
    ~stream_reader() {
        jsCtx_Destroy(js_);
        natsConnection_Close(nc_);
        natsConnection_Destroy(nc_);
    }
    stream_reader(const stream_reader&) = delete;
    stream_reader& operator=(const stream_reader&) = delete;

    // nullopt: no such stream (or NATS did not answer).
    std::optional<std::uint64_t> last_sequence(const std::string& stream) {
        jsStreamInfo* si = nullptr;
        jsErrCode ec{};
        if (js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &ec) != NATS_OK) return std::nullopt;
        const auto last = si->State.LastSeq;
        jsStreamInfo_Destroy(si);
        return last;
    }
    std::optional<std::int64_t> replicas(const std::string& stream) {
        jsStreamInfo* si = nullptr;
        jsErrCode ec{};
        if (js_GetStreamInfo(&si, js_, stream.c_str(), nullptr, &ec) != NATS_OK) return std::nullopt;
        const auto n = si->Config->Replicas;
        jsStreamInfo_Destroy(si);
        return n;
    }
    stored_message get(const std::string& stream, std::uint64_t seq) {
        natsMsg* m = nullptr;
        jsErrCode ec{};
        if (js_GetMsg(&m, js_, stream.c_str(), seq, nullptr, &ec) != NATS_OK)
            throw std::runtime_error("no message " + std::to_string(seq));
        stored_message out;
        out.sequence = seq;
        out.subject = natsMsg_GetSubject(m);
        out.data.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
        const char** keys = nullptr;
        int count = 0;
        if (natsMsgHeader_Keys(m, &keys, &count) == NATS_OK) {
            for (int i = 0; i < count; ++i) {
                const char* v = nullptr;
                if (natsMsgHeader_Get(m, keys[i], &v) == NATS_OK && v != nullptr) out.headers[keys[i]] = v;
            }
            free(keys);
        }
        natsMsg_Destroy(m);
        return out;
    }
    // Publishes one message to a subject directly (to plant another log's message).
    bool publish(const std::string& subject, const std::string& data,
                 const std::map<std::string, std::string>& headers) {
        natsMsg* m = nullptr;
        natsMsg_Create(&m, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
        for (const auto& [k, v] : headers) natsMsgHeader_Set(m, k.c_str(), v.c_str());
        jsPubAck* pa = nullptr;
        jsErrCode ec{};
        const auto s = js_PublishMsg(&pa, js_, m, nullptr, &ec);
        jsPubAck_Destroy(pa);
        natsMsg_Destroy(m);
        return s == NATS_OK;
    }
    bool add_stream(const std::string& name, int replicas, const char* subject = "roster.events.>",
                    const std::function<void(jsStreamConfig&)>& configure = {}) {
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        const char* subjects[] = {subject};
        cfg.Name = name.c_str();
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = replicas;
        if (configure) configure(cfg);
        jsStreamInfo* si = nullptr;
        jsErrCode ec{};
        const auto s = js_AddStream(&si, js_, &cfg, nullptr, &ec);
        jsStreamInfo_Destroy(si);
        return s == NATS_OK;
    }

private:
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
};

}  // namespace roster::test
