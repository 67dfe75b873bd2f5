// Starts a program with its stdout on a pipe the test reads. Shared by the crash tests.
#pragma once

#include <spawn.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace roster::test_support {

struct spawned {
    pid_t pid = -1;
    int stdout_fd = -1;  // the read end; the caller closes it
};

inline spawned spawn_with_stdout_pipe(std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    spawned child;
    const int rc = posix_spawn(&child.pid, args.at(0).c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        throw std::runtime_error("posix_spawn " + args.at(0) + " failed");
    }
    child.stdout_fd = fds[0];
    return child;
}

}  // namespace roster::test_support
