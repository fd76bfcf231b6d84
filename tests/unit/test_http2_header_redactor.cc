// The HTTP/2 header redactor against connection bytes built frame by frame, header blocks from
// nghttp2's HPACK encoder (and a few written by hand from RFC 7541 where nghttp2 would not
// produce the shape). The masked stream is read back with nghttp2's decoder and compared with
// what the peer encoded: same fields, values to redact masked to the same decoded length.
#include "redact/http2_header_redactor.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "redact/hpack_huffman.h"
#include "redact/hpack_table_mirror.h"
#include "redact_harness.h"

namespace tlstap::redact {
namespace {

using tlstap::test::huffman_encode;

using test::Chunk;
using test::Fields;
namespace t = tlstap::test;

const RedactNames kNames = RedactNames::defaults_and({"x-api-key"});

// The characters a masked Huffman value may consist of: one mask symbol per code length.
bool all_mask_symbols(std::string_view value) {
  for (char c : value) {
    const unsigned length = hpack::huffman_code(static_cast<uint8_t>(c)).length;
    if (static_cast<uint8_t>(c) != hpack::mask_symbol(length)) return false;
  }
  return true;
}

// --- the Huffman code against nghttp2 -------------------------------------------------------

// An HPACK string literal (RFC 7541 5.2): H bit, 7-bit prefix length, bytes.
std::string hpack_string(std::string_view bytes, bool huffman) {
  std::string out;
  size_t n = bytes.size();
  const char h = huffman ? '\x80' : '\0';
  if (n < 127) {
    out.push_back(static_cast<char>(h | static_cast<char>(n)));
  } else {
    out.push_back(static_cast<char>(h | 0x7f));
    n -= 127;
    while (n >= 128) {
      out.push_back(static_cast<char>(0x80 | (n & 0x7f)));
      n >>= 7;
    }
    out.push_back(static_cast<char>(n));
  }
  return out + std::string(bytes);
}

// A literal field with a new name, without indexing (0x00) or with incremental indexing.
std::string literal_new_name(std::string_view name, std::string_view value, bool huffman_value,
                             uint8_t first = 0x00) {
  return std::string(1, static_cast<char>(first)) + hpack_string(name, false) +
         hpack_string(huffman_value ? huffman_encode(value) : std::string(value), huffman_value);
}

std::string all_bytes() {
  std::string s;
  for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
  return s;
}

TEST(HpackHuffman, CodesAreTheOnesNghttp2Decodes) {
  // Every byte's code, as this table has it, decoded by nghttp2.
  const std::string text = all_bytes() + "hello, world";
  t::Inflater inflater;
  auto fields = inflater.inflate(literal_new_name("x-all", text, true));
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->size(), 1u);
  EXPECT_EQ((*fields)[0].second, text);
}

TEST(HpackHuffman, DecoderReadsWhatNghttp2Encodes) {
  // nghttp2 Huffman-codes a value when that is shorter: one byte with a long code among many
  // 5-bit ones is.
  for (int c = 0; c < 256; ++c) {
    t::FlagEncoder encoder;
    const std::string value = std::string(1, static_cast<char>(c)) + std::string(40, 'a');
    std::string block = encoder.encode({{"x-h", value}});
    // 0x40 literal with a new name, the name "x-h" (Huffman or raw), then the value.
    ASSERT_EQ(static_cast<uint8_t>(block[0]), 0x40) << c;
    size_t name_length = static_cast<uint8_t>(block[1]) & 0x7f;
    size_t at = 2 + name_length;
    ASSERT_TRUE(static_cast<uint8_t>(block[at]) & 0x80) << "value Huffman-coded, byte " << c;
    size_t value_length = static_cast<uint8_t>(block[at]) & 0x7f;
    std::string_view coded(block.data() + at + 1, value_length);
    hpack::HuffmanDecoder decoder;
    std::string decoded;
    for (char b : coded)
      ASSERT_TRUE(decoder.feed(static_cast<uint8_t>(b),
                               [&](uint8_t s, uint64_t, unsigned) { decoded.push_back(s); }));
    EXPECT_TRUE(decoder.complete());
    EXPECT_EQ(decoded, value) << c;
  }
}

TEST(HpackHuffman, MaskSymbolsHaveTheirLength) {
  EXPECT_EQ(hpack::mask_symbol(8), '*');
  for (int c = 0; c < 256; ++c) {
    const unsigned length = hpack::huffman_code(static_cast<uint8_t>(c)).length;
    EXPECT_EQ(hpack::huffman_code(hpack::mask_symbol(length)).length, length) << c;
  }
}

TEST(HpackHuffman, DecoderRefusesEosAndBadPadding) {
  hpack::HuffmanDecoder eos;
  bool ok = true;
  for (int i = 0; i < 4; ++i) ok = ok && eos.feed(0xff, [](uint8_t, uint64_t, unsigned) {});
  EXPECT_FALSE(ok);  // 30 one bits: EOS
  hpack::HuffmanDecoder padding;
  // '0' is 00000 (5 bits): then 3 zero bits of padding, not ones.
  ASSERT_TRUE(padding.feed(0x00, [](uint8_t, uint64_t, unsigned) {}));
  EXPECT_FALSE(padding.complete());
}

TEST(HpackStaticTable, NamesAreTheOnesNghttp2Indexes) {
  // nghttp2's encoder refers to the static table for these names: a literal with indexed name
  // (0x40 | index, index < 63); the name the index has here must be the one encoded.
  for (uint64_t index = 1; index <= hpack::kStaticTableEntries; ++index) {
    t::FlagEncoder encoder;
    const std::string name(hpack::static_table_name(index));
    std::string block = encoder.encode({{name, "zz-not-a-static-value"}});
    // With incremental indexing (6-bit prefix) or, for names nghttp2 does not index (:path,
    // set-cookie, ...), without (4-bit prefix, 15 + a second byte past 14).
    const auto first = static_cast<uint8_t>(block[0]);
    uint64_t got = 0;
    if ((first & 0xc0) == 0x40) {
      got = first & 0x3f;
    } else {
      ASSERT_EQ(first & 0xe0, 0) << name;
      got = first & 0x0f;
      if (got == 15) got += static_cast<uint8_t>(block[1]);
    }
    ASSERT_NE(got, 0u) << name << ": sent as a literal name";
    EXPECT_EQ(hpack::static_table_name(got), name) << index;
  }
}

// RFC 7541 4.4 by hand: entry size = name + value + 32; the oldest entries go first.
TEST(HpackTableMirror, EvictsAsTheRfcSays) {
  hpack::TableMirror table;
  const hpack::NameInfo cookie{hpack::NameClass::redacted, 6};
  const hpack::NameInfo plain{hpack::NameClass::shown, 7};
  table.set_max_size(100);
  table.insert(cookie, 10);  // 48
  table.insert(plain, 10);   // 49: 97 in all
  EXPECT_EQ(table.known_entries(), 2u);
  EXPECT_EQ(table.dynamic_name(62)->name_class, hpack::NameClass::shown);
  EXPECT_EQ(table.dynamic_name(63)->name_class, hpack::NameClass::redacted);
  table.insert(plain, 12);  // 51: the cookie entry (48) goes, 100 left exactly
  EXPECT_EQ(table.known_entries(), 2u);
  EXPECT_EQ(table.dynamic_name(63)->name_class, hpack::NameClass::shown);
  table.insert(plain, 14);  // 53: 51 + 53 > 100, both older ones go
  EXPECT_EQ(table.known_entries(), 1u);
  EXPECT_FALSE(table.dynamic_name(63));  // past the end of a known table: an error
  table.set_max_size(60);                // keeps the newest (53) only
  EXPECT_EQ(table.known_entries(), 1u);
  table.insert(plain, 30);  // 69 > 60: the table is emptied, nothing added
  EXPECT_EQ(table.known_entries(), 0u);
  EXPECT_FALSE(table.dynamic_name(62));
  table.forget();  // lost bytes: any index is unknown (masked)
  EXPECT_EQ(table.dynamic_name(62)->name_class, hpack::NameClass::unknown);
  table.insert(cookie, 1);  // known as the newest, the older ones still unknown
  EXPECT_EQ(table.dynamic_name(62)->name_class, hpack::NameClass::redacted);
  EXPECT_EQ(table.dynamic_name(63)->name_class, hpack::NameClass::unknown);
  table.set_max_size(0);  // emptied: known again
  EXPECT_TRUE(table.fully_known());
  EXPECT_FALSE(table.dynamic_name(62));
}

// --- whole connections ---------------------------------------------------------------------

// One direction as the test's peer wrote it, and the header lists of its blocks in order.
struct Direction {
  std::string bytes;
  std::vector<Fields> sent;
};

// Checks the masked stream against what was sent: same frames, fields decoded by nghttp2 the
// same except the values to redact, which are mask symbols of the same decoded length.
void expect_masked(const Direction& d, const std::string& out, size_t* masked_fields = nullptr) {
  ASSERT_EQ(out.size(), d.bytes.size());
  t::Blocks in_blocks = t::header_blocks(d.bytes);
  t::Blocks out_blocks = t::header_blocks(out);
  for (size_t i = 0; i < out.size(); ++i)
    if (!in_blocks.in_fragment[i]) {
      ASSERT_EQ(out[i], d.bytes[i]) << "frame byte " << i;
    }
  ASSERT_EQ(out_blocks.blocks.size(), d.sent.size());
  t::Inflater inflater;
  size_t masked = 0;
  for (size_t b = 0; b < d.sent.size(); ++b) {
    std::optional<Fields> got = inflater.inflate(out_blocks.blocks[b]);
    ASSERT_TRUE(got) << "block " << b << " does not decode";
    ASSERT_EQ(got->size(), d.sent[b].size()) << "block " << b;
    for (size_t f = 0; f < got->size(); ++f) {
      const auto& [name, value] = d.sent[b][f];
      EXPECT_EQ((*got)[f].first, name);
      if (!kNames.contains(name)) {
        EXPECT_EQ((*got)[f].second, value) << name;
        continue;
      }
      const std::string& shown = (*got)[f].second;
      EXPECT_EQ(shown.size(), value.size()) << name;
      EXPECT_TRUE(value.empty() || shown != value) << name << " shown: " << shown;
      EXPECT_TRUE(all_mask_symbols(shown)) << name << ": " << shown;
      ++masked;
    }
  }
  if (masked_fields) *masked_fields = masked;
}

// A client: several requests with secrets, one encoder, so that later requests refer to the
// dynamic entries (masked when inserted) of earlier ones; CONTINUATION, padding, PRIORITY,
// never-indexed fields, a table size change that evicts entries.
Direction client_direction() {
  Direction d;
  t::FlagEncoder hpack({"x-api-key"});  // never indexed
  d.bytes = std::string(t::kPreface) + t::settings() + t::settings_ack();
  const Fields r1 = {{":method", "GET"},
                     {":scheme", "https"},
                     {":authority", "example.com"},
                     {":path", "/a"},
                     {"authorization", "Bearer s3cr3t-token-AAAA"},
                     {"cookie", "session=abc123secret"},
                     {"cookie", "theme=dark-secret2"},
                     {"cookie", "raw=<{\x01\xfe}>secret3"},  // long codes: sent raw
                     {"x-api-key", "key-secret-4"},
                     {"user-agent", "test/1.0"}};
  std::string block = hpack.encode(r1);
  d.sent.push_back(r1);
  // HEADERS (padded, with priority) + two CONTINUATIONs.
  const size_t a = block.size() / 3, b = 2 * block.size() / 3;
  d.bytes += t::frame(t::HEADERS, t::PADDED | t::PRIORITY_FLAG | t::END_STREAM, 1,
                      std::string(1, '\x05') + std::string("\x00\x00\x00\x00\x10", 5) +
                          block.substr(0, a) + std::string(5, '\0'));
  d.bytes += t::frame(t::CONTINUATION, 0, 1, block.substr(a, b - a));
  d.bytes += t::frame(t::CONTINUATION, t::END_HEADERS, 1, block.substr(b));
  d.bytes += t::frame(t::WINDOW_UPDATE, 0, 0, t::be32(1000));
  // The same secrets again (indexed now), a new cookie, a new custom-header value.
  const Fields r2 = {{":method", "GET"},
                     {":scheme", "https"},
                     {":authority", "example.com"},
                     {":path", "/b"},
                     {"authorization", "Bearer s3cr3t-token-AAAA"},
                     {"cookie", "session=abc123secret"},
                     {"cookie", "other=zzsecret5"},
                     {"x-api-key", "key-secret-6"},
                     {"user-agent", "test/1.0"}};
  d.bytes += t::frame(t::HEADERS, t::END_HEADERS | t::END_STREAM, 3, hpack.encode(r2));
  d.sent.push_back(r2);
  d.bytes += t::frame(t::DATA, t::END_STREAM, 3, "body bytes, not a header");
  // The decoder asked for a smaller table: the next block starts with a size update that
  // evicts the earlier entries.
  hpack.change_table_size(100);
  const Fields r3 = {{":method", "POST"},
                     {":path", "/c"},
                     {"proxy-authorization", "Basic cHJveHk6c2VjcmV0Nw=="},
                     {"cookie", "c=secret8"},
                     {"accept", "*/*"}};
  d.bytes += t::frame(t::HEADERS, t::END_HEADERS | t::END_STREAM, 5, hpack.encode(r3));
  d.sent.push_back(r3);
  hpack.change_table_size(4096);
  const Fields r4 = {{":method", "GET"},
                     {":path", "/d"},
                     {"cookie", "c=secret8"},
                     {"authorization", "Bearer s3cr3t-token-AAAA"},
                     {"accept", "*/*"}};
  d.bytes += t::frame(t::HEADERS, t::END_HEADERS | t::END_STREAM, 7, hpack.encode(r4));
  d.sent.push_back(r4);
  return d;
}

// A server: responses with several set-cookies, a PUSH_PROMISE (padded) whose promised
// request carries a cookie.
Direction server_direction() {
  Direction d;
  t::FlagEncoder hpack;
  d.bytes = t::settings({{1, 4096}}) + t::settings_ack();
  const Fields promise = {{":method", "GET"},
                          {":scheme", "https"},
                          {":authority", "example.com"},
                          {":path", "/pushed"},
                          {"cookie", "pushed=secret9"}};
  std::string pp = hpack.encode(promise);
  d.bytes += t::frame(t::PUSH_PROMISE, t::PADDED | t::END_HEADERS, 1,
                      std::string(1, '\x03') + t::be32(2) + pp + std::string(3, '\0'));
  d.sent.push_back(promise);
  const Fields resp = {{":status", "200"},
                       {"content-type", "text/html"},
                       {"set-cookie", "id=secret10; Path=/; HttpOnly"},
                       {"set-cookie", "t=secret11"},
                       {"set-cookie", "u=\xff\xfe\xfdsecret12"},
                       {"server", "unit"}};
  std::string block = hpack.encode(resp);
  d.bytes += t::frame(t::HEADERS, 0, 1, block.substr(0, 7));
  d.bytes += t::frame(t::CONTINUATION, t::END_HEADERS, 1, block.substr(7));
  d.sent.push_back(resp);
  d.bytes += t::frame(t::DATA, t::END_STREAM, 1, "hello");
  const Fields resp2 = {{":status", "200"}, {"set-cookie", "t=secret11"}, {"server", "unit"}};
  d.bytes += t::frame(t::HEADERS, t::END_HEADERS | t::END_STREAM, 3, hpack.encode(resp2));
  d.sent.push_back(resp2);
  return d;
}

std::string redact_whole(const Direction& d, const std::vector<Chunk>& chunks,
                         RedactCounts* counts = nullptr) {
  Http2HeaderRedactor redactor(kNames, true);
  t::RedactRun run = t::run_redactor(redactor, d.bytes, chunks);
  if (counts) *counts = redactor.counts();
  EXPECT_EQ(redactor.counts().bytes_masked_unparsed, 0u);
  return run.out;
}

TEST(Http2HeaderRedactor, MasksSecretsOfAClientInOneFeed) {
  const Direction d = client_direction();
  RedactCounts counts;
  std::string out = redact_whole(d, t::chunks_of({d.bytes.size()}), &counts);
  size_t masked = 0;
  expect_masked(d, out, &masked);
  EXPECT_EQ(masked, 13u);  // the fields whose names are to redact, in the four blocks
  // Literal values masked (the indexed ones have no bytes): r1 5, r2 at least the 2 new.
  EXPECT_GE(counts.values_masked, 7u);
  EXPECT_LE(counts.values_masked, masked);
  size_t changed = 0;
  for (size_t i = 0; i < out.size(); ++i) changed += out[i] != d.bytes[i];
  EXPECT_GT(changed, 0u);
  EXPECT_LE(changed, counts.bytes_masked);
  for (std::string_view secret : {"s3cr3t", "secret", "cHJveHk6"})
    EXPECT_EQ(out.find(secret), std::string::npos) << secret;
}

TEST(Http2HeaderRedactor, MasksSecretsOfAServerInOneFeed) {
  const Direction d = server_direction();
  std::string out = redact_whole(d, t::chunks_of({d.bytes.size()}));
  expect_masked(d, out);
  EXPECT_EQ(out.find("secret"), std::string::npos);
}

// Every split point, and every byte alone: the same output as one feed.
TEST(Http2HeaderRedactor, AnySplitGivesTheSameOutput) {
  for (const Direction& d : {client_direction(), server_direction()}) {
    const std::string whole = redact_whole(d, t::chunks_of({d.bytes.size()}));
    for (size_t split = 0; split <= d.bytes.size(); ++split) {
      std::string out = redact_whole(d, t::chunks_of({split, d.bytes.size() - split}));
      ASSERT_EQ(out, whole) << "split at " << split;
    }
    std::vector<size_t> ones(d.bytes.size(), 1);
    EXPECT_EQ(redact_whole(d, t::chunks_of(ones)), whole);
    expect_masked(d, whole);
  }
}

TEST(Http2HeaderRedactor, RandomChunkingsGiveTheSameOutput) {
  std::mt19937 rng(7);
  for (const Direction& d : {client_direction(), server_direction()}) {
    const std::string whole = redact_whole(d, t::chunks_of({d.bytes.size()}));
    for (int round = 0; round < 300; ++round) {
      std::vector<size_t> sizes;
      for (size_t left = d.bytes.size(); left > 0;) {
        size_t n = std::min<size_t>(left, std::uniform_int_distribution<size_t>(0, 40)(rng));
        sizes.push_back(n);
        left -= n;
      }
      ASSERT_EQ(redact_whole(d, t::chunks_of(sizes)), whole) << "round " << round;
    }
  }
}

// A Huffman value is held until its last byte: decided_until() stays at its start, and the
// masked bytes come back through patch.
TEST(Http2HeaderRedactor, HuffmanValueIsHeldThenPatched) {
  const std::string block = literal_new_name("cookie", "session=abcdefsecret", true);
  const std::string stream = t::frame(t::HEADERS, t::END_HEADERS, 1, block);
  const size_t value_start = 9 + 1 + 1 + 6 + 1;  // frame header, 0x00, name, value length
  Http2HeaderRedactor redactor(kNames, true);
  std::string out = stream;
  std::vector<std::pair<uint64_t, std::string>> patches;
  auto patch = [&](uint64_t pos, std::string_view bytes) {
    patches.push_back({pos, std::string(bytes)});
    out.replace(pos, bytes.size(), bytes);
  };
  redactor.feed(0, std::span<char>(out.data(), value_start + 3), patch);
  EXPECT_EQ(redactor.decided_until(), value_start);
  EXPECT_TRUE(patches.empty());
  redactor.feed(value_start + 3,
                std::span<char>(out.data() + value_start + 3, out.size() - value_start - 3), patch);
  EXPECT_EQ(redactor.decided_until(), stream.size());
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].first, value_start);
  EXPECT_EQ(patches[0].second.size(), 3u);  // the earlier bytes; the rest masked in place
  t::Inflater inflater;
  auto fields = inflater.inflate(t::header_blocks(out).blocks.at(0));
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->size(), 1u);
  EXPECT_EQ((*fields)[0].second.size(), std::string("session=abcdefsecret").size());
  EXPECT_TRUE(all_mask_symbols((*fields)[0].second)) << (*fields)[0].second;
  EXPECT_EQ(redactor.counts().values_masked, 1u);
}

// flush() in the middle of a held value: the bytes so far are masked and handed back.
TEST(Http2HeaderRedactor, FlushMasksAHeldValue) {
  const std::string secret = "session=abcdefsecretsecretsecret";
  const std::string coded = huffman_encode(secret);
  const std::string block = literal_new_name("cookie", secret, true);
  const std::string stream = t::frame(t::HEADERS, t::END_HEADERS, 1, block);
  const size_t value_start = 9 + 1 + 1 + 6 + 1;
  Http2HeaderRedactor redactor(kNames, true);
  std::string out = stream;
  auto patch = [&](uint64_t pos, std::string_view bytes) { out.replace(pos, bytes.size(), bytes); };
  const size_t fed = value_start + 10;
  redactor.feed(0, std::span<char>(out.data(), fed), patch);
  redactor.flush(patch);
  EXPECT_EQ(redactor.decided_until(), fed);
  EXPECT_NE(out.substr(value_start, 10), coded.substr(0, 10));
  // The complete symbols masked: decoding the masked prefix gives only mask symbols.
  hpack::HuffmanDecoder decoder;
  std::string decoded;
  for (size_t i = value_start; i < fed; ++i)
    ASSERT_TRUE(decoder.feed(static_cast<uint8_t>(out[i]),
                             [&](uint8_t s, uint64_t, unsigned) { decoded.push_back(s); }));
  EXPECT_TRUE(all_mask_symbols(decoded)) << decoded;
  EXPECT_GE(decoded.size(), 8u);
  // The rest of the value, fed after the flush, is masked as it comes.
  redactor.feed(fed, std::span<char>(out.data() + fed, out.size() - fed), patch);
  EXPECT_EQ(out.substr(fed), std::string(stream.size() - fed, '\xff'));
  EXPECT_EQ(redactor.decided_until(), stream.size());
}

// A Huffman value too long to hold (over 1 MiB) is masked as it comes, with 0xff: bounded
// memory, nothing held, the decoders refuse it (never show it).
TEST(Http2HeaderRedactor, HugeHuffmanValueIsMaskedWithoutHolding) {
  const std::string secret(hpack::HpackBlockRedactor::kHoldCap + 1000, '*');  // 8-bit codes
  const std::string coded = huffman_encode(secret);
  const std::string block = std::string("\x00\x06", 2) + "cookie" + hpack_string(coded, true);
  const std::string stream = t::frame(t::HEADERS, t::END_HEADERS, 1, block);
  Http2HeaderRedactor redactor(kNames, true);
  t::RedactRun run = t::run_redactor(
      redactor, stream, t::chunks_of({stream.size() / 2, stream.size() - stream.size() / 2}));
  EXPECT_EQ(run.patches, 0u);
  const size_t value_at = stream.size() - coded.size();
  EXPECT_EQ(run.out.substr(0, value_at), stream.substr(0, value_at));
  EXPECT_EQ(run.out.substr(value_at), std::string(coded.size(), '\xff'));
  EXPECT_EQ(redactor.counts().values_masked, 1u);
  EXPECT_EQ(redactor.counts().bytes_masked, coded.size());
}

// A held value spread over many empty CONTINUATION frames: past the bound on held bytes the
// direction is lost, the value masked.
TEST(Http2HeaderRedactor, EndlessContinuationsAreBounded) {
  const std::string coded = huffman_encode("session=secret");
  std::string stream =
      t::frame(t::HEADERS, 0, 1,
               std::string("\x00\x06", 2) + "cookie" + hpack_string(coded, true).substr(0, 3));
  const std::string empty = t::frame(t::CONTINUATION, 0, 1, "");
  const size_t count = Http2HeaderRedactor::kHeldStreamCap / empty.size() + 10;
  for (size_t i = 0; i < count; ++i) stream += empty;
  Http2HeaderRedactor redactor(kNames, true);
  std::vector<size_t> sizes(count / 1000 + 1, 1000 * empty.size());
  sizes[0] = stream.size() - (sizes.size() - 1) * 1000 * empty.size();
  t::RedactRun run = t::run_redactor(redactor, stream, t::chunks_of(sizes));
  EXPECT_GT(redactor.counts().bytes_masked_unparsed, 0u);
  EXPECT_EQ(run.out.find(coded.substr(0, 2)), std::string::npos);
  EXPECT_EQ(run.out.substr(run.out.size() - empty.size()), std::string(empty.size(), '\0'));
}

// Hand-written representations nghttp2 does not produce: raw literal names (one in capitals),
// a never-indexed literal with a dynamic name index, a size update to 0 mid-connection.
TEST(Http2HeaderRedactor, HandWrittenRepresentations) {
  std::string block1 = literal_new_name("Authorization", "Basic <raw>", false) +
                       literal_new_name("x-api-key", "k-secret", false, 0x40) +  // indexed
                       literal_new_name("x-plain", "shown", true, 0x40);
  // A size update to 0 (the table known again, empty) and back to 4096, x-api-key inserted
  // (62), then a never-indexed literal (0x10, 4-bit prefix: 15 + 47) with name index 62.
  std::string block2 = std::string("\x20\x3f\xe1\x1f", 4) +
                       literal_new_name("x-api-key", "again", true, 0x40) +
                       std::string("\x1f\x2f", 2) + hpack_string(huffman_encode("k2-secret"), true);
  Direction d;
  d.bytes = t::frame(t::HEADERS, t::END_HEADERS, 1, block1) +
            t::frame(t::HEADERS, t::END_HEADERS, 3, block2);
  d.sent = {{{"authorization", "Basic <raw>"}, {"x-api-key", "k-secret"}, {"x-plain", "shown"}},
            {{"x-api-key", "again"}, {"x-api-key", "k2-secret"}}};
  // nghttp2 lowercases nothing: the name comes back as sent.
  d.sent[0][0].first = "Authorization";
  {
    // Midstream start: the first record is whole frames, so it is parsed; the table is
    // unknown, but the entries inserted from then on are the newest.
    Http2HeaderRedactor redactor(kNames, false);
    t::RedactRun run = t::run_redactor(redactor, d.bytes, t::chunks_of({d.bytes.size()}));
    t::Blocks blocks = t::header_blocks(run.out);
    t::Inflater inflater;
    auto f1 = inflater.inflate(blocks.blocks.at(0));
    ASSERT_TRUE(f1);
    EXPECT_EQ((*f1)[0].second, "***********");
    EXPECT_EQ((*f1)[1].second, "********");
    EXPECT_EQ((*f1)[2].second, "shown");
    auto f2 = inflater.inflate(blocks.blocks.at(1));
    ASSERT_TRUE(f2);
    ASSERT_EQ(f2->size(), 2u);
    EXPECT_TRUE(all_mask_symbols((*f2)[0].second));
    EXPECT_EQ((*f2)[0].second.size(), 5u);
    EXPECT_TRUE(all_mask_symbols((*f2)[1].second));
    EXPECT_EQ((*f2)[1].second.size(), 9u);
  }
}

// Masked values of the same symbol count and bit count are the same bytes, whatever the
// characters were and wherever they stood: the mask says nothing of which character had which
// code length ('a' 5 bits, 'b' 6, 'x' 7, '*' 8; "ab" and "ba" cost the same, as do "ax" and
// "bb"... and so does "1b" with '1' a 5-bit digit).
TEST(Http2HeaderRedactor, MaskedHuffmanValueDependsOnlyOnItsLengths) {
  auto masked_value = [](std::string_view value) {
    std::string block = literal_new_name("cookie", value, true);
    std::string stream = t::frame(t::HEADERS, t::END_HEADERS, 1, block);
    Http2HeaderRedactor redactor(kNames, true);
    t::RedactRun run = t::run_redactor(redactor, stream, t::chunks_of({stream.size()}));
    t::Blocks blocks = t::header_blocks(run.out);
    t::Inflater inflater;
    auto fields = inflater.inflate(blocks.blocks.at(0));
    EXPECT_TRUE(fields);
    return fields ? (*fields)[0].second : std::string();
  };
  for (auto [one, other] :
       {std::pair{"ab9x", "x9ba"}, std::pair{"a1b2c3", "3c2b1a"},
        std::pair{"0123456789abcdef", "fedcba9876543210"}, std::pair{"ABab", "baBA"}}) {
    SCOPED_TRACE(one);
    ASSERT_EQ(huffman_encode(one).size(), huffman_encode(other).size());
    std::string a = masked_value(one), b = masked_value(other);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a.size(), std::string_view(one).size());
    EXPECT_TRUE(all_mask_symbols(a));
  }
}

// --- losses --------------------------------------------------------------------------------

// Joined midstream: the dynamic table is unknown. A literal whose name is a dynamic index is
// masked (its name cannot be known), a static-name secret is masked, other fields shown.
TEST(Http2HeaderRedactor, MidstreamMasksNamesFromTheUnknownTable) {
  t::FlagEncoder hpack;
  const Fields before = {{"x-trace", "t1"}, {"x-session-id", "s1"}};
  const std::string earlier = t::frame(t::HEADERS, t::END_HEADERS, 1, hpack.encode(before));
  // Written by hand so the representations are known: x-session-id (62, without indexing:
  // 4-bit prefix 15 + 47) and x-trace (63, incremental: 6-bit prefix 63 + 0) by name index
  // with new values, a static-name authorization (23 = 15 + 8), a new-name accept.
  const std::string block = std::string("\x0f\x2f", 2) + hpack_string("s2", false) +
                            std::string("\x7f\x00", 2) + hpack_string("t2-visible?", false) +
                            std::string("\x0f\x08", 2) + hpack_string("Bearer tok", false) +
                            literal_new_name("accept", "text/html", false);
  const std::string later = t::frame(t::HEADERS, t::END_HEADERS, 3, block);
  const std::string garbage = "\x01\x02\x03 middle of something";
  const std::string stream = earlier + garbage + later;
  Http2HeaderRedactor redactor(kNames, false);
  // The earlier frames never reach the redactor; garbage (not whole frames) then a record.
  std::vector<Chunk> chunks = {{garbage.size(), false, earlier.size()}, {later.size()}};
  t::RedactRun run = t::run_redactor(redactor, stream, chunks);
  EXPECT_EQ(run.out.substr(earlier.size(), garbage.size()), std::string(garbage.size(), '\0'));
  EXPECT_EQ(redactor.counts().bytes_masked_unparsed, garbage.size());
  // The peer's decoder saw the earlier block (its entries, unmasked, are what it knows).
  t::Inflater inflater;
  ASSERT_TRUE(inflater.inflate(t::header_blocks(earlier).blocks.at(0)));
  auto fields =
      inflater.inflate(t::header_blocks(run.out.substr(stream.size() - later.size())).blocks.at(0));
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->size(), 4u);
  EXPECT_EQ((*fields)[0], (std::pair<std::string, std::string>{"x-session-id", "**"}));
  EXPECT_EQ((*fields)[1], (std::pair<std::string, std::string>{"x-trace", "***********"}));
  EXPECT_EQ((*fields)[2], (std::pair<std::string, std::string>{"authorization", "**********"}));
  EXPECT_EQ((*fields)[3], (std::pair<std::string, std::string>{"accept", "text/html"}));
}

// After a table size update to 0 the table is known again: names from it are shown.
TEST(Http2HeaderRedactor, SizeUpdateToZeroMakesTheTableKnown) {
  const std::string block = std::string("\x20", 1) +          // size update 0
                            std::string("\x3f\xe1\x1f", 3) +  // size update 4096
                            literal_new_name("x-trace", "t1", false, 0x40) +
                            std::string("\x7e", 1) + hpack_string("t2", false);
  const std::string stream = t::frame(t::HEADERS, t::END_HEADERS, 1, block);
  Http2HeaderRedactor redactor(kNames, false);
  t::RedactRun run = t::run_redactor(redactor, stream, t::chunks_of({stream.size()}));
  EXPECT_EQ(run.out, stream);  // nothing to redact, nothing unknown
  EXPECT_EQ(redactor.counts().values_masked, 0u);
}

// A gap in the middle of a connection: bytes masked until a record of whole frames; then the
// secrets in it are masked and the rest shown.
TEST(Http2HeaderRedactor, GapMasksUntilWholeFrames) {
  const Direction d = client_direction();
  // Frame boundaries of the client's stream.
  std::vector<size_t> starts;
  for (size_t at = t::kPreface.size(); at < d.bytes.size();) {
    starts.push_back(at);
    at += 9 + http2::parse_frame_header(std::string_view(d.bytes).substr(at)).length;
  }
  // The last two frames are the r3 HEADERS... find the frame holding r4: the last.
  const size_t last = starts.back();
  const size_t before_last = starts[starts.size() - 2];
  // Feed up to the middle of the r3 frame, lose 5 bytes, feed the rest of r3 (masked whole),
  // then r4 as its own record.
  const size_t cut = before_last + 12;
  std::vector<Chunk> chunks = {{cut}, {last - cut - 5, true, 5}, {d.bytes.size() - last}};
  Http2HeaderRedactor redactor(kNames, true);
  t::RedactRun run = t::run_redactor(redactor, d.bytes, chunks);
  EXPECT_EQ(run.out.substr(cut + 5, last - cut - 5), std::string(last - cut - 5, '\0'));
  EXPECT_EQ(redactor.counts().bytes_masked_unparsed, last - cut - 5);
  EXPECT_EQ(run.out.find("secret"), std::string::npos);
  // r4 after the gap: its frame header is intact, its secrets masked, :path shown.
  EXPECT_EQ(run.out.substr(last, 9), d.bytes.substr(last, 9));
  // The peer's decoder (which saw every block as sent) reads the masked r4: the
  // authorization literal (static name) masked, the rest as sent.
  t::Inflater inflater;
  const t::Blocks sent_blocks = t::header_blocks(d.bytes);
  for (size_t b = 0; b < 3; ++b) ASSERT_TRUE(inflater.inflate(sent_blocks.blocks[b]));
  const std::string r4_frame = run.out.substr(last);
  auto fields = inflater.inflate(std::string_view(r4_frame).substr(9));
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->size(), d.sent[3].size());
  for (size_t f = 0; f < fields->size(); ++f) {
    EXPECT_EQ((*fields)[f].first, d.sent[3][f].first);
    if (kNames.contains(d.sent[3][f].first) && (*fields)[f].first == "authorization") {
      EXPECT_TRUE(all_mask_symbols((*fields)[f].second)) << (*fields)[f].second;
      EXPECT_EQ((*fields)[f].second.size(), d.sent[3][f].second.size());
    } else if (!kNames.contains(d.sent[3][f].first)) {
      EXPECT_EQ((*fields)[f].second, d.sent[3][f].second);
    }
  }
}

// Broken or hostile bytes: never a crash, never the output length changed, everything after
// the break masked.
TEST(Http2HeaderRedactor, BrokenStreamsAreMaskedFromTheBreak) {
  const std::string bad_huffman =  // a cookie value of 4 bytes of ones: EOS inside
      t::frame(t::HEADERS, t::END_HEADERS, 1,
               std::string("\x00\x06", 2) + "cookie" + std::string("\x84\xff\xff\xff\xff", 5));
  const std::string overflow =
      t::frame(t::HEADERS, t::END_HEADERS, 1, std::string("\x7f\xff\xff\xff\xff\xff\xff\x01", 8));
  const std::string orphan_continuation = t::frame(t::CONTINUATION, t::END_HEADERS, 1, "\x82");
  const std::string cut_block = t::frame(t::HEADERS, t::END_HEADERS, 1,
                                         std::string("\x00\x06"
                                                     "cook",
                                                     6));
  const std::string bad_padding = t::frame(t::HEADERS, t::END_HEADERS | t::PADDED, 1, "\x09\x82");
  // A size update evicts both entries; then a literal names index 62: gone.
  const std::string evicted_index =
      t::frame(
          t::HEADERS, t::END_HEADERS, 1,
          literal_new_name("x-a", "1", false, 0x40) + literal_new_name("x-b", "2", false, 0x40)) +
      t::frame(t::HEADERS, t::END_HEADERS, 3,
               std::string("\x3f\x01", 2) + std::string("\x0f\x2f\x01z", 4));
  const std::string tail = t::frame(t::DATA, 0, 1, "tail bytes");
  for (const std::string& broken :
       {bad_huffman, overflow, orphan_continuation, cut_block, bad_padding, evicted_index}) {
    SCOPED_TRACE(testing::PrintToString(broken));
    const std::string stream = broken + tail;
    Http2HeaderRedactor redactor(kNames, true);
    t::RedactRun run = t::run_redactor(redactor, stream, t::chunks_of({stream.size()}));
    ASSERT_EQ(run.out.size(), stream.size());
    EXPECT_EQ(run.out.substr(broken.size()), std::string(tail.size(), '\0'));
    EXPECT_GE(redactor.counts().bytes_masked_unparsed, tail.size());
  }
}

}  // namespace
}  // namespace tlstap::redact
