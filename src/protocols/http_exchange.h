// One HTTP exchange (request + response) as the protocol parsers report it: the model the
// HTTP/1.x and HTTP/2 parsers share and the http records encode. Plain data, owned strings:
// an exchange outlives the bytes it was parsed from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlstap::http {

struct Header {
  std::string name;  // as sent (HTTP/1) or as decoded (HTTP/2, lower case)
  std::string value;
};
using Headers = std::vector<Header>;  // ordered, repeated names kept

struct Body {
  uint64_t len = 0;         // body bytes (HTTP/1: de-chunked; HTTP/2: DATA payload, no padding)
  std::string first_bytes;  // the first Limits::body_bytes of them, as the body had them
  std::string encoding;     // Content-Encoding when not identity (gzip, br): first_bytes as is
};

// One half of an exchange.
struct Message {
  Headers headers;
  Headers trailers;  // chunked trailers, HTTP/2 trailing HEADERS (gRPC status)
  Body body;
  uint64_t first_ts_ns = 0;  // the record that held the message's first byte
  uint64_t last_ts_ns = 0;   // the record that held its last byte
  bool complete = false;     // its end was seen (not cut by close, reset or loss)
};

struct Grpc {
  std::string service;  // from :path /pkg.Service/Method
  std::string method;
  std::optional<int> status;      // grpc-status from the trailers (or trailers-only headers)
  std::string message;            // grpc-message, percent-decoded
  uint64_t request_messages = 0;  // length-prefixed messages counted in each direction
  uint64_t response_messages = 0;
};

struct Exchange {
  std::string version;             // "1.0", "1.1", "2"
  std::optional<uint32_t> stream;  // HTTP/2 stream id
  std::string method;
  std::string scheme;              // HTTP/2 :scheme; HTTP/1 leaves it empty (https is implied
                                   // by TLS, but a proxy request may name another)
  std::string authority;           // :authority, or the Host header
  std::string path;                // :path, or the request-target
  std::optional<int> status;       // absent when no response was seen
  std::string reason;              // HTTP/1 reason phrase
  std::vector<int> informational;  // 1xx statuses seen before the final response
  Message request;
  Message response;
  std::optional<Grpc> grpc;  // content-type application/grpc*
  // Why the exchange is reported without a complete response, or what stopped parsing:
  // "connection closed", "stream reset", "goaway", "upgrade", "connect", "data lost" ...
  // Empty for a complete exchange.
  std::string note;
};

// A stretch of a direction the parser could not use: bytes it skipped to resync after loss
// or garbage, or HTTP/2 streams whose headers could not be decoded (HPACK state unknown).
struct Skip {
  bool requests = true;  // in the direction that carries requests
  uint64_t bytes = 0;
  std::string reason;             // "data lost", "not http", "hpack state unknown", ...
  std::vector<uint32_t> streams;  // HTTP/2: the streams this concerns, if known
};

// Bounds on what one connection's parser holds. Passed in, never global.
struct Limits {
  size_t body_bytes = 4096;                // --body-bytes
  size_t max_header_bytes = 64 * 1024;     // a header block larger than this is skipped
  size_t max_pending_exchanges = 128;      // pipelined requests / open streams awaiting a response
  size_t max_buffered_bytes = 256 * 1024;  // partial message bytes held per direction
};

}  // namespace tlstap::http
