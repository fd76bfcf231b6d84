// Runs discovery off the hot path: the ring-buffer thread reports "process P exec'd or
// mapped an executable file" and this thread looks at P's maps shortly after, so new
// processes and dlopen'ed libraries are attached within a second without polling /proc.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "discover/discovery.h"

namespace tlstap {

class DiscoveryWorker {
 public:
  explicit DiscoveryWorker(Discovery& discovery);
  ~DiscoveryWorker();  // stops and joins
  // Finishes the look in progress and attaches nothing more. Reports after it are ignored.
  void stop();
  DiscoveryWorker(const DiscoveryWorker&) = delete;
  DiscoveryWorker& operator=(const DiscoveryWorker&) = delete;

  // An exec (`exec`) or an executable mapping of `pid`: look at its maps soon.
  void process_changed(pid_t pid, bool exec);
  void process_exited(pid_t pid);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Look { exec, first, second };  // a later look catches what is mapped later
  struct Pending {
    Clock::time_point due;
    Look look;
  };
  void run();

  Discovery& discovery_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<pid_t, Pending> pending_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tlstap
