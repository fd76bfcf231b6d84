#include "discover/discovery_worker.h"

#include <vector>

namespace tlstap {
namespace {

// The event fires at mmap's entry; the mapping exists a moment later.
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

void DiscoveryWorker::process_changed(pid_t pid) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = pending_.try_emplace(pid, Pending{Clock::now() + kFirstLookDelay, false});
  if (!inserted && it->second.second_look) it->second = {Clock::now() + kFirstLookDelay, false};
  if (inserted) wake_.notify_one();
}

void DiscoveryWorker::process_exited(pid_t pid) {
  std::lock_guard lock(mutex_);
  pending_.erase(pid);
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
    std::vector<std::pair<pid_t, bool>> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.due <= now) {
        due.emplace_back(it->first, it->second.second_look);
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
    for (auto [pid, was_second_look] : due) {
      bool alive = discovery_.scan_process(pid);
      if (alive && !was_second_look) {
        std::lock_guard relock(mutex_);
        pending_.try_emplace(pid, Pending{Clock::now() + kSecondLookDelay, true});
      }
    }
    lock.lock();
  }
}

}  // namespace tlstap
