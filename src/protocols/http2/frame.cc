#include "protocols/http2/frame.h"

namespace tlstap::http2 {

uint32_t read_u32(std::string_view bytes) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

uint16_t read_u16(std::string_view bytes) {
  return static_cast<uint16_t>(static_cast<uint8_t>(bytes[0]) << 8 |
                               static_cast<uint8_t>(bytes[1]));
}

FrameHeader parse_frame_header(std::string_view bytes) {
  FrameHeader header;
  header.length = read_u32(bytes) >> 8;
  header.type = static_cast<uint8_t>(bytes[3]);
  header.flags = static_cast<uint8_t>(bytes[4]);
  header.stream = read_u32(bytes.substr(5)) & 0x7fffffffu;
  return header;
}

bool plausible(const FrameHeader& header, uint32_t max_frame_size) {
  if (header.length > max_frame_size) return false;
  switch (static_cast<FrameType>(header.type)) {
    case FrameType::data:
    case FrameType::headers:
    case FrameType::continuation:
    case FrameType::push_promise: return header.stream != 0;
    case FrameType::priority: return header.stream != 0 && header.length == 5;
    case FrameType::rst_stream: return header.stream != 0 && header.length == 4;
    case FrameType::settings:
      if (header.stream != 0) return false;
      return (header.flags & flag::ack) ? header.length == 0 : header.length % 6 == 0;
    case FrameType::ping: return header.stream == 0 && header.length == 8;
    case FrameType::goaway: return header.stream == 0 && header.length >= 8;
    case FrameType::window_update: return header.length == 4;
  }
  return true;  // an extension frame type: allowed, ignored
}

bool is_whole_frames(std::string_view bytes, uint32_t max_frame_size) {
  if (bytes.empty()) return false;
  std::optional<uint32_t> open_block;  // the stream whose header block awaits CONTINUATION
  while (!bytes.empty()) {
    if (bytes.size() < kFrameHeaderSize) return false;
    FrameHeader header = parse_frame_header(bytes);
    if (!plausible(header, max_frame_size)) return false;
    if (bytes.size() - kFrameHeaderSize < header.length) return false;
    bool continuation = header.type == static_cast<uint8_t>(FrameType::continuation);
    if (continuation ? !open_block || *open_block != header.stream : open_block.has_value())
      return false;
    bool starts_block = header.type == static_cast<uint8_t>(FrameType::headers) ||
                        header.type == static_cast<uint8_t>(FrameType::push_promise);
    if ((starts_block || continuation) && !(header.flags & flag::end_headers))
      open_block = header.stream;
    else
      open_block.reset();
    bytes.remove_prefix(kFrameHeaderSize + header.length);
  }
  return true;
}

std::optional<std::string_view> header_block_fragment(const FrameHeader& header,
                                                      std::string_view payload) {
  size_t pad = 0;
  if (header.flags & flag::padded) {
    if (payload.empty()) return std::nullopt;
    pad = static_cast<uint8_t>(payload[0]);
    payload.remove_prefix(1);
  }
  size_t fixed = 0;
  if (header.type == static_cast<uint8_t>(FrameType::headers) && (header.flags & flag::priority))
    fixed = 5;  // stream dependency + weight
  if (header.type == static_cast<uint8_t>(FrameType::push_promise)) fixed = 4;
  if (payload.size() < fixed + pad) return std::nullopt;
  return payload.substr(fixed, payload.size() - fixed - pad);
}

std::optional<uint32_t> promised_stream(const FrameHeader& header, std::string_view payload) {
  if (header.flags & flag::padded) {
    if (payload.empty()) return std::nullopt;
    payload.remove_prefix(1);
  }
  if (payload.size() < 4) return std::nullopt;
  return read_u32(payload) & 0x7fffffffu;
}

}  // namespace tlstap::http2
