#include "loader/ring_buffer.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tlstap {
namespace {

int dispatch(void* context, void* data, size_t size) {
  static_cast<EventHandler*>(context)->on_event(data, size);
  return 0;
}

Result<size_t> handled_or_error(int result) {
  if (result == -EINTR) return size_t{0};
  if (result < 0) return Error{fmt::format("reading the ring buffer: {}", std::strerror(-result))};
  return static_cast<size_t>(result);
}

}  // namespace

Result<std::unique_ptr<RingBufferReader>> RingBufferReader::open(int map_fd,
                                                                 EventHandler& handler) {
  std::unique_ptr<RingBufferReader> reader(new RingBufferReader());
  reader->ring_ = ring_buffer__new(map_fd, dispatch, &handler, nullptr);
  if (!reader->ring_) {
    return Error{fmt::format("opening the ring buffer: {}", std::strerror(errno))};
  }
  return reader;
}

RingBufferReader::~RingBufferReader() { ring_buffer__free(ring_); }

Result<size_t> RingBufferReader::poll(int timeout_ms) {
  // BPF skips most wakeups, so a wait that times out is the normal way to find events:
  // ring_buffer__poll consumes only after a wakeup, the drain after it takes the rest.
  Result<size_t> woken = handled_or_error(ring_buffer__poll(ring_, timeout_ms));
  if (!woken) return woken;
  Result<size_t> drained = drain();
  if (!drained) return drained;
  return *woken + *drained;
}

Result<size_t> RingBufferReader::drain() { return handled_or_error(ring_buffer__consume(ring_)); }

}  // namespace tlstap
