// The HTTP/2 header redactor's promises, whatever it is fed. The first byte picks the input:
// - arbitrary bytes, split and with gaps as the input says: no crash, the output as long as
//   the input, decided_until() monotone and within the bytes fed, patches only on undecided
//   bytes, decided bytes never changed (run_redactor checks these);
// - real HTTP/2 (nghttp2's HPACK encoder; secrets in cookie, authorization, set-cookie and a
//   custom name, some never indexed; CONTINUATION, padding), split and with gaps: no secret
//   value appears in the output, raw or Huffman-coded; without gaps the output decodes with
//   nghttp2 to the same fields, the secrets masked to their decoded length.
// FUZZ_REDACT_DEBUG=1 prints the stream, the chunks and the masked fields.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "redact/hpack_huffman.h"
#include "redact/http2_header_redactor.h"
#include "redact_harness.h"

namespace {

using tlstap::test::huffman_encode;

using tlstap::redact::Http2HeaderRedactor;
using tlstap::redact::RedactNames;
using tlstap::test::Chunk;
using tlstap::test::Fields;
namespace t = tlstap::test;
namespace hpack = tlstap::redact::hpack;

const RedactNames kNames = RedactNames::defaults_and({"x-api-key"});
const char* const kSecretNames[] = {"cookie", "authorization", "set-cookie", "x-api-key",
                                    "proxy-authorization"};
const char* const kOtherNames[] = {"accept", "user-agent", "x-trace", "content-type"};

// A value that is not secret: lowercase letters only, so that it can never hold a secret
// ("SECRET..." in capitals) nor a secret's Huffman code (whose first byte, 'S' then 'E', is
// 0xdd): the leak check then only finds real leaks.
std::string shown_value(FuzzedDataProvider& in, size_t max_length) {
  std::string value = in.ConsumeRandomLengthString(max_length);
  for (char& c : value) c = static_cast<char>('a' + static_cast<uint8_t>(c) % 26);
  return value;
}

std::vector<Chunk> pick_chunks(FuzzedDataProvider& in, size_t total, bool gaps) {
  std::vector<Chunk> chunks;
  size_t at = 0;
  while (at < total) {
    Chunk c;
    if (gaps && in.ConsumeIntegralInRange<int>(0, 5) == 0) {
      c.gap_before = true;
      c.skip = in.ConsumeIntegralInRange<size_t>(0, std::min<size_t>(16, total - at));
    }
    at += c.skip;
    c.bytes = in.ConsumeIntegralInRange<size_t>(0, std::min<size_t>(64, total - at));
    if (in.remaining_bytes() == 0) c.bytes = total - at;
    at += c.bytes;
    chunks.push_back(c);
  }
  return chunks;
}

// Losses as tlstap sees them: the stream comes in records (a peer's writes: one or more whole
// frames), a record is fed whole, or its tail is lost, or it is lost whole. (A redactor that
// lost its place resyncs on a record of whole frames; bytes cut anywhere can look like whole
// frames by chance, as they can to the --http view: that case is not modelled here.)
std::vector<Chunk> pick_records(FuzzedDataProvider& in, const std::vector<size_t>& bounds) {
  std::vector<Chunk> chunks;
  size_t at = 0;
  size_t skip = 0;
  bool gap = false;
  for (size_t b = 0; b < bounds.size();) {
    size_t end = bounds[b++];
    while (b < bounds.size() && in.ConsumeBool()) end = bounds[b++];
    if (end == at) continue;
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: {  // the tail is lost
        size_t keep = in.ConsumeIntegralInRange<size_t>(0, end - at);
        chunks.push_back({keep, gap, skip});
        skip = end - at - keep;
        gap = true;
        break;
      }
      case 1:  // lost whole
        skip += end - at;
        gap = true;
        break;
      default:
        chunks.push_back({end - at, gap, skip});
        skip = 0;
        gap = false;
    }
    at = end;
  }
  return chunks;
}

t::RedactRun run(Http2HeaderRedactor& redactor, std::string_view input,
                 const std::vector<Chunk>& chunks) {
  try {
    return t::run_redactor(redactor, input, chunks);
  } catch (const t::RedactPromiseBroken& e) {
    fprintf(stderr, "%s\n", e.what());
    FUZZ_CHECK(false);
  }
  return {};
}

void arbitrary_bytes(FuzzedDataProvider& in) {
  const bool from_start = in.ConsumeBool();
  const std::string input = in.ConsumeRandomLengthString(4096);
  std::vector<Chunk> chunks = pick_chunks(in, input.size(), true);
  Http2HeaderRedactor redactor(kNames, from_start);
  t::RedactRun out = run(redactor, input, chunks);
  FUZZ_CHECK(out.out.size() == input.size());
}

void real_http2(FuzzedDataProvider& in) {
  t::FlagEncoder hpack({"x-api-key", "authorization"});
  std::string stream = std::string(t::kPreface) + t::settings();
  std::vector<size_t> bounds = {stream.size()};  // where frames end
  std::vector<Fields> sent;
  std::vector<std::string> secrets;
  const size_t blocks = in.ConsumeIntegralInRange<size_t>(1, 6);
  for (size_t b = 0; b < blocks; ++b) {
    Fields fields = {{":method", "GET"}, {":path", "/" + shown_value(in, 6)}};
    const size_t n = in.ConsumeIntegralInRange<size_t>(0, 6);
    for (size_t i = 0; i < n; ++i) {
      if (in.ConsumeBool()) {
        std::string value = "SECRET" + in.ConsumeRandomLengthString(10);
        if (!secrets.empty() && in.ConsumeBool())
          value = secrets[in.ConsumeIntegralInRange<size_t>(0, secrets.size() - 1)];
        secrets.push_back(value);
        fields.push_back({kSecretNames[in.ConsumeIntegralInRange<size_t>(0, 4)], value});
      } else {
        fields.push_back(
            {kOtherNames[in.ConsumeIntegralInRange<size_t>(0, 3)], shown_value(in, 8)});
      }
    }
    if (in.ConsumeIntegralInRange<int>(0, 7) == 0)
      hpack.change_table_size(in.ConsumeIntegralInRange<size_t>(0, 4096));
    const std::string block = hpack.encode(fields);
    sent.push_back(fields);
    const uint32_t id = static_cast<uint32_t>(2 * b + 1);
    const size_t first =
        in.ConsumeBool() ? block.size() : in.ConsumeIntegralInRange<size_t>(0, block.size());
    uint8_t flags = 0;
    std::string payload = block.substr(0, first);
    if (in.ConsumeBool()) {
      const uint8_t pad = in.ConsumeIntegralInRange<uint8_t>(0, 8);
      payload = std::string(1, static_cast<char>(pad)) + payload + std::string(pad, '\0');
      flags |= t::PADDED;
    }
    if (first == block.size()) {
      stream += t::frame(t::HEADERS, flags | t::END_HEADERS, id, payload);
    } else {
      stream += t::frame(t::HEADERS, flags, id, payload) +
                t::frame(t::CONTINUATION, t::END_HEADERS, id, block.substr(first));
    }
    bounds.push_back(stream.size());
    if (in.ConsumeBool()) stream += t::frame(t::DATA, t::END_STREAM, id, "body");
    bounds.push_back(stream.size());
  }
  const bool gaps = in.ConsumeBool();
  std::vector<Chunk> chunks =
      gaps ? pick_records(in, bounds) : pick_chunks(in, stream.size(), false);
  Http2HeaderRedactor redactor(kNames, true);
  t::RedactRun out = run(redactor, stream, chunks);
  FUZZ_CHECK(out.out.size() == stream.size());
  // Bytes lost in gaps were never output: not searched.
  std::string output = out.out;
  for (size_t i = 0; i < output.size(); ++i)
    if (!out.fed[i]) output[i] = '\0';
  for (const std::string& secret : secrets) {
    if (secret.size() < 8) continue;  // "SECRET" + at least 2 bytes: no chance match
    if (getenv("FUZZ_REDACT_DEBUG")) {
      fprintf(stderr, "secret %zu bytes at %zd / %zd; stream:", secret.size(),
              static_cast<ssize_t>(output.find(secret)), static_cast<ssize_t>(stream.find(secret)));
      for (unsigned char c : stream) fprintf(stderr, " %02x", c);
      fprintf(stderr, "\nchunks:");
      for (const Chunk& c : chunks)
        fprintf(stderr, " %s%zu+%zu", c.gap_before ? "gap " : "", c.skip, c.bytes);
      fprintf(stderr, "\n");
    }
    FUZZ_CHECK(output.find(secret) == std::string::npos);
    FUZZ_CHECK(output.find(huffman_encode(secret)) == std::string::npos);
  }
  if (gaps) return;  // records lost: the rest needs every byte
  FUZZ_CHECK(redactor.counts().bytes_masked_unparsed == 0);
  const t::Blocks masked = t::header_blocks(out.out);
  FUZZ_CHECK(masked.blocks.size() == sent.size());
  t::Inflater inflater;
  for (size_t b = 0; b < sent.size(); ++b) {
    std::optional<Fields> got = inflater.inflate(masked.blocks[b]);
    FUZZ_CHECK(got && got->size() == sent[b].size());
    for (size_t f = 0; f < got->size(); ++f) {
      FUZZ_CHECK((*got)[f].first == sent[b][f].first);
      const std::string& value = (*got)[f].second;
      if (!kNames.contains(sent[b][f].first)) {
        FUZZ_CHECK(value == sent[b][f].second);
        continue;
      }
      FUZZ_CHECK(value.size() == sent[b][f].second.size());
      if (getenv("FUZZ_REDACT_DEBUG")) {
        fprintf(stderr, "%s:", sent[b][f].first.c_str());
        for (unsigned char c : value) fprintf(stderr, " %02x", c);
        fprintf(stderr, " sent:");
        for (unsigned char c : sent[b][f].second) fprintf(stderr, " %02x", c);
        fprintf(stderr, "\n");
      }
      for (char c : value) {
        const unsigned length = hpack::huffman_code(static_cast<uint8_t>(c)).length;
        FUZZ_CHECK(static_cast<uint8_t>(c) == hpack::mask_symbol(length));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool())
    arbitrary_bytes(in);
  else
    real_http2(in);
  return 0;
}
