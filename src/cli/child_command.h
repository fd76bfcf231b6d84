// `tlstap -- COMMAND`: the command is started paused, so that it is in the BPF filter and
// its executable is attached before it runs its first instruction.
#pragma once

#include <sys/types.h>

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

// The executable execvp would run for `name` (searching PATH), if one exists.
std::optional<std::string> resolve_executable(const std::string& name);

}  // namespace tlstap
