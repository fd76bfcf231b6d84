#include "discover/discovery_worker.h"

#include <vector>

namespace tlstap {
namespace {

// An exec'd executable is mapped when the exec event fires: it is looked at at once, since a
// short-lived program (a Go client, a static binary) may make its first TLS call within
// milliseconds and everything before its attach is missed. Its libraries are mapped by the
// dynamic loader a little later, and an mmap event fires at mmap's entry, before the mapping
// exists: looks after 20 ms and 300 ms catch those.
constexpr auto kExecLookDelay = std::chrono::milliseconds(0);
constexpr auto kFirstLookDelay = std::chrono::milliseconds(20);
constexpr auto kSecondLookDelay = std::chrono::milliseconds(300);

}  // namespace

DiscoveryWorker::DiscoveryWorker(Discovery& discovery)
    : discovery_(discovery), thread_([this] { run(); }) {}

DiscoveryWorker::~DiscoveryWorker() { stop(); }

void DiscoveryWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void DiscoveryWorker::process_changed(pid_t pid, bool exec) {
  std::lock_guard lock(mutex_);
  const Pending look = exec ? Pending{Clock::now() + kExecLookDelay, Look::exec}
                            : Pending{Clock::now() + kFirstLookDelay, Look::first};
  auto [it, inserted] = pending_.try_emplace(pid, look);
  // A later event starts the looks again, unless an earlier look of it is still due.
  if (!inserted && (exec || it->second.look == Look::second)) it->second = look;
  wake_.notify_one();
}

void DiscoveryWorker::process_exited(pid_t pid) {
  {
    std::lock_guard lock(mutex_);
    pending_.erase(pid);
  }
  discovery_.process_exited(pid);
}

void DiscoveryWorker::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (pending_.empty()) {
      wake_.wait(lock);
      continue;
    }
    Clock::time_point now = Clock::now();
    Clock::time_point next_due = Clock::time_point::max();
    std::vector<std::pair<pid_t, Look>> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.due <= now) {
        due.emplace_back(it->first, it->second.look);
        it = pending_.erase(it);
      } else {
        next_due = std::min(next_due, it->second.due);
        ++it;
      }
    }
    if (due.empty()) {
      wake_.wait_until(lock, next_due);
      continue;
    }
    lock.unlock();
    for (auto [pid, look] : due) {
      bool alive = discovery_.scan_process(pid);
      if (alive && look != Look::second) {
        // exec -> first (the loader's libraries) -> second (anything mapped a little later).
        const Pending next = look == Look::exec
                                 ? Pending{Clock::now() + kFirstLookDelay, Look::first}
                                 : Pending{Clock::now() + kSecondLookDelay, Look::second};
        std::lock_guard relock(mutex_);
        pending_.try_emplace(pid, next);
      }
    }
    lock.lock();
  }
}

}  // namespace tlstap
