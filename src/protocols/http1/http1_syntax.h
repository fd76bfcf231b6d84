// The HTTP/1.x grammar pieces the parser, the resync scan and protocol detection share
// (RFC 9112): start lines, header fields, framing headers. Pure functions on bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/http_exchange.h"

namespace tlstap::http::h1 {

// The longest start line a resync or a detection waits for; longer lines are not believed.
inline constexpr size_t kMaxStartLine = 8192;

struct RequestLine {
  std::string_view method;
  std::string_view target;
  std::string_view version;  // "1.0", "1.1"
};

struct StatusLine {
  std::string_view version;
  int status = 0;
  std::string_view reason;
};

// `line` without its line ending (CRLF or LF).
std::optional<RequestLine> parse_request_line(std::string_view line);
std::optional<StatusLine> parse_status_line(std::string_view line);

// Whether `bytes`, taken from the start of a line, begin with a complete start line of that
// kind ending in CRLF (yes), cannot begin one (no), or could once more bytes come (maybe).
// Strict (CRLF only, no leading whitespace): this is what resync and detection trust.
enum class Verdict { no, maybe, yes };
Verdict request_line_at(std::string_view bytes);
Verdict status_line_at(std::string_view bytes);

// Header field lines (between the start line and the empty line, line endings included).
// Obsolete line folding is joined with a space. False on a malformed line.
bool parse_header_lines(std::string_view block, Headers& out);

// Case-insensitive ASCII comparison of header names and tokens.
bool equals_ignoring_case(std::string_view a, std::string_view b);

// The value of the first header with this name, or null.
const std::string* find_header(const Headers& headers, std::string_view name);
// Whether any header with this name lists `token` in its comma-separated value.
bool header_has_token(const Headers& headers, std::string_view name, std::string_view token);

// Content-Length: absent (nullopt in `length`), valid, or invalid (several different values,
// not digits, too large).
struct ContentLength {
  bool valid = true;
  std::optional<uint64_t> length;
};
ContentLength content_length(const Headers& headers);

// The last coding of Transfer-Encoding ("chunked" frames the body), or empty when absent.
std::string last_transfer_coding(const Headers& headers);

// A chunk-size line's size (hex digits, optional chunk extensions), without the line ending.
std::optional<uint64_t> parse_chunk_size(std::string_view line);

}  // namespace tlstap::http::h1
