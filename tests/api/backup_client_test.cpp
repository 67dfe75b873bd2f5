// `rosterctl backup --url` on the Beast client (roster/api/http_client.hpp): against a real
// rosterd over HTTP and over TLS (certificate and host name verified; --ca-file trusts a test
// certificate), and bounded by --timeout-ms against a listener that never answers.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "roster/api/http_client.hpp"
#include "rosterd_process.hpp"

namespace roster::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct ctl_result {
    int exit_code;
    std::string out, err;
    double seconds;
};

// A loopback listener that never accepts nor answers: the kernel completes the TCP handshake
// into the backlog, so a client connects and sends, then waits for an answer that never comes.
class silent_listener {
public:
    silent_listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 8) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("silent_listener: cannot listen on 127.0.0.1");
        port_ = ntohs(a.sin_port);
    }
    ~silent_listener() { ::close(fd_); }
    unsigned short port() const { return port_; }

private:
    int fd_ = -1;
    unsigned short port_ = 0;
};

class backup_client : public ::testing::Test {
protected:
    void SetUp() override {
        data_ = tmp_.path() / "data";
        backups_ = tmp_.path() / "backups";
        fs::create_directories(backups_);
    }

    // A self-signed certificate for `subject_alt_name` (e.g. "IP:127.0.0.1"), its own CA.
    fs::path make_cert(const std::string& name, const std::string& subject_alt_name) {
        const auto cert = tmp_.path() / (name + ".pem"), key = tmp_.path() / (name + ".key");
        const std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=roster-test -addext "
            "subjectAltName=" +
            subject_alt_name + " -keyout " + key.string() + " -out " + cert.string() + " >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
        return cert;
    }

    std::unique_ptr<rosterd_process> start(const fs::path& data, const std::optional<fs::path>& cert) {
        std::vector<std::string> args{"--threads", "1", "--backup-dir", backups_.string()};
        if (cert) {
            auto key = *cert;
            key.replace_extension(".key");
            args.insert(args.end(), {"--tls-cert", cert->string(), "--tls-key", key.string()});
        }
        return std::make_unique<rosterd_process>(data, args);
    }

    ctl_result backup(const std::string& url, const std::string& dest, const std::string& extra = "") {
        static std::atomic<int> n{0};
        const auto id = std::to_string(n++);
        const auto out = tmp_.path() / ("o" + id), err = tmp_.path() / ("e" + id);
        const std::string cmd = std::string(ROSTERCTL_PATH) + " backup --data-dir " + data_.string() + " --to " +
                                (backups_ / dest).string() + " --url " + url + " " + extra + " > " + out.string() +
                                " 2> " + err.string();
        const auto start = std::chrono::steady_clock::now();
        const int status = std::system(cmd.c_str());
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err), seconds};
    }

    temp_dir tmp_;
    fs::path data_, backups_;
};

TEST_F(backup_client, posts_over_plain_http) {
    auto server = start(data_, std::nullopt);
    auto r = backup("http://127.0.0.1:" + std::to_string(server->port()) + "/", "plain");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_GE(boost::json::parse(r.out).at("position").to_number<std::uint64_t>(), 1u) << r.out;
    EXPECT_TRUE(fs::exists(backups_ / "plain" / "backup.json"));
}

TEST_F(backup_client, posts_over_tls_verifying_the_certificate_and_the_host) {
    const auto cert = make_cert("loopback", "IP:127.0.0.1");
    auto server = start(data_, cert);
    const auto url = "https://127.0.0.1:" + std::to_string(server->port());

    // Trusted through --ca-file: the backup is taken.
    auto ok = backup(url, "tls", "--ca-file " + cert.string());
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_GE(boost::json::parse(ok.out).at("position").to_number<std::uint64_t>(), 1u) << ok.out;
    EXPECT_TRUE(fs::exists(backups_ / "tls" / "backup.json"));

    // The system's trust store does not know a self-signed certificate: refused, nothing sent.
    auto untrusted = backup(url, "untrusted");
    EXPECT_EQ(untrusted.exit_code, 1);
    EXPECT_NE(untrusted.err.find("certificate verify failed"), std::string::npos) << untrusted.err;
    EXPECT_FALSE(fs::exists(backups_ / "untrusted"));

    // Plain HTTP to the TLS port gets no HTTP answer.
    auto plain = backup("http://127.0.0.1:" + std::to_string(server->port()), "plain", "--timeout-ms 5000");
    EXPECT_EQ(plain.exit_code, 1) << plain.out;
    EXPECT_FALSE(fs::exists(backups_ / "plain"));
}

TEST_F(backup_client, refuses_a_certificate_for_another_host_even_when_trusted) {
    const auto cert = make_cert("elsewhere", "DNS:elsewhere.test");
    auto server = start(data_, cert);
    auto r = backup("https://127.0.0.1:" + std::to_string(server->port()), "wrong-host", "--ca-file " + cert.string());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("TLS handshake"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(backups_ / "wrong-host"));
}

TEST_F(backup_client, times_out_against_a_listener_that_never_answers) {
    {
        auto s = start(data_, std::nullopt);  // only to create data_/operator.token
    }
    silent_listener silent;
    const auto port = std::to_string(silent.port());
    auto http = backup("http://127.0.0.1:" + port, "never", "--timeout-ms 300");
    EXPECT_EQ(http.exit_code, 1);
    EXPECT_NE(http.err.find("no progress within 300 ms waiting for the answer"), std::string::npos) << http.err;
    EXPECT_LT(http.seconds, 5.0);
    auto https = backup("https://127.0.0.1:" + port, "never", "--timeout-ms 300");
    EXPECT_EQ(https.exit_code, 1);
    EXPECT_NE(https.err.find("no progress within 300 ms in the TLS handshake"), std::string::npos) << https.err;
    EXPECT_LT(https.seconds, 5.0);
}

TEST(http_client, refuses_urls_it_would_misread_without_any_traffic) {
    api::http_client_options o;
    o.timeout = std::chrono::milliseconds(200);
    for (const std::string url :
         {"ftp://127.0.0.1:1", "127.0.0.1:8080", "http://127.0.0.1:1/v1", "http://u@127.0.0.1:1",
          "http://127.0.0.1:1?x=1", "http://", "https://127.0.0.1:1#f"}) {
        auto r = api::http_request("POST", url, "/v1/admin/backup", {}, "{}", o);
        EXPECT_FALSE(r.response) << url;
        EXPECT_NE(r.error.find("--url"), std::string::npos) << url << ": " << r.error;
    }
    o.ca_file = "/nonexistent/ca.pem";
    auto r = api::http_request("POST", "https://127.0.0.1:1", "/", {}, "", o);
    EXPECT_FALSE(r.response);
    EXPECT_NE(r.error.find("--ca-file"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace roster::test
