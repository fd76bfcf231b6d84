// The HTTP/1 line redactor: secret header values become '*'s byte for byte, wherever the
// records split the stream; nothing else changes; after a loss the cut line is masked.
#include <gtest/gtest.h>

#include <string>

#include "redact/http1_header_redactor.h"

namespace tlstap::redact {
namespace {

const RedactNames& names() {
  static const RedactNames names = RedactNames::defaults_and({"X-Api-Key"});
  return names;
}

// Feeds `input` in pieces cut at `cuts` (stream offsets) and returns the stream as masked.
std::string redact(std::string input, const std::vector<size_t>& cuts, bool at_line_start = true) {
  Http1HeaderRedactor redactor(names(), at_line_start);
  auto no_patch = [](uint64_t, std::string_view) { FAIL() << "HTTP/1 decides every byte at once"; };
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end < start) continue;
    redactor.feed(start, std::span<char>(input.data() + start, end - start), no_patch);
    EXPECT_EQ(redactor.decided_until(), end);
    start = end;
  }
  return input;
}

const std::string kRequest =
    "GET /a HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Authorization: Bearer abc.def\r\n"
    "cookie: a=1; b=2\r\n"
    "X-API-KEY:k1\r\n"
    "X-Authorization: shown\r\n"
    "Cookies: shown\r\n"
    "Set-Cookie2: shown\r\n"
    "\r\n";
const std::string kRequestMasked =
    "GET /a HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Authorization: **************\r\n"
    "cookie: ********\r\n"
    "X-API-KEY:**\r\n"
    "X-Authorization: shown\r\n"
    "Cookies: shown\r\n"
    "Set-Cookie2: shown\r\n"
    "\r\n";

TEST(Http1HeaderRedactor, MasksSecretValuesAtEverySplit) {
  ASSERT_EQ(kRequest.size(), kRequestMasked.size());
  EXPECT_EQ(redact(kRequest, {}), kRequestMasked);
  for (size_t cut = 0; cut <= kRequest.size(); cut++) {
    EXPECT_EQ(redact(kRequest, {cut}), kRequestMasked) << "cut at " << cut;
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < kRequest.size(); i++) every_byte.push_back(i);
  EXPECT_EQ(redact(kRequest, every_byte), kRequestMasked);
}

TEST(Http1HeaderRedactor, CountsValuesAndBytes) {
  Http1HeaderRedactor redactor(names(), true);
  std::string input = kRequest;
  redactor.feed(0, std::span<char>(input.data(), input.size()), {});
  EXPECT_EQ(redactor.counts().values_masked, 3u);
  EXPECT_EQ(redactor.counts().bytes_masked, 14u + 8u + 2u);
  EXPECT_EQ(redactor.counts().bytes_masked_unparsed, 0u);
}

TEST(Http1HeaderRedactor, ResponsesPipelinedMessagesAndBareLineFeeds) {
  std::string input =
      "HTTP/1.1 200 OK\nSet-Cookie: id=7\nContent-Length: 2\n\nokHTTP/1.1 204 No Content\r\n"
      "SET-COOKIE: x\r\n\r\n";
  std::string expected =
      "HTTP/1.1 200 OK\nSet-Cookie: ****\nContent-Length: 2\n\nokHTTP/1.1 204 No Content\r\n"
      "SET-COOKIE: *\r\n\r\n";
  EXPECT_EQ(redact(input, {}), expected);
}

TEST(Http1HeaderRedactor, FoldedValueAndSpaceBeforeColonAreMasked) {
  std::string input = "Cookie: a=1;\r\n b=2\r\n\tc=3\r\nAuthorization : Basic x\r\nHost: h\r\n";
  std::string expected = "Cookie: ****\r\n ***\r\n\t***\r\nAuthorization : *******\r\nHost: h\r\n";
  for (size_t cut = 0; cut <= input.size(); cut++)
    EXPECT_EQ(redact(input, {cut}), expected) << "cut at " << cut;
}

TEST(Http1HeaderRedactor, ABodyLineThatLooksLikeAHeaderIsMaskedToo) {
  // No framing is followed: more is masked, never less.
  std::string input = "POST / HTTP/1.1\r\nContent-Length: 21\r\n\r\nline\ncookie: in body\n";
  std::string expected = "POST / HTTP/1.1\r\nContent-Length: 21\r\n\r\nline\ncookie: *******\n";
  EXPECT_EQ(redact(input, {}), expected);
}

TEST(Http1HeaderRedactor, AfterALossTheCutLineIsMasked) {
  // The stream is joined inside a secret value: its rest, and a folded line after it, are
  // masked; the next header is not.
  std::string input = "en.rest-of-token\r\n more\r\nHost: h\r\nCookie: c\r\n";
  std::string expected = "****************\r\n ****\r\nHost: h\r\nCookie: *\r\n";
  EXPECT_EQ(redact(input, {}, /*at_line_start=*/false), expected);

  Http1HeaderRedactor redactor(names(), true);
  std::string first = "GET / HTTP/1.1\r\nAuthoriz";
  redactor.feed(0, std::span<char>(first.data(), first.size()), {});
  redactor.gap();
  std::string second = "ation: token\r\nHost: h\r\n";
  redactor.feed(100, std::span<char>(second.data(), second.size()), {});
  EXPECT_EQ(second, "************\r\nHost: h\r\n");
  EXPECT_EQ(redactor.counts().bytes_masked_unparsed, 12u);
  EXPECT_EQ(redactor.decided_until(), 100 + second.size());
}

TEST(Http1HeaderRedactor, BinaryAndLongTokensAreLeftAlone) {
  std::string input("\x00\x01\xff\r\nAuthorizationAuthorization: x\r\n", 36);
  std::string expected = input;
  EXPECT_EQ(redact(input, {}), expected);
}

TEST(RedactNames, DefaultsAndValidation) {
  RedactNames defaults = RedactNames::defaults_and({});
  EXPECT_TRUE(defaults.contains("Proxy-Authorization"));
  EXPECT_TRUE(defaults.contains("SET-COOKIE"));
  EXPECT_FALSE(defaults.contains("x-api-key"));
  EXPECT_TRUE(names().contains("x-api-key"));
  EXPECT_TRUE(is_field_name("X-Api-Key"));
  EXPECT_FALSE(is_field_name("X Api"));
  EXPECT_FALSE(is_field_name(":path"));
  EXPECT_FALSE(is_field_name(""));
}

}  // namespace
}  // namespace tlstap::redact
