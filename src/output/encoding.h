// Byte encodings shared by the sinks. Each appends to `out` (no allocation per call beyond
// the growth of `out`).
#pragma once

#include <string>
#include <string_view>

namespace tlstap {

// Standard base64 (RFC 4648 section 4) with padding.
void append_base64(std::string& out, std::string_view bytes);

// A JSON string literal, quotes included (RFC 8259: ", \ and control characters escaped;
// bytes >= 0x80 that are not valid UTF-8 become \u00XX so the line is always valid JSON).
void append_json_string(std::string& out, std::string_view text);

// Terminal-safe text: printable ASCII, newline and tab as they are; backslash as \\,
// carriage return as \r, everything else as \xNN. A terminal is never sent a control byte.
void append_terminal_safe(std::string& out, std::string_view bytes);

// A terminal-safe header field (a comm, a socket path): as above, but newline as \n and tab
// as \t too, so a field never starts a line of its own that could pass for a record.
void append_terminal_safe_field(std::string& out, std::string_view bytes);

// hexdump -C style lines: offset, 16 bytes in hex, the printable ones between bars.
void append_hexdump(std::string& out, std::string_view bytes);

}  // namespace tlstap
