// Drives a StreamRedactor the way a sink does (chunks at given offsets, gaps, patches applied
// to the bytes already output, flush) and checks its promises on the way: decided_until()
// never goes back nor past the bytes fed, a patch only rewrites undecided bytes, and a byte
// once decided never changes. Then reads the masked HTTP/2 back with nghttp2's own HPACK
// decoder, independent of the redactor. Used by the unit tests and the fuzz target.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http2_frames.h"
#include "protocols/http2/frame.h"
#include "redact/hpack_huffman.h"
#include "redact/stream_redactor.h"

namespace tlstap::test {

// A violated promise of the redactor: the message says which.
struct RedactPromiseBroken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One feed: `bytes` stream bytes, after a gap() when `gap_before` (and at `skip` bytes past
// the previous end: bytes the sink never saw).
struct Chunk {
  size_t bytes = 0;
  bool gap_before = false;
  size_t skip = 0;
};

struct RedactRun {
  std::string out;        // the stream as output (only fed bytes are meaningful)
  std::vector<bool> fed;  // which bytes of `out` were fed
  size_t patches = 0;
};

// Feeds `input` in `chunks` (their sum, with skips, at most input.size()), then flushes.
inline RedactRun run_redactor(redact::StreamRedactor& redactor, std::string_view input,
                              const std::vector<Chunk>& chunks) {
  RedactRun run;
  run.out.assign(input);
  run.fed.assign(input.size(), false);
  uint64_t pos = 0;
  uint64_t fed_end = 0;
  uint64_t decided = redactor.decided_until();
  std::string final_prefix;  // out[0, decided) as it was when decided
  auto check_decided = [&](const char* when) {
    uint64_t now = redactor.decided_until();
    if (now < decided) throw RedactPromiseBroken(std::string("decided_until went back ") + when);
    if (now > fed_end && now != 0)
      throw RedactPromiseBroken(std::string("decided_until past the bytes fed ") + when);
    if (run.out.compare(0, final_prefix.size(), final_prefix) != 0)
      throw RedactPromiseBroken(std::string("a decided byte changed ") + when);
    decided = now;
    final_prefix = run.out.substr(0, decided);
  };
  auto patch = [&](uint64_t at, std::string_view masked) {
    ++run.patches;
    if (at < decided || at + masked.size() > fed_end)
      throw RedactPromiseBroken("patch outside the undecided bytes fed before");
    run.out.replace(at, masked.size(), masked);
  };
  for (const Chunk& chunk : chunks) {
    if (chunk.gap_before) {
      redactor.gap();
      check_decided("after gap");
    }
    pos += chunk.skip;
    if (pos + chunk.bytes > input.size()) throw std::logic_error("chunks past the input");
    std::span<char> span(run.out.data() + pos, chunk.bytes);
    for (size_t i = 0; i < chunk.bytes; ++i) run.fed[pos + i] = true;
    uint64_t feed_end = pos + chunk.bytes;
    // A patch during this feed may only touch bytes fed before it.
    uint64_t saved_end = fed_end;
    fed_end = pos;
    redactor.feed(pos, span, patch);
    fed_end = std::max<uint64_t>(saved_end, feed_end);
    pos = feed_end;
    check_decided("after feed");
  }
  redactor.flush(patch);
  check_decided("after flush");
  if (redactor.decided_until() != fed_end)
    throw RedactPromiseBroken("bytes still undecided after flush");
  return run;
}

// Chunks of the given sizes, no gaps.
inline std::vector<Chunk> chunks_of(const std::vector<size_t>& sizes) {
  std::vector<Chunk> out;
  for (size_t n : sizes) out.push_back({n});
  return out;
}

// The header blocks of a direction (its frames walked as RFC 9113 lays them out), each the
// concatenated fragments of a HEADERS or PUSH_PROMISE and its CONTINUATIONs; also marks
// which bytes belong to a fragment. Throws on a stream that is not whole frames.
struct Blocks {
  std::vector<std::string> blocks;
  std::vector<bool> in_fragment;
};
inline Blocks header_blocks(std::string_view stream) {
  Blocks out;
  out.in_fragment.assign(stream.size(), false);
  size_t at = 0;
  if (stream.substr(0, kPreface.size()) == kPreface) at = kPreface.size();
  while (at < stream.size()) {
    if (stream.size() - at < http2::kFrameHeaderSize) throw std::runtime_error("cut frame");
    http2::FrameHeader header = http2::parse_frame_header(stream.substr(at));
    size_t payload_at = at + http2::kFrameHeaderSize;
    if (stream.size() - payload_at < header.length) throw std::runtime_error("cut payload");
    std::string_view payload = stream.substr(payload_at, header.length);
    std::optional<std::string_view> fragment;
    if (header.type == HEADERS || header.type == PUSH_PROMISE) {
      fragment = http2::header_block_fragment(header, payload);
      if (!fragment) throw std::runtime_error("bad padding");
      out.blocks.emplace_back();
    } else if (header.type == CONTINUATION) {
      fragment = payload;
    }
    if (fragment) {
      out.blocks.back() += *fragment;
      size_t from = static_cast<size_t>(fragment->data() - stream.data());
      for (size_t i = 0; i < fragment->size(); ++i) out.in_fragment[from + i] = true;
    }
    at = payload_at + header.length;
  }
  return out;
}

// nghttp2's HPACK decoder for one direction.
class Inflater {
 public:
  Inflater() {
    if (nghttp2_hd_inflate_new(&inflater_) != 0) throw std::bad_alloc();
  }
  ~Inflater() { nghttp2_hd_inflate_del(inflater_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // The fields of one whole block; nullopt when nghttp2 cannot decode it.
  std::optional<Fields> inflate(std::string_view block) {
    Fields out;
    auto in = reinterpret_cast<const uint8_t*>(block.data());
    size_t left = block.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      ssize_t n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
      if (n < 0) return std::nullopt;
      in += n;
      left -= static_cast<size_t>(n);
      if (flags & NGHTTP2_HD_INFLATE_EMIT)
        out.push_back({std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                       std::string(reinterpret_cast<char*>(nv.value), nv.valuelen)});
      if (flags & NGHTTP2_HD_INFLATE_FINAL) break;
      if (n == 0 && left == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) return std::nullopt;
    }
    nghttp2_hd_inflate_end_headers(inflater_);
    return out;
  }

 private:
  nghttp2_hd_inflater* inflater_ = nullptr;
};

// nghttp2's HPACK encoder, with never-indexed names (NGHTTP2_NV_FLAG_NO_INDEX) and table
// size changes.
class FlagEncoder {
 public:
  explicit FlagEncoder(std::set<std::string> never_indexed = {})
      : never_indexed_(std::move(never_indexed)) {
    if (nghttp2_hd_deflate_new(&deflater_, 4096) != 0) throw std::bad_alloc();
  }
  ~FlagEncoder() { nghttp2_hd_deflate_del(deflater_); }
  FlagEncoder(const FlagEncoder&) = delete;
  FlagEncoder& operator=(const FlagEncoder&) = delete;

  std::string encode(const Fields& fields) {
    std::vector<nghttp2_nv> nvs;
    for (const auto& [name, value] : fields) {
      nghttp2_nv nv;
      nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
      nv.namelen = name.size();
      nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
      nv.valuelen = value.size();
      nv.flags = never_indexed_.count(name) ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE;
      nvs.push_back(nv);
    }
    std::string out(nghttp2_hd_deflate_bound(deflater_, nvs.data(), nvs.size()), '\0');
    ssize_t n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                      nvs.data(), nvs.size());
    if (n < 0) throw std::runtime_error("nghttp2_hd_deflate_hd failed");
    out.resize(static_cast<size_t>(n));
    return out;
  }
  void change_table_size(size_t bytes) {
    if (nghttp2_hd_deflate_change_table_size(deflater_, bytes) != 0)
      throw std::runtime_error("nghttp2_hd_deflate_change_table_size failed");
  }

 private:
  std::set<std::string> never_indexed_;
  nghttp2_hd_deflater* deflater_ = nullptr;
};

// A Huffman-coded string written with the redactor's code table (RFC 7541 5.2: padded with
// ones); the table itself is checked against nghttp2 in test_http2_header_redactor.cc.
inline std::string huffman_encode(std::string_view text) {
  namespace hpack = redact::hpack;
  std::string out;
  uint64_t acc = 0;
  unsigned bits = 0;
  for (char c : text) {
    const hpack::HuffmanCode& code = hpack::huffman_code(static_cast<uint8_t>(c));
    acc = acc << code.length | code.bits;
    bits += code.length;
    while (bits >= 8) {
      out.push_back(static_cast<char>(acc >> (bits - 8)));
      bits -= 8;
    }
  }
  if (bits > 0) out.push_back(static_cast<char>(acc << (8 - bits) | ((1u << (8 - bits)) - 1)));
  return out;
}

}  // namespace tlstap::test
