#include "roster/replay/backup.hpp"
#include "roster/replay/token_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include "roster/replay/token_file.hpp"

#include "roster/replay/backup_path.hpp"
#include "roster/replay/rfc3339.hpp"
#include "roster/replay/verify.hpp"

namespace roster::replay {

namespace fs = std::filesystem;

namespace {

eventstore::error fail(std::string message) {
    eventstore::error e;
    e.code = eventstore::errc::invalid_argument;
    e.message = std::move(message);
    return e;
}

bool empty_or_missing(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return true;
    return fs::is_directory(p, ec) && fs::is_empty(p, ec);
}

// fsyncs a file or directory so a rename or a new entry survives a crash.
void sync_path(const fs::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

// Written beside and renamed over, so a crash never leaves a half manifest that looks valid;
// relative to the destination's descriptor so that it lands in the directory we created.
bool write_file_atomically_at(int dir_fd, const char* name, const std::string& text) {
    const std::string tmp = std::string(name) + ".tmp";
    const int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = true;
    for (std::size_t done = 0; ok && done < text.size();) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ::fsync(fd) == 0 && ok;
    ok = ::close(fd) == 0 && ok;
    if (!ok || ::renameat(dir_fd, tmp.c_str(), dir_fd, name) != 0) {
        (void)::unlinkat(dir_fd, tmp.c_str(), 0);
        return false;
    }
    return ::fsync(dir_fd) == 0;
}

std::optional<backup_manifest> read_manifest(const fs::path& p, std::string& why) {
    std::ifstream f(p, std::ios::binary);
    if (!f) {
        why = "cannot read " + p.string();
        return std::nullopt;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    boost::system::error_code ec;
    auto v = boost::json::parse(ss.str(), ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* pos = o ? o->if_contains("position") : nullptr;
    const auto* hash = o ? o->if_contains("hash") : nullptr;
    if (!pos || !hash || !hash->is_string() || !(pos->is_uint64() || pos->is_int64())) {
        why = p.string() + " is not a backup manifest";
        return std::nullopt;
    }
    backup_manifest m;
    m.position = eventstore::log_position{pos->to_number<std::uint64_t>()};
    m.hash = std::string(hash->as_string());
    if (auto* at = o->if_contains("created_at"); at && at->is_string()) m.created_at = std::string(at->as_string());
    return m;
}

// True when a process holds RocksDB's lock on the store in `dir` (its LOCK file carries an
// fcntl write lock for as long as the database is open read-write).
bool store_is_locked(const fs::path& dir) {
    int fd = ::open((dir / "LOCK").c_str(), O_RDWR);
    if (fd < 0) return false;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    const bool held = ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    ::close(fd);
    return held;
}

}  // namespace

std::string manifest_json(const backup_manifest& m) {
    boost::json::object o;
    o["format"] = 1;
    o["position"] = m.position.value;
    o["hash"] = m.hash;
    o["created_at"] = m.created_at;
    return boost::json::serialize(o);
}

eventstore::result<backup_manifest> create_backup(const eventstore::store& store, backup_destination dest) {
    // RocksDB's checkpoint API takes a path string, so the directory is named through our own
    // descriptor (/proc/self/fd/N) where /proc exists: a component of path() swapped for a
    // symlink after it was opened then changes nothing. Without /proc the plain path remains,
    // and what is left is that window between open_backup_destination and CreateCheckpoint;
    // either way RocksDB only ever writes inside a directory this request created and owns
    // (mode 0700), and a failure below removes it again when `dest` is destroyed, before the
    // caller answers.
    const fs::path dir = dest.stable_path();
    if (auto r = store.checkpoint(dir / "eventstore"); !r) return r.error();
    // The head is read from the copy itself: appends racing the checkpoint may or may not be in
    // it, and only the copy knows which.
    eventstore::store_options ro;
    ro.read_only = true;
    auto copy = eventstore::store::open(dir / "eventstore", ro);
    if (!copy) return copy.error();
    const auto head = (*copy)->head();
    copy->reset();
    backup_manifest m{
        head.position, eventstore::to_hex(head.hash),
        format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()))};
    if (!write_file_atomically_at(dest.fd(), "backup.json", manifest_json(m) + "\n"))
        return fail("cannot write " + (dest.path() / "backup.json").string());
    dest.keep();
    return m;
}

eventstore::result<backup_manifest> create_backup(const eventstore::store& store, const fs::path& dest) {
    auto d = open_local_backup_destination(dest);
    if (!d) return fail(d.error().detail);
    return create_backup(store, std::move(*d));
}

int run_backup(const backup_request& req, const backup_poster& post, std::ostream& out, std::ostream& err) {
    if (req.dest.empty()) {
        err << "rosterctl backup: --to DEST is required\n";
        return 2;
    }
    std::error_code ec;
    fs::path dest = fs::absolute(req.dest, ec).lexically_normal();
    if (!dest.has_filename() && dest.has_parent_path() && dest != dest.root_path()) dest = dest.parent_path();  // "b1/"
    // The same name checks as the server applies, before anything touches the disk here or there.
    if (auto ok = check_local_backup_path(dest.native()); !ok) {
        err << "rosterctl backup: --to: " << ok.error().detail << '\n';
        return 2;
    }
    if (req.url) {
        const fs::path token_path = req.token_file.value_or(req.data_dir / "operator.token");
        const auto token = read_token_file(token_path);
        if (!token) {
            err << "rosterctl backup: no operator token in " << token_path << " (use --token-file)\n";
            return 2;
        }
        if (!post) {
            err << "rosterctl backup: this build has no HTTP client for --url\n";
            return 2;
        }
        auto sent = post(*req.url, "/v1/admin/backup", *token,
                         boost::json::serialize(boost::json::object{{"to", dest.string()}}));
        auto* answer = std::get_if<backup_answer>(&sent);
        if (!answer) {
            err << "rosterctl backup: " << std::get<std::string>(sent) << '\n';
            return 1;
        }
        if (answer->status != 201) {
            err << "rosterctl backup: the server answered " << answer->status << ": " << answer->body << '\n';
            return 1;
        }
        out << answer->body << '\n';
        return 0;
    }
    const fs::path dir = resolve_store_dir(req.data_dir);
    if (store_is_locked(dir)) {
        err << "rosterctl backup: a running rosterd holds " << dir
            << "; pass --url http://HOST:PORT so that the server takes the checkpoint itself\n";
        return 2;
    }
    eventstore::store_options o;
    o.create_if_missing = false;
    auto s = eventstore::store::open(dir, o);
    if (!s) {
        err << "rosterctl backup: cannot open the store in " << dir << ": " << s.error().message << '\n';
        return 2;
    }
    auto m = create_backup(**s, dest);
    if (!m) {
        err << "rosterctl backup: " << m.error().message << '\n';
        return 1;
    }
    out << manifest_json(*m) << '\n';
    return 0;
}

int run_restore(const fs::path& src, const fs::path& data_dir, bool force, std::ostream& out, std::ostream& err) {
    std::string why;
    auto manifest = read_manifest(src / "backup.json", why);
    if (!manifest) {
        err << "rosterctl restore: " << why << '\n';
        return 2;
    }
    std::error_code ec;
    if (!fs::exists(src / "eventstore" / "CURRENT", ec)) {
        err << "rosterctl restore: " << (src / "eventstore") << " is not a RocksDB directory\n";
        return 2;
    }
    const fs::path target = eventstore::store_dir(data_dir);
    if (store_is_locked(target)) {
        err << "rosterctl restore: a running process holds " << target << "; stop rosterd first\n";
        return 2;
    }
    if (!empty_or_missing(target)) {
        if (!force) {
            err << "rosterctl restore: " << target << " is not empty; pass --force to replace it\n";
            return 2;
        }
        fs::remove_all(target, ec);
        if (ec) {
            err << "rosterctl restore: cannot remove " << target << ": " << ec.message() << '\n';
            return 1;
        }
    }
    // Copied under another name and renamed, so an interrupted restore never looks like a store.
    const fs::path staging = target.string() + ".restoring";
    fs::remove_all(staging, ec);
    fs::create_directories(data_dir, ec);
    fs::copy(src / "eventstore", staging, fs::copy_options::recursive, ec);
    if (ec) {
        err << "rosterctl restore: copy failed: " << ec.message() << '\n';
        return 1;
    }
    for (const auto& entry : fs::directory_iterator(staging)) sync_path(entry.path());
    fs::remove_all(target, ec);  // an empty directory left by a failed run
    fs::rename(staging, target, ec);
    if (ec) {
        err << "rosterctl restore: cannot rename " << staging << ": " << ec.message() << '\n';
        return 1;
    }
    sync_path(data_dir);

    eventstore::store_options ro;
    ro.read_only = true;
    auto s = eventstore::store::open(target, ro);
    if (!s) {
        err << "rosterctl restore: the restored store does not open: " << s.error().message << '\n';
        return 1;
    }
    const auto report = (*s)->verify();
    const auto head = (*s)->head();
    const bool head_matches = head.position == manifest->position && eventstore::to_hex(head.hash) == manifest->hash;
    boost::json::object o;
    o["ok"] = report.ok && head_matches;
    o["position"] = head.position.value;
    o["hash"] = eventstore::to_hex(head.hash);
    o["checked"] = report.checked;
    if (!report.ok) o["verify"] = boost::json::parse(verify_report_json(report));
    if (!head_matches) o["message"] = "the restored head differs from the backup manifest";
    out << boost::json::serialize(o) << '\n';
    return report.ok && head_matches ? 0 : 1;
}

}  // namespace roster::replay
