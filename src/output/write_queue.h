// A bounded queue of filled output buffers and the thread that writes them to a file
// descriptor. The thread draining the BPF ring hands buffers over and goes back to draining:
// a stalled output (disk writeback, a pipe reader that pauses) is absorbed here, in memory,
// instead of in the ring, where it would become loss within ~100 ms of bulk traffic.
//
// The memory the queue holds (the allocated size of every buffer handed over and not yet
// written) never exceeds its capacity, except that one buffer larger than the capacity still
// goes through, alone. When the queue is full the producer waits: then the ring fills, and
// BPF counts what it cannot take, exactly as without the queue.
//
// Write errors are never silent: the first one is kept, and the records of every buffer not
// written (the failing one and all after it) are counted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tlstap {

class WriteQueue {
 public:
  struct Stats {
    uint64_t capacity_bytes = 0;
    uint64_t peak_bytes = 0;      // most memory held by buffers waiting or being written
    uint64_t producer_waits = 0;  // times push() waited for space
    std::chrono::nanoseconds producer_wait_time{0};
  };

  // `fd` is not owned and must outlive the queue. Buffers are reserved `buffer_bytes` each.
  WriteQueue(int fd, std::string name, uint64_t capacity_bytes, size_t buffer_bytes);
  // Writes everything handed over (or counts it unwritten after an error), then joins.
  ~WriteQueue();
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // An empty buffer with `buffer_bytes` reserved; a written one is reused when there is one.
  std::string take_buffer();
  // Queues `data` to be written after everything queued before; record i ends at
  // record_ends[i] (an offset into `data`), so that a write failing part way counts exactly
  // the records not wholly written. Blocks only while the queue is full. An empty buffer with
  // no records is ignored.
  void push(std::string&& data, std::vector<size_t>&& record_ends);
  // The same for `records` records that count as written only with the whole buffer.
  void push(std::string&& data, uint64_t records) {
    push(std::move(data), std::vector<size_t>(records, data.size()));
  }
  // Returns once every buffer pushed so far has been written or counted as unwritten.
  void wait_written();
  // The same, but gives up when no buffer has been finished for `stalled_after` (a reader
  // that stopped reading, forever perhaps): then false.
  bool wait_written_unless_stalled(std::chrono::milliseconds stalled_after);
  // While push() waits for space, it checks this flag (set by a signal handler: Ctrl-C)
  // every 100 ms; once it is set and the output has then taken nothing for `stalled_after`
  // (a reader that stopped for good, not one that pauses), push() stops waiting: the records
  // it was given, and all later ones, count as not written and error() says why. Without it a
  // stopped reader would keep tlstap from ever stopping.
  void give_up_waiting_when(const volatile sig_atomic_t* flag,
                            std::chrono::milliseconds stalled_after) {
    give_up_flag_ = flag;
    give_up_after_ = stalled_after;
  }
  // Records handed over and neither written nor counted as unwritten yet.
  uint64_t records_pending() const;
  // For a writer blocked for good in write(): lets the queue be leaked without joining it.
  void detach_writer();

  std::optional<std::string> error() const;
  uint64_t records_not_written() const;
  Stats stats() const;

 private:
  struct Item {
    std::string data;
    std::vector<size_t> record_ends;
    size_t charge;  // what it counts against the capacity: its allocated size when queued
  };
  void start_writer();
  void run_writer();
  // Writes all of `data`; on failure returns the message, `written` the bytes that were.
  std::optional<std::string> write_all(const std::string& data, size_t& written) const;
  void recycle(std::string&& data);  // caller holds mutex_

  const int fd_;
  const std::string name_;
  const uint64_t capacity_;
  const size_t buffer_bytes_;

  mutable std::mutex mutex_;
  std::condition_variable work_;      // the writer: a buffer was queued, or stop
  std::condition_variable progress_;  // the producer: a buffer was written (space, or idle)
  std::deque<Item> queue_;
  std::vector<std::string> spare_;  // written buffers kept for reuse
  uint64_t used_ = 0;               // charge of queued buffers and the one being written
  bool writing_ = false;
  uint64_t writing_records_ = 0;   // records of the buffer being written
  uint64_t buffers_finished_ = 0;  // written or failed: the writer's progress
  const volatile sig_atomic_t* give_up_flag_ = nullptr;
  std::chrono::milliseconds give_up_after_{0};
  bool stopping_ = false;
  std::optional<std::string> error_;
  uint64_t records_unwritten_ = 0;
  Stats stats_;
  std::thread writer_;  // started with the first buffer (see start_writer)
};

}  // namespace tlstap
