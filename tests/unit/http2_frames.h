// Builds HTTP/2 connection bytes for the HTTP/2 parser's tests and fuzz seeds: frames written
// by hand from RFC 9113's layout, header blocks encoded by nghttp2's own HPACK encoder (one per
// direction, as a real peer keeps one), so the test input is real HPACK.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlstap::test {

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum : uint8_t {
  DATA = 0,
  HEADERS = 1,
  PRIORITY = 2,
  RST_STREAM = 3,
  SETTINGS = 4,
  PUSH_PROMISE = 5,
  PING = 6,
  GOAWAY = 7,
  WINDOW_UPDATE = 8,
  CONTINUATION = 9
};
enum : uint8_t { END_STREAM = 1, ACK = 1, END_HEADERS = 4, PADDED = 8, PRIORITY_FLAG = 0x20 };

inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out = be32(static_cast<uint32_t>(payload.size()) << 8).substr(0, 3);
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out += be32(stream);
  out += payload;
  return out;
}

inline std::string settings(std::vector<std::pair<uint16_t, uint32_t>> values = {}) {
  std::string payload;
  for (auto [id, value] : values) {
    payload.push_back(static_cast<char>(id >> 8));
    payload.push_back(static_cast<char>(id));
    payload += be32(value);
  }
  return frame(SETTINGS, 0, 0, payload);
}
inline std::string settings_ack() { return frame(SETTINGS, ACK, 0, ""); }

// A gRPC length-prefixed message: compressed flag, 4-byte length, the bytes.
inline std::string grpc_message(std::string_view bytes) {
  return std::string(1, '\0') + be32(static_cast<uint32_t>(bytes.size())) + std::string(bytes);
}

using Fields = std::vector<std::pair<std::string, std::string>>;

// nghttp2's HPACK encoder for one direction of one connection.
class HpackEncoder {
 public:
  explicit HpackEncoder(size_t max_table = 4096) {
    if (nghttp2_hd_deflate_new(&deflater_, max_table) != 0) throw std::bad_alloc();
  }
  ~HpackEncoder() {
    if (deflater_) nghttp2_hd_deflate_del(deflater_);
  }
  HpackEncoder(HpackEncoder&& other) noexcept
      : deflater_(std::exchange(other.deflater_, nullptr)) {}
  HpackEncoder& operator=(HpackEncoder&&) = delete;

  std::string encode(const Fields& fields) {
    std::vector<nghttp2_nv> nvs;
    for (const auto& [name, value] : fields) {
      nghttp2_nv nv;
      nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
      nv.namelen = name.size();
      nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
      nv.valuelen = value.size();
      nv.flags = NGHTTP2_NV_FLAG_NONE;
      nvs.push_back(nv);
    }
    std::string out(nghttp2_hd_deflate_bound(deflater_, nvs.data(), nvs.size()), '\0');
    ssize_t n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                      nvs.data(), nvs.size());
    if (n < 0) throw std::runtime_error("nghttp2_hd_deflate_hd failed");
    out.resize(static_cast<size_t>(n));
    return out;
  }
  // The decoder's SETTINGS_HEADER_TABLE_SIZE, acknowledged: the next block says so.
  void change_table_size(size_t bytes) {
    if (nghttp2_hd_deflate_change_table_size(deflater_, bytes) != 0)
      throw std::runtime_error("nghttp2_hd_deflate_change_table_size failed");
  }

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
};

}  // namespace tlstap::test
