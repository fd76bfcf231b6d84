#include "redact/hpack_huffman.h"

#include <array>
#include <string_view>

namespace tlstap::redact::hpack {

namespace {

// The code length of each symbol (0..255, then EOS), from RFC 7541 Appendix B. The code
// there is canonical (codes of one length are consecutive, in symbol order, and each length's
// first code follows the previous length's last), so the lengths define the codes; the unit
// test checks them against nghttp2's encoder and decoder.
constexpr std::array<uint8_t, 257> kCodeLength = {
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  // 0x00
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  // 0x10
    6,  10, 10, 12, 13, 6,  8,  11, 10, 10, 8,  11, 8,  6,  6,  6,   // ' ' to '/'
    5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8,  15, 6,  12, 10,  // '0' to '?'
    13, 6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,   // '@' to 'O'
    7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8,  13, 19, 13, 14, 6,   // 'P' to '_'
    15, 5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,   // '`' to 'o'
    6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7,  15, 11, 14, 13, 28,  // 'p' to 0x7f
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  // 0x80
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  // 0x90
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  // 0xa0
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  // 0xb0
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  // 0xc0
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  // 0xd0
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  // 0xe0
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  // 0xf0
    30,                                                              // EOS
};

struct Tables {
  std::array<HuffmanCode, 257> codes{};
  // Per length: the first code, how many codes, and where their symbols start in `sorted`.
  std::array<uint32_t, kLongestCode + 1> first{};
  std::array<uint32_t, kLongestCode + 1> count{};
  std::array<uint16_t, kLongestCode + 1> offset{};
  std::array<uint16_t, 257> sorted{};  // symbols by (length, symbol)
  std::array<uint8_t, kLongestCode + 1> mask{};
};

Tables build() {
  Tables t;
  for (unsigned s = 0; s < 257; ++s) ++t.count[kCodeLength[s]];
  uint32_t code = 0;
  uint16_t at = 0;
  for (unsigned length = 1; length <= kLongestCode; ++length) {
    code = (code + t.count[length - 1]) << 1;
    t.first[length] = code;
    t.offset[length] = at;
    for (unsigned s = 0; s < 257; ++s)
      if (kCodeLength[s] == length) {
        t.codes[s] = {code + (at - t.offset[length]), static_cast<uint8_t>(length)};
        t.sorted[at++] = static_cast<uint16_t>(s);
      }
  }
  // Mask symbols: the first of these that has a code of the length, else the lowest byte
  // with one (the long codes are all control or non-ASCII bytes).
  constexpr std::string_view kPreferred = "*x-_#~^<|\\";
  for (unsigned length = 1; length <= kLongestCode; ++length) {
    bool found = false;
    for (char c : kPreferred)
      if (!found && kCodeLength[static_cast<uint8_t>(c)] == length) {
        t.mask[length] = static_cast<uint8_t>(c);
        found = true;
      }
    for (unsigned s = 0; s < 256 && !found; ++s)
      if (kCodeLength[s] == length) {
        t.mask[length] = static_cast<uint8_t>(s);
        found = true;
      }
  }
  return t;
}

const Tables& tables() {
  static const Tables t = build();
  return t;
}

}  // namespace

const HuffmanCode& huffman_code(unsigned symbol) { return tables().codes[symbol]; }

uint8_t mask_symbol(unsigned length) { return length <= kLongestCode ? tables().mask[length] : 0; }

int HuffmanDecoder::match() const {
  const Tables& t = tables();
  if (length_ > kLongestCode) return -1;
  uint32_t rank = code_ - t.first[length_];
  if (code_ < t.first[length_] || rank >= t.count[length_]) return -1;
  return t.sorted[t.offset[length_] + rank];
}

}  // namespace tlstap::redact::hpack
