// Fuzzes the HTTP/1.x parser and the --http view: two byte streams of one connection with
// gaps, truncated records and a close, fed to an Http1Parser directly (limits, memory and
// event invariants) and, as data records, through HttpViewSink into the JSON and text
// encoders (every http and http_skip line parsed back and checked).
//
// Input: 4 bytes of configuration (body_bytes, max_header_bytes, max_pending_exchanges, the
// connection's role and whether it is midstream), then operations, each starting with a byte
// whose low 3 bits say what:
//   0/1: a request/response record: a length byte, then that many bytes;
//   2/3: a gap of a length byte on the request/response side (a pos jump for the view);
//   4/5: a truncated request/response record: length byte L, captured byte C (<= L), C bytes;
//   6:   the connection closes (parser end(); view close record); the rest is ignored;
//   7:   a u16 count of filler bytes (bit 3: the response side), to reach limits cheaply.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "../unit/base64_decode.h"  // the tests' own decoder
#include "conn/connection.h"
#include "fuzz_check.h"
#include "output/output_stream.h"
#include "output/sinks.h"
#include "protocols/http1/http1_parser.h"
#include "protocols/protocol_detection.h"
#include "views/http_view_sink.h"

namespace {

using namespace tlstap;

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  std::string_view bytes(size_t n) {
    size_t take = std::min(n, size_ - std::min(pos_, size_));
    std::string_view out(reinterpret_cast<const char*>(data_) + std::min(pos_, size_), take);
    pos_ += take;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

using test::base64_decode;

void check_message(const http::Message& m, const http::Limits& limits) {
  FUZZ_CHECK(m.body.first_bytes.size() <= limits.body_bytes);
  FUZZ_CHECK(m.body.first_bytes.size() <= m.body.len);
  size_t header_bytes = 0;
  for (const http::Header& h : m.headers) header_bytes += h.name.size() + h.value.size();
  for (const http::Header& h : m.trailers) header_bytes += h.name.size() + h.value.size();
  FUZZ_CHECK(header_bytes <= 2 * limits.max_header_bytes);
}

void check_exchange(const http::Exchange& e, const http::Limits& limits) {
  check_message(e.request, limits);
  check_message(e.response, limits);
  FUZZ_CHECK(e.version.size() == 3 && e.version.starts_with("1."));  // as the peer wrote it
  FUZZ_CHECK(!e.method.empty() && !e.path.empty());
  if (e.status) FUZZ_CHECK(*e.status >= 100 && *e.status <= 999);
  for (int status : e.informational) FUZZ_CHECK(status >= 100 && status < 200);
  if (!e.request.complete || (e.status && !e.response.complete) || !e.status) {
    FUZZ_CHECK(!e.note.empty());  // whatever is missing is said
  }
}

// Encodes what the view emits as JSON and text, checking each.
class CheckingSink final : public RecordSink {
 public:
  explicit CheckingSink(const http::Limits& limits)
      : limits_(limits),
        json_stream_(OutputStream::standard_output()),
        text_stream_(OutputStream::standard_output()),
        json_(make_sink(OutputFormat::json, json_stream_)),
        text_(make_sink(OutputFormat::text, text_stream_)) {}

  void data(const DataRecord&) override { data_records++; }
  void lost(const LostRecord&) override {}
  void close(const CloseRecord&) override { closes++; }

  void http(const HttpRecord& r) override {
    FUZZ_CHECK(r.connection != nullptr && r.exchange != nullptr);
    check_exchange(*r.exchange, limits_);
    json_stream_.buffer().clear();
    json_->http(r);
    nlohmann::json object = nlohmann::json::parse(json_stream_.buffer());
    FUZZ_CHECK(object.at("type") == "http");
    FUZZ_CHECK(object.at("path") == r.exchange->path);
    FUZZ_CHECK(object.at("req_body_len").get<uint64_t>() == r.exchange->request.body.len);
    std::optional<std::string> body = base64_decode(object.value("req_body", ""));
    FUZZ_CHECK(body && *body == r.exchange->request.body.first_bytes);
    FUZZ_CHECK(object.at("req_headers").size() == r.exchange->request.headers.size());
    if (r.exchange->status) {
      FUZZ_CHECK(object.at("status").get<int>() == *r.exchange->status);
      std::optional<std::string> resp = base64_decode(object.value("resp_body", ""));
      FUZZ_CHECK(resp && *resp == r.exchange->response.body.first_bytes);
    } else {
      FUZZ_CHECK(!object.contains("status") && !object.contains("latency_ns"));
    }
    check_text([&] { text_->http(r); });
    exchanges++;
  }

  void http_skip(const HttpSkipRecord& r) override {
    json_stream_.buffer().clear();
    json_->http_skip(r);
    nlohmann::json object = nlohmann::json::parse(json_stream_.buffer());
    FUZZ_CHECK(object.at("type") == "http_skip");
    FUZZ_CHECK(object.at("bytes").get<uint64_t>() == r.skip->bytes);
    check_text([&] { text_->http_skip(r); });
  }

  uint64_t data_records = 0, closes = 0, exchanges = 0;

 private:
  template <typename F>
  void check_text(F write) {
    text_stream_.buffer().clear();
    write();
    // Body bytes keep their tabs and newlines (as data records do); nothing else unprintable.
    for (char c : text_stream_.buffer()) {
      auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u == '\n' || u == '\t' || (u >= 0x20 && u < 0x7f));
    }
    text_stream_.buffer().clear();
  }

  http::Limits limits_;
  OutputStream json_stream_, text_stream_;
  std::unique_ptr<RecordSink> json_, text_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  http::Limits limits;
  limits.body_bytes = (in.u8() & 0x3f) * 8u;
  limits.max_header_bytes = 64 + in.u8() * 16u;
  limits.max_pending_exchanges = 1 + (in.u8() & 7u);
  limits.max_buffered_bytes = 4096;
  uint8_t shape = in.u8();
  Connection connection;
  connection.id = "1-1-3-0";
  connection.role = shape % 3 == 0 ? Role::client : shape % 3 == 1 ? Role::server : Role::unknown;
  connection.midstream = (shape & 4) != 0;
  // The direction that carries requests, as the role says (write when unknown).
  const Direction request_dir =
      connection.role == Role::server ? Direction::read : Direction::write;

  uint64_t fed[2] = {0, 0}, gaps[2] = {0, 0}, skipped[2] = {0, 0};
  bool ended = false;
  http::ParserEvents events;
  events.exchange = [&](const http::Exchange& e) {
    FUZZ_CHECK(!ended);
    check_exchange(e, limits);
  };
  events.skip = [&](const http::Skip& s) {
    FUZZ_CHECK(!ended);
    skipped[s.requests ? 0 : 1] += s.bytes;
  };
  http::Http1Parser parser(limits, events);

  CheckingSink checking(limits);
  HttpViewOptions view_options;
  view_options.limits = limits;
  HttpViewSink view(checking, view_options);
  uint64_t pos[2] = {0, 0};
  uint64_t ts = 1000;
  auto record = [&](bool responses, std::string_view bytes, uint64_t len) {
    Direction d =
        responses == (request_dir == Direction::write) ? Direction::read : Direction::write;
    size_t i = d == Direction::write ? 1 : 0;
    DataRecord r;
    r.ts_ns = ts;
    r.pid = 7;
    r.comm = "fuzz";
    r.direction = d;
    r.len = len;
    r.data = bytes;
    if (bytes.size() < len) r.truncation = Truncation::max_bytes;
    r.connection = &connection;
    r.pos = pos[i];
    pos[i] += len;
    view.data(r);
  };

  // Bounds on the parser's buffers: a head or trailer block (max_header_bytes), a resync
  // scan (a held start line plus a 64 KiB step), a chunk line, held tunnel bytes; the
  // string capacity may be up to twice its size.
  const size_t memory_bound =
      2 * (2 * (limits.max_header_bytes + 8192 + 65536 + 4096)) + 2 * limits.max_buffered_bytes;
  while (!in.empty() && !ended) {
    uint8_t op = in.u8();
    ts += 1 + (op >> 4);
    bool responses = (op & 1) != 0;
    http::Side side = responses ? http::Side::responses : http::Side::requests;
    switch (op & 7) {
      case 0:
      case 1: {
        std::string_view bytes = in.bytes(in.u8());
        parser.feed(side, bytes, ts);
        fed[responses] += bytes.size();
        record(responses, bytes, bytes.size());
        break;
      }
      case 2:
      case 3: {
        uint8_t n = in.u8();
        parser.gap(side, n);
        gaps[responses] += n;
        pos[(responses == (request_dir == Direction::write)) ? 0 : 1] += n;
        break;
      }
      case 4:
      case 5: {
        uint8_t len = in.u8();
        uint8_t captured = std::min(in.u8(), len);
        std::string_view bytes = in.bytes(captured);
        parser.feed(side, bytes, ts);
        parser.gap(side, len - bytes.size());
        fed[responses] += bytes.size();
        gaps[responses] += len - bytes.size();
        record(responses, bytes, len);
        break;
      }
      case 6: {
        parser.end(ts);
        ended = true;
        CloseRecord close;
        close.ts_ns = ts;
        close.pid = 7;
        close.connection = &connection;
        view.close(close);
        FUZZ_CHECK(view.tracked_connections() == 0);
        break;
      }
      case 7: {
        std::string filler(in.u16(), 'x');
        http::Side filler_side = (op & 8) ? http::Side::responses : http::Side::requests;
        parser.feed(filler_side, filler, ts);
        fed[(op & 8) ? 1 : 0] += filler.size();
        record((op & 8) != 0, filler, filler.size());
        break;
      }
    }
    FUZZ_CHECK(parser.pending_exchanges() <= limits.max_pending_exchanges);
    FUZZ_CHECK(parser.buffered_bytes() <= memory_bound);
  }
  if (!ended) {
    parser.end(ts);
    ended = true;
    view.finish(ts);
  }
  // Skipped bytes were seen (or lost, after a protocol switch): never more than that.
  for (int s = 0; s < 2; s++) FUZZ_CHECK(skipped[s] <= fed[s] + gaps[s]);
  FUZZ_CHECK(parser.pending_exchanges() == 0);
  (void)http::classify_first_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
