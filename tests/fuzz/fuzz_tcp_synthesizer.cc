// Fuzzes the TCP synthesizer with arbitrary record sequences on a few connections (both ends
// of one TCP connection, a midstream one, a Unix socket, IPv6) and checks its promises: every
// packet is a well-formed IP/TCP packet no larger than an MSS of payload, and no byte of any
// stream direction is written twice (the two traced ends are deduplicated).
//
// Input: a sequence of ops, 4 bytes each plus data:
//   [kind | conn] [flags] [pos delta] [length]  then `length` data bytes
// kind (high nibble): 0-11 data, 12-15 close. conn (low nibble) % 5. flags bit 0: write,
// bit 1: truncated (len = data + 100), bit 2: jump pos back by `pos delta`.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "conn/connection.h"
#include "fuzz_check.h"
#include "output/tcp_synthesizer.h"

namespace {

using tlstap::Connection;
using tlstap::Role;

uint16_t be16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) << 8 | static_cast<uint8_t>(b[at + 1]));
}
uint32_t be32(std::string_view b, size_t at) {
  return uint32_t{be16(b, at)} << 16 | be16(b, at + 2);
}

struct Checker {
  // Per (src address+port, dst address+port): sequence numbers already carrying a byte.
  std::map<std::string, std::set<uint32_t>> written;

  void packet(const tlstap::SynthesizedPacket& p) {
    if (p.kind == tlstap::SynthesizedPacket::Kind::hint) return;
    std::string_view b = p.bytes;
    FUZZ_CHECK(b.size() >= 40);
    bool v6 = (static_cast<uint8_t>(b[0]) >> 4) == 6;
    FUZZ_CHECK(v6 || (static_cast<uint8_t>(b[0]) >> 4) == 4);
    size_t header = v6 ? 40 : 20;
    FUZZ_CHECK(b.size() >= header + 20);
    FUZZ_CHECK(v6 ? be16(b, 4) == b.size() - 40 : be16(b, 2) == b.size());
    std::string_view tcp = b.substr(header);
    std::string_view payload = tcp.substr(20);
    FUZZ_CHECK(payload.size() <=
               (v6 ? tlstap::TcpSynthesizer::kMssIpv6 : tlstap::TcpSynthesizer::kMssIpv4));
    std::string key(b.substr(v6 ? 8 : 12, v6 ? 32 : 8));
    key += std::string(tcp.substr(0, 4));
    uint8_t flags = static_cast<uint8_t>(tcp[13]);
    std::set<uint32_t>& seen = written[key];
    // A stream ends with a FIN; a later one on the same ports (a new SYN, or a midstream
    // connection after a close) numbers its bytes afresh.
    if (flags & (tlstap::tcp_flags::syn | tlstap::tcp_flags::fin)) seen.clear();
    uint32_t seq = be32(tcp, 4);
    for (size_t i = 0; i < payload.size(); i++) {
      FUZZ_CHECK(seen.insert(seq + static_cast<uint32_t>(i)).second);
    }
  }
};

Connection make(std::string id, std::string l, uint16_t lp, std::string r, uint16_t rp, Role role,
                bool midstream) {
  Connection c;
  c.id = std::move(id);
  c.laddr = std::move(l);
  c.lport = lp;
  c.raddr = std::move(r);
  c.rport = rp;
  c.role = role;
  c.midstream = midstream;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Checker checker;
  tlstap::TcpSynthesizer synth([&](const tlstap::SynthesizedPacket& p) { checker.packet(p); });
  // Fresh ids after a close: a closed connection's id is never reused by the tracker.
  std::vector<Connection> conns = {
      make("client", "127.0.0.1", 40000, "127.0.0.1", 443, Role::client, false),
      make("server", "127.0.0.1", 443, "127.0.0.1", 40000, Role::server, false),
      make("mid", "10.0.0.1", 5000, "10.0.0.2", 443, Role::unknown, true),
      make("unix", "/run/x.sock", 0, "", 0, Role::server, false),
      make("v6", "::1", 8443, "::1", 50000, Role::server, false)};
  std::vector<uint64_t> pos(conns.size() * 2, 0);
  std::vector<int> generation(conns.size(), 0);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (in.size() >= 4) {
    uint8_t kind = static_cast<uint8_t>(in[0]) >> 4, index = (static_cast<uint8_t>(in[0]) & 15) % 5;
    uint8_t flags = static_cast<uint8_t>(in[1]), delta = static_cast<uint8_t>(in[2]);
    size_t length = std::min<size_t>(static_cast<uint8_t>(in[3]) * 16u, in.size() - 4);
    std::string_view bytes = in.substr(4, length);
    in.remove_prefix(4 + length);
    Connection& conn = conns[index];
    if (kind >= 12) {
      tlstap::CloseRecord close;
      close.connection = &conn;
      synth.close(close);
      conn.id = conn.id.substr(0, conn.id.find('#')) + "#" + std::to_string(++generation[index]);
      pos[index * 2] = pos[index * 2 + 1] = 0;
      continue;
    }
    bool write = flags & 1;
    uint64_t& p = pos[index * 2 + (write ? 1 : 0)];
    if (flags & 4) p = p > delta ? p - delta : 0;
    tlstap::DataRecord record;
    record.direction = write ? tlstap::Direction::write : tlstap::Direction::read;
    record.data = bytes;
    record.len = bytes.size() + ((flags & 2) ? 100 : 0);
    if (flags & 2) record.truncation = tlstap::Truncation::max_bytes;
    record.connection = &conn;
    record.pos = p;
    record.comm = "fuzz";
    synth.data(record);
    p += record.len;
  }
  return 0;
}
