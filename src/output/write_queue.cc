#include "output/write_queue.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tlstap {
namespace {

// Enough for the steady state (one buffer being written, one being filled, a few small
// periodic flushes); buffers beyond that, allocated during a stall, are given back after it.
constexpr size_t kMaxSpareBuffers = 4;

}  // namespace

WriteQueue::WriteQueue(int fd, std::string name, uint64_t capacity_bytes, size_t buffer_bytes)
    : fd_(fd), name_(std::move(name)), capacity_(capacity_bytes), buffer_bytes_(buffer_bytes) {
  stats_.capacity_bytes = capacity_bytes;
}

WriteQueue::~WriteQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_one();
  if (writer_.joinable()) writer_.join();
}

// The writer starts with the first buffer rather than with the queue, so it inherits the
// scheduling priority the session gives the draining thread after opening the output: a
// writer that falls behind fills the queue, and then the ring.
void WriteQueue::start_writer() {
  // Signals (SIGINT, SIGTERM) must reach the draining thread, whose wait they interrupt;
  // the writer blocks them all, and a new thread inherits the mask it is created with.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  writer_ = std::thread([this] { run_writer(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

std::string WriteQueue::take_buffer() {
  {
    std::lock_guard lock(mutex_);
    if (!spare_.empty()) {
      std::string buffer = std::move(spare_.back());
      spare_.pop_back();
      return buffer;
    }
  }
  std::string buffer;
  buffer.reserve(buffer_bytes_);
  return buffer;
}

void WriteQueue::recycle(std::string&& data) {
  // A buffer that grew past its reservation (a record larger than the slack) is not kept:
  // spare buffers would otherwise hold the largest records' memory for good.
  if (spare_.size() >= kMaxSpareBuffers || data.capacity() > buffer_bytes_) return;
  data.clear();
  spare_.push_back(std::move(data));
}

void WriteQueue::push(std::string&& data, std::vector<size_t>&& record_ends) {
  if (data.empty() && record_ends.empty()) return;
  if (!writer_.joinable()) start_writer();
  std::unique_lock lock(mutex_);
  if (error_) {  // nothing more will be written: count it now, hold no memory for it
    records_unwritten_ += record_ends.size();
    recycle(std::move(data));
    return;
  }
  // A small buffer (the periodic flush of a quiet stream, or of every drain while the output
  // stalls) joins the last queued one when it fits in its allocation: many small buffers
  // would each hold a whole allocation against the capacity.
  if (!queue_.empty()) {
    Item& tail = queue_.back();
    if (tail.data.size() + data.size() <= tail.data.capacity()) {
      for (size_t end : record_ends) tail.record_ends.push_back(tail.data.size() + end);
      tail.data.append(data);
      recycle(std::move(data));
      return;
    }
  }
  size_t charge = data.capacity();
  auto fits = [&] { return used_ == 0 || used_ + charge <= capacity_; };
  if (!fits()) {
    // The only wait of the draining thread on the output, and when BPF loss can follow.
    auto started = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> last_progress;  // since the flag
    uint64_t finished_then = 0;
    while (!fits()) {
      if (give_up_flag_ && *give_up_flag_) {
        auto now = std::chrono::steady_clock::now();
        if (!last_progress || buffers_finished_ != finished_then) {
          last_progress = now;
          finished_then = buffers_finished_;
        }
      }
      if (last_progress && std::chrono::steady_clock::now() - *last_progress >= give_up_after_) {
        // Told to stop while the output takes nothing: this and every later record is
        // counted, not waited for.
        error_ = fmt::format("writing {}: stopped while it was not being read", name_);
        records_unwritten_ += record_ends.size();
        recycle(std::move(data));
        return;
      }
      progress_.wait_for(lock, std::chrono::milliseconds(100));
    }
    stats_.producer_waits++;
    stats_.producer_wait_time += std::chrono::steady_clock::now() - started;
  }
  used_ += charge;
  stats_.peak_bytes = std::max(stats_.peak_bytes, used_);
  queue_.push_back(Item{std::move(data), std::move(record_ends), charge});
  lock.unlock();
  work_.notify_one();
}

void WriteQueue::wait_written() {
  std::unique_lock lock(mutex_);
  progress_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

bool WriteQueue::wait_written_unless_stalled(std::chrono::milliseconds stalled_after) {
  std::unique_lock lock(mutex_);
  for (;;) {
    uint64_t finished_before = buffers_finished_;
    if (progress_.wait_for(lock, stalled_after, [&] { return queue_.empty() && !writing_; })) {
      return true;
    }
    if (buffers_finished_ == finished_before) return false;
  }
}

uint64_t WriteQueue::records_pending() const {
  std::lock_guard lock(mutex_);
  uint64_t pending = writing_ ? writing_records_ : 0;
  for (const Item& item : queue_) pending += item.record_ends.size();
  return pending;
}

void WriteQueue::detach_writer() {
  if (writer_.joinable()) writer_.detach();
}

void WriteQueue::run_writer() {
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, and everything handed over is written
    Item item = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    writing_records_ = item.record_ends.size();
    bool failed_before = error_.has_value();
    lock.unlock();
    std::optional<std::string> failure;
    size_t written = 0;
    if (!failed_before) failure = write_all(item.data, written);
    lock.lock();
    if (failed_before || failure) {
      // Records wholly written before the failure are in the output; the rest are not.
      records_unwritten_ +=
          static_cast<uint64_t>(std::count_if(item.record_ends.begin(), item.record_ends.end(),
                                              [&](size_t end) { return end > written; }));
      if (!error_) error_ = std::move(failure);
    }
    used_ -= item.charge;
    recycle(std::move(item.data));
    writing_ = false;
    buffers_finished_++;
    progress_.notify_all();
  }
}

std::optional<std::string> WriteQueue::write_all(const std::string& data, size_t& written) const {
  written = 0;
  while (written < data.size()) {
    ssize_t n = write(fd_, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return fmt::format("writing {}: {}", name_, n < 0 ? std::strerror(errno) : "no progress");
    }
    written += static_cast<size_t>(n);
  }
  return std::nullopt;
}

std::optional<std::string> WriteQueue::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

uint64_t WriteQueue::records_not_written() const {
  std::lock_guard lock(mutex_);
  return records_unwritten_;
}

WriteQueue::Stats WriteQueue::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace tlstap
