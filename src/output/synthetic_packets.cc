#include "output/synthetic_packets.h"

#include <arpa/inet.h>

#include <cstring>

namespace tlstap {
namespace {

void put8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void put16be(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
void put32be(std::string& out, uint32_t v) {
  put16be(out, static_cast<uint16_t>(v >> 16));
  put16be(out, static_cast<uint16_t>(v & 0xffff));
}
void set16be(std::string& out, size_t at, uint16_t v) {
  out[at] = static_cast<char>(v >> 8);
  out[at + 1] = static_cast<char>(v & 0xff);
}

// RFC 1071 sum of 16-bit big-endian words, not yet folded or complemented.
uint64_t sum_words(const uint8_t* data, size_t length, uint64_t sum = 0) {
  size_t i = 0;
  for (; i + 1 < length; i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (i < length) sum += uint32_t{data[i]} << 8;
  return sum;
}

uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

const uint8_t* bytes(const std::string& s, size_t at) {
  return reinterpret_cast<const uint8_t*>(s.data()) + at;
}

constexpr uint8_t kProtocolTcp = 6;
constexpr size_t kTcpHeaderBytes = 20;

// Exported-PDU tags (Wireshark epan/exported_pdu.h).
constexpr uint16_t kTagEnd = 0;
constexpr uint16_t kTagHeuristicName = 13;
constexpr uint16_t kTagIpv4Source = 20;
constexpr uint16_t kTagIpv4Destination = 21;
constexpr uint16_t kTagIpv6Source = 22;
constexpr uint16_t kTagIpv6Destination = 23;
constexpr uint16_t kTagPortType = 24;
constexpr uint16_t kTagSourcePort = 25;
constexpr uint16_t kTagDestinationPort = 26;
constexpr uint16_t kTagColumnProtocol = 33;
constexpr uint16_t kTagTcpInfo = 34;
constexpr uint16_t kTagColumnInfo = 36;
constexpr uint32_t kPortTypeTcp = 2;  // Wireshark's PT_TCP

void put_tag(std::string& out, uint16_t tag, std::string_view value) {
  put16be(out, tag);
  put16be(out, static_cast<uint16_t>(value.size()));
  out.append(value);
}

std::string be32(uint32_t v) {
  std::string s;
  put32be(s, v);
  return s;
}

std::string_view address_bytes(const Endpoint& e) {
  return {reinterpret_cast<const char*>(e.address.data()), e.ipv6 ? 16u : 4u};
}

}  // namespace

std::optional<Endpoint> Endpoint::parse(std::string_view text, uint16_t port) {
  std::string z(text);
  Endpoint e;
  e.port = port;
  if (inet_pton(AF_INET, z.c_str(), e.address.data()) == 1) return e;
  if (inet_pton(AF_INET6, z.c_str(), e.address.data()) != 1) return std::nullopt;
  static constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(e.address.data(), kV4Mapped, 12) == 0) {
    std::memmove(e.address.data(), e.address.data() + 12, 4);
    std::memset(e.address.data() + 4, 0, 12);
    return e;
  }
  e.ipv6 = true;
  return e;
}

Endpoint Endpoint::ipv4(uint32_t host_order_address, uint16_t port) {
  Endpoint e;
  e.port = port;
  for (int i = 0; i < 4; i++)
    e.address[i] = static_cast<uint8_t>(host_order_address >> (24 - 8 * i));
  return e;
}

void append_tcp_packet(std::string& out, const TcpSegment& s) {
  const size_t tcp_length = kTcpHeaderBytes + s.payload.size();
  const size_t ip_start = out.size();
  size_t ip_header_bytes;
  if (s.source.ipv6) {
    ip_header_bytes = 40;
    put32be(out, 0x60000000);  // version 6, no traffic class or flow label
    put16be(out, static_cast<uint16_t>(tcp_length));
    put8(out, kProtocolTcp);
    put8(out, 64);  // hop limit
    out.append(address_bytes(s.source));
    out.append(address_bytes(s.destination));
  } else {
    ip_header_bytes = 20;
    put8(out, 0x45);  // version 4, 5 words of header
    put8(out, 0);
    put16be(out, static_cast<uint16_t>(ip_header_bytes + tcp_length));
    put16be(out, 0);       // identification
    put16be(out, 0x4000);  // don't fragment
    put8(out, 64);         // TTL
    put8(out, kProtocolTcp);
    put16be(out, 0);  // header checksum, below
    out.append(address_bytes(s.source));
    out.append(address_bytes(s.destination));
    set16be(out, ip_start + 10, fold(sum_words(bytes(out, ip_start), ip_header_bytes)));
  }
  const size_t tcp_start = out.size();
  put16be(out, s.source.port);
  put16be(out, s.destination.port);
  put32be(out, s.seq);
  put32be(out, (s.flags & tcp_flags::ack) ? s.ack : 0);
  put8(out, (kTcpHeaderBytes / 4) << 4);
  put8(out, s.flags);
  put16be(out, 65535);  // window
  put16be(out, 0);      // checksum, below
  put16be(out, 0);      // urgent pointer
  out.append(s.payload);

  // Pseudo-header: addresses, protocol, TCP length (RFC 793 / RFC 8200 8.1).
  std::string_view src = address_bytes(s.source), dst = address_bytes(s.destination);
  uint64_t sum = sum_words(reinterpret_cast<const uint8_t*>(src.data()), src.size());
  sum = sum_words(reinterpret_cast<const uint8_t*>(dst.data()), dst.size(), sum);
  sum += kProtocolTcp;
  sum += static_cast<uint32_t>(tcp_length);
  sum = sum_words(bytes(out, tcp_start), tcp_length, sum);
  set16be(out, tcp_start + 16, fold(sum));
}

void append_http_hint(std::string& out, const Endpoint& from, const Endpoint& to, uint32_t seq) {
  put_tag(out, kTagHeuristicName, "http_tcp");
  put_tag(out, from.ipv6 ? kTagIpv6Source : kTagIpv4Source, address_bytes(from));
  put_tag(out, to.ipv6 ? kTagIpv6Destination : kTagIpv4Destination, address_bytes(to));
  put_tag(out, kTagPortType, be32(kPortTypeTcp));
  put_tag(out, kTagSourcePort, be32(from.port));
  put_tag(out, kTagDestinationPort, be32(to.port));
  // Wireshark's struct tcpinfo, version 1: the HTTP dissector reads the TCP flags from it.
  std::string info;
  put16be(info, 1);
  put32be(info, seq);
  put32be(info, seq + static_cast<uint32_t>(kHttpHintText.size()));
  put32be(info, 0);  // last acknowledged
  put8(info, 0);     // not reassembled
  put16be(info, tcp_flags::psh | tcp_flags::ack);
  put16be(info, 0);  // urgent pointer
  put_tag(out, kTagTcpInfo, info);
  // What the packet list shows for it (the HTTP dissector may clear the Info column).
  put_tag(out, kTagColumnProtocol, "tlstap");
  put_tag(out, kTagColumnInfo, "dissector hint: this TCP stream is HTTP");
  put_tag(out, kTagEnd, {});
  out.append(kHttpHintText);
}

}  // namespace tlstap
