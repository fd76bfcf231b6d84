#include "capture/reassembler.h"

#include "stacks/registry.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace tlstap {

CallMeta Reassembler::meta_of(const tlstap_data_event& event) {
  CallMeta meta{};
  meta.pid = event.header.pid;
  meta.tid = event.tid;
  meta.uid = event.uid;
  meta.ts_ns = event.ts_ns;
  meta.entry_ns = event.entry_ns;
  meta.call_len = event.call_len;
  meta.capture_len = event.capture_len;
  meta.ssl = event.ssl;
  meta.pos = event.pos;
  meta.start_time_ns = event.start_time_ns;
  meta.function = event.function;
  meta.direction = event.direction;
  meta.call_flags = event.call_flags;
  meta.conn = event.conn;
  std::memcpy(meta.comm, event.comm, sizeof(meta.comm));
  meta.comm[TLSTAP_COMM_LEN - 1] = 0;
  return meta;
}

void Reassembler::emit(const CallMeta& meta, std::string_view bytes, Truncation truncation) {
  if (connections_) {
    if (meta.conn.fd < 0) {
      if (binding_hold_.hold(meta, bytes, truncation, clock_ns(CLOCK_MONOTONIC))) return;
    }
    binding_hold_.flush(meta.pid, meta.ssl);  // earlier records of this SSL* go first
  }
  emit_now(meta, bytes, truncation);
}

void Reassembler::emit_now(const CallMeta& meta, std::string_view bytes, Truncation truncation) {
  if (truncation == Truncation::none && bytes.size() < meta.call_len) {
    truncation = Truncation::max_bytes;
  }
  DataRecord record;
  record.ts_ns = clock_.from_monotonic(meta.ts_ns);
  if (meta.entry_ns) record.entry_ts_ns = clock_.from_monotonic(meta.entry_ns);
  record.pid = meta.pid;
  record.tid = meta.tid;
  record.uid = meta.uid;
  record.comm = std::string_view(meta.comm, strnlen(meta.comm, sizeof(meta.comm)));
  if (std::optional<StackFunction> probed = function_by_id(meta.function)) {
    record.library = probed->stack->name;
    record.function = probed->function->symbol;
  } else {
    record.library = "unknown";  // BPF and user space disagree: said, not hidden
    record.function = "unknown";
  }
  record.direction = meta.direction == TLSTAP_DIR_WRITE ? Direction::write : Direction::read;
  record.len = meta.call_len;
  record.data = bytes;
  record.truncation = truncation;
  record.pos = meta.pos;
  if (connections_) {
    Connection* connection =
        connections_->resolve(meta.pid, meta.start_time_ns, meta.ssl, meta.conn);
    connections_->count(*connection, record.direction, meta.pos, meta.call_len);
    if (connection->comm != record.comm) connection->comm = record.comm;  // rarely changes
    record.connection = connection;
    if (meta.call_flags & TLSTAP_CALL_AFTER_UNSEEN_READ) {
      LostRecord unseen;
      unseen.events = 1;
      unseen.bytes_known = false;
      unseen.unseen_call = true;
      unseen.direction = Direction::read;
      unseen.connection = connection;
      sink_.lost(unseen);
    }
  }
  sink_.data(record);
}

void Reassembler::finish(uint64_t call_id, Truncation truncation) {
  auto it = pending_.find(call_id);
  if (it == pending_.end()) return;
  PendingCall call = std::move(it->second);
  pending_.erase(it);
  auto by_tid = pending_by_tid_.find(call.meta.tid);
  if (by_tid != pending_by_tid_.end() && by_tid->second == call_id) pending_by_tid_.erase(by_tid);
  emit(call.meta, call.bytes, truncation);
}

void Reassembler::report_unseen_return(const tlstap_data_event& event) {
  LostRecord unseen;
  unseen.events = 1;
  unseen.bytes = event.call_len;
  unseen.unseen_call = true;
  unseen.direction = event.direction == TLSTAP_DIR_WRITE ? Direction::write : Direction::read;
  unseen.ts_ns = clock_.from_monotonic(event.ts_ns);
  unseen.pid = event.header.pid;
  unseen.tid = event.tid;
  unseen.comm = std::string_view(event.comm, strnlen(event.comm, sizeof(event.comm)));
  sink_.lost(unseen);
}

void Reassembler::on_chunk(const tlstap_data_event& event, std::span<const uint8_t> bytes) {
  if (event.call_flags & TLSTAP_CALL_RETURNED_UNSEEN) return report_unseen_return(event);
  std::string_view chunk(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const bool fault = (event.flags & TLSTAP_CHUNK_READ_FAULT) != 0;

  // A thread's calls are sequential and each call's chunks precede the next call's in the
  // ring: an older incomplete call of this thread will receive nothing more.
  auto older = pending_by_tid_.find(event.tid);
  if (older != pending_by_tid_.end() && older->second != event.call_id) {
    finish(older->second, Truncation::ring_buffer_full);
  }

  if (event.offset == 0) {
    if (pending_.count(event.call_id) != 0 || event.capture_len > TLSTAP_MAX_CAPTURE_BYTES ||
        event.capture_len > event.call_len) {
      malformed_chunks_++;
      return;
    }
    CallMeta meta = meta_of(event);
    if (fault || chunk.size() >= event.capture_len) {  // the common case: one chunk, no copy
      emit(meta, chunk.substr(0, event.capture_len),
           fault ? Truncation::page_fault : Truncation::none);
      return;
    }
    PendingCall& call = pending_[event.call_id];
    call.meta = meta;
    // Grow with what arrives rather than reserving up to --max-bytes per thread up front.
    call.bytes.reserve(std::min<uint64_t>(event.capture_len, 4 << 20));
    call.bytes.assign(chunk);
    call.last_chunk_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
    pending_by_tid_[event.tid] = event.call_id;
    return;
  }

  auto it = pending_.find(event.call_id);
  if (it == pending_.end()) {
    malformed_chunks_++;  // its first chunk never arrived: BPF stops a call at its first loss
    return;
  }
  PendingCall& call = it->second;
  if (event.offset != call.bytes.size()) {
    malformed_chunks_++;
    finish(event.call_id, Truncation::ring_buffer_full);
    return;
  }
  size_t room = call.meta.capture_len - call.bytes.size();
  call.bytes.append(chunk.substr(0, room));
  call.last_chunk_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
  if (fault) {
    finish(event.call_id, Truncation::page_fault);
  } else if (call.bytes.size() == call.meta.capture_len) {
    finish(event.call_id, Truncation::none);
  }
}

void Reassembler::expire(uint64_t now_monotonic_ns, uint64_t quiet_ns) {
  std::vector<uint64_t> quiet;
  for (const auto& [call_id, call] : pending_) {
    if (now_monotonic_ns > call.last_chunk_monotonic_ns + quiet_ns) quiet.push_back(call_id);
  }
  for (uint64_t call_id : quiet) finish(call_id, Truncation::ring_buffer_full);
  binding_hold_.expire(now_monotonic_ns);
}

void Reassembler::finish_all() {
  while (!pending_.empty()) finish(pending_.begin()->first, Truncation::ring_buffer_full);
  binding_hold_.flush_all();
}

void Reassembler::on_ssl_bound(const tlstap_ssl_bound_event& event) {
  binding_hold_.bound(event.header.pid, event.ssl, event.conn);
}

}  // namespace tlstap
