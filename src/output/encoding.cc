#include "output/encoding.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace tlstap {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

void append_hex_byte(std::string& out, unsigned char byte) {
  out.push_back(kHexDigits[byte >> 4]);
  out.push_back(kHexDigits[byte & 0xf]);
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The two base64 characters of every 12-bit value.
constexpr std::array<std::array<char, 2>, 4096> kBase64Pairs = [] {
  std::array<std::array<char, 2>, 4096> pairs{};
  for (size_t v = 0; v < pairs.size(); v++) {
    pairs[v] = {kBase64Alphabet[v >> 6], kBase64Alphabet[v & 0x3f]};
  }
  return pairs;
}();

bool is_printable_ascii(unsigned char c) { return c >= 0x20 && c < 0x7f; }

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not one.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length;
  uint32_t code_point;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, code_point = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; k++) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3f);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
      (code_point >= 0xd800 && code_point <= 0xdfff) || code_point > 0x10ffff) {
    return 0;
  }
  return length;
}

}  // namespace

void append_base64(std::string& out, std::string_view bytes) {
  size_t start = out.size();
  out.resize(start + (bytes.size() + 2) / 3 * 4);
  char* dst = out.data() + start;
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  // Base64 is most of the JSON encoder's time for large records: each 12 bits of input
  // become two output characters with one table lookup instead of two.
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t triple = (uint32_t{src[i]} << 16) | (uint32_t{src[i + 1]} << 8) | src[i + 2];
    std::memcpy(dst, kBase64Pairs[triple >> 12].data(), 2);
    std::memcpy(dst + 2, kBase64Pairs[triple & 0xfff].data(), 2);
    dst += 4;
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t triple = uint32_t{src[i]} << 16;
    if (rest == 2) triple |= uint32_t{src[i + 1]} << 8;
    *dst++ = kBase64Alphabet[(triple >> 18) & 0x3f];
    *dst++ = kBase64Alphabet[(triple >> 12) & 0x3f];
    *dst++ = rest == 2 ? kBase64Alphabet[(triple >> 6) & 0x3f] : '=';
    *dst++ = '=';
  }
}

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (size_t i = 0; i < text.size(); i++) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      append_hex_byte(out, c);
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (size_t length = utf8_sequence_length(text, i); length > 0) {
      out.append(text.substr(i, length));
      i += length - 1;
    } else {
      out += "\\u00";
      append_hex_byte(out, c);
    }
  }
  out.push_back('"');
}

namespace {

void append_escaped(std::string& out, std::string_view bytes, bool keep_layout) {
  for (char ch : bytes) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((is_printable_ascii(c) && c != '\\') || (keep_layout && (c == '\n' || c == '\t'))) {
      out.push_back(ch);
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      append_hex_byte(out, c);
    }
  }
}

}  // namespace

void append_terminal_safe(std::string& out, std::string_view bytes) {
  append_escaped(out, bytes, /*keep_layout=*/true);
}

void append_terminal_safe_field(std::string& out, std::string_view bytes) {
  append_escaped(out, bytes, /*keep_layout=*/false);
}

void append_hexdump(std::string& out, std::string_view bytes) {
  for (size_t line = 0; line < bytes.size(); line += 16) {
    for (int shift = 28; shift >= 0; shift -= 4) out.push_back(kHexDigits[(line >> shift) & 0xf]);
    out += "  ";
    for (size_t k = 0; k < 16; k++) {
      if (line + k < bytes.size()) {
        append_hex_byte(out, static_cast<unsigned char>(bytes[line + k]));
        out.push_back(' ');
      } else {
        out += "   ";
      }
      if (k == 7) out.push_back(' ');
    }
    out += " |";
    for (size_t k = 0; k < 16 && line + k < bytes.size(); k++) {
      unsigned char c = static_cast<unsigned char>(bytes[line + k]);
      out.push_back(is_printable_ascii(c) ? static_cast<char>(c) : '.');
    }
    out += "|\n";
  }
}

}  // namespace tlstap
