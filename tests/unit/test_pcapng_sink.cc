// PcapngSink through a real OutputStream: the file starts with the Section Header and the two
// interfaces (IP packets, dissector hints), and records become Enhanced Packets on them.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "conn/connection.h"
#include "output/fan_out_sink.h"
#include "output/output_stream.h"
#include "output/pcapng_sink.h"
#include "test_support.h"

namespace tlstap {
namespace {

uint32_t le32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | static_cast<uint8_t>(b[at + i]);
  return v;
}

struct Block {
  uint32_t type;
  std::string body;
};

std::vector<Block> blocks(std::string_view file) {
  std::vector<Block> out;
  while (file.size() >= 12) {
    uint32_t length = le32(file, 4);
    EXPECT_GE(length, 12u);
    EXPECT_LE(length, file.size());
    if (length < 12 || length > file.size()) break;
    out.push_back({le32(file, 0), std::string(file.substr(8, length - 12))});
    file.remove_prefix(length);
  }
  EXPECT_TRUE(file.empty());
  return out;
}

// A sink that only counts, to show the fan-out reaches every sink.
struct Counter : RecordSink {
  int data_calls = 0, lost_calls = 0, close_calls = 0;
  void data(const DataRecord&) override { data_calls++; }
  void lost(const LostRecord&) override { lost_calls++; }
  void close(const CloseRecord&) override { close_calls++; }
};

TEST(PcapngSink, WritesHeaderInterfacesAndPackets) {
  test::TempDir dir;
  std::string path = dir.file("out.pcapng");
  auto opened = OutputStream::create_private_file(path);
  ASSERT_TRUE(opened);
  Counter counter;
  {
    PcapngSink sink(*opened);
    FanOutSink both({&counter, &sink});
    Connection c;
    c.id = "1-2-3-0";
    c.laddr = "10.1.1.1";
    c.lport = 40000;
    c.raddr = "10.1.1.2";
    c.rport = 443;
    c.role = Role::client;
    DataRecord r;
    r.ts_ns = 1764050000123456789ull;
    r.pid = 7;
    r.tid = 8;
    r.comm = "curl";
    r.library = "openssl";
    r.function = "SSL_write";
    r.direction = Direction::write;
    r.data = "GET / HTTP/1.1\r\n\r\n";
    r.len = r.data.size();
    r.connection = &c;
    both.data(r);
    both.lost(LostRecord{});
    CloseRecord close;
    close.connection = &c;
    close.pid = 7;
    both.close(close);
    // SYN, SYN-ACK, hint, data, FIN, FIN
    EXPECT_EQ(sink.counts().packets, 6u);
    opened->sync();
  }
  EXPECT_EQ(counter.data_calls, 1);
  EXPECT_EQ(counter.lost_calls, 1);
  EXPECT_EQ(counter.close_calls, 1);
  std::vector<Block> file = blocks(test::read_file(path));
  ASSERT_EQ(file.size(), 3u + 6u);
  EXPECT_EQ(file[0].type, 0x0A0D0D0Au);
  EXPECT_NE(file[0].body.find("tlstap 0.1.0"), std::string::npos);
  EXPECT_EQ(file[1].type, 1u);
  EXPECT_EQ(le32(file[1].body, 0) & 0xffff, 101u);  // IP packets
  EXPECT_EQ(file[2].type, 1u);
  EXPECT_EQ(le32(file[2].body, 0) & 0xffff, 252u);  // exported PDU
  std::vector<uint32_t> interfaces;
  for (size_t i = 3; i < file.size(); i++) {
    EXPECT_EQ(file[i].type, 6u);
    interfaces.push_back(le32(file[i].body, 0));
  }
  EXPECT_EQ(interfaces, (std::vector<uint32_t>{0, 0, 1, 0, 0, 0}));
  const Block& data = file[6];
  EXPECT_EQ((uint64_t{le32(data.body, 4)} << 32) | le32(data.body, 8), 1764050000123456789ull);
  EXPECT_NE(data.body.find("GET / HTTP/1.1\r\n\r\n"), std::string::npos);
  EXPECT_NE(data.body.find("curl[7] tid=8 openssl SSL_write"), std::string::npos);
}

}  // namespace
}  // namespace tlstap
