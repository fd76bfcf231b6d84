// Chunks of one SSL call -> one record. BPF sends a call as chunks with the same call_id
// and increasing offsets; chunks of different calls (other CPUs) interleave. A call whose
// later chunks were lost (ring buffer full) becomes a truncated record; the loss itself is
// reported from BPF's counters, so nothing disappears without a trace.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>

#include "capture/wall_clock.h"
#include "conn/connection_tracker.h"
#include "output/record.h"
#include "tlstap/abi.h"

namespace tlstap {

class Reassembler {
 public:
  // `connections` (optional) gives each record its connection and position.
  Reassembler(RecordSink& sink, WallClock clock, ConnectionTracker* connections = nullptr)
      : sink_(sink), clock_(clock), connections_(connections) {}

  // One data event as BPF sent it; `bytes` are the chunk's data, already checked to lie
  // within the event.
  void on_chunk(const tlstap_data_event& event, std::span<const uint8_t> bytes);

  // Emits calls that received no chunk for `quiet_ns` before `now_monotonic_ns`: all chunks
  // of a call are sent within one uprobe run and read in ring order, so an incomplete call
  // that stays quiet lost its tail.
  void expire(uint64_t now_monotonic_ns, uint64_t quiet_ns);
  // Emits every incomplete call (at exit).
  void finish_all();

  size_t pending_calls() const { return pending_.size(); }
  // Chunks that contradict the protocol (no first chunk, a gap); counted, never trusted.
  uint64_t malformed_chunks() const { return malformed_chunks_; }

 private:
  // What a record needs of the call, copied from its first chunk.
  struct CallMeta {
    uint32_t pid, tid, uid;
    uint64_t ts_ns, call_len, capture_len, ssl, pos;
    uint8_t function, direction;
    tlstap_conn_info conn;
    char comm[TLSTAP_COMM_LEN];
  };
  struct PendingCall {
    CallMeta meta;
    std::string bytes;
    uint64_t last_chunk_monotonic_ns;  // arrival in user space
  };

  static CallMeta meta_of(const tlstap_data_event& event);
  void emit(const CallMeta& meta, std::string_view bytes, Truncation truncation);
  void finish(uint64_t call_id, Truncation truncation);

  RecordSink& sink_;
  WallClock clock_;
  ConnectionTracker* connections_;
  std::unordered_map<uint64_t, PendingCall> pending_;      // by call_id
  std::unordered_map<uint32_t, uint64_t> pending_by_tid_;  // a thread has one call at a time
  uint64_t malformed_chunks_ = 0;
};

std::string_view function_name(uint8_t function);

}  // namespace tlstap
