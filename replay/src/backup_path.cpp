#include "roster/replay/backup_path.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace roster::replay {

namespace fs = std::filesystem;

void throw_exception_from_error(const backup_path_error& e, const boost::source_location&) {
    throw std::runtime_error("backup path: " + e.detail);
}

namespace {

backup_path_error err(backup_path_errc code, std::string detail) { return {code, std::move(detail)}; }

// Names go back to the caller in problem details and logs: control bytes are shown escaped.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
        if (out.size() > 80) return out + "...";
    }
    return out;
}

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF); returns the offset of the
// first bad byte, or npos.
std::size_t invalid_utf8_at(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0, min = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (i + n >= s.size()) return i;  // truncated sequence
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n + 1;
    }
    return std::string_view::npos;
}

// The checks every destination gets, rooted or not: bytes the kernel accepts but that break
// logs, shells and the JSON on the way back.
std::optional<backup_path_error> check_bytes(std::string_view path) {
    if (path.size() >= backup_path_max)
        return err(backup_path_errc::invalid_name, "The path is " + std::to_string(path.size()) + " bytes; at most " +
                                                       std::to_string(backup_path_max - 1) + " are allowed.");
    for (std::size_t i = 0; i < path.size(); ++i) {
        const auto c = static_cast<unsigned char>(path[i]);
        if (c < 0x20 || c == 0x7f)
            return err(backup_path_errc::invalid_name, "The path holds a control character (byte " + std::to_string(c) +
                                                           " at offset " + std::to_string(i) + ").");
    }
    if (auto at = invalid_utf8_at(path); at != std::string_view::npos)
        return err(backup_path_errc::invalid_name,
                   "The path is not valid UTF-8 (at offset " + std::to_string(at) + ").");
    return std::nullopt;
}

std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        auto slash = path.find('/', start);
        parts.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) return parts;
        start = slash + 1;
    }
}

bool portable_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

void close_fd(int& fd) noexcept {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

std::atomic<bool> openat2_missing{false};

// Opens the directory `name` (one component) in `dir_fd`, refusing a symlink. openat2 also
// refuses an escape from dir_fd by any means; plain openat with O_NOFOLLOW is equivalent for a
// single component without "..", which the lexical checks already rule out.
int open_dir_beneath(int dir_fd, const std::string& name) {
    constexpr auto flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    if (!openat2_missing.load(std::memory_order_relaxed)) {
        open_how how{};
        how.flags = flags;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
        long fd = ::syscall(SYS_openat2, dir_fd, name.c_str(), &how, sizeof how);
        if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
        openat2_missing.store(true, std::memory_order_relaxed);  // Linux < 5.6
    }
    return ::openat(dir_fd, name.c_str(), flags);
}

bool is_symlink_at(int dir_fd, const std::string& name) {
    struct stat st {};
    return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

bool entry_exists(int dir_fd, const char* name) {
    struct stat st {};
    return ::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

fs::path backup_target::path() const {
    fs::path p = root;
    for (const auto& c : below) p /= c;
    return p;
}

backup_path_result<backup_target> check_backup_destination(const fs::path& root, std::string_view to) {
    if (auto bad = check_bytes(to)) return *bad;
    if (to.empty() || to.front() != '/')
        return err(backup_path_errc::not_allowed,
                   "to must be an absolute path inside the server's --backup-dir (" + root.string() + ").");
    auto parts = split(to.substr(1));
    for (auto p : parts) {
        if (p.empty() || p == "." || p == "..")
            return err(backup_path_errc::not_allowed,
                       "to must not contain empty, '.' or '..' components (a trailing or doubled '/' is one).");
    }
    std::vector<std::string_view> root_parts;
    const std::string root_text = root.lexically_normal().string();
    for (auto p : split(root_text)) {
        if (!p.empty()) root_parts.push_back(p);
    }
    bool inside = parts.size() > root_parts.size();
    for (std::size_t i = 0; inside && i < root_parts.size(); ++i) inside = parts[i] == root_parts[i];
    if (!inside)
        return err(backup_path_errc::not_allowed,
                   "to must be an absolute path strictly inside the server's --backup-dir (" + root_text + ").");
    backup_target t;
    t.root = root.lexically_normal();
    for (std::size_t i = root_parts.size(); i < parts.size(); ++i) {
        const auto name = parts[i];
        if (name.size() > backup_name_max)
            return err(backup_path_errc::invalid_name, "The name '" + printable(name.substr(0, 40)) + "...' is " +
                                                           std::to_string(name.size()) + " bytes; at most " +
                                                           std::to_string(backup_name_max) + " are allowed.");
        bool portable = name.front() != '-' && name.front() != '.';
        for (char c : name) portable = portable && portable_char(c);
        if (!portable)
            return err(backup_path_errc::invalid_name, "The name '" + printable(name) +
                                                           "' is not allowed below --backup-dir: use letters, digits, "
                                                           "'.', '_' and '-', not starting with '.' or '-'.");
        t.below.emplace_back(name);
    }
    return t;
}

backup_path_result<void> check_local_backup_path(std::string_view path) {
    if (auto bad = check_bytes(path)) return *bad;
    for (auto name : split(path)) {
        if (name.size() > backup_name_max)
            return err(backup_path_errc::invalid_name, "The name '" + printable(name.substr(0, 40)) + "...' is " +
                                                           std::to_string(name.size()) + " bytes; at most " +
                                                           std::to_string(backup_name_max) + " are allowed.");
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// backup_destination

backup_destination::backup_destination(backup_destination&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(std::exchange(o.fd_, -1)),
      keep_(o.keep_),
      created_self_(o.created_self_),
      created_(std::move(o.created_)),
      created_by_path_(std::move(o.created_by_path_)) {
    o.created_.clear();
    o.created_by_path_.clear();
}

backup_destination& backup_destination::operator=(backup_destination&& o) noexcept {
    if (this != &o) {
        discard();
        path_ = std::move(o.path_);
        fd_ = std::exchange(o.fd_, -1);
        keep_ = o.keep_;
        created_self_ = o.created_self_;
        created_ = std::move(o.created_);
        created_by_path_ = std::move(o.created_by_path_);
        o.created_.clear();
        o.created_by_path_.clear();
    }
    return *this;
}

backup_destination::~backup_destination() { discard(); }

void backup_destination::discard() noexcept {
    // Everything in the destination is ours: it was created by this object, or found empty.
    if (fd_ >= 0 && !keep_) (void)remove_directory_contents(fd_);
    close_fd(fd_);
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        if (!keep_) (void)::unlinkat(it->parent_fd, it->name.c_str(), AT_REMOVEDIR);
        close_fd(it->parent_fd);
    }
    created_.clear();
    if (!keep_) {
        // rmdir only removes an empty directory, so a parent someone else filled meanwhile stays.
        for (auto it = created_by_path_.rbegin(); it != created_by_path_.rend(); ++it) (void)::rmdir(it->c_str());
    }
    created_by_path_.clear();
}

fs::path backup_destination::stable_path() const {
    const fs::path proc = "/proc/self/fd/" + std::to_string(fd_);
    struct stat via_proc {
    }, direct{};
    if (fd_ >= 0 && ::stat(proc.c_str(), &via_proc) == 0 && ::fstat(fd_, &direct) == 0 &&
        via_proc.st_dev == direct.st_dev && via_proc.st_ino == direct.st_ino)
        return proc;
    return path_;
}

bool remove_directory_contents(int dir_fd, int depth) noexcept {
    if (depth <= 0) return false;
    std::vector<std::string> names;
    {
        const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
        if (dup < 0) return false;
        DIR* d = ::fdopendir(dup);
        if (!d) {
            ::close(dup);
            return false;
        }
        ::rewinddir(d);
        try {
            while (auto* e = ::readdir(d)) {
                if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
                    names.emplace_back(e->d_name);
            }
        } catch (...) {
            ::closedir(d);
            return false;
        }
        ::closedir(d);
    }
    bool ok = true;
    for (const auto& n : names) {
        if (::unlinkat(dir_fd, n.c_str(), 0) == 0) continue;
        if (errno != EISDIR && errno != EPERM) {
            ok = false;
            continue;
        }
        const int child = ::openat(dir_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0) {
            ok = false;
            continue;
        }
        ok = remove_directory_contents(child, depth - 1) && ok;
        ::close(child);
        ok = ::unlinkat(dir_fd, n.c_str(), AT_REMOVEDIR) == 0 && ok;
    }
    return ok;
}

backup_path_result<backup_destination> open_backup_destination(const backup_target& target) {
    if (target.below.empty()) return err(backup_path_errc::not_allowed, "to must be strictly inside --backup-dir.");
    backup_destination d;
    d.path_ = target.path();

    // The root is the operator's own configuration: it may be missing (made here, and removed
    // again if this backup fails) or be a symlink itself.
    std::error_code ec;
    if (!fs::exists(target.root, ec)) {
        for (fs::path p = target.root; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
            d.created_by_path_.insert(d.created_by_path_.begin(), p);
            if (p == p.parent_path()) break;
        }
        fs::create_directories(target.root, ec);
        if (ec)
            return err(backup_path_errc::io,
                       "Cannot create --backup-dir " + target.root.string() + ": " + ec.message());
    }
    int cur = ::open(target.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0)
        return err(backup_path_errc::io, "Cannot open --backup-dir " + target.root.string() + ": " + errno_text(errno));

    fs::path so_far = target.root;
    bool creating = false;  // once a component was made here, the rest are new and empty
    for (std::size_t i = 0; i < target.below.size(); ++i) {
        const auto& name = target.below[i];
        const bool last = i + 1 == target.below.size();
        so_far /= name;
        int next = -1;
        bool made = false;
        for (int attempt = 0; attempt < 2 && next < 0; ++attempt) {
            if (!creating) {
                next = open_dir_beneath(cur, name);
                if (next >= 0) break;
                const int e = errno;
                // O_DIRECTORY wins over O_NOFOLLOW on the last component: a symlink there is
                // ENOTDIR, not ELOOP, so look at what the entry is.
                if (e == ELOOP || e == EXDEV || (e == ENOTDIR && is_symlink_at(cur, name))) {
                    close_fd(cur);
                    return err(
                        backup_path_errc::not_allowed,
                        so_far.string() + " is a symbolic link (or leads out of --backup-dir); it is not followed.");
                }
                if (e == ENOTDIR) {
                    close_fd(cur);
                    if (last) return err(backup_path_errc::exists, "to already exists; choose a new directory.");
                    return err(backup_path_errc::not_allowed, so_far.string() + " is not a directory.");
                }
                if (e != ENOENT) {
                    close_fd(cur);
                    return err(backup_path_errc::io, "Cannot open " + so_far.string() + ": " + errno_text(e));
                }
            }
            if (::mkdirat(cur, name.c_str(), 0700) == 0) {
                made = true;
                creating = true;
                next = open_dir_beneath(cur, name);
                if (next < 0) {
                    // Swapped for something else between mkdirat and the open: leave it alone.
                    const int e = errno;
                    close_fd(cur);
                    return err(
                        e == ELOOP || e == EXDEV || e == ENOTDIR ? backup_path_errc::not_allowed : backup_path_errc::io,
                        "Cannot open " + so_far.string() + " just created: " + errno_text(e));
                }
            } else if (errno == EEXIST && !creating) {
                continue;  // made by someone else meanwhile: open it as an existing directory
            } else {
                const int e = errno;
                close_fd(cur);
                return err(e == EEXIST ? backup_path_errc::exists : backup_path_errc::io,
                           "Cannot create " + so_far.string() + ": " + errno_text(e));
            }
        }
        if (next < 0) {
            close_fd(cur);
            return err(backup_path_errc::io, "Cannot open " + so_far.string() + ".");
        }
        if (!made) {
            if (last) {
                ::close(next);
                close_fd(cur);
                return err(backup_path_errc::exists, "to already exists; choose a new directory.");
            }
            if (entry_exists(next, "backup.json") || entry_exists(next, "eventstore")) {
                ::close(next);
                close_fd(cur);
                return err(backup_path_errc::inside_backup,
                           so_far.string() + " is a backup; a backup cannot be written inside another one.");
            }
            close_fd(cur);
        } else {
            // The parent fd stays open so that the cleanup removes exactly this entry.
            d.created_.push_back({cur, name});
            cur = -1;
        }
        cur = next;
    }
    d.fd_ = cur;
    d.created_self_ = true;
    return d;
}

backup_path_result<backup_destination> open_local_backup_destination(const fs::path& dest) {
    if (auto ok = check_local_backup_path(dest.native()); !ok) return ok.error();
    if (dest.empty() || !dest.has_filename() || dest.filename() == "." || dest.filename() == "..")
        return err(backup_path_errc::not_allowed, "--to must name a directory, e.g. /var/backups/roster-1.");
    backup_destination d;
    d.path_ = dest;
    const fs::path parent = dest.parent_path().empty() ? fs::path(".") : dest.parent_path();
    std::error_code ec;
    if (!fs::exists(parent, ec)) {
        for (fs::path p = parent; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
            d.created_by_path_.insert(d.created_by_path_.begin(), p);
            if (p == p.parent_path()) break;
        }
        fs::create_directories(parent, ec);
        if (ec) return err(backup_path_errc::io, "Cannot create " + parent.string() + ": " + ec.message());
    }
    int parent_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent_fd < 0) return err(backup_path_errc::io, "Cannot open " + parent.string() + ": " + errno_text(errno));
    const std::string name = dest.filename().string();
    if (::mkdirat(parent_fd, name.c_str(), 0700) == 0) {
        d.created_.push_back({parent_fd, name});
        d.created_self_ = true;
    } else if (errno != EEXIST) {
        const int e = errno;
        ::close(parent_fd);
        return err(backup_path_errc::io, "Cannot create " + dest.string() + ": " + errno_text(e));
    }
    d.fd_ = ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    const int open_errno = errno;
    const bool symlink = d.fd_ < 0 && (open_errno == ELOOP || is_symlink_at(parent_fd, name));
    if (!d.created_self_) ::close(parent_fd);
    if (d.fd_ < 0) {
        return err(symlink ? backup_path_errc::not_allowed : backup_path_errc::exists,
                   dest.string() + (symlink ? " is a symbolic link." : " exists and is not a directory."));
    }
    if (!d.created_self_) {
        // An existing directory is accepted only empty; its contents would be ours to remove.
        const int dup = ::fcntl(d.fd_, F_DUPFD_CLOEXEC, 0);
        DIR* dir = dup >= 0 ? ::fdopendir(dup) : nullptr;
        bool empty = dir != nullptr;
        while (dir && empty) {
            auto* e = ::readdir(dir);
            if (!e) break;
            empty = std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0;
        }
        if (dir)
            ::closedir(dir);
        else if (dup >= 0)
            ::close(dup);
        if (!empty) {
            close_fd(d.fd_);  // so that destruction does not touch what is in it
            return err(backup_path_errc::exists, dest.string() + " exists and is not empty");
        }
    }
    return d;
}

}  // namespace roster::replay
