// The one record model every sink encodes. Views point into buffers owned by the capture
// layer and are valid only for the duration of the sink call.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocols/http_exchange.h"

namespace tlstap {

struct Connection;

enum class Direction { read, write };

// Why a record holds fewer bytes than the call moved.
enum class Truncation {
  none,
  max_bytes,         // the call was larger than --max-bytes
  ring_buffer_full,  // a chunk could not be reserved; the loss is counted in a lost record
  page_fault,        // the buffer's page was not resident; uprobes cannot fault it in
};

struct DataRecord {
  uint64_t ts_ns = 0;  // wall clock, Unix epoch, at the call's return
  // At the call's entry (0: not known). A write's bytes left between the two: the HTTP view
  // times a request or response sent from its entry (a thread descheduled after its send
  // syscall returns late, after the peer's answer).
  uint64_t entry_ts_ns = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t uid = 0;
  std::string_view comm{};
  std::string_view library;
  std::string_view function;
  Direction direction = Direction::read;
  uint64_t len = 0;       // bytes the call transferred
  std::string_view data;  // bytes captured: all `len` of them unless truncated
  Truncation truncation = Truncation::none;
  const Connection* connection = nullptr;  // null when connection tracking is off
  uint64_t pos = 0;  // offset of data's first byte in this direction of the connection

  bool truncated() const { return truncation != Truncation::none; }
};

struct LostRecord {
  uint64_t events = 0;
  uint64_t bytes = 0;
  bool bytes_known = true;
  // A call that was already in flight when tlstap attached returned unseen on `connection`
  // (its size is not known): the records of that connection miss its bytes.
  bool unseen_call = false;
  Direction direction = Direction::read;
  const Connection* connection = nullptr;
  // Who made the unseen call, when its return was seen on its own (Go): pid 0 when not known.
  uint64_t ts_ns = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  std::string_view comm{};
};

// A traced connection was closed (or its process exited); its state is freed after this.
struct CloseRecord {
  uint64_t ts_ns = 0;
  uint32_t pid = 0;
  const Connection* connection = nullptr;
};

// One HTTP exchange a protocol view parsed from a connection (--http).
struct HttpRecord {
  const http::Exchange* exchange = nullptr;
  uint64_t ts_ns = 0;  // when it was reported: the last byte of the exchange seen
  uint32_t pid = 0;
  std::string_view comm{};
  const Connection* connection = nullptr;  // never null
};

// Bytes of a connection a protocol view could not parse (loss, not HTTP, after a protocol
// switch), or HTTP/2 streams it could not decode.
struct HttpSkipRecord {
  const http::Skip* skip = nullptr;
  uint64_t ts_ns = 0;
  uint32_t pid = 0;
  std::string_view comm{};
  const Connection* connection = nullptr;  // never null
  Direction direction = Direction::read;   // the direction the skipped bytes travelled
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void data(const DataRecord& record) = 0;
  virtual void lost(const LostRecord& record) = 0;
  // Sinks with nothing to say about a connection's end need not override this.
  virtual void close(const CloseRecord& record) { (void)record; }
  // Protocol views (--http); sinks that do not show them need not override these. A sink
  // that passes records on to another forwards them.
  virtual void http(const HttpRecord& record) { (void)record; }
  virtual void http_skip(const HttpSkipRecord& record) { (void)record; }
};

std::string_view direction_name(Direction direction);
std::string_view truncation_name(Truncation truncation);

}  // namespace tlstap
