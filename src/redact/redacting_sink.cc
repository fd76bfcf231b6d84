#include "redact/redacting_sink.h"

#include <cstring>

#include "conn/connection.h"
#include "protocols/http2/frame.h"
#include "protocols/protocol_detection.h"
#include "redact/http1_header_redactor.h"
#include "redact/http2_header_redactor.h"

namespace tlstap::redact {
namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// Frames this large are not HTTP/2 (RFC 9113 allows up to 2^24-1; senders keep to far less).
constexpr uint32_t kMaxFrameSize = 1 << 24;

size_t index(Direction direction) { return direction == Direction::read ? 0 : 1; }

// A server's first bytes on an HTTP/2 connection: a SETTINGS frame on stream 0 (RFC 9113
// §3.4). The whole frame header is needed: fewer bytes prove nothing (a text line's first
// bytes would pass).
bool begins_with_settings_frame(std::string_view bytes) {
  static constexpr uint8_t kSettings = 4;
  if (bytes.size() < 9) return false;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  if (byte(3) != kSettings || (byte(4) & ~1u) != 0) return false;  // no flag but ACK
  for (size_t i = 5; i < 9; i++)
    if (byte(i) != 0) return false;  // stream 0
  uint32_t length = (byte(0) << 16) | (byte(1) << 8) | byte(2);
  return length % 6 == 0;  // settings are 6 bytes each
}

// The client's preface, whole or (a record that short) its first 4 bytes at least.
bool begins_with_preface(std::string_view bytes) {
  size_t n = std::min(bytes.size(), kPreface.size());
  return n >= 4 && bytes.substr(0, n) == kPreface.substr(0, n);
}

bool begins_with_start_line(std::string_view bytes) {
  http::FirstBytes first = http::classify_first_bytes(bytes);
  return first == http::FirstBytes::http1_request || first == http::FirstBytes::http1_response;
}

void add(RedactCounts& sum, const RedactCounts& counts) {
  sum.values_masked += counts.values_masked;
  sum.bytes_masked += counts.bytes_masked;
  sum.bytes_masked_unparsed += counts.bytes_masked_unparsed;
}

}  // namespace

RedactingSink::RedactingSink(RecordSink& next, RedactNames names, RedactingSinkLimits limits)
    : next_(next), names_(std::move(names)), limits_(limits) {}

RedactingSink::~RedactingSink() = default;

std::unique_ptr<StreamRedactor> RedactingSink::make_redactor(Protocol protocol,
                                                             std::string_view first_bytes,
                                                             bool from_start) const {
  if (protocol == Protocol::http2) return std::make_unique<Http2HeaderRedactor>(names_, from_start);
  // A record that begins with a start line begins a line, wherever it is in the stream.
  return std::make_unique<Http1HeaderRedactor>(names_,
                                               from_start || begins_with_start_line(first_bytes));
}

void RedactingSink::switch_protocol(ConnectionState& state, Protocol protocol) {
  // What was held goes out first, masked where undecided; both directions start over.
  release_all(state);
  for (Stream& stream : state.streams) {
    if (stream.redactor) add(retired_, stream.redactor->counts());
    stream.redactor.reset();
    stream.gap_pending = false;
  }
  state.protocol = protocol;
  state.guessed = false;
}

void RedactingSink::decide_protocol(ConnectionState& state, const DataRecord& record,
                                    bool from_start) {
  const bool whole_frames = http2::is_whole_frames(record.data, kMaxFrameSize);
  const bool start_line = begins_with_start_line(record.data);
  if (state.protocol == Protocol::unproven) {
    // Masked whole until a record shows what the connection speaks.
    if (whole_frames) {
      switch_protocol(state, Protocol::http2);
    } else if (start_line) {
      switch_protocol(state, Protocol::http1);
    }
    return;
  }
  if (state.protocol == Protocol::http1 && state.guessed) {
    // A connection whose first record was too short to tell was taken for text: its first
    // bytes, or whole frames, may still show HTTP/2.
    std::string& first = state.first_bytes[index(record.direction)];
    if (record.pos == first.size() && first.size() < kPreface.size()) {
      first.append(record.data.substr(0, kPreface.size() - first.size()));
    }
    if (whole_frames || first.starts_with(kPreface) || begins_with_settings_frame(first)) {
      switch_protocol(state, Protocol::http2);
    } else if (first.size() >= kPreface.size()) {
      state.guessed = false;
    }
    return;
  }
  if (state.protocol != Protocol::unknown) return;
  if (from_start) {
    bool http2 = begins_with_preface(record.data) || begins_with_settings_frame(record.data);
    state.protocol = http2 ? Protocol::http2 : Protocol::http1;
    // Too few bytes to tell: taken for text until its first bytes or whole frames say more.
    state.guessed = !http2 && record.data.size() < 9;
    if (state.guessed) state.first_bytes[index(record.direction)] = record.data;
  } else if (whole_frames) {
    state.protocol = Protocol::http2;
  } else if (start_line) {
    state.protocol = Protocol::http1;
  } else {
    // Joined midstream, neither a start line nor whole frames: HTTP/2 read in pieces (Go reads
    // a frame's header and its payload apart) looks like this, and HPACK is no text the line
    // redactor could see into. Masked until proven.
    state.protocol = Protocol::unproven;
  }
}

void RedactingSink::data(const DataRecord& record) {
  expire(record.ts_ns);
  if (!record.connection) {
    redact_unconnected(record);
    return;
  }
  ConnectionState& state = connections_[record.connection->id];
  const bool from_start = record.pos == 0 && !record.connection->midstream;
  if (!record.data.empty()) decide_protocol(state, record, from_start);

  Held& held = state.held.emplace_back();
  held.data = record;
  held.bytes.assign(record.data);
  held.comm.assign(record.comm);
  held.library.assign(record.library);
  held.function.assign(record.function);
  held.data->data = held.bytes;
  held.data->comm = held.comm;
  held.data->library = held.library;
  held.data->function = held.function;
  state.held_bytes += held.bytes.size();
  held_bytes_ += held.bytes.size();
  if (state.protocol != Protocol::unknown) feed(state, held);
  release_decided(state);
  if (!state.held.empty()) holding_.insert(record.connection->id);
}

void RedactingSink::feed(ConnectionState& state, Held& held) {
  DataRecord& record = *held.data;
  Stream& stream = state.streams[index(record.direction)];
  if (state.protocol == Protocol::unproven) {
    std::memset(held.bytes.data(), '*', held.bytes.size());
    retired_.bytes_masked_unparsed += held.bytes.size();
    stream.next_pos = record.pos + record.len;
    return;
  }
  const bool gap = stream.redactor && (record.pos != stream.next_pos || stream.gap_pending);
  if (gap && state.protocol == Protocol::http1 && begins_with_start_line(held.bytes)) {
    // After the loss a message begins: its lines are known again.
    add(retired_, stream.redactor->counts());
    stream.redactor.reset();
  }
  if (!stream.redactor) {
    const bool from_start = record.pos == 0 && !record.connection->midstream;
    stream.redactor = make_redactor(state.protocol, held.bytes, from_start);
  } else if (gap) {
    stream.redactor->gap();
  }
  stream.gap_pending = false;
  stream.redactor->feed(record.pos, std::span<char>(held.bytes.data(), held.bytes.size()),
                        patch_held(state, record.direction));
  // The call's other bytes were not captured: the next record follows a gap.
  if (record.truncated()) stream.gap_pending = true;
  stream.next_pos = record.pos + record.len;
}

StreamRedactor::Patch RedactingSink::patch_held(ConnectionState& state, Direction direction) {
  // A late decision lands on whichever held records of that direction hold those bytes.
  return [&state, direction](uint64_t pos, std::string_view masked) {
    for (Held& held : state.held) {
      if (!held.data || held.data->direction != direction) continue;
      uint64_t begin = std::max(pos, held.data->pos);
      uint64_t end = std::min(pos + masked.size(), held.data->pos + held.bytes.size());
      if (begin >= end) continue;
      std::memcpy(held.bytes.data() + (begin - held.data->pos), masked.data() + (begin - pos),
                  end - begin);
    }
  };
}

void RedactingSink::release_decided(ConnectionState& state) {
  while (!state.held.empty()) {
    Held& front = state.held.front();
    if (front.data) {
      const Stream& stream = state.streams[index(front.data->direction)];
      // Not fed (its connection's protocol unknown: it held no bytes) or fully decided.
      bool decided = !stream.redactor || front.bytes.empty() ||
                     stream.redactor->decided_until() >= front.data->pos + front.bytes.size();
      if (!decided) return;
    }
    emit(front);
    state.held_bytes -= front.bytes.size();
    held_bytes_ -= front.bytes.size();
    state.held.pop_front();
  }
}

void RedactingSink::release_all(ConnectionState& state) {
  for (int d = 0; d < 2; d++) {
    Stream& stream = state.streams[d];
    if (!stream.redactor) continue;
    stream.redactor->flush(patch_held(state, d == 0 ? Direction::read : Direction::write));
  }
  for (Held& held : state.held) emit(held);
  held_bytes_ -= state.held_bytes;
  state.held_bytes = 0;
  state.held.clear();
}

void RedactingSink::emit(const Held& held) {
  if (held.data) {
    next_.data(*held.data);
  } else {
    next_.lost(held.lost);
  }
}

void RedactingSink::redact_unconnected(const DataRecord& record) {
  // Nothing says where in its stream the record is: placed from its own first bytes.
  std::string bytes(record.data);
  Protocol protocol = begins_with_preface(bytes) || http2::is_whole_frames(bytes, kMaxFrameSize)
                          ? Protocol::http2
                          : Protocol::http1;
  // Only the preface proves a record is a stream's beginning.
  std::unique_ptr<StreamRedactor> redactor =
      make_redactor(protocol, bytes, bytes.starts_with(kPreface));
  auto patch = [&bytes](uint64_t pos, std::string_view masked) {
    if (pos >= bytes.size()) return;
    std::memcpy(bytes.data() + pos, masked.data(), std::min(masked.size(), bytes.size() - pos));
  };
  redactor->feed(0, std::span<char>(bytes.data(), bytes.size()), patch);
  redactor->flush(patch);
  add(retired_, redactor->counts());
  DataRecord masked = record;
  masked.data = bytes;
  next_.data(masked);
}

void RedactingSink::lost(const LostRecord& record) {
  if (!record.connection) {  // the ring buffer's: the pos of later records shows the gaps
    next_.lost(record);
    return;
  }
  auto it = connections_.find(record.connection->id);
  if (it != connections_.end()) it->second.streams[index(record.direction)].gap_pending = true;
  if (it == connections_.end() || it->second.held.empty()) {
    next_.lost(record);
    return;
  }
  // Behind the held records, in order.
  Held& held = it->second.held.emplace_back();
  held.lost = record;
  held.comm.assign(record.comm);
  held.lost.comm = held.comm;
}

void RedactingSink::close(const CloseRecord& record) {
  if (record.connection) {
    auto it = connections_.find(record.connection->id);
    if (it != connections_.end()) {
      release_all(it->second);
      retire(it->second);
      holding_.erase(it->first);
      connections_.erase(it);
    }
  }
  next_.close(record);
}

void RedactingSink::retire(ConnectionState& state) {
  for (Stream& stream : state.streams)
    if (stream.redactor) add(retired_, stream.redactor->counts());
}

void RedactingSink::expire(uint64_t now_ns) {
  if (holding_.empty()) return;
  const bool over = held_bytes_ > limits_.max_held_bytes;
  for (auto it = holding_.begin(); it != holding_.end();) {
    auto found = connections_.find(*it);
    if (found == connections_.end() || found->second.held.empty()) {
      it = holding_.erase(it);
      continue;
    }
    ConnectionState& state = found->second;
    const Held& oldest = state.held.front();
    uint64_t since = oldest.data ? oldest.data->ts_ns : oldest.lost.ts_ns;
    if (over || (now_ns > since && now_ns - since > limits_.max_hold_ns)) {
      release_all(state);
      it = holding_.erase(it);
    } else {
      ++it;
    }
  }
}

void RedactingSink::finish() {
  for (auto& [id, state] : connections_) release_all(state);
  holding_.clear();
}

RedactCounts RedactingSink::counts() const {
  RedactCounts sum = retired_;
  for (const auto& [id, state] : connections_)
    for (const Stream& stream : state.streams)
      if (stream.redactor) add(sum, stream.redactor->counts());
  return sum;
}

size_t RedactingSink::held_records() const {
  size_t n = 0;
  for (const auto& [id, state] : connections_) n += state.held.size();
  return n;
}

}  // namespace tlstap::redact
