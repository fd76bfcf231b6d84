// The HTTP/2 parser's promise under loss: never a wrong header. The input drives a generator
// of real HTTP/2 (nghttp2's HPACK encoder, one per direction; CONTINUATION, padding, several
// frames per record) and of losses (a record cut short with a gap of known size, or a run of
// records dropped with a gap of unknown size). Every exchange the parser reports must carry
// exactly the fields the generator encoded for that stream, or none of them.
// FUZZ_HTTP2_DEBUG=1 prints the records and the exchanges.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "http2_frames.h"
#include "protocols/http2/http2_parser.h"

namespace {

using tlstap::http::Side;
using tlstap::test::Fields;
namespace t = tlstap::test;

const char* const kNames[] = {"accept", "user-agent", "x-a", "x-b", "cookie", "content-type"};
const char* const kValues[] = {"*/*", "v1", "v2", "text/html", "application/grpc", ""};

Fields pick_fields(FuzzedDataProvider& in) {
  Fields out;
  size_t n = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < n; ++i) {
    std::string name = kNames[in.ConsumeIntegralInRange<size_t>(0, 5)];
    std::string value = in.ConsumeBool()
                            ? std::string(kValues[in.ConsumeIntegralInRange<size_t>(0, 5)])
                            : in.ConsumeRandomLengthString(12);
    out.push_back({name, value});
  }
  return out;
}

// A header block as HEADERS (+ CONTINUATION) frames, maybe padded.
std::string header_frames(FuzzedDataProvider& in, uint32_t stream, const std::string& block,
                          bool end_stream) {
  size_t first =
      in.ConsumeBool() ? block.size() : in.ConsumeIntegralInRange<size_t>(0, block.size());
  uint8_t flags = end_stream ? t::END_STREAM : 0;
  std::string payload = block.substr(0, first);
  if (in.ConsumeBool()) {
    uint8_t pad = in.ConsumeIntegralInRange<uint8_t>(0, 8);
    payload = std::string(1, static_cast<char>(pad)) + payload + std::string(pad, '\0');
    flags |= t::PADDED;
  }
  if (first == block.size()) return t::frame(t::HEADERS, flags | t::END_HEADERS, stream, payload);
  return t::frame(t::HEADERS, flags, stream, payload) +
         t::frame(t::CONTINUATION, t::END_HEADERS, stream, block.substr(first));
}

struct Sent {
  Fields request;   // pseudo-headers included, in order
  Fields response;  // :status included
};

// Splits a side's frames into records and feeds them, losing some as the input says.
void play(FuzzedDataProvider& in, tlstap::http2::Http2Parser& parser, Side side,
          const std::vector<std::string>& frames, uint64_t& ts) {
  bool dropping = false;
  for (size_t i = 0; i < frames.size();) {
    std::string record = frames[i++];
    while (i < frames.size() && in.ConsumeBool()) record += frames[i++];
    ++ts;
    int what = in.ConsumeIntegralInRange<int>(0, 7);
    if (getenv("FUZZ_HTTP2_DEBUG")) {
      fprintf(stderr, "%s record %zu bytes, %s:", side == Side::requests ? "req" : "resp",
              record.size(),
              what == 0   ? "cut"
              : what == 1 ? "dropped"
                          : "fed");
      for (unsigned char c : record) fprintf(stderr, " %02x", c);
      fprintf(stderr, "\n");
    }
    if (dropping && what != 1) parser.gap(side, 0);  // the records dropped before this one
    switch (what) {
      case 0: {  // the record's tail is lost, its size known
        dropping = false;
        size_t keep = in.ConsumeIntegralInRange<size_t>(0, record.size());
        if (getenv("FUZZ_HTTP2_DEBUG")) fprintf(stderr, "  kept %zu\n", keep);
        parser.feed(side, record.substr(0, keep), ts);
        if (keep < record.size()) parser.gap(side, record.size() - keep);
        break;
      }
      case 1:  // the record is lost, size unknown
        dropping = true;
        break;
      default: dropping = false; parser.feed(side, record, ts);
    }
  }
  if (dropping) parser.gap(side, 0);
}

Fields without_pseudo(const Fields& fields) {
  Fields out;
  for (const auto& f : fields)
    if (f.first[0] != ':') out.push_back(f);
  return out;
}

Fields as_fields(const tlstap::http::Headers& headers) {
  Fields out;
  for (const auto& h : headers) out.push_back({h.name, h.value});
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  t::HpackEncoder client_hpack;
  t::HpackEncoder server_hpack;
  std::map<uint32_t, Sent> sent;
  std::vector<std::string> requests = {std::string(t::kPreface) + t::settings()};
  std::vector<std::string> responses = {t::settings() + t::settings_ack()};
  size_t streams = in.ConsumeIntegralInRange<size_t>(1, 8);
  for (size_t k = 0; k < streams; ++k) {
    uint32_t id = static_cast<uint32_t>(2 * k + 1);
    Sent& s = sent[id];
    s.request = {{":method", in.ConsumeBool() ? "GET" : "POST"},
                 {":scheme", "https"},
                 {":path", "/" + in.ConsumeRandomLengthString(8)}};
    for (auto& f : pick_fields(in)) s.request.push_back(f);
    s.response = {{":status", in.ConsumeBool() ? "200" : "404"}};
    for (auto& f : pick_fields(in)) s.response.push_back(f);
    requests.push_back(header_frames(in, id, client_hpack.encode(s.request), true));
    bool body = in.ConsumeBool();
    responses.push_back(header_frames(in, id, server_hpack.encode(s.response), !body));
    if (body) responses.push_back(t::frame(t::DATA, t::END_STREAM, id, "body"));
  }
  std::vector<tlstap::http::Exchange> reported;
  tlstap::http2::Http2Parser parser(
      {}, {[&](const tlstap::http::Exchange& e) { reported.push_back(e); }, nullptr});
  uint64_t ts = 0;
  play(in, parser, Side::requests, requests, ts);
  play(in, parser, Side::responses, responses, ts);
  parser.end(++ts);

  for (const tlstap::http::Exchange& e : reported) {
    if (getenv("FUZZ_HTTP2_DEBUG")) {
      fprintf(stderr, "stream %u status %d note '%s':", e.stream.value_or(0), e.status.value_or(-1),
              e.note.c_str());
      for (const auto& h : e.response.headers)
        fprintf(stderr, " [%s: %s]", h.name.c_str(), h.value.c_str());
      fprintf(stderr, "\n   sent:");
      for (const auto& f : sent[*e.stream].response)
        fprintf(stderr, " [%s: %s]", f.first.c_str(), f.second.c_str());
      fprintf(stderr, "\n");
    }
    FUZZ_CHECK(e.stream && sent.count(*e.stream));
    const Sent& s = sent.at(*e.stream);
    // The request's fields: all of them exactly, or none.
    if (!e.method.empty() || !e.path.empty() || !e.request.headers.empty()) {
      FUZZ_CHECK(e.method == s.request[0].second);
      FUZZ_CHECK(e.path == s.request[2].second);
      FUZZ_CHECK(as_fields(e.request.headers) == without_pseudo(s.request));
    }
    if (e.status || !e.response.headers.empty()) {
      FUZZ_CHECK(e.status && *e.status == std::stoi(s.response[0].second));
      FUZZ_CHECK(as_fields(e.response.headers) == without_pseudo(s.response));
    }
    FUZZ_CHECK(e.request.trailers.empty() && e.response.trailers.empty());
  }
  return 0;
}
