#include "output/encoding.h"

#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace tlstap {
namespace {

std::string base64(std::string_view bytes) {
  std::string out;
  append_base64(out, bytes);
  return out;
}
std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}
std::string terminal_safe(std::string_view bytes) {
  std::string out;
  append_terminal_safe(out, bytes);
  return out;
}
std::string hexdump(std::string_view bytes) {
  std::string out;
  append_hexdump(out, bytes);
  return out;
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// Encodes a code point as UTF-8, independently of the code under test.
void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// --- base64 -------------------------------------------------------------------------------

TEST(Base64, Rfc4648Section10Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

TEST(Base64, AppendsWithoutTouchingWhatIsThere) {
  std::string out = "prefix:";
  append_base64(out, "foobar");
  append_base64(out, "f");
  EXPECT_EQ(out, "prefix:Zm9vYmFyZg==");
}

TEST(Base64, AllByteValuesAndTheLastAlphabetCharacters) {
  EXPECT_EQ(base64(std::string("\xfb\xff\xbf", 3)), "+/+/");
  EXPECT_EQ(base64(std::string("\0\0\0", 3)), "AAAA");
  EXPECT_EQ(base64(std::string("\xff", 1)), "/w==");
  std::string all;
  for (int i = 0; i < 256; i++) all.push_back(static_cast<char>(i));
  auto decoded = test::base64_decode(base64(all));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, all);
}

TEST(Base64, RandomRoundTripWithAnIndependentDecoder) {
  std::mt19937_64 rng(42);
  for (size_t n = 0; n < 2000; n += 1 + n / 16) {
    std::string bytes = random_bytes(rng, n);
    std::string encoded = base64(bytes);
    ASSERT_EQ(encoded.size(), (n + 2) / 3 * 4) << n;
    auto decoded = test::base64_decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    ASSERT_EQ(*decoded, bytes) << "length " << n;
  }
}

TEST(Base64, LargeInput) {
  std::string bytes = test::pattern_bytes(3 << 20, 77);
  std::string encoded = base64(bytes);
  EXPECT_EQ(encoded.size(), 4u << 20);
  auto decoded = test::base64_decode(encoded);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(*decoded == bytes);
}

// --- JSON strings -------------------------------------------------------------------------

std::string parse_json_string(const std::string& literal) {
  nlohmann::json value = nlohmann::json::parse(literal);  // throws on invalid JSON/UTF-8
  EXPECT_TRUE(value.is_string()) << literal;
  return value.get<std::string>();
}

TEST(JsonString, EscapesAndRoundTripsAscii) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_string("\n\r\t"), R"("\n\r\t")");
  EXPECT_EQ(json_string(std::string("\0\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  std::string ascii;
  for (int i = 0; i < 128; i++) ascii.push_back(static_cast<char>(i));
  EXPECT_EQ(parse_json_string(json_string(ascii)), ascii);
}

TEST(JsonString, ValidUtf8PassesThroughUnchanged) {
  const std::string samples[] = {"caf\xc3\xa9",  "\xe2\x82\xac 100", "\xf0\x9f\x98\x80",
                                 "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf",
                                 "\xee\x80\x80"};
  for (const std::string& text : samples) {
    SCOPED_TRACE(text);
    EXPECT_EQ(json_string(text), "\"" + text + "\"");
    EXPECT_EQ(parse_json_string(json_string(text)), text);
  }
}

TEST(JsonString, RandomValidUtf8RoundTrips) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; round++) {
    std::string text;
    size_t count = rng() % 200;
    for (size_t i = 0; i < count; i++) {
      uint32_t cp;
      switch (rng() % 4) {
        case 0: cp = static_cast<uint32_t>(rng() % 0x80); break;
        case 1: cp = static_cast<uint32_t>(0x80 + rng() % (0x800 - 0x80)); break;
        case 2: cp = static_cast<uint32_t>(0x800 + rng() % (0x10000 - 0x800)); break;
        default: cp = static_cast<uint32_t>(0x10000 + rng() % (0x110000 - 0x10000)); break;
      }
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;  // surrogates are not characters
      append_utf8(text, cp);
    }
    std::string literal = json_string(text);
    std::string parsed;
    ASSERT_NO_THROW(parsed = parse_json_string(literal)) << literal;
    ASSERT_EQ(parsed, text);
  }
}

TEST(JsonString, InvalidUtf8BecomesEscapedBytes) {
  struct Case {
    std::string input, expected;
  };
  const Case cases[] = {
      {"\xff", R"("\u00ff")"},
      {"\x80", R"("\u0080")"},
      {"a\xc3", R"("a\u00c3")"},                              // truncated 2-byte sequence
      {"\xc0\xaf", R"("\u00c0\u00af")"},                      // overlong '/'
      {"\xc1\xbf", R"("\u00c1\u00bf")"},                      // overlong
      {"\xe0\x80\xaf", R"("\u00e0\u0080\u00af")"},            // overlong 3-byte
      {"\xed\xa0\x80", R"("\u00ed\u00a0\u0080")"},            // surrogate U+D800
      {"\xe2\x82", R"("\u00e2\u0082")"},                      // truncated 3-byte
      {"\xf0\x8f\xbf\xbf", R"("\u00f0\u008f\u00bf\u00bf")"},  // overlong 4-byte
      {"\xf4\x90\x80\x80", R"("\u00f4\u0090\u0080\u0080")"},  // > U+10FFFF
      {"\xf5\x80\x80\x80", R"("\u00f5\u0080\u0080\u0080")"},
      {"\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\u00ff\xc3\xa9\""},  // valid around invalid
      {"\xe2\x82\x41", R"("\u00e2\u0082A")"},                   // continuation byte missing
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expected);
    std::string literal = json_string(c.input);
    EXPECT_EQ(literal, c.expected);
    EXPECT_NO_THROW(parse_json_string(literal));
  }
}

TEST(JsonString, RandomBytesAlwaysMakeValidJson) {
  std::mt19937_64 rng(1234);
  for (int round = 0; round < 2000; round++) {
    std::string bytes = random_bytes(rng, rng() % 64);
    std::string literal = json_string(bytes);
    for (char c : literal) ASSERT_GE(static_cast<unsigned char>(c), 0x20) << literal;
    std::string parsed;
    ASSERT_NO_THROW(parsed = parse_json_string(literal)) << literal;
    // Every input byte is represented: ASCII bytes come back as themselves.
    size_t ascii_in = 0, ascii_out = 0;
    for (char c : bytes) ascii_in += static_cast<unsigned char>(c) < 0x80;
    for (char c : parsed) ascii_out += static_cast<unsigned char>(c) < 0x80;
    EXPECT_EQ(ascii_in, ascii_out);
  }
}

// --- terminal-safe text ---------------------------------------------------------------

bool terminal_safe_byte(unsigned char c) {
  return c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f);
}

// Reverses append_terminal_safe (written here, independently).
std::string terminal_unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    char kind = text.at(i + 1);
    if (kind == '\\') {
      out.push_back('\\');
      i += 1;
    } else if (kind == 'r') {
      out.push_back('\r');
      i += 1;
    } else if (kind == 'x') {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 2, 2)), nullptr, 16)));
      i += 3;
    } else {
      ADD_FAILURE() << "unknown escape in " << text;
    }
  }
  return out;
}

TEST(TerminalSafeField, NewlineAndTabAreEscapedToo) {
  std::string out;
  append_terminal_safe_field(out, "x\n07:10:21.0 y[1]\t\r\\\x1b");
  EXPECT_EQ(out, "x\\n07:10:21.0 y[1]\\t\\r\\\\\\x1b");
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(TerminalSafe, KnownEscapes) {
  EXPECT_EQ(terminal_safe("GET / HTTP/1.1\r\n\tx"), "GET / HTTP/1.1\\r\n\tx");
  EXPECT_EQ(terminal_safe("a\\b"), "a\\\\b");
  EXPECT_EQ(terminal_safe("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(terminal_safe(std::string("\0\x7f\x80\xff", 4)), "\\x00\\x7f\\x80\\xff");
  EXPECT_EQ(terminal_safe("caf\xc3\xa9"), "caf\\xc3\\xa9");
}

TEST(TerminalSafe, NeverEmitsAControlOrHighByteAndIsReversible) {
  std::string all;
  for (int i = 0; i < 256; i++) all.push_back(static_cast<char>(i));
  std::mt19937_64 rng(99);
  std::vector<std::string> inputs = {all};
  for (int i = 0; i < 500; i++) inputs.push_back(random_bytes(rng, rng() % 300));
  for (const std::string& input : inputs) {
    std::string out = terminal_safe(input);
    for (char c : out) {
      ASSERT_TRUE(terminal_safe_byte(static_cast<unsigned char>(c)))
          << "byte " << int(static_cast<unsigned char>(c));
    }
    ASSERT_EQ(terminal_unescape(out), input);
  }
}

// --- hexdump ------------------------------------------------------------------------------

TEST(Hexdump, Layout) {
  // The expected lines are `hexdump -C` output (without its final offset line).
  EXPECT_EQ(hexdump(""), "");
  EXPECT_EQ(hexdump("A"), "00000000  41                                                |A|\n");
  EXPECT_EQ(hexdump("0123456789abcdef"),
            "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n");
  EXPECT_EQ(hexdump(std::string("0123456789abcdef\0", 17)),
            "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|\n"
            "00000010  00                                                |.|\n");
  EXPECT_EQ(hexdump(std::string("\x1b\x7f\x80\xff\n\t ~ab", 10)),
            "00000000  1b 7f 80 ff 0a 09 20 7e  61 62                    |...... ~ab|\n");
}

TEST(Hexdump, OffsetsAndLineCount) {
  std::string bytes = test::pattern_bytes(16 * 300 + 5, 3);
  std::string out = hexdump(bytes);
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 301u);
  EXPECT_NE(out.find("\n000012c0  "), std::string::npos);  // line 300 starts at 0x12c0
  EXPECT_EQ(out.size(), 63 * 301 + bytes.size());          // fixed layout per line
  for (char c : out) {
    ASSERT_TRUE(terminal_safe_byte(static_cast<unsigned char>(c)));
  }
}

}  // namespace
}  // namespace tlstap
