// Buffered output to a file descriptor that never loses a write silently: the first error
// (disk full, closed pipe) is kept and reported, and later writes are counted as unwritten.
// Records are encoded into a buffer on the caller's thread (the one draining the BPF ring);
// full buffers go through a bounded WriteQueue to a writer thread, so a stalled output does
// not stop the draining until the queue is full.
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "output/private_file.h"
#include "output/write_queue.h"

namespace tlstap {

// While the output stalls, full-speed bulk JSON fills the queue at ~650-850 MiB/s on the
// 2-core build machine: a 300 ms stall takes 200-280 MiB, and a reader that pauses again
// before it has caught up needs more (README, "The output queue"). Memory is taken only while
// the output is behind.
inline constexpr uint64_t kDefaultQueueBytes = uint64_t{512} << 20;

class OutputStream {
 public:
  // Standard output (not owned).
  static OutputStream standard_output(uint64_t queue_bytes = kDefaultQueueBytes);
  // Creates `path` with mode 0600 (the records are somebody's plaintext), never through a
  // symbolic link, and overwrites an existing file only when told to (open_private_file).
  static Result<OutputStream> create_private_file(const std::string& path,
                                                  uint64_t queue_bytes = kDefaultQueueBytes,
                                                  ExistingFile existing = ExistingFile::refuse);

  OutputStream(OutputStream&& other) noexcept;
  OutputStream& operator=(OutputStream&&) = delete;
  // Writes what it was given (waiting for the writer thread), then closes an owned file.
  ~OutputStream();

  void append(std::string_view bytes) {
    buffer_.append(bytes);
    if (buffer_.size() >= kFlushThreshold) flush();
  }
  void append(char c) { buffer_.push_back(c); }
  std::string& buffer() { return buffer_; }  // for encoders that format in place
  void flush_if_full() {
    if (buffer_.size() >= kFlushThreshold) flush();
  }
  void record_done() { record_ends_.push_back(buffer_.size()); }

  // Hands the buffer to the writer thread. Waits only while the queue is full.
  void flush();
  // Flushes, then waits until everything given so far is written (or failed).
  void sync();
  // The same, unless the output stops taking anything for `stalled_after`: then false, and
  // records_pending() says how many records are stuck.
  bool sync_unless_stalled(std::chrono::milliseconds stalled_after);
  uint64_t records_pending() const { return queue_->records_pending(); }
  // See WriteQueue::give_up_waiting_when: Ctrl-C must stop tlstap whatever its output does.
  void give_up_waiting_when(const volatile sig_atomic_t* flag,
                            std::chrono::milliseconds stalled_after) {
    queue_->give_up_waiting_when(flag, stalled_after);
  }
  // For an output that is stuck: the writer thread stays blocked in write() until the process
  // exits, and destroying this stream no longer waits for it (nor closes its descriptor).
  void abandon();
  // Errors and counts are the writer thread's: final only after sync().
  std::optional<std::string> error() const { return queue_->error(); }
  uint64_t records_not_written() const { return queue_->records_not_written(); }
  WriteQueue::Stats queue_stats() const { return queue_->stats(); }
  const std::string& name() const { return name_; }
  int fd() const { return fd_; }

 private:
  static constexpr size_t kFlushThreshold = 256 << 10;
  // Room past the threshold, so the record that crosses it rarely makes the buffer grow.
  static constexpr size_t kBufferBytes = kFlushThreshold + (64 << 10);
  OutputStream(int fd, bool owned, std::string name, uint64_t queue_bytes);

  int fd_;
  bool owned_;
  std::string name_;
  std::unique_ptr<WriteQueue> queue_;  // its writer thread keeps its address
  std::string buffer_;
  std::vector<size_t> record_ends_;  // where each record in buffer_ ends
  bool abandoned_ = false;           // the writer is stuck: the queue is left to the process's exit
};

}  // namespace tlstap
