#include "roster/api/operator_token.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "roster/api/secrets.hpp"

namespace roster::api {

namespace {
boost::system::result<operator_token_file, std::string> failure(std::string message) {
    return {boost::system::in_place_error, std::move(message)};
}
}  // namespace

std::string generate_operator_token() { return "rst_" + random_hex(32); }

boost::system::result<operator_token_file, std::string> ensure_operator_token(const std::filesystem::path& data_dir) {
    operator_token_file out;
    out.path = data_dir / "operator.token";
    // O_EXCL: two processes starting on one data dir cannot both write (and one overwrite) it.
    int fd = ::open(out.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return out;
        return failure("cannot create " + out.path.string() + ": " + std::strerror(errno));
    }
    // The umask cannot widen 0600, but a umask could narrow it; force exactly 0600.
    ::fchmod(fd, 0600);
    std::string content = generate_operator_token() + "\n";
    std::size_t done = 0;
    while (done < content.size()) {
        auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::string err = "cannot write " + out.path.string() + ": " + std::strerror(errno);
            ::close(fd);
            ::unlink(out.path.c_str());
            return failure(err);
        }
        done += static_cast<std::size_t>(n);
    }
    int sync_rc = ::fsync(fd);
    int sync_errno = errno;
    int close_rc = ::close(fd);
    if (sync_rc != 0 || close_rc != 0) {
        std::string err =
            "cannot persist " + out.path.string() + ": " + std::strerror(sync_rc != 0 ? sync_errno : errno);
        ::unlink(out.path.c_str());
        return failure(err);
    }
    // The new directory entry must survive a crash too, or a restart would mint a second token.
    if (int dir = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    out.created = true;
    return out;
}

}  // namespace roster::api
