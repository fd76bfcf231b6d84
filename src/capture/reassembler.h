// Chunks of one SSL call -> one record. BPF sends a call as chunks with the same call_id
// and increasing offsets; chunks of different calls (other CPUs) interleave. A call whose
// later chunks were lost (ring buffer full) becomes a truncated record; the loss itself is
// reported from BPF's counters, so nothing disappears without a trace.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>

#include "capture/binding_hold.h"
#include "capture/call.h"
#include "capture/wall_clock.h"
#include "conn/connection_tracker.h"
#include "output/record.h"
#include "tlstap/abi.h"

namespace tlstap {

class Reassembler {
 public:
  // `connections` (optional) gives each record its connection and position.
  Reassembler(RecordSink& sink, WallClock clock, ConnectionTracker* connections = nullptr)
      : sink_(sink),
        clock_(clock),
        connections_(connections),
        binding_hold_(kBindingWindowNs, kBindingHoldMaxBytes, [this](HeldCall&& call) {
          emit_now(call.meta, call.bytes, call.truncation);
        }) {}

  // How long records of a memory-BIO SSL* wait for its socket, and how many bytes may wait.
  static constexpr uint64_t kBindingWindowNs = 1'000'000'000;
  static constexpr size_t kBindingHoldMaxBytes = 64 << 20;

  // One data event as BPF sent it; `bytes` are the chunk's data, already checked to lie
  // within the event.
  void on_chunk(const tlstap_data_event& event, std::span<const uint8_t> bytes);

  // Emits calls that received no chunk for `quiet_ns` before `now_monotonic_ns`: all chunks
  // of a call are sent within one uprobe run and read in ring order, so an incomplete call
  // that stays quiet lost its tail.
  void expire(uint64_t now_monotonic_ns, uint64_t quiet_ns);
  // Emits every incomplete call and every call waiting for its socket (at exit).
  void finish_all();

  // A memory-BIO SSL* was matched to its socket (bpf/conn.bpf.h).
  void on_ssl_bound(const tlstap_ssl_bound_event& event);
  // Records of `pid` still waiting go out before its connections' close records.
  void on_process_exit(uint32_t pid) { binding_hold_.flush_process(pid); }
  // Waiting records of the closed connection's SSL* go out before its close record.
  void on_close(const tlstap_close_event& event) {
    binding_hold_.bound(event.header.pid, event.ssl, event.conn);
  }
  size_t calls_waiting_for_socket() const { return binding_hold_.held_calls(); }

  size_t pending_calls() const { return pending_.size(); }
  // Chunks that contradict the protocol (no first chunk, a gap); counted, never trusted.
  uint64_t malformed_chunks() const { return malformed_chunks_; }

 private:
  struct PendingCall {
    CallMeta meta;
    std::string bytes;
    uint64_t last_chunk_monotonic_ns;  // arrival in user space
  };

  static CallMeta meta_of(const tlstap_data_event& event);
  // A call in flight at attach returned, its size known but not its bytes or connection.
  void report_unseen_return(const tlstap_data_event& event);
  void emit(const CallMeta& meta, std::string_view bytes, Truncation truncation);
  void emit_now(const CallMeta& meta, std::string_view bytes, Truncation truncation);
  void finish(uint64_t call_id, Truncation truncation);

  RecordSink& sink_;
  WallClock clock_;
  ConnectionTracker* connections_;
  std::unordered_map<uint64_t, PendingCall> pending_;      // by call_id
  std::unordered_map<uint32_t, uint64_t> pending_by_tid_;  // a thread has one call at a time
  uint64_t malformed_chunks_ = 0;
  BindingHold binding_hold_;
};

}  // namespace tlstap
