// `tlstap -- COMMAND`: the command is started paused, so that it is in the BPF filter and
// its executable is attached before it runs its first instruction.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace tlstap {

class ChildCommand {
 public:
  // Forks; the child waits for release() and then execs `argv`.
  static Result<ChildCommand> spawn_paused(const std::vector<std::string>& argv);
  ChildCommand(ChildCommand&& other) noexcept;
  ChildCommand& operator=(ChildCommand&&) = delete;
  ~ChildCommand();

  pid_t pid() const { return pid_; }
  void release();
  // The exit status as a shell reports it (128+signal when killed), once the child ended.
  std::optional<int> poll_exit();

 private:
  ChildCommand(pid_t pid, int release_fd) : pid_(pid), release_fd_(release_fd) {}
  pid_t pid_;
  int release_fd_;
  std::optional<int> status_;
};

// The file execvp would run for `name` (searching PATH when the name has no '/'), or the
// error it would fail with.
struct ExecutableLookup {
  std::optional<std::string> path;
  // Without a path: ENOENT (nothing by that name), EACCES (found, not executable) or EISDIR.
  int error = 0;

  // As a shell says it: 127 when the command is not found, 126 when it cannot be executed.
  int exit_code() const { return error == ENOENT ? 127 : 126; }
  std::string message(const std::string& name) const;  // "cannot run NAME: REASON"
};
ExecutableLookup look_up_executable(const std::string& name);

}  // namespace tlstap
