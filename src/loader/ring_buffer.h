// Reads the BPF ring buffer and hands each event to a handler, in ring order.
#pragma once

#include <cstddef>
#include <memory>

#include "common/result.h"

struct ring_buffer;

namespace tlstap {

class EventHandler {
 public:
  virtual ~EventHandler() = default;
  // `data` points into the ring buffer and is valid only during the call.
  virtual void on_event(const void* data, size_t size) = 0;
};

class RingBufferReader {
 public:
  static Result<std::unique_ptr<RingBufferReader>> open(int map_fd, EventHandler& handler);
  ~RingBufferReader();
  RingBufferReader(const RingBufferReader&) = delete;
  RingBufferReader& operator=(const RingBufferReader&) = delete;

  // Waits up to timeout_ms (less if BPF wakes the reader) and handles all events there. Returns the
  // number handled; an interrupted wait (a signal) returns 0, not an error.
  Result<size_t> poll(int timeout_ms);
  // Handles everything already in the ring without waiting.
  Result<size_t> drain();

 private:
  RingBufferReader() = default;
  ring_buffer* ring_ = nullptr;
};

}  // namespace tlstap
