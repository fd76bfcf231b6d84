// Which application protocol a connection speaks, from the first bytes of a direction, and
// the parser for it. A connection whose bytes are not HTTP gets no parser at all.
#pragma once

#include <memory>
#include <string_view>

#include "protocols/protocol_parser.h"

namespace tlstap::http {

enum class Protocol { http1, http2 };

// What the first bytes of one direction say.
enum class FirstBytes {
  need_more,       // too few bytes to tell
  http1_request,   // a request line: this direction carries requests
  http1_response,  // a status line: this direction carries responses
  http2_preface,   // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": this direction carries requests
  not_http,
};

FirstBytes classify_first_bytes(std::string_view bytes);

// The parser for a detected protocol; null when this build has none for it.
// Plugging in a parser is one line in protocol_detection.cc.
std::unique_ptr<ProtocolParser> make_protocol_parser(Protocol protocol, const Limits& limits,
                                                     ParserEvents events);

}  // namespace tlstap::http
