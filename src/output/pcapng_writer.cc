#include "output/pcapng_writer.h"

namespace tlstap::pcapng {
namespace {

constexpr uint32_t kSectionHeaderType = 0x0A0D0D0A;
constexpr uint32_t kInterfaceType = 0x00000001;
constexpr uint32_t kEnhancedPacketType = 0x00000006;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;

constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfTsresol = 9;

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; i++) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void pad32(std::string& out, size_t length) { out.append((4 - length % 4) % 4, '\0'); }

void put_option(std::string& out, uint16_t code, std::string_view value) {
  put16(out, code);
  put16(out, static_cast<uint16_t>(value.size()));
  out.append(value);
  pad32(out, value.size());
}

// Opens a block: type and a placeholder for its length. Returns where the block starts.
size_t begin_block(std::string& out, uint32_t type) {
  size_t start = out.size();
  put32(out, type);
  put32(out, 0);
  return start;
}

// Closes the block begun at `start`: the total length goes at both ends.
void end_block(std::string& out, size_t start) {
  uint32_t length = static_cast<uint32_t>(out.size() - start + 4);
  put32(out, length);
  for (int i = 0; i < 4; i++) out[start + 4 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
}

// Option values are at most 65535 bytes; a longer comment is cut (it is a comment).
std::string_view option_value(std::string_view value) { return value.substr(0, 0xffff); }

}  // namespace

void append_section_header(std::string& out, std::string_view user_application) {
  size_t start = begin_block(out, kSectionHeaderType);
  put32(out, kByteOrderMagic);
  put16(out, 1);           // major version
  put16(out, 0);           // minor version
  put32(out, 0xffffffff);  // section length: not known (-1), the file is streamed
  put32(out, 0xffffffff);
  put_option(out, kShbUserAppl, option_value(user_application));
  put_option(out, kOptEnd, {});
  end_block(out, start);
}

void append_interface(std::string& out, uint16_t link_type, std::string_view name) {
  size_t start = begin_block(out, kInterfaceType);
  put16(out, link_type);
  put16(out, 0);  // reserved
  put32(out, 0);  // snaplen: no limit
  put_option(out, kIfName, option_value(name));
  put_option(out, kIfTsresol, std::string_view("\x09", 1));  // 10^-9 s
  put_option(out, kOptEnd, {});
  end_block(out, start);
}

void append_packet(std::string& out, uint32_t interface_id, uint64_t ts_ns, std::string_view packet,
                   std::string_view comment) {
  size_t start = begin_block(out, kEnhancedPacketType);
  put32(out, interface_id);
  put32(out, static_cast<uint32_t>(ts_ns >> 32));
  put32(out, static_cast<uint32_t>(ts_ns));
  put32(out, static_cast<uint32_t>(packet.size()));
  put32(out, static_cast<uint32_t>(packet.size()));
  out.append(packet);
  pad32(out, packet.size());
  if (!comment.empty()) {
    put_option(out, kOptComment, option_value(comment));
    put_option(out, kOptEnd, {});
  }
  end_block(out, start);
}

}  // namespace tlstap::pcapng
