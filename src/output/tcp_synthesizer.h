// Turns the records of traced connections into TCP segments, so that a capture tool shows the
// plaintext as the TCP streams it travelled on:
//  - one stream per connection, with its real addresses and ports; when both ends are traced
//    their records describe the same bytes, and each byte of each direction is sent once;
//  - sequence numbers from `pos`: bytes not captured (loss, truncation, a connection joined
//    midstream) are a hole in the sequence space, which Wireshark shows as a gap;
//  - SYN when tlstap saw the connection begin, FIN when a traced end closed it;
//  - records larger than an MSS split into several segments.
// Connections without IP addresses (Unix sockets, or addresses not known) get made-up ones in
// 0.0.0.0/8, which no real host has; the packet comments say what they were.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "output/record.h"
#include "output/synthetic_packets.h"

namespace tlstap {

struct SynthesizedPacket {
  enum class Kind { ip, hint };  // an IP packet, or an exported-PDU dissector hint
  Kind kind = Kind::ip;
  uint64_t ts_ns = 0;
  std::string_view bytes;
  std::string_view comment;
};

class TcpSynthesizer {
 public:
  // Ethernet's 1500-byte MTU less the IP and TCP headers.
  static constexpr size_t kMssIpv4 = 1460;
  static constexpr size_t kMssIpv6 = 1440;

  struct Counts {
    uint64_t records_without_connection = 0;  // nothing to place them on: not written
    uint64_t duplicate_bytes = 0;             // the other traced end's copy, already written
  };

  using Emit = std::function<void(const SynthesizedPacket&)>;
  explicit TcpSynthesizer(Emit emit) : emit_(std::move(emit)) {}

  void data(const DataRecord& record);
  void close(const CloseRecord& record);
  const Counts& counts() const { return counts_; }
  size_t open_streams() const { return streams_.size(); }

 private:
  using StreamKey = std::pair<Endpoint, Endpoint>;  // the lower endpoint first
  struct Stream {
    Endpoint client;  // direction 0 is client -> server, 1 the reverse
    Endpoint server;
    uint32_t isn[2] = {0, 0};
    uint64_t next[2] = {0, 0};  // stream offset after the last byte written, per direction
    bool fin_sent[2] = {false, false};
    bool hint_decided = false;
    bool primary_midstream = false;  // the first traced end's offsets do not start at 0
    bool made_up_addresses = false;
    std::set<std::string> ends;  // ids of the traced ends writing to it and still open
  };
  struct EndState {
    StreamKey key;
    bool ignored = false;  // its offsets cannot be matched with the stream's: not written
    bool local_is_client = false;
    int write_direction = 0;  // the stream direction this end's writes travel in
  };

  EndState& end_for(const DataRecord& record);
  Stream& open_stream(const DataRecord& record, EndState& end);
  void send_handshake(const Stream& stream, uint64_t ts_ns, const std::string& comment);
  void send(const Stream& stream, int direction, uint64_t offset, uint8_t flags,
            std::string_view payload, uint64_t ts_ns, const std::string& comment);
  void send_fin(Stream& stream, int direction, uint64_t ts_ns, const std::string& comment);
  uint32_t seq(const Stream& stream, int direction, uint64_t offset) const {
    return stream.isn[direction] + 1 + static_cast<uint32_t>(offset);
  }

  Emit emit_;
  std::map<StreamKey, Stream> streams_;
  std::map<std::string, EndState> ends_;  // by connection id
  uint32_t made_up_count_ = 0;
  std::string packet_;
  Counts counts_;
};

// Whether a stream's first bytes are HTTP/1.x (a request or status line) or HTTP/2 (the
// client preface, or a server's SETTINGS frame): then the stream gets an HTTP hint.
bool looks_like_http(std::string_view first_bytes);

}  // namespace tlstap
