// gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md): what an exchange's headers say about the
// call, and the length-prefixed messages its DATA frames carry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/http_exchange.h"

namespace tlstap::http2 {

// content-type application/grpc, application/grpc+proto, application/grpc;charset=...
bool is_grpc_content_type(std::string_view content_type);

// "/pkg.Service/Method" -> {"pkg.Service", "Method"}; a path of another shape leaves both
// empty rather than guessing.
void split_grpc_path(std::string_view path, http::Grpc& grpc);

// grpc-message is percent-encoded (PROTOCOL-HTTP2.md); a malformed escape is kept as is.
std::string percent_decode(std::string_view text);

// grpc-status and grpc-message from a header list (the trailers, or the headers of a
// trailers-only response). Leaves `grpc` untouched when there is no grpc-status.
void read_grpc_status(const http::Headers& headers, http::Grpc& grpc);

// Counts the length-prefixed messages of one direction of one call: a 1-byte compressed flag
// and a 4-byte big-endian length, then that many bytes; prefixes and messages span DATA
// frames freely. A message counts once all its bytes arrived.
class GrpcMessageCounter {
 public:
  void feed(std::string_view data);
  // Bytes of this direction were lost: the message boundaries are unknown from here on.
  void lose() { lost_ = true; }
  uint64_t messages() const { return messages_; }
  bool lost() const { return lost_; }

 private:
  uint64_t messages_ = 0;
  char prefix_[5] = {};
  size_t prefix_have_ = 0;
  uint64_t body_left_ = 0;
  bool in_body_ = false;
  bool lost_ = false;
};

}  // namespace tlstap::http2
