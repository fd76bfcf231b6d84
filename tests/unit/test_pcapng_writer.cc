// The pcapng block writer, block by block against the pcapng specification
// (draft-ietf-opsawg-pcapng, sections 4.1 Section Header, 4.2 Interface Description,
// 4.3 Enhanced Packet, 3.5 options): the bytes are read back with an independent reader.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "output/pcapng_writer.h"

namespace tlstap {
namespace {

uint16_t le16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8);
}
uint32_t le32(std::string_view b, size_t at) {
  return static_cast<uint32_t>(le16(b, at)) | static_cast<uint32_t>(le16(b, at + 2)) << 16;
}

struct Option {
  uint16_t code;
  std::string value;
};

// Reads options from `at` to the end of the block body; checks each is padded to 32 bits and
// that the list ends with opt_endofopt.
std::vector<Option> read_options(std::string_view body, size_t at) {
  std::vector<Option> options;
  while (at < body.size()) {
    EXPECT_LE(at + 4, body.size());
    uint16_t code = le16(body, at), length = le16(body, at + 2);
    if (code == 0) {
      EXPECT_EQ(length, 0);
      EXPECT_EQ(at + 4, body.size()) << "opt_endofopt is not last";
      return options;
    }
    size_t padded = (length + 3u) / 4 * 4;
    EXPECT_LE(at + 4 + padded, body.size());
    std::string_view padding = body.substr(at + 4 + length, padded - length);
    EXPECT_EQ(padding, std::string(padded - length, '\0'));
    options.push_back({code, std::string(body.substr(at + 4, length))});
    at += 4 + padded;
  }
  ADD_FAILURE() << "no opt_endofopt";
  return options;
}

// Checks the framing of the one block in `b` (type, equal leading and trailing lengths, a
// multiple of 4) and returns its body.
std::string_view block_body(std::string_view b, uint32_t type) {
  EXPECT_GE(b.size(), 12u);
  EXPECT_EQ(le32(b, 0), type);
  uint32_t length = le32(b, 4);
  EXPECT_EQ(length, b.size());
  EXPECT_EQ(length % 4, 0u);
  EXPECT_EQ(le32(b, b.size() - 4), length);
  return b.substr(8, b.size() - 12);
}

TEST(PcapngWriter, SectionHeaderNamesTheApplication) {
  std::string b;
  pcapng::append_section_header(b, "tlstap 0.1.0");
  std::string_view body = block_body(b, 0x0A0D0D0A);
  EXPECT_EQ(le32(body, 0), 0x1A2B3C4Du);  // byte-order magic, written little-endian
  EXPECT_EQ(le16(body, 4), 1);            // major
  EXPECT_EQ(le16(body, 6), 0);            // minor
  EXPECT_EQ(le32(body, 8), 0xffffffffu);  // section length -1: not known
  EXPECT_EQ(le32(body, 12), 0xffffffffu);
  std::vector<Option> options = read_options(body, 16);
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0].code, 4);  // shb_userappl
  EXPECT_EQ(options[0].value, "tlstap 0.1.0");
}

TEST(PcapngWriter, InterfaceHasNanosecondTimestamps) {
  std::string b;
  pcapng::append_interface(b, pcapng::kLinktypeRaw, "plaintext");
  std::string_view body = block_body(b, 1);
  EXPECT_EQ(le16(body, 0), 101);  // LINKTYPE_RAW
  EXPECT_EQ(le16(body, 2), 0);    // reserved
  EXPECT_EQ(le32(body, 4), 0u);   // snaplen 0: no limit
  std::vector<Option> options = read_options(body, 8);
  ASSERT_EQ(options.size(), 2u);
  EXPECT_EQ(options[0].code, 2);  // if_name
  EXPECT_EQ(options[0].value, "plaintext");
  EXPECT_EQ(options[1].code, 9);  // if_tsresol
  EXPECT_EQ(options[1].value, std::string(1, '\x09'));
}

TEST(PcapngWriter, EnhancedPacketWithComment) {
  std::string b;
  const uint64_t ts = 1764050000123456789ull;
  pcapng::append_packet(b, 1, ts, "hello", "curl[12] tid=13 openssl SSL_write");
  std::string_view body = block_body(b, 6);
  EXPECT_EQ(le32(body, 0), 1u);  // interface id
  EXPECT_EQ((uint64_t{le32(body, 4)} << 32) | le32(body, 8), ts);
  EXPECT_EQ(le32(body, 12), 5u);  // captured
  EXPECT_EQ(le32(body, 16), 5u);  // original
  EXPECT_EQ(body.substr(20, 5), "hello");
  EXPECT_EQ(body.substr(25, 3), std::string(3, '\0'));  // padded to 32 bits
  std::vector<Option> options = read_options(body, 28);
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0].code, 1);  // opt_comment
  EXPECT_EQ(options[0].value, "curl[12] tid=13 openssl SSL_write");
}

TEST(PcapngWriter, PacketWithoutCommentHasNoOptions) {
  std::string b;
  pcapng::append_packet(b, 0, 7, std::string(8, 'x'), "");
  std::string_view body = block_body(b, 6);
  EXPECT_EQ(body.size(), 20u + 8u);
}

TEST(PcapngWriter, BlocksFollowEachOther) {
  std::string b;
  pcapng::append_section_header(b, "t");
  size_t first = b.size();
  pcapng::append_packet(b, 0, 1, "abc", "c");
  EXPECT_EQ(le32(b, 4), first);
  EXPECT_EQ(le32(b, first), 6u);
  EXPECT_EQ(le32(b, first + 4), b.size() - first);
}

}  // namespace
}  // namespace tlstap
