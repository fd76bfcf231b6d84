#include "cli/child_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

namespace tlstap {

Result<ChildCommand> ChildCommand::spawn_paused(const std::vector<std::string>& argv) {
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return Error{fmt::format("pipe: {}", std::strerror(errno))};
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return Error{fmt::format("fork: {}", std::strerror(errno))};
  if (pid == 0) {
    close(gate[1]);
    char go;
    ssize_t n;
    do n = read(gate[0], &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // the tracer went away before releasing us
    execvp(args[0], args.data());
    fprintf(stderr, "tlstap: cannot run %s: %s\n", args[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  close(gate[0]);
  return ChildCommand(pid, gate[1]);
}

ChildCommand::ChildCommand(ChildCommand&& other) noexcept
    : pid_(other.pid_), release_fd_(other.release_fd_), status_(other.status_) {
  other.release_fd_ = -1;
  other.pid_ = -1;
}

ChildCommand::~ChildCommand() {
  if (release_fd_ >= 0) close(release_fd_);  // an unreleased child then exits by itself
}

void ChildCommand::release() {
  if (release_fd_ < 0) return;
  char go = 1;
  ssize_t n;
  do n = write(release_fd_, &go, 1);
  while (n < 0 && errno == EINTR);
  close(release_fd_);
  release_fd_ = -1;
}

std::optional<int> ChildCommand::poll_exit() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return status_;
}

namespace {

// 0 if execve could run the file; else its error. access(X_OK) alone is not enough: for root
// it accepts a directory, and a file with any execute bit.
int executable_error(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode) || access(path.c_str(), X_OK) != 0) return EACCES;
  return 0;
}

}  // namespace

std::string ExecutableLookup::message(const std::string& name) const {
  return fmt::format("cannot run {}: {}", name, std::strerror(error));
}

ExecutableLookup look_up_executable(const std::string& name) {
  if (name.empty()) return {std::nullopt, ENOENT};
  if (name.find('/') != std::string::npos) {
    int error = executable_error(name);
    return error == 0 ? ExecutableLookup{name, 0} : ExecutableLookup{std::nullopt, error};
  }
  // Like execvp: the first executable match wins; a match that is not executable is
  // remembered, and reported only if nothing later on PATH can run.
  const char* path = getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  int error = ENOENT;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    int candidate_error = executable_error(candidate);
    if (candidate_error == 0) return {candidate, 0};
    if (candidate_error == EACCES || candidate_error == EISDIR) error = EACCES;
  }
  return {std::nullopt, error};
}

}  // namespace tlstap
