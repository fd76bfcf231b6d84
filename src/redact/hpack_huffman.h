// The HPACK Huffman code (RFC 7541 section 5.2 and Appendix B): a streaming decoder that
// reports each symbol with its bit length, and the "mask symbol" of each code length. The
// redactor replaces every symbol of a secret value by the mask symbol of the same length, so
// the masked string keeps its byte length and its decoded length (the dynamic table sizes of
// every decoder stay what the encoder assumed).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tlstap::redact::hpack {

inline constexpr unsigned kEosSymbol = 256;
inline constexpr unsigned kLongestCode = 30;

struct HuffmanCode {
  uint32_t bits = 0;   // the code, right-aligned
  uint8_t length = 0;  // in bits, 5 to 30
};

// The code of `symbol` (0..255, or kEosSymbol).
const HuffmanCode& huffman_code(unsigned symbol);

// The symbol that stands for any symbol whose code has `length` bits: a visible, mask-like
// character where the code has one of that length ('*' for 8 bits). Every length that some
// byte's code has has one; 0 for the lengths no code has.
uint8_t mask_symbol(unsigned length);

// Decodes a Huffman-coded string one byte at a time. Symbols come out as soon as their last
// bit is fed, with the bit offset (in the string) where they start.
class HuffmanDecoder {
 public:
  // Feeds one byte of the string; `on_symbol(symbol, start_bit, length)` is called for every
  // symbol completed in it. False when the string is not valid HPACK Huffman (EOS inside it):
  // the decoder then refuses everything.
  template <typename OnSymbol>
  bool feed(uint8_t byte, OnSymbol&& on_symbol) {
    if (failed_) return false;
    for (int bit = 7; bit >= 0; --bit) {
      code_ = code_ << 1 | ((byte >> bit) & 1u);
      ++length_;
      ++bits_fed_;
      int symbol = match();
      if (symbol < 0) continue;
      if (static_cast<unsigned>(symbol) == kEosSymbol) return fail();
      on_symbol(static_cast<uint8_t>(symbol), bits_fed_ - length_, length_);
      ++symbols_;
      code_ = 0;
      length_ = 0;
    }
    return true;
  }
  // Whether the string may end here: at most 7 bits after the last symbol, all ones (the
  // most significant bits of EOS), as RFC 7541 section 5.2 asks.
  bool complete() const { return !failed_ && length_ <= 7 && code_ == ((1u << length_) - 1); }
  size_t symbols() const { return symbols_; }
  // Bit offset in the string where the bits after the last complete symbol begin.
  uint64_t symbol_bits_end() const { return bits_fed_ - length_; }
  bool failed() const { return failed_; }

 private:
  // The symbol whose code is `code_` (`length_` bits), -1 while no code matches yet. The code
  // is canonical, so a code of a given length is the first code of that length plus the
  // symbol's rank among the symbols of that length.
  int match() const;
  bool fail() {
    failed_ = true;
    return false;
  }

  uint32_t code_ = 0;
  unsigned length_ = 0;
  uint64_t bits_fed_ = 0;
  size_t symbols_ = 0;
  bool failed_ = false;
};

}  // namespace tlstap::redact::hpack
