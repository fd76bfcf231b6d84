// Fuzzes the HTTP/2 parser with both directions of a connection, gaps and an end. Input:
//   4 bytes of limits: body_bytes, max_header_bytes / 16, max_pending_exchanges % 9,
//   max_buffered_bytes / 64; then operations [ctrl][u16 little-endian n][...]:
//   ctrl bit 0: side (0 requests, 1 responses); bits 1-2: 0 feed the next n bytes,
//   1 gap of n bytes, 2 gap of unknown size, 3 end.
// Beyond not crashing: the limits hold (open streams, first body bytes, header bytes), every
// exchange names a stream, and the same operations fed one byte at a time give exactly the
// same exchanges and skips (the parser's output does not depend on how the bytes were cut) -
// unless a direction lost track of its frames: then where records start is what lets it
// find them again (Http2Parser::resync), so the cut matters by design.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "protocols/http2/http2_parser.h"

namespace {

using tlstap::http::Side;

struct Op {
  Side side;
  int kind;
  uint16_t n;
  std::string_view bytes;
};

std::string describe(const tlstap::http::Exchange& e) {
  std::string out = e.version + "|" + std::to_string(e.stream.value_or(0)) + "|" + e.method + "|" +
                    e.scheme + "|" + e.authority + "|" + e.path + "|" +
                    std::to_string(e.status.value_or(-1)) + "|" + e.note + "|";
  for (int s : e.informational) out += std::to_string(s) + ",";
  for (const tlstap::http::Message* m : {&e.request, &e.response}) {
    for (const auto& h : m->headers) out += h.name + ":" + h.value + ";";
    out += "|";
    for (const auto& h : m->trailers) out += h.name + ":" + h.value + ";";
    out += "|" + std::to_string(m->body.len) + "|" + m->body.first_bytes + "|" + m->body.encoding +
           "|" + std::to_string(m->complete) + "|" + std::to_string(m->first_ts_ns) + "|" +
           std::to_string(m->last_ts_ns) + "|";
  }
  if (e.grpc)
    out += e.grpc->service + "|" + e.grpc->method + "|" +
           std::to_string(e.grpc->status.value_or(-1)) + "|" + e.grpc->message + "|" +
           std::to_string(e.grpc->request_messages) + "|" +
           std::to_string(e.grpc->response_messages);
  return out;
}

std::string describe(const tlstap::http::Skip& s) {
  std::string out = std::to_string(s.requests) + "|" + std::to_string(s.bytes) + "|" + s.reason;
  for (uint32_t id : s.streams) out += "," + std::to_string(id);
  return out;
}

size_t header_bytes(const tlstap::http::Headers& headers) {
  size_t total = 0;
  for (const auto& h : headers) total += h.name.size() + h.value.size() + 32;
  return total;
}

std::vector<std::string> run(const tlstap::http::Limits& limits, const std::vector<Op>& ops,
                             bool byte_by_byte) {
  std::vector<std::string> out;
  tlstap::http::ParserEvents events;
  events.exchange = [&](const tlstap::http::Exchange& e) {
    FUZZ_CHECK(e.version == "2");
    FUZZ_CHECK(e.stream && *e.stream != 0);
    for (const tlstap::http::Message* m : {&e.request, &e.response}) {
      FUZZ_CHECK(m->body.first_bytes.size() <= limits.body_bytes);
      FUZZ_CHECK(m->body.first_bytes.size() <= m->body.len);
      FUZZ_CHECK(header_bytes(m->headers) <= limits.max_header_bytes);
      FUZZ_CHECK(header_bytes(m->trailers) <= limits.max_header_bytes);
    }
    out.push_back("E" + describe(e));
  };
  events.skip = [&](const tlstap::http::Skip& s) { out.push_back("S" + describe(s)); };
  tlstap::http2::Http2Parser parser(limits, events);
  uint64_t ts = 0;
  for (const Op& op : ops) {
    ++ts;
    switch (op.kind) {
      case 0:
        if (byte_by_byte) {
          for (char c : op.bytes) parser.feed(op.side, std::string_view(&c, 1), ts);
        } else {
          parser.feed(op.side, op.bytes, ts);
        }
        break;
      case 1: parser.gap(op.side, op.n); break;
      case 2: parser.gap(op.side, 0); break;
      default: parser.end(ts); break;
    }
    FUZZ_CHECK(parser.open_streams() <= limits.max_pending_exchanges);
    if (op.kind == 3) {
      FUZZ_CHECK(parser.open_streams() == 0);
      break;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  tlstap::http::Limits limits;
  limits.body_bytes = data[0];
  limits.max_header_bytes = size_t{data[1]} * 16;
  limits.max_pending_exchanges = data[2] % 9;
  limits.max_buffered_bytes = size_t{data[3]} * 64;
  std::vector<Op> ops;
  size_t at = 4;
  while (at + 3 <= size) {
    Op op;
    uint8_t ctrl = data[at];
    op.side = (ctrl & 1) ? Side::responses : Side::requests;
    op.kind = (ctrl >> 1) & 3;
    op.n = static_cast<uint16_t>(data[at + 1] | data[at + 2] << 8);
    at += 3;
    if (op.kind == 0) {
      size_t n = std::min<size_t>(op.n, size - at);
      op.bytes = std::string_view(reinterpret_cast<const char*>(data) + at, n);
      at += n;
    }
    ops.push_back(op);
  }
  std::vector<std::string> whole = run(limits, ops, false);
  std::vector<std::string> bytewise = run(limits, ops, true);
  // FUZZ_HTTP2_DEBUG=1 prints what differed; =2 prints every input's events (for seeds).
  const char* debug = getenv("FUZZ_HTTP2_DEBUG");
  if (debug && (whole != bytewise || debug[0] == '2')) {
    for (const std::string& line : whole) fprintf(stderr, "whole:    %s\n", line.c_str());
    for (const std::string& line : bytewise) fprintf(stderr, "bytewise: %s\n", line.c_str());
  }
  bool framing_lost = std::any_of(whole.begin(), whole.end(), [](const std::string& event) {
    return event.starts_with("S") && event.find("|data lost") != std::string::npos;
  });
  if (!framing_lost) FUZZ_CHECK(whole == bytewise);
  return 0;
}
