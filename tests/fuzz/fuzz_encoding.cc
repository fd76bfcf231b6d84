// Fuzzes the byte encoders on arbitrary bytes and checks their promises cheaply: base64
// length and alphabet (and a decode round trip), JSON strings that are valid JSON with
// nothing unescaped, terminal-safe output without control bytes, hexdump line layout.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "output/encoding.h"

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

void check_base64(std::string_view bytes) {
  std::string out = "prefix";
  tlstap::append_base64(out, bytes);
  FUZZ_CHECK(out.compare(0, 6, "prefix") == 0);
  std::string_view encoded = std::string_view(out).substr(6);
  FUZZ_CHECK(encoded.size() == (bytes.size() + 2) / 3 * 4);
  size_t padding = bytes.size() % 3 == 0 ? 0 : 3 - bytes.size() % 3;
  std::string decoded;
  for (size_t i = 0; i < encoded.size(); i += 4) {
    uint32_t n = 0;
    for (size_t k = 0; k < 4; k++) {
      char c = encoded[i + k];
      bool is_padding = i + 4 == encoded.size() && k >= 4 - padding;
      FUZZ_CHECK(is_padding ? c == '=' : base64_value(c) >= 0);
      n = (n << 6) | static_cast<uint32_t>(is_padding ? 0 : base64_value(c));
    }
    decoded.push_back(static_cast<char>(n >> 16));
    decoded.push_back(static_cast<char>(n >> 8));
    decoded.push_back(static_cast<char>(n));
  }
  decoded.resize(decoded.size() - padding);
  FUZZ_CHECK(decoded == bytes);
}

void check_json(std::string_view bytes) {
  std::string out;
  tlstap::append_json_string(out, bytes);
  FUZZ_CHECK(out.size() >= 2 && out.front() == '"' && out.back() == '"');
  for (char c : out) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  // nlohmann validates UTF-8 and escapes; it throws (and the fuzzer stops) on invalid JSON.
  nlohmann::json value = nlohmann::json::parse(out);
  FUZZ_CHECK(value.is_string());
  // Valid UTF-8 (as nlohmann judges it) must come back unchanged.
  std::string input(bytes);
  bool valid_utf8 = true;
  try {
    (void)nlohmann::json(input).dump();
  } catch (const nlohmann::json::type_error&) {
    valid_utf8 = false;
  }
  if (valid_utf8) FUZZ_CHECK(value.get<std::string>() == input);
}

void check_terminal_safe(std::string_view bytes) {
  std::string out;
  tlstap::append_terminal_safe(out, bytes);
  FUZZ_CHECK(out.size() >= bytes.size() && out.size() <= 4 * bytes.size());
  for (char c : out) {
    auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u == '\n' || u == '\t' || (u >= 0x20 && u < 0x7f));
  }
}

void check_hexdump(std::string_view bytes) {
  std::string out;
  tlstap::append_hexdump(out, bytes);
  size_t lines = (bytes.size() + 15) / 16;
  FUZZ_CHECK(out.size() == 63 * lines + bytes.size());
  size_t start = 0;
  for (size_t line = 0; line < lines; line++) {
    size_t end = out.find('\n', start);
    FUZZ_CHECK(end != std::string::npos);
    size_t count = std::min<size_t>(16, bytes.size() - 16 * line);
    FUZZ_CHECK(end - start == 61 + count + 1);
    FUZZ_CHECK(out[start + 60] == '|' && out[end - 1] == '|');
    start = end + 1;
  }
  FUZZ_CHECK(start == out.size());
  for (char c : out) {
    auto u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u == '\n' || (u >= 0x20 && u < 0x7f));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_base64(bytes);
  check_json(bytes);
  check_terminal_safe(bytes);
  check_hexdump(bytes);
  return 0;
}
