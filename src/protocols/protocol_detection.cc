#include "protocols/protocol_detection.h"

#include "protocols/http1/http1_parser.h"
#include "protocols/http1/http1_syntax.h"
#include "protocols/http2/http2_parser.h"

namespace tlstap::http {

FirstBytes classify_first_bytes(std::string_view bytes) {
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  if (bytes.empty()) return FirstBytes::need_more;
  if (bytes.size() < kPreface.size() && kPreface.substr(0, bytes.size()) == bytes) {
    return FirstBytes::need_more;
  }
  if (bytes.substr(0, kPreface.size()) == kPreface) return FirstBytes::http2_preface;
  h1::Verdict request = h1::request_line_at(bytes);
  if (request == h1::Verdict::yes) return FirstBytes::http1_request;
  h1::Verdict response = h1::status_line_at(bytes);
  if (response == h1::Verdict::yes) return FirstBytes::http1_response;
  if (request == h1::Verdict::maybe || response == h1::Verdict::maybe) return FirstBytes::need_more;
  return FirstBytes::not_http;
}

std::unique_ptr<ProtocolParser> make_protocol_parser(Protocol protocol, const Limits& limits,
                                                     ParserEvents events) {
  switch (protocol) {
    case Protocol::http1: return std::make_unique<Http1Parser>(limits, std::move(events));
    case Protocol::http2: return std::make_unique<http2::Http2Parser>(limits, std::move(events));
  }
  return nullptr;
}

}  // namespace tlstap::http
