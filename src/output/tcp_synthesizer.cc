#include "output/tcp_synthesizer.h"

#include <algorithm>

#include <fmt/format.h>

#include "conn/connection.h"

namespace tlstap {
namespace {

constexpr int kClientToServer = 0;

size_t mss(const Endpoint& e) {
  return e.ipv6 ? TcpSynthesizer::kMssIpv6 : TcpSynthesizer::kMssIpv4;
}

std::string record_comment(const DataRecord& r) {
  std::string comment =
      fmt::format("{}[{}] tid={} {} {}", r.comm, r.pid, r.tid, r.library, r.function);
  if (r.truncated()) {
    fmt::format_to(std::back_inserter(comment), " truncated: {} of {} bytes captured ({})",
                   r.data.size(), r.len, truncation_name(r.truncation));
  }
  return comment;
}

std::string_view or_unknown(const std::string& text) {
  return text.empty() ? std::string_view("unknown") : std::string_view(text);
}

}  // namespace

bool looks_like_http(std::string_view b) {
  if (b.starts_with("PRI * HTTP/2.0\r\n") || b.starts_with("HTTP/1.")) return true;
  // An HTTP/2 server speaks first with a SETTINGS frame: 24-bit length (a multiple of 6),
  // type 4, no flags, stream 0.
  if (b.size() >= 9 && b[3] == 4 && b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0) {
    uint32_t length = (uint32_t{static_cast<uint8_t>(b[0])} << 16) |
                      (uint32_t{static_cast<uint8_t>(b[1])} << 8) | static_cast<uint8_t>(b[2]);
    if (length % 6 == 0) return true;
  }
  // A request line: METHOD SP target SP HTTP/1.x CRLF.
  size_t line_end = b.substr(0, 8192).find("\r\n");
  if (line_end == std::string_view::npos) return false;
  std::string_view line = b.substr(0, line_end);
  size_t method_end = line.find(' ');
  if (method_end == 0 || method_end == std::string_view::npos || method_end > 20) return false;
  for (char c : line.substr(0, method_end)) {
    if (!((c >= 'A' && c <= 'Z') || c == '-' || c == '_')) return false;
  }
  return line.ends_with(" HTTP/1.1") || line.ends_with(" HTTP/1.0");
}

TcpSynthesizer::EndState& TcpSynthesizer::end_for(const DataRecord& record) {
  const Connection& conn = *record.connection;
  auto found = ends_.find(conn.id);
  if (found != ends_.end()) return found->second;

  std::optional<Endpoint> local = Endpoint::parse(conn.laddr, conn.lport);
  std::optional<Endpoint> remote = Endpoint::parse(conn.raddr, conn.rport);
  bool made_up = !local || !remote || local->ipv6 != remote->ipv6;
  EndState end;
  end.local_is_client = conn.role == Role::client ||
                        (conn.role == Role::unknown && record.direction == Direction::write);
  if (made_up) {
    // Unique per connection: 0.0.0.1 (client) and 0.0.0.2 (server), port from a counter.
    uint16_t port = static_cast<uint16_t>(made_up_count_++ % 65535 + 1);
    Endpoint client = Endpoint::ipv4(1, port), server = Endpoint::ipv4(2, port);
    local = end.local_is_client ? client : server;
    remote = end.local_is_client ? server : client;
  }
  end.key = std::minmax(*local, *remote);
  auto existing = streams_.find(end.key);
  if (existing == streams_.end()) {
    Stream stream;
    stream.client = end.local_is_client ? *local : *remote;
    stream.server = end.local_is_client ? *remote : *local;
    stream.primary_midstream = conn.midstream;
    stream.made_up_addresses = made_up;
    stream.ends.insert(conn.id);
    Stream& opened = streams_.emplace(end.key, std::move(stream)).first->second;
    if (!conn.midstream) {
      // tlstap saw the connection from its first byte: show its handshake.
      std::string comment = fmt::format("{}[{}] connection start", record.comm, record.pid);
      send_handshake(opened, record.ts_ns, comment);
    }
  } else if (conn.midstream || existing->second.primary_midstream) {
    // Offsets of a midstream end count from its own first record: they cannot be lined up
    // with the other end's. The end that came first is the stream's only source.
    end.ignored = true;
  } else {
    existing->second.ends.insert(conn.id);
  }
  const Stream& stream = streams_.at(end.key);
  end.write_direction = (*local == stream.client) ? kClientToServer : 1 - kClientToServer;
  return ends_.emplace(conn.id, end).first->second;
}

void TcpSynthesizer::data(const DataRecord& record) {
  if (!record.connection) {
    counts_.records_without_connection++;
    return;
  }
  EndState& end = end_for(record);
  if (end.ignored) {
    counts_.duplicate_bytes += record.data.size();
    return;
  }
  Stream& stream = streams_.at(end.key);
  int direction =
      record.direction == Direction::write ? end.write_direction : 1 - end.write_direction;
  uint64_t first = std::max(record.pos, stream.next[direction]);
  uint64_t last = record.pos + record.data.size();
  if (last <= first) {
    counts_.duplicate_bytes += record.data.size();
    return;
  }
  counts_.duplicate_bytes += first - record.pos;
  if (!stream.hint_decided) {
    stream.hint_decided = true;
    if (looks_like_http(record.data.substr(first - record.pos))) {
      packet_.clear();
      append_http_hint(packet_, stream.client, stream.server,
                       seq(stream, kClientToServer, stream.next[kClientToServer]));
      emit_({SynthesizedPacket::Kind::hint, record.ts_ns, packet_,
             "tlstap: Wireshark, dissect this TCP stream as HTTP (also HTTP/2)"});
    }
  }
  std::string comment = record_comment(record);
  if (stream.made_up_addresses) {
    fmt::format_to(std::back_inserter(comment), "; addresses made up: local {} remote {}",
                   or_unknown(record.connection->laddr), or_unknown(record.connection->raddr));
  }
  size_t segment = mss(stream.client);
  for (uint64_t offset = first; offset < last; offset += segment) {
    uint64_t size = std::min<uint64_t>(segment, last - offset);
    uint8_t flags = tcp_flags::ack | (offset + size == last ? tcp_flags::psh : 0);
    send(stream, direction, offset, flags, record.data.substr(offset - record.pos, size),
         record.ts_ns, comment);
  }
  stream.next[direction] = last;
}

void TcpSynthesizer::close(const CloseRecord& record) {
  if (!record.connection) return;
  auto found = ends_.find(record.connection->id);
  if (found == ends_.end()) return;
  EndState end = found->second;
  ends_.erase(found);
  if (end.ignored) return;
  auto stream_it = streams_.find(end.key);
  if (stream_it == streams_.end()) return;
  Stream& stream = stream_it->second;
  stream.ends.erase(record.connection->id);
  std::string comment = fmt::format("{}[{}] close", record.connection->comm, record.pid);
  if (stream.ends.empty()) {
    // The last traced end is gone: the stream ends in both directions.
    for (int direction : {end.write_direction, 1 - end.write_direction}) {
      if (!stream.fin_sent[direction]) send_fin(stream, direction, record.ts_ns, comment);
    }
    streams_.erase(stream_it);
  } else if (!stream.fin_sent[end.write_direction]) {
    send_fin(stream, end.write_direction, record.ts_ns, comment);
  }
}

void TcpSynthesizer::send_fin(Stream& stream, int direction, uint64_t ts_ns,
                              const std::string& comment) {
  send(stream, direction, stream.next[direction], tcp_flags::fin | tcp_flags::ack, {}, ts_ns,
       comment);
  stream.fin_sent[direction] = true;
}

void TcpSynthesizer::send_handshake(const Stream& stream, uint64_t ts_ns,
                                    const std::string& comment) {
  TcpSegment syn;
  syn.source = stream.client;
  syn.destination = stream.server;
  syn.seq = stream.isn[kClientToServer];
  syn.flags = tcp_flags::syn;
  packet_.clear();
  append_tcp_packet(packet_, syn);
  emit_({SynthesizedPacket::Kind::ip, ts_ns, packet_, comment});
  TcpSegment syn_ack;
  syn_ack.source = stream.server;
  syn_ack.destination = stream.client;
  syn_ack.seq = stream.isn[1 - kClientToServer];
  syn_ack.ack = stream.isn[kClientToServer] + 1;
  syn_ack.flags = tcp_flags::syn | tcp_flags::ack;
  packet_.clear();
  append_tcp_packet(packet_, syn_ack);
  emit_({SynthesizedPacket::Kind::ip, ts_ns, packet_, comment});
}

void TcpSynthesizer::send(const Stream& stream, int direction, uint64_t offset, uint8_t flags,
                          std::string_view payload, uint64_t ts_ns, const std::string& comment) {
  TcpSegment segment;
  segment.source = direction == kClientToServer ? stream.client : stream.server;
  segment.destination = direction == kClientToServer ? stream.server : stream.client;
  segment.seq = seq(stream, direction, offset);
  int other = 1 - direction;
  segment.ack = seq(stream, other, stream.next[other]) + (stream.fin_sent[other] ? 1 : 0);
  segment.flags = flags;
  segment.payload = payload;
  packet_.clear();
  append_tcp_packet(packet_, segment);
  emit_({SynthesizedPacket::Kind::ip, ts_ns, packet_, comment});
}

}  // namespace tlstap
