// Bytes of the packets tlstap puts in a pcapng: IPv4/IPv6 + TCP segments carrying plaintext
// (link type RAW), and the Wireshark exported-PDU record that tells Wireshark a TCP stream is
// HTTP (link type WIRESHARK_UPPER_PDU). Pure functions; the stream logic is TcpSynthesizer's.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlstap {

struct Endpoint {
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // IPv4 in the first 4 bytes
  uint16_t port = 0;

  // An IPv4 or IPv6 literal (an IPv4-mapped IPv6 one becomes IPv4); nullopt for anything else.
  static std::optional<Endpoint> parse(std::string_view text, uint16_t port);
  static Endpoint ipv4(uint32_t host_order_address, uint16_t port);
  auto operator<=>(const Endpoint&) const = default;
};

namespace tcp_flags {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t psh = 0x08;
inline constexpr uint8_t ack = 0x10;
}  // namespace tcp_flags

struct TcpSegment {
  Endpoint source;
  Endpoint destination;  // same family as source
  uint32_t seq = 0;
  uint32_t ack = 0;  // acknowledgment number, meaningful with tcp_flags::ack
  uint8_t flags = 0;
  std::string_view payload;
};

// An IPv4 or IPv6 packet holding `segment`, with valid IP and TCP checksums, appended to
// `out`. The payload must fit one IP packet (the caller splits at an MSS).
void append_tcp_packet(std::string& out, const TcpSegment& segment);

// Exported-PDU record (Wireshark's epan/exported_pdu.h tags) that runs Wireshark's "http_tcp"
// heuristic dissector on a one-line text for the TCP conversation `from` -> `to`. That
// heuristic binds the conversation to the HTTP dissector from this frame on, and TCP consults
// a conversation's dissector before its port table: so the stream is dissected as HTTP (and
// HTTP/2 from its preface) also on port 443, where the port table would try TLS. `seq` is
// where the next segment from `from` starts.
void append_http_hint(std::string& out, const Endpoint& from, const Endpoint& to, uint32_t seq);

// The text the hint carries (it ends with the HTTP/1.1 token the heuristic looks for).
inline constexpr std::string_view kHttpHintText = "tlstap: dissect as HTTP/1.1\r\n";

}  // namespace tlstap
