// Fuzzes the path of ring-buffer events through user space: EventRouter -> Reassembler (with
// the ConnectionTracker) -> the JSON, text and hex sinks, then finish_all. Every record is
// checked against the record invariants and its JSON line is parsed back.
//
// Input: a sequence of operations, each starting with one byte:
//   0: a raw event: u16 size, then that many bytes, delivered as is (8-byte aligned, like
//      the ring buffer's records);
//   1: a data chunk built from a few input bytes (so the fuzzer reaches multi-chunk calls,
//      gaps, truncation and faults without guessing 144-byte headers); its data is a
//      counted run of input bytes (at most 255) followed by a filler up to chunk_len;
//   2: a process event (exec, mmap, exit) or a connection close event;
//   3: Reassembler::expire with a fuzzed clock.
// Process ids are mapped above pid_max, so the ConnectionTracker's /proc lookups find no
// process (a real one would make runs depend on the machine).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../unit/base64_decode.h"  // the tests' own decoder
#include "capture/abi_check.h"
#include "capture/event_router.h"
#include "capture/reassembler.h"
#include "capture/wall_clock.h"
#include "conn/connection.h"
#include "conn/connection_tracker.h"
#include "fuzz_check.h"
#include "output/output_stream.h"
#include "output/sinks.h"

namespace {

using namespace tlstap;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u24() { return u16() | (uint32_t{u8()} << 16); }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= uint64_t{u8()} << (8 * i);
    return v;
  }
  // Up to `n` bytes (fewer at the end of the input).
  std::pair<const uint8_t*, size_t> bytes(size_t n) {
    size_t take = std::min(n, size_ - std::min(pos_, size_));
    const uint8_t* start = data_ + std::min(pos_, size_);
    pos_ += take;
    return {start, take};
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

constexpr uint32_t kPidBase = 0x40000000;  // above any pid_max (at most 2^22)

uint32_t safe_pid(uint32_t pid) { return kPidBase | (pid & 0xff); }

bool printable(std::string_view text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return false;
  }
  return true;
}

using test::base64_decode;

// The three encoders, each on its own stream (fd 1, pointed at /dev/null), and checks of
// what each record became.
class CheckingSink final : public RecordSink {
 public:
  CheckingSink()
      : json_stream_(OutputStream::standard_output()),
        text_stream_(OutputStream::standard_output()),
        hex_stream_(OutputStream::standard_output()),
        json_(make_sink(OutputFormat::json, json_stream_)),
        text_(make_sink(OutputFormat::text, text_stream_)),
        hex_(make_sink(OutputFormat::hex, hex_stream_)) {}

  void data(const DataRecord& r) override {
    FUZZ_CHECK(r.data.size() <= r.len);
    FUZZ_CHECK(r.data.size() <= TLSTAP_MAX_CAPTURE_BYTES);
    if (!r.truncated()) FUZZ_CHECK(r.data.size() == r.len);
    FUZZ_CHECK(r.connection != nullptr);  // the tracker gives every record a connection

    // Big records are encoded but checked only by JSON framing: the encoders have their own
    // fuzzer, and parsing megabytes per input would slow this one to a crawl.
    const bool small = r.data.size() <= 4096;
    size_t json_before = json_stream_.buffer().size();
    json_->data(r);
    if (json_stream_.buffer().size() > json_before && !small) {
      std::string_view line(json_stream_.buffer());
      line = line.substr(json_before);
      FUZZ_CHECK(line.starts_with("{\"type\":\"data\"") && line.ends_with("}\n"));
      FUZZ_CHECK(line.find('\n') == line.size() - 1);
    } else if (json_stream_.buffer().size() > json_before) {  // else flushed: nothing to see
      std::string_view line(json_stream_.buffer());
      line = line.substr(json_before);
      FUZZ_CHECK(line.back() == '\n');
      nlohmann::json object = nlohmann::json::parse(line);  // throws (aborts) if invalid
      FUZZ_CHECK(object.at("type") == "data");
      FUZZ_CHECK(object.at("len").get<uint64_t>() == r.len);
      FUZZ_CHECK(object.at("truncated").get<bool>() == r.truncated());
      std::optional<std::string> decoded = base64_decode(object.at("data").get<std::string>());
      FUZZ_CHECK(decoded && *decoded == r.data);
      FUZZ_CHECK(object.at("conn").get<std::string>() == r.connection->id);
    }
    if (debug_) fprintf(stderr, "%s", json_stream_.buffer().c_str());
    json_stream_.buffer().clear();

    if (!small) {
      text_stream_.buffer().clear();
      return;
    }
    size_t text_before = text_stream_.buffer().size();
    text_->data(r);
    // Known bug (see the unit test TextSink.DISABLED_CommIsTerminalSafe): comm and a Unix
    // socket path are printed raw. Checked only when those are printable.
    if (text_stream_.buffer().size() > text_before && printable(r.comm) &&
        printable(r.connection->laddr) && printable(r.connection->raddr)) {
      std::string_view text(text_stream_.buffer());
      for (char c : text.substr(text_before)) {
        auto u = static_cast<unsigned char>(c);
        FUZZ_CHECK(u == '\n' || u == '\t' || (u >= 0x20 && u < 0x7f));
      }
    }
    text_stream_.buffer().clear();
    hex_->data(r);
    hex_stream_.buffer().clear();
  }

  // Ring-buffer losses come from BPF's counters, not from this path; the only lost records
  // the event path makes are calls that were in flight at attach: either said on their
  // connection without a byte count (never a guessed one), or, when BPF saw such a call's
  // return on its own (Go), with the size it returned, the process and no connection.
  // Every encoder must take both.
  void lost(const LostRecord& r) override {
    FUZZ_CHECK(r.unseen_call && r.events == 1);
    const bool size_from_return = r.bytes_known;
    if (size_from_return) {
      FUZZ_CHECK(r.connection == nullptr);
    } else {
      FUZZ_CHECK(r.connection != nullptr);
    }
    size_t json_before = json_stream_.buffer().size();
    json_->lost(r);
    nlohmann::json object =
        nlohmann::json::parse(std::string_view(json_stream_.buffer()).substr(json_before));
    FUZZ_CHECK(object.at("type") == "lost" && object.contains("bytes") == size_from_return);
    FUZZ_CHECK(object.at("reason") == "in-flight-at-attach");
    json_stream_.buffer().clear();
    text_->lost(r);
    text_stream_.buffer().clear();
    hex_->lost(r);
    hex_stream_.buffer().clear();
  }

  void close(const CloseRecord& r) override {
    FUZZ_CHECK(r.connection != nullptr);
    size_t json_before = json_stream_.buffer().size();
    json_->close(r);
    std::string_view line(json_stream_.buffer());
    nlohmann::json object = nlohmann::json::parse(line.substr(json_before));
    FUZZ_CHECK(object.at("type") == "close");
    if (debug_) fprintf(stderr, "%s", json_stream_.buffer().c_str() + json_before);
    text_->close(r);
    hex_->close(r);
    clear();
  }

 private:
  void clear() {
    json_stream_.buffer().clear();
    text_stream_.buffer().clear();
    hex_stream_.buffer().clear();
  }

  // TLSTAP_FUZZ_DEBUG=1 prints each JSON record on stderr (to look at what an input does).
  const bool debug_ = std::getenv("TLSTAP_FUZZ_DEBUG") != nullptr;
  OutputStream json_stream_, text_stream_, hex_stream_;
  std::unique_ptr<RecordSink> json_, text_, hex_;
};

// Hands `size` bytes to the router from a heap block of exactly that size (malloc aligns
// like the ring buffer does), so AddressSanitizer sees any read past the event's end.
void deliver(EventRouter& router, const void* event, size_t size) {
  void* copy = std::malloc(size ? size : 1);
  if (size) std::memcpy(copy, event, size);
  router.on_event(copy, size);
  std::free(copy);
}

// Where events are built before delivery; big enough for any of them.
struct Scratch {
  alignas(8) uint8_t bytes[sizeof(tlstap_data_event) + 64];
  template <typename Event>
  Event* clear() {
    std::memset(bytes, 0, sizeof(Event));
    return reinterpret_cast<Event*>(bytes);
  }
};

void raw_event(Input& in, EventRouter& router, Scratch& scratch) {
  size_t size = in.u16() % sizeof(scratch.bytes);
  auto [bytes, available] = in.bytes(size);
  std::memset(scratch.bytes, 0, size);
  if (available) std::memcpy(scratch.bytes, bytes, available);
  if (size >= sizeof(tlstap_event_header)) {
    auto* header = reinterpret_cast<tlstap_event_header*>(scratch.bytes);
    header->pid = safe_pid(header->pid);
  }
  deliver(router, scratch.bytes, size);
}

void data_chunk(Input& in, EventRouter& router, Scratch& scratch,
                std::map<uint64_t, uint64_t>& next_offset) {
  uint8_t shape = in.u8();
  auto* event = scratch.clear<tlstap_data_event>();
  event->header.kind = TLSTAP_EVENT_DATA;
  event->header.pid = safe_pid(in.u8() & 3);
  event->tid = 1 + (in.u8() & 3);
  event->uid = 1000;
  event->call_id = in.u8() & 7;
  event->ts_ns = in.u64();
  event->ssl = 0x1000 + (in.u8() & 3);
  // Lengths up to 64 KiB unless the shape asks for any 64-bit value: the reassembler reserves
  // capture_len bytes up front, and megabyte reservations per input make runs slow.
  event->call_len = (shape & 0x80) ? in.u64() : in.u16();
  event->capture_len =
      (shape & 0x40) ? event->call_len : std::min<uint64_t>(event->call_len, in.u16());
  switch (shape & 3) {
    case 0: event->offset = 0; break;
    case 1: event->offset = next_offset[event->call_id]; break;  // what comes next
    case 2: event->offset = in.u24(); break;
    default: event->offset = next_offset[event->call_id] + (in.u8() & 0xf) - 8; break;
  }
  // Mostly small chunks (encoding big records is what a run would spend its time on);
  // full-size ones when the shape says so.
  uint32_t chunk_len = (shape & 0x04) ? in.u16() % (TLSTAP_CHUNK_BYTES + 1) : in.u8();
  event->chunk_len = chunk_len;
  event->function = in.u8() % 6;
  event->direction = in.u8() & 1;
  event->flags = (shape & 0x20) ? TLSTAP_CHUNK_READ_FAULT : 0;
  event->pos = in.u16();
  static const uint16_t kFamilies[] = {0, AF_INET, AF_INET6, AF_UNIX, 0xffff};
  uint8_t conn = in.u8();
  event->conn.fd = static_cast<int32_t>((conn & 7) % 5) - 1;
  event->conn.family = kFamilies[((conn >> 3) & 7) % 5];
  event->conn.lport = in.u16();
  event->conn.rport = (conn & 0x80) ? 0 : 443;
  event->conn.laddr[0] = 127;
  event->conn.laddr[3] = 1;
  event->conn.raddr[0] = in.u8();
  const char* comm = (shape & 0x10) ? "curl\x1b[2J" : "python3";  // a hostile name, or not
  std::memcpy(event->comm, comm, std::strlen(comm) + 1);
  // The chunk's bytes: up to a counted number from the input, then a filler.
  auto [bytes, available] = in.bytes(std::min<uint32_t>(chunk_len, in.u8()));
  if (available) std::memcpy(event->data, bytes, available);
  std::memset(event->data + available, 'x', chunk_len - available);
  next_offset[event->call_id] = event->offset + chunk_len;

  size_t size = kDataEventHeaderBytes + chunk_len;
  if (shape & 0x08) size -= std::min<size_t>(size, 1 + (in.u8() & 7));  // a short event
  deliver(router, event, size);
}

void process_event(Input& in, EventRouter& router, Scratch& scratch) {
  uint8_t kind = in.u8();
  uint32_t pid = safe_pid(in.u8() & 3);
  if (kind % 5 == 4) {  // a memory-BIO SSL* matched to its socket
    auto* event = scratch.clear<tlstap_ssl_bound_event>();
    event->header.kind = TLSTAP_EVENT_SSL_BOUND;
    event->header.pid = pid;
    event->ssl = 0x1000 + (in.u8() & 3);
    event->conn.fd = static_cast<int32_t>(in.u8() % 4);
    event->conn.family = AF_INET;
    deliver(router, event, sizeof(*event) - ((kind & 0x80) ? 1 : 0));
    return;
  }
  if (kind % 5 == 3) {
    auto* event = scratch.clear<tlstap_close_event>();
    event->header.kind = TLSTAP_EVENT_CLOSE;
    event->header.pid = pid;
    event->ssl = 0x1000 + (in.u8() & 3);
    event->bytes[0] = in.u24();
    event->bytes[1] = in.u24();
    uint8_t conn = in.u8();
    event->conn.fd = static_cast<int32_t>((conn & 7) % 5) - 1;
    event->conn.family = (conn & 8) ? AF_INET : 0;
    deliver(router, event, sizeof(*event) - ((kind & 0x80) ? 1 : 0));
    return;
  }
  auto* event = scratch.clear<tlstap_process_event>();
  event->header.kind = TLSTAP_EVENT_EXEC + kind % 3;
  event->header.pid = pid;
  deliver(router, event, sizeof(*event) - ((kind & 0x80) ? 1 : 0));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The sinks write to fd 1 when their buffer fills; libFuzzer reports on stderr.
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, STDOUT_FILENO);
    close(devnull);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const WallClock clock;
  // One set of encoders for the whole run: their streams reserve 1 MiB buffers.
  static CheckingSink& sink = *new CheckingSink;
  Input in(data, size);
  ConnectionTracker connections;
  Reassembler reassembler(sink, clock, &connections);
  ProcessEvents events;
  events.changed = [](pid_t, bool) {};
  events.exited = [&](pid_t pid, uint64_t) {
    reassembler.on_process_exit(static_cast<uint32_t>(pid));
    connections.on_process_exit(static_cast<uint32_t>(pid), 0, sink);
  };
  events.connection_closed = [&](const tlstap_close_event& event) {
    reassembler.on_close(event);
    connections.on_close(event, 0, sink);
  };
  events.ssl_bound = [&](const tlstap_ssl_bound_event& event) { reassembler.on_ssl_bound(event); };
  EventRouter router(reassembler, std::move(events));
  static Scratch& scratch = *new Scratch;
  std::map<uint64_t, uint64_t> next_offset;

  while (!in.empty()) {
    switch (in.u8() % 4) {
      case 0: raw_event(in, router, scratch); break;
      case 1: data_chunk(in, router, scratch, next_offset); break;
      case 2: process_event(in, router, scratch); break;
      default: {
        uint64_t now = clock_ns(CLOCK_MONOTONIC) + uint64_t{in.u16()} * 1'000'000;
        reassembler.expire(now, uint64_t{in.u8()} * 10'000'000);
        break;
      }
    }
  }
  reassembler.finish_all();
  FUZZ_CHECK(reassembler.pending_calls() == 0);
  FUZZ_CHECK(reassembler.calls_waiting_for_socket() == 0);
  // Every process exits: every connection is closed, once.
  for (uint32_t pid = 0; pid < 256; pid++) connections.on_process_exit(safe_pid(pid), 0, sink);
  FUZZ_CHECK(connections.open_connections() == 0);
  return 0;
}
