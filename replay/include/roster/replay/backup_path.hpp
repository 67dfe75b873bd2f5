// Where a backup may be written: checks a requested destination before anything touches the
// disk, then creates it without following a symlink out of the backup root.
//
// Shared by POST /v1/admin/backup (a destination beneath rosterd's --backup-dir, from a request
// body, so untrusted) and `rosterctl backup --to` (a local path chosen by the operator: only the
// name checks apply there). Pure functions and a move-only resource type; no shared state.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace roster::replay {

// Stable codes; the HTTP route maps them to problems. Append only.
enum class backup_path_errc {
    not_allowed,  // not absolute, not strictly inside the root, `.`/`..`/empty component, a symlink or non-directory on the way
    invalid_name,   // a control byte, invalid UTF-8, a character outside the portable set, a name or path too long
    inside_backup,  // an ancestor below the root already holds a backup (backup.json or eventstore/)
    exists,         // the destination already exists
    io,             // the disk refused (permissions, no space, ...)
};

struct backup_path_error {
    backup_path_errc code{};
    std::string detail;  // for the operator; names the offending component, never echoes control bytes raw
};

[[noreturn]] void throw_exception_from_error(const backup_path_error& e, const boost::source_location& loc);

template <class T>
using backup_path_result = boost::system::result<T, backup_path_error>;

inline constexpr std::size_t backup_name_max = 255;   // NAME_MAX on Linux, in bytes
inline constexpr std::size_t backup_path_max = 4096;  // PATH_MAX, counting the terminating NUL

// A destination that passed `check_backup_destination`: `root` normalised and absolute, and the
// components of `to` below it (at least one; each a portable name).
struct backup_target {
    std::filesystem::path root;
    std::vector<std::string> below;
    std::filesystem::path path() const;
};

// Lexical checks only (no system call): `to` is absolute, at most backup_path_max - 1 bytes,
// valid UTF-8 without control bytes (0x00-0x1f, 0x7f), has no empty, `.` or `..` component,
// lies strictly inside `root` component by component, and each component below the root is at
// most backup_name_max bytes of [A-Za-z0-9._-] not starting with '-' or '.'.
backup_path_result<backup_target> check_backup_destination(const std::filesystem::path& root, std::string_view to);

// The name checks for a local destination with no root (`rosterctl backup --to`): no control
// bytes, valid UTF-8, no component over backup_name_max bytes, the whole path under
// backup_path_max. `..` and symlinks are the local operator's business there.
backup_path_result<void> check_local_backup_path(std::string_view path);

// A backup directory this process created (or, for a local backup, found empty), open as a
// directory fd. Unless keep() is called, destruction removes everything inside it and every
// directory this object created, deepest first, through file descriptors: a failed backup leaves
// nothing behind. Owned by one request; not thread-safe.
class backup_destination {
public:
    backup_destination() = default;
    backup_destination(backup_destination&& o) noexcept;
    backup_destination& operator=(backup_destination&& o) noexcept;
    backup_destination(const backup_destination&) = delete;
    backup_destination& operator=(const backup_destination&) = delete;
    ~backup_destination();

    const std::filesystem::path& path() const { return path_; }
    int fd() const { return fd_; }
    // A path naming this very directory for APIs that only take a string (RocksDB):
    // /proc/self/fd/N when /proc is there, so a component swapped for a symlink after we opened
    // it cannot redirect the write; otherwise path().
    std::filesystem::path stable_path() const;
    void keep() { keep_ = true; }

private:
    friend backup_path_result<backup_destination> open_backup_destination(const backup_target& target);
    friend backup_path_result<backup_destination> open_local_backup_destination(const std::filesystem::path& dest);
    void discard() noexcept;

    struct created_dir {
        int parent_fd = -1;  // owned
        std::string name;
    };
    std::filesystem::path path_;
    int fd_ = -1;
    bool keep_ = false;
    bool created_self_ = false;  // false: a local destination that existed empty
    std::vector<created_dir>
        created_;  // directories made beneath the root, outermost first (the last is path_ when created_self_)
    std::vector<std::filesystem::path>
        created_by_path_;  // local only: ancestors made by create_directories, outermost first
};

// Creates `target` beneath its root without following symlinks: the root is opened as a
// directory (it is the operator's configuration and may itself be a symlink; it is created when
// missing), then each component is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)
// (openat(O_NOFOLLOW | O_DIRECTORY) where the kernel has no openat2) and the missing ones are
// made with mkdirat, mode 0700 (a backup holds credential hashes). A symlink or a non-directory
// on the way is not_allowed; an existing ancestor below the root holding backup.json or
// eventstore/ is inside_backup; an existing destination is `exists`.
backup_path_result<backup_destination> open_backup_destination(const backup_target& target);

// `rosterctl backup --to`: check_local_backup_path, then creates the parents and `dest` (or
// accepts an existing empty `dest`) and opens it. Symlinks in the parents are followed (the
// operator's own disk); `dest` itself must not be a symlink.
backup_path_result<backup_destination> open_local_backup_destination(const std::filesystem::path& dest);

// Removes everything inside the directory `dir_fd` (not the directory itself) without following
// symlinks; returns false when something could not be removed. Recursion is bounded by `depth`.
bool remove_directory_contents(int dir_fd, int depth = 16) noexcept;

}  // namespace roster::replay
