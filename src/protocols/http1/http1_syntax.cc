#include "protocols/http1/http1_syntax.h"

#include <algorithm>

namespace tlstap::http::h1 {
namespace {

// RFC 9110 token characters.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_vchar(char c) { return c > 0x20 && c < 0x7f; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "HTTP/1.x" at the start of `s`: how many of its 8 bytes match (8: all), or -1 on a mismatch.
int http_version_prefix(std::string_view s) {
  static constexpr std::string_view kPrefix = "HTTP/1.";
  size_t n = std::min(s.size(), kPrefix.size());
  if (s.substr(0, n) != kPrefix.substr(0, n)) return -1;
  if (s.size() <= kPrefix.size()) return static_cast<int>(n);
  return is_digit(s[kPrefix.size()]) ? 8 : -1;
}

}  // namespace

std::optional<RequestLine> parse_request_line(std::string_view line) {
  size_t sp1 = line.find(' ');
  if (sp1 == 0 || sp1 == std::string_view::npos) return std::nullopt;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return std::nullopt;
  RequestLine r{line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1), line.substr(sp2 + 1)};
  if (!std::all_of(r.method.begin(), r.method.end(), is_tchar)) return std::nullopt;
  if (!std::all_of(r.target.begin(), r.target.end(), is_vchar)) return std::nullopt;
  if (r.version.size() != 8 || http_version_prefix(r.version) != 8) return std::nullopt;
  r.version.remove_prefix(5);
  return r;
}

std::optional<StatusLine> parse_status_line(std::string_view line) {
  if (line.size() < 12 || http_version_prefix(line) != 8 || line[8] != ' ') return std::nullopt;
  if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11])) return std::nullopt;
  StatusLine s;
  s.version = line.substr(5, 3);
  s.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (s.status < 100) return std::nullopt;  // RFC 9110 15: the first digit is the class, 1-5+
  if (line.size() > 12) {
    if (line[12] != ' ') return std::nullopt;
    s.reason = line.substr(13);
    for (char c : s.reason) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return std::nullopt;
      if (c == 0x7f) return std::nullopt;
    }
  }
  return s;
}

Verdict request_line_at(std::string_view bytes) {
  // method SP target SP HTTP/1.x CRLF, checked as far as the bytes go.
  size_t i = 0;
  while (i < bytes.size() && is_tchar(bytes[i])) i++;
  if (i == bytes.size()) return i < 32 ? Verdict::maybe : Verdict::no;
  if (i == 0 || i > 32 || bytes[i] != ' ') return Verdict::no;
  size_t target = ++i;
  while (i < bytes.size() && is_vchar(bytes[i])) i++;
  if (i == bytes.size()) return i < kMaxStartLine ? Verdict::maybe : Verdict::no;
  if (i == target || bytes[i] != ' ') return Verdict::no;
  std::string_view rest = bytes.substr(i + 1);
  int version = http_version_prefix(rest);
  if (version < 0) return Verdict::no;
  if (version < 8) return Verdict::maybe;
  rest.remove_prefix(8);
  if (rest.empty()) return Verdict::maybe;
  if (rest[0] != '\r') return Verdict::no;
  if (rest.size() == 1) return Verdict::maybe;
  return rest[1] == '\n' ? Verdict::yes : Verdict::no;
}

Verdict status_line_at(std::string_view bytes) {
  int version = http_version_prefix(bytes);
  if (version < 0) return Verdict::no;
  if (version < 8) return Verdict::maybe;
  size_t line_end = bytes.find('\n');
  if (line_end == std::string_view::npos) {
    // Check what is there: SP, three digits, then SP or CR.
    std::string_view rest = bytes.substr(8);
    static constexpr std::string_view kShape = " ddd";
    for (size_t i = 0; i < rest.size() && i < kShape.size(); i++) {
      if (kShape[i] == ' ' ? rest[i] != ' ' : !is_digit(rest[i])) return Verdict::no;
    }
    if (rest.size() > 4 && rest[4] != ' ' && rest[4] != '\r') return Verdict::no;
    return bytes.size() < kMaxStartLine ? Verdict::maybe : Verdict::no;
  }
  if (line_end == 0 || bytes[line_end - 1] != '\r') return Verdict::no;
  return parse_status_line(bytes.substr(0, line_end - 1)) ? Verdict::yes : Verdict::no;
}

bool parse_header_lines(std::string_view block, Headers& out) {
  while (!block.empty()) {
    size_t end = block.find('\n');
    std::string_view line = block.substr(0, end);
    block.remove_prefix(end == std::string_view::npos ? block.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {
      // obs-fold: a continuation of the previous field's value.
      if (out.empty()) return false;
      std::string_view more = trim(line);
      if (!more.empty()) {
        if (!out.back().value.empty()) out.back().value += ' ';
        out.back().value += more;
      }
      continue;
    }
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_tchar)) return false;
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    out.push_back({std::string(name), std::string(value)});
  }
  return true;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

const std::string* find_header(const Headers& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (equals_ignoring_case(h.name, name)) return &h.value;
  }
  return nullptr;
}

bool header_has_token(const Headers& headers, std::string_view name, std::string_view token) {
  for (const Header& h : headers) {
    if (!equals_ignoring_case(h.name, name)) continue;
    std::string_view value = h.value;
    while (!value.empty()) {
      size_t comma = value.find(',');
      if (equals_ignoring_case(trim(value.substr(0, comma)), token)) return true;
      value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
    }
  }
  return false;
}

ContentLength content_length(const Headers& headers) {
  ContentLength result;
  for (const Header& h : headers) {
    if (!equals_ignoring_case(h.name, "content-length")) continue;
    // "5, 5" (a repeated field folded into one line) is the same length; anything else is not.
    std::string_view value = h.value;
    while (true) {
      size_t comma = value.find(',');
      std::string_view item = trim(value.substr(0, comma));
      if (item.empty() || item.size() > 15 || !std::all_of(item.begin(), item.end(), is_digit)) {
        return {false, std::nullopt};
      }
      uint64_t n = 0;
      for (char c : item) n = n * 10 + static_cast<uint64_t>(c - '0');
      if (result.length && *result.length != n) return {false, std::nullopt};
      result.length = n;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return result;
}

std::string last_transfer_coding(const Headers& headers) {
  std::string last;
  for (const Header& h : headers) {
    if (!equals_ignoring_case(h.name, "transfer-encoding")) continue;
    std::string_view value = h.value;
    size_t comma = value.rfind(',');
    std::string_view coding =
        trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
    if (!coding.empty()) last = std::string(coding);
  }
  for (char& c : last) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return last;
}

std::optional<uint64_t> parse_chunk_size(std::string_view line) {
  size_t i = 0;
  uint64_t size = 0;
  for (; i < line.size(); i++) {
    char c = line[i];
    int digit = is_digit(c)              ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
    if (digit < 0) break;
    if (i >= 15) return std::nullopt;  // more than 2^60 bytes: not a real chunk
    size = size * 16 + static_cast<uint64_t>(digit);
  }
  if (i == 0) return std::nullopt;
  std::string_view rest = trim(line.substr(i));
  if (!rest.empty() && rest.front() != ';') return std::nullopt;
  return size;
}

}  // namespace tlstap::http::h1
