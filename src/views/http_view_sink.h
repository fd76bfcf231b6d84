// --http: the protocol view. Sits after the connection tracker (and the filters): passes every
// record on (with --http-only only lost and close records), and feeds each connection's data
// into a parser for its protocol, placed by `pos`: a pos gap, a lost record on it or a
// truncated record is a gap for the parser. Emits http records for exchanges and http_skip
// records for what the parsers could not use. A connection is classified from its first
// bytes (and its role, when known); one that is not HTTP costs nothing after that.
// Per-connection state is freed at close; at most `max_connections` are parsed at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "output/record.h"
#include "protocols/protocol_detection.h"
#include "protocols/protocol_parser.h"
#include "redact/redact_names.h"

namespace tlstap {

struct HttpViewOptions {
  bool http_only = false;  // data records are not passed on
  http::Limits limits;
  size_t max_connections = 16384;          // parsed at the same time; more are said and left alone
  size_t max_detection_bytes = 16 * 1024;  // held per connection while its protocol is unknown
  // --redact: these headers' values are shown as '*'s (the bytes are masked before the view).
  const redact::RedactNames* redact = nullptr;
};

struct HttpViewCounts {
  uint64_t exchanges = 0;
  uint64_t skips = 0;
  uint64_t skipped_bytes = 0;
  uint64_t connections_parsed = 0;
  uint64_t connections_not_parsed = 0;  // over max_connections
};

class HttpViewSink final : public RecordSink {
 public:
  HttpViewSink(RecordSink& next, HttpViewOptions options);
  ~HttpViewSink() override;

  void data(const DataRecord& record) override;
  void lost(const LostRecord& record) override;
  void close(const CloseRecord& record) override;
  void http(const HttpRecord& record) override { next_.http(record); }
  void http_skip(const HttpSkipRecord& record) override { next_.http_skip(record); }

  // At exit: connections still open end now; what they have pending is reported.
  void finish(uint64_t ts_ns);

  const HttpViewCounts& counts() const { return counts_; }
  size_t tracked_connections() const { return views_.size(); }

 private:
  struct HeldRecord {
    Direction direction;
    uint64_t pos;
    uint64_t len;
    uint64_t ts_ns;
    std::string bytes;
  };
  struct ConnectionView {
    // midstream_http2: joined midstream, HTTP/2 by its frames; not decoded (no preface proves
    // where frames start, no HPACK state), its bytes counted and said at the end.
    enum class State { detecting, parsing, ignored, midstream_http2 } state = State::detecting;
    std::optional<Direction> requests;  // the direction that carries requests
    std::unique_ptr<http::ProtocolParser> parser;
    uint64_t next_pos[2] = {0, 0};
    bool seen[2] = {false, false};
    std::vector<HeldRecord> held;  // while detecting
    size_t held_bytes = 0;
    uint32_t pid = 0;
    std::string comm;
    const Connection* connection = nullptr;
    uint64_t last_ts_ns = 0;
    uint64_t not_decoded[2] = {0, 0};  // midstream_http2: bytes per direction
  };

  static uint64_t message_ts(const DataRecord& r);
  ConnectionView* view_for(const Connection& connection);
  // Decides the connection's protocol from its held records and `current` (not held yet):
  // true when decided (a parser was started and fed, or the connection is left alone).
  bool detect(ConnectionView& view, const DataRecord* current);
  void ignore(ConnectionView& view);
  // A midstream connection whose records are whole HTTP/2 frames: left undecoded, said.
  bool is_midstream_http2(const ConnectionView& view, const DataRecord* current) const;
  void leave_midstream_http2(ConnectionView& view, const DataRecord* current);
  void start_parser(ConnectionView& view, http::Protocol protocol, Direction requests);
  void deliver(ConnectionView& view, Direction direction, uint64_t pos, uint64_t len,
               std::string_view bytes, uint64_t ts_ns);
  void end(ConnectionView& view, uint64_t ts_ns);

  RecordSink& next_;
  HttpViewOptions options_;
  std::unordered_map<std::string, std::unique_ptr<ConnectionView>> views_;  // by connection id
  HttpViewCounts counts_;
};

}  // namespace tlstap
