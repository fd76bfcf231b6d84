// The TCP stream synthesizer: records of traced connections in, IP/TCP packets out. Packets
// are read back with an independent parser (RFC 791, 8200, 793) that also checks checksums.
#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "conn/connection.h"
#include "output/tcp_synthesizer.h"

namespace tlstap {
namespace {

struct Packet {
  SynthesizedPacket::Kind kind;
  std::string src, dst;
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  std::string payload;
  std::string comment;
  std::string raw;
};

uint16_t be16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) << 8 | static_cast<uint8_t>(b[at + 1]));
}
uint32_t be32(std::string_view b, size_t at) {
  return uint32_t{be16(b, at)} << 16 | be16(b, at + 2);
}

// Ones'-complement sum (RFC 1071): 0xffff when the checksum inside is right.
uint32_t ones_sum(std::string_view b, uint32_t sum = 0) {
  for (size_t i = 0; i < b.size(); i += 2) {
    sum +=
        static_cast<uint8_t>(b[i]) << 8 | (i + 1 < b.size() ? static_cast<uint8_t>(b[i + 1]) : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

std::string address_text(int family, std::string_view bytes) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(family, bytes.data(), text, sizeof(text));
  return text;
}

Packet parse_ip(const SynthesizedPacket& p) {
  Packet out{p.kind, {}, {}, 0, 0, 0, 0, 0, {}, std::string(p.comment), std::string(p.bytes)};
  std::string_view b = p.bytes;
  size_t header;
  std::string pseudo;
  if ((b[0] >> 4) == 4) {
    header = 20;
    EXPECT_EQ(be16(b, 2), b.size());
    EXPECT_EQ(static_cast<uint8_t>(b[9]), 6);
    EXPECT_EQ(ones_sum(b.substr(0, 20)), 0xffffu) << "IPv4 header checksum";
    out.src = address_text(AF_INET, b.substr(12, 4));
    out.dst = address_text(AF_INET, b.substr(16, 4));
    pseudo = std::string(b.substr(12, 8));
  } else {
    EXPECT_EQ((b[0] >> 4) & 0xf, 6);
    header = 40;
    EXPECT_EQ(be16(b, 4), b.size() - 40);
    EXPECT_EQ(static_cast<uint8_t>(b[6]), 6);
    out.src = address_text(AF_INET6, b.substr(8, 16));
    out.dst = address_text(AF_INET6, b.substr(24, 16));
    pseudo = std::string(b.substr(8, 32));
  }
  std::string_view tcp = b.substr(header);
  pseudo += std::string{0, 6};
  pseudo.push_back(static_cast<char>(tcp.size() >> 8));
  pseudo.push_back(static_cast<char>(tcp.size() & 0xff));
  EXPECT_EQ(ones_sum(tcp, ones_sum(pseudo)), 0xffffu) << "TCP checksum";
  out.sport = be16(tcp, 0);
  out.dport = be16(tcp, 2);
  out.seq = be32(tcp, 4);
  out.ack = be32(tcp, 8);
  EXPECT_EQ(static_cast<uint8_t>(tcp[12]) >> 4, 5);
  out.flags = static_cast<uint8_t>(tcp[13]);
  out.payload = std::string(tcp.substr(20));
  return out;
}

class Synth : public ::testing::Test {
 protected:
  TcpSynthesizer synth{[this](const SynthesizedPacket& p) {
    if (p.kind == SynthesizedPacket::Kind::hint) {
      hints.emplace_back(p.bytes);
      return;
    }
    packets.push_back(parse_ip(p));
  }};
  std::vector<Packet> packets;
  std::vector<std::string> hints;

  static Connection conn(std::string id, std::string laddr, uint16_t lport, std::string raddr,
                         uint16_t rport, Role role, bool midstream = false) {
    Connection c;
    c.id = std::move(id);
    c.laddr = std::move(laddr);
    c.lport = lport;
    c.raddr = std::move(raddr);
    c.rport = rport;
    c.role = role;
    c.midstream = midstream;
    return c;
  }
  void record(const Connection& c, Direction d, uint64_t pos, std::string_view data,
              uint64_t len = 0, uint32_t pid = 42) {
    DataRecord r;
    r.ts_ns = 1000 + packets.size();
    r.pid = pid;
    r.tid = pid + 1;
    r.comm = "curl";
    r.library = "openssl";
    r.function = d == Direction::write ? "SSL_write" : "SSL_read";
    r.direction = d;
    r.data = data;
    r.len = len ? len : data.size();
    if (r.len > data.size()) r.truncation = Truncation::max_bytes;
    r.connection = &c;
    r.pos = pos;
    synth.data(r);
  }
  void close(const Connection& c, uint32_t pid = 42) {
    CloseRecord r;
    r.ts_ns = 5000;
    r.pid = pid;
    r.connection = &c;
    synth.close(r);
  }
};

using namespace tcp_flags;

TEST_F(Synth, ClientConnectionFromStartToClose) {
  Connection c = conn("c1", "10.0.0.1", 40000, "10.0.0.2", 443, Role::client);
  record(c, Direction::write, 0, "GET / HTTP/1.1\r\n\r\n");
  record(c, Direction::read, 0, "HTTP/1.1 200 OK\r\n\r\n");
  close(c);
  ASSERT_EQ(packets.size(), 6u);
  // SYN, SYN-ACK: client is the local end.
  EXPECT_EQ(packets[0].flags, syn);
  EXPECT_EQ(packets[0].src, "10.0.0.1");
  EXPECT_EQ(packets[0].sport, 40000);
  EXPECT_EQ(packets[0].dport, 443);
  EXPECT_EQ(packets[1].flags, syn | ack);
  EXPECT_EQ(packets[1].src, "10.0.0.2");
  EXPECT_EQ(packets[1].ack, packets[0].seq + 1);
  // The request: seq right after the SYN, its bytes exactly.
  EXPECT_EQ(packets[2].src, "10.0.0.1");
  EXPECT_EQ(packets[2].seq, packets[0].seq + 1);
  EXPECT_EQ(packets[2].payload, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(packets[2].flags, ack | psh);
  EXPECT_EQ(packets[2].comment, "curl[42] tid=43 openssl SSL_write");
  // The response, server to client, acknowledging the request.
  EXPECT_EQ(packets[3].src, "10.0.0.2");
  EXPECT_EQ(packets[3].sport, 443);
  EXPECT_EQ(packets[3].seq, packets[1].seq + 1);
  EXPECT_EQ(packets[3].ack, packets[2].seq + 18);
  EXPECT_EQ(packets[3].payload, "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(packets[3].comment, "curl[42] tid=43 openssl SSL_read");
  // Only end traced closed: FIN both ways, the second acknowledging the first.
  EXPECT_EQ(packets[4].flags, fin | ack);
  EXPECT_EQ(packets[4].src, "10.0.0.1");
  EXPECT_EQ(packets[4].seq, packets[0].seq + 1 + 18);
  EXPECT_EQ(packets[5].flags, fin | ack);
  EXPECT_EQ(packets[5].src, "10.0.0.2");
  EXPECT_EQ(packets[5].ack, packets[4].seq + 1);
  EXPECT_EQ(synth.open_streams(), 0u);
  ASSERT_EQ(hints.size(), 1u);  // HTTP: one hint, before the first data
}

TEST_F(Synth, ServerEndMapsDirections) {
  Connection s = conn("s1", "::1", 8443, "::1", 50000, Role::server);
  record(s, Direction::read, 0, "hello");
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[0].flags, syn);  // from the client: the remote end
  EXPECT_EQ(packets[0].sport, 50000);
  EXPECT_EQ(packets[2].sport, 50000);
  EXPECT_EQ(packets[2].dport, 8443);
  EXPECT_EQ(packets[2].src, "::1");
  EXPECT_EQ(packets[2].payload, "hello");
  EXPECT_TRUE(hints.empty());  // not HTTP
}

TEST_F(Synth, LargeRecordSplitAtMss) {
  Connection c = conn("c1", "10.0.0.1", 40000, "10.0.0.2", 8443, Role::client);
  std::string big(4000, 'a');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>('a' + i % 26);
  record(c, Direction::write, 0, big);
  ASSERT_EQ(packets.size(), 5u);
  EXPECT_EQ(packets[2].payload.size(), 1460u);
  EXPECT_EQ(packets[3].payload.size(), 1460u);
  EXPECT_EQ(packets[4].payload.size(), 1080u);
  EXPECT_EQ(packets[3].seq, packets[2].seq + 1460);
  EXPECT_EQ(packets[4].seq, packets[3].seq + 1460);
  EXPECT_EQ(packets[2].flags, ack);
  EXPECT_EQ(packets[4].flags, ack | psh);
  EXPECT_EQ(packets[2].payload + packets[3].payload + packets[4].payload, big);
}

TEST_F(Synth, Ipv6MssIsSmaller) {
  Connection c = conn("c1", "fd00::1", 40000, "fd00::2", 443, Role::client);
  record(c, Direction::write, 0, std::string(1441, 'x'));
  ASSERT_EQ(packets.size(), 4u);
  EXPECT_EQ(packets[2].payload.size(), 1440u);
  EXPECT_EQ(packets[3].payload.size(), 1u);
  EXPECT_EQ(packets[2].src, "fd00::1");
}

TEST_F(Synth, GapFromPosIsAHoleInSequence) {
  Connection c = conn("c1", "10.0.0.1", 40000, "10.0.0.2", 443, Role::client);
  record(c, Direction::write, 0, "0123456789");
  record(c, Direction::write, 100, "abc");  // 90 bytes never captured
  ASSERT_EQ(packets.size(), 4u);
  EXPECT_EQ(packets[3].seq, packets[2].seq + 100);
}

TEST_F(Synth, TruncatedRecordLeavesGapAfterCapturedBytes) {
  Connection c = conn("c1", "10.0.0.1", 40000, "10.0.0.2", 443, Role::client);
  record(c, Direction::write, 0, "01234", 50);  // 50 moved, 5 captured
  record(c, Direction::write, 50, "next");
  ASSERT_EQ(packets.size(), 4u);
  EXPECT_EQ(packets[2].payload, "01234");
  EXPECT_EQ(packets[2].comment,
            "curl[42] tid=43 openssl SSL_write truncated: 5 of 50 bytes captured (max-bytes)");
  EXPECT_EQ(packets[3].seq, packets[2].seq + 50);
}

TEST_F(Synth, BothEndsTracedWriteEachByteOnce) {
  Connection client = conn("c", "127.0.0.1", 40000, "127.0.0.1", 443, Role::client);
  Connection server = conn("s", "127.0.0.1", 443, "127.0.0.1", 40000, Role::server);
  record(client, Direction::write, 0, "request");
  record(server, Direction::read, 0, "req", 0, 7);
  record(server, Direction::read, 3, "uest", 0, 7);
  record(server, Direction::write, 0, "resp", 0, 7);
  record(client, Direction::read, 0, "response-partial");  // overlaps: only the rest is new
  ASSERT_EQ(packets.size(), 5u);  // SYN, SYN-ACK, request, resp, "onse-partial"
  EXPECT_EQ(packets[0].sport, 40000);
  EXPECT_EQ(packets[2].payload, "request");
  EXPECT_EQ(packets[3].payload, "resp");
  EXPECT_EQ(packets[3].sport, 443);
  EXPECT_EQ(packets[4].payload, "onse-partial");
  EXPECT_EQ(packets[4].seq, packets[3].seq + 4);
  EXPECT_EQ(synth.counts().duplicate_bytes, 7u + 4u);
  // Each end's close ends the direction it writes.
  close(server, 7);
  ASSERT_EQ(packets.size(), 6u);
  EXPECT_EQ(packets[5].flags, fin | ack);
  EXPECT_EQ(packets[5].sport, 443);
  close(client);
  ASSERT_EQ(packets.size(), 7u);
  EXPECT_EQ(packets[6].flags, fin | ack);
  EXPECT_EQ(packets[6].sport, 40000);
  EXPECT_EQ(synth.open_streams(), 0u);
}

TEST_F(Synth, MidstreamHasNoSynAndAMidstreamSecondEndIsNotMixedIn) {
  Connection client = conn("c", "10.0.0.1", 40000, "10.0.0.2", 443, Role::client, true);
  Connection server = conn("s", "10.0.0.2", 443, "10.0.0.1", 40000, Role::server, true);
  record(client, Direction::write, 0, "abc");
  record(server, Direction::read, 0, "xyzabc");  // its offsets count from elsewhere
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].flags, ack | psh);
  EXPECT_EQ(packets[0].payload, "abc");
  close(server, 7);  // not a source: nothing
  EXPECT_EQ(packets.size(), 1u);
  close(client);
  EXPECT_EQ(packets.size(), 3u);  // FIN both ways
}

TEST_F(Synth, UnixSocketGetsMadeUpAddressesAndSaysSo) {
  Connection c = conn("u", "/run/app.sock", 0, "", 0, Role::server);
  record(c, Direction::read, 0, "ping");
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(packets[2].src, "0.0.0.1");  // the client: the remote end
  EXPECT_EQ(packets[2].dst, "0.0.0.2");
  EXPECT_EQ(packets[2].comment,
            "curl[42] tid=43 openssl SSL_read; addresses made up: local /run/app.sock remote "
            "unknown");
  Connection other = conn("u2", "/run/app.sock", 0, "", 0, Role::server);
  record(other, Direction::read, 0, "ping");
  ASSERT_EQ(packets.size(), 6u);
  EXPECT_NE(packets[5].sport, packets[2].sport);  // a stream of its own
}

TEST_F(Synth, RecordWithoutConnectionIsCounted) {
  DataRecord r;
  r.data = "x";
  r.len = 1;
  synth.data(r);
  EXPECT_TRUE(packets.empty());
  EXPECT_EQ(synth.counts().records_without_connection, 1u);
}

// The exported-PDU hint, read back tag by tag (Wireshark epan/exported_pdu.h: 16-bit tag,
// 16-bit length, big-endian, no padding), then the payload.
TEST_F(Synth, HttpHintNamesTheHeuristicAndTheStream) {
  Connection c = conn("c1", "10.0.0.1", 40000, "10.0.0.2", 443, Role::client);
  record(c, Direction::write, 0, "GET / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(hints.size(), 1u);
  std::string_view b = hints[0];
  std::vector<std::pair<uint16_t, std::string>> tags;
  size_t at = 0;
  for (;;) {
    ASSERT_LE(at + 4, b.size());
    uint16_t tag = be16(b, at), length = be16(b, at + 2);
    ASSERT_LE(at + 4 + length, b.size());
    tags.emplace_back(tag, std::string(b.substr(at + 4, length)));
    at += 4 + length;
    if (tag == 0) break;
  }
  EXPECT_EQ(b.substr(at), kHttpHintText);
  std::string info = {0, 1, 0, 0, 0, 1, 0,    0, 0, 1 + static_cast<char>(kHttpHintText.size()),
                      0, 0, 0, 0, 0, 0, 0x18, 0, 0};
  std::vector<std::pair<uint16_t, std::string>> expected = {
      {13, "http_tcp"},
      {20, std::string("\x0a\x00\x00\x01", 4)},
      {21, std::string("\x0a\x00\x00\x02", 4)},
      {24, std::string("\x00\x00\x00\x02", 4)},  // PT_TCP
      {25, std::string("\x00\x00\x9c\x40", 4)},  // 40000
      {26, std::string("\x00\x00\x01\xbb", 4)},  // 443
      {34, info},                                // tcpinfo v1: seq 1 (after the SYN)
      {33, "tlstap"},
      {36, "dissector hint: this TCP stream is HTTP"},
      {0, ""}};
  EXPECT_EQ(tags, expected);
}

TEST(LooksLikeHttp, RecognisesHttpStarts) {
  EXPECT_TRUE(looks_like_http("GET /x HTTP/1.1\r\nHost: a\r\n"));
  EXPECT_TRUE(looks_like_http("M-SEARCH * HTTP/1.1\r\n"));
  EXPECT_TRUE(looks_like_http("HTTP/1.0 200 OK\r\n"));
  EXPECT_TRUE(looks_like_http("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  EXPECT_TRUE(looks_like_http(std::string("\x00\x00\x12\x04\x00\x00\x00\x00\x00", 9)));
  EXPECT_FALSE(looks_like_http(std::string("\x00\x00\x11\x04\x00\x00\x00\x00\x00", 9)));
  EXPECT_FALSE(looks_like_http("GET /x HTTP/1.1"));  // no line end yet
  EXPECT_FALSE(looks_like_http("get /x HTTP/1.1\r\n"));
  EXPECT_FALSE(looks_like_http("EHLO example.com\r\n"));
  EXPECT_FALSE(looks_like_http(""));
}

}  // namespace
}  // namespace tlstap
