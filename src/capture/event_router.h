// Checks each ring-buffer event against the ABI and sends it where it belongs. Data from
// the kernel is still input: a short or inconsistent event is counted, never trusted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>

#include "capture/reassembler.h"
#include "loader/ring_buffer.h"

namespace tlstap {

struct ProcessEvents {
  // exec (true) or executable mmap (false): look for new libraries
  std::function<void(pid_t, bool exec)> changed;
  std::function<void(pid_t, uint64_t monotonic_ns)> exited;
  std::function<void(const tlstap_close_event&)> connection_closed;
  std::function<void(const tlstap_unix_names_event&)> unix_names;
  std::function<void(const tlstap_ssl_bound_event&)> ssl_bound;
};

class EventRouter final : public EventHandler {
 public:
  EventRouter(Reassembler& reassembler, ProcessEvents process_events)
      : reassembler_(reassembler), process_events_(std::move(process_events)) {}

  void on_event(const void* data, size_t size) override;
  uint64_t malformed_events() const { return malformed_events_; }

 private:
  Reassembler& reassembler_;
  ProcessEvents process_events_;
  uint64_t malformed_events_ = 0;
};

}  // namespace tlstap
