// The --redact sink with the HTTP/1 line redactor, whatever records reach it: records of a
// few connections in both directions, pos jumps, truncated records, lost records, closes and
// records without a connection. The first byte picks the input:
// - odd: arbitrary bytes in every record (HTTP/2 may be taken for some connections);
// - even: HTTP/1-shaped text whose only 'Q' and 'Z' bytes are in the values of secret headers
//   (and their folded lines), cut into records anywhere, with losses.
// Always: every record comes out once, in order per connection, with its len, pos and size
// unchanged; nothing is held after finish(). Even inputs: no 'Q' or 'Z' is ever shown.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "conn/connection.h"
#include "fuzz_check.h"
#include "redact/redacting_sink.h"

namespace {

using namespace tlstap;
using redact::RedactingSink;
using redact::RedactNames;

struct Shown {
  std::string connection;  // "" for none
  Direction direction;
  uint64_t pos, len;
  std::string bytes;
};

struct Collect final : RecordSink {
  void data(const DataRecord& r) override {
    shown.push_back(
        {r.connection ? r.connection->id : "", r.direction, r.pos, r.len, std::string(r.data)});
  }
  void lost(const LostRecord&) override {}
  std::vector<Shown> shown;
};

// A piece of an HTTP/1 stream; the secrets are made of 'Q' and 'Z' only.
std::string text_piece(FuzzedDataProvider& in) {
  auto secret = [&] {
    std::string value = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(1, 12));
    for (char& c : value) c = (static_cast<uint8_t>(c) & 1) ? 'Q' : 'Z';
    return value;
  };
  switch (in.ConsumeIntegralInRange<int>(0, 8)) {
    case 0: return "GET /a HTTP/1.1\r\n";
    case 1: return "HTTP/1.1 200 OK\n";
    case 2: return "Host: example\r\n";
    case 3: return "Authorization: Bearer " + secret() + "\r\n";
    case 4: return "cookie:" + secret() + "\r\n " + secret() + "\r\n\t" + secret() + "\n";
    case 5: return "Set-Cookie  : " + secret() + "\r\n";
    case 6: return "X-Api-Key: " + secret() + "\r\n";
    case 7: return "\r\n";
    default: return "body text, cookie-less, with a: colon\n";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const bool text = (in.ConsumeIntegral<uint8_t>() & 1) == 0;
  static const RedactNames names = RedactNames::defaults_and({"x-api-key"});
  Collect out;
  redact::RedactingSinkLimits limits;
  limits.max_held_bytes = 4096;
  RedactingSink sink(out, names, limits);

  Connection connections[3];
  for (int i = 0; i < 3; i++) {
    connections[i].id = "c" + std::to_string(i);
    connections[i].midstream = in.ConsumeBool();
  }
  uint64_t next_pos[3][2] = {};
  // Per connection and direction, the text still to be sent (even inputs).
  std::string pending[4][2];  // [3]: the records without a connection
  std::vector<Shown> sent;
  uint64_t ts = 1;

  while (in.remaining_bytes() > 0) {
    const int op = in.ConsumeIntegralInRange<int>(0, 9);
    const int c = in.ConsumeIntegralInRange<int>(0, 2);
    const Direction direction = in.ConsumeBool() ? Direction::write : Direction::read;
    const int d = direction == Direction::write ? 1 : 0;
    if (op == 7) {
      LostRecord lost;
      lost.connection = &connections[c];
      lost.direction = direction;
      lost.bytes_known = false;
      sink.lost(lost);
      continue;
    }
    if (op == 8) {
      CloseRecord close;
      close.connection = &connections[c];
      sink.close(close);
      next_pos[c][0] = next_pos[c][1] = 0;
      pending[c][0].clear();  // a new connection by that id starts its own streams
      pending[c][1].clear();
      connections[c].midstream = in.ConsumeBool();
      continue;
    }
    std::string bytes;
    if (text) {
      std::string& stream = pending[op == 9 ? 3 : c][d];
      while (stream.size() < 64 && in.remaining_bytes() > 0) stream += text_piece(in);
      size_t n = in.ConsumeIntegralInRange<size_t>(0, stream.size());
      bytes = stream.substr(0, n);
      stream.erase(0, n);
    } else {
      bytes = in.ConsumeRandomLengthString(300);
    }
    DataRecord record;
    record.ts_ns = ts++;
    record.direction = direction;
    record.data = bytes;
    record.len = bytes.size();
    if (op == 9) {  // a record without a connection
      sink.data(record);
      sent.push_back({"", direction, 0, record.len, bytes});
      continue;
    }
    record.connection = &connections[c];
    if (op == 6) next_pos[c][d] += in.ConsumeIntegralInRange<uint64_t>(1, 100);  // lost bytes
    record.pos = next_pos[c][d];
    if (op == 5 && !bytes.empty()) {  // truncated: only the first bytes were captured
      record.truncation = Truncation::max_bytes;
      record.len += in.ConsumeIntegralInRange<uint64_t>(1, 50);
    }
    next_pos[c][d] = record.pos + record.len;
    sink.data(record);
    sent.push_back({connections[c].id, direction, record.pos, record.len, bytes});
  }
  sink.finish();
  FUZZ_CHECK(sink.held_records() == 0);

  // Every record once, in order per connection (and per unconnected run), sizes unchanged.
  FUZZ_CHECK(out.shown.size() == sent.size());
  std::map<std::string, std::vector<const Shown*>> sent_by, shown_by;
  for (const Shown& s : sent) sent_by[s.connection].push_back(&s);
  for (const Shown& s : out.shown) shown_by[s.connection].push_back(&s);
  FUZZ_CHECK(sent_by.size() == shown_by.size());
  for (auto& [id, records] : sent_by) {
    const std::vector<const Shown*>& shown = shown_by[id];
    FUZZ_CHECK(shown.size() == records.size());
    for (size_t i = 0; i < records.size(); i++) {
      FUZZ_CHECK(shown[i]->direction == records[i]->direction);
      FUZZ_CHECK(shown[i]->pos == records[i]->pos && shown[i]->len == records[i]->len);
      FUZZ_CHECK(shown[i]->bytes.size() == records[i]->bytes.size());
    }
  }
  if (std::getenv("FUZZ_REDACT_DEBUG")) {
    for (const Shown& s : sent)
      std::fprintf(stderr, "sent  %s %d pos %llu len %llu: %s\n", s.connection.c_str(),
                   static_cast<int>(s.direction), static_cast<unsigned long long>(s.pos),
                   static_cast<unsigned long long>(s.len), s.bytes.c_str());
    for (const Shown& s : out.shown)
      std::fprintf(stderr, "shown %s %d pos %llu: %s\n", s.connection.c_str(),
                   static_cast<int>(s.direction), static_cast<unsigned long long>(s.pos),
                   s.bytes.c_str());
  }
  if (text) {
    for (const Shown& s : out.shown) {
      FUZZ_CHECK(s.bytes.find_first_of("QZ") == std::string::npos);
    }
  }
  return 0;
}
