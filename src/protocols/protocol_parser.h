// What every protocol parser (HTTP/1.x, HTTP/2) looks like to the view that feeds it: bytes
// of one connection in, exchanges and skips out. No I/O, no globals, no clock: times come
// with the bytes. One parser per connection; it owns both directions of it.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "protocols/http_exchange.h"

namespace tlstap::http {

// Which half of the exchange a direction carries (the view decides from the role or from
// the first bytes: a request line or the HTTP/2 preface).
enum class Side { requests, responses };

struct ParserEvents {
  std::function<void(const Exchange&)> exchange;  // complete, or ended early (see note)
  std::function<void(const Skip&)> skip;
};

class ProtocolParser {
 public:
  virtual ~ProtocolParser() = default;
  // The next bytes of one side, contiguous with what came before on that side.
  virtual void feed(Side side, std::string_view bytes, uint64_t ts_ns) = 0;
  // Bytes of one side are missing (a pos gap, a lost or truncated record): `bytes` of them,
  // 0 when not known. The parser resyncs at the next boundary it can prove.
  virtual void gap(Side side, uint64_t bytes) = 0;
  // The connection was joined in the middle (older than tlstap): neither side's place in its
  // messages is known at first (called before any bytes).
  virtual void joined_midstream() = 0;
  // The connection ended: report what is pending (a response that ends at close is complete).
  virtual void end(uint64_t ts_ns) = 0;
};

}  // namespace tlstap::http
