#include "redact/http1_header_redactor.h"

#include <cstring>

namespace tlstap::redact {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

constexpr char kMask = '*';

}  // namespace

Http1HeaderRedactor::Http1HeaderRedactor(const RedactNames& names, bool at_line_start)
    : names_(names), state_(at_line_start ? State::line_start : State::unknown_line) {}

void Http1HeaderRedactor::gap() { state_ = State::unknown_line; }

void Http1HeaderRedactor::feed(uint64_t pos, std::span<char> bytes, const Patch& patch) {
  (void)patch;  // every byte is decided when fed
  for (size_t i = 0; i < bytes.size(); i++) {
    if (state_ == State::other_line) {  // most bytes (bodies): straight to the line's end
      const void* line_end = std::memchr(bytes.data() + i, '\n', bytes.size() - i);
      if (!line_end) break;
      i = static_cast<size_t>(static_cast<const char*>(line_end) - bytes.data());
    }
    step(bytes[i]);
  }
  decided_until_ = pos + bytes.size();
}

void Http1HeaderRedactor::mask(char& byte, uint64_t& counter) {
  if (byte == kMask) return;  // already what it would become: nothing changed, nothing counted
  byte = kMask;
  counter++;
}

void Http1HeaderRedactor::step(char& byte) {
  // Line ends are never masked: the message keeps its shape, and a parser downstream still
  // finds its header lines.
  const bool line_end = byte == '\n';
  switch (state_) {
    case State::line_start:
      if (line_end) return;
      name_.clear();
      state_ = State::name;
      [[fallthrough]];
    case State::name:
      if (byte == ':' && !name_.empty()) {
        state_ = names_.contains(name_) ? State::value_space : State::other_line;
        if (state_ == State::value_space) counts_.values_masked++;
      } else if (is_space(byte) && !name_.empty()) {
        // "Name :" is not valid HTTP/1.1, but lenient servers take it: masked all the same.
        state_ = names_.contains(name_) ? State::before_colon : State::other_line;
      } else if (is_field_name_char(byte) && name_.size() < names_.longest()) {
        name_.push_back(byte);
      } else {
        state_ = line_end ? State::line_start : State::other_line;
      }
      return;
    case State::before_colon:
      if (byte == ':') {
        state_ = State::value_space;
        counts_.values_masked++;
      } else if (line_end) {
        state_ = State::line_start;
      } else if (!is_space(byte)) {
        state_ = State::other_line;
      }
      return;
    case State::value_space:
      if (is_space(byte)) return;
      state_ = State::value;
      [[fallthrough]];
    case State::value:
      if (line_end) {
        state_ = State::value_line_end;
      } else if (byte != '\r') {
        mask(byte, counts_.bytes_masked);
      }
      return;
    case State::value_line_end:
      if (is_space(byte)) {  // obs-fold: the value goes on on this line
        state_ = State::value_space;
        return;
      }
      state_ = State::line_start;
      step(byte);
      return;
    case State::other_line:
      if (line_end) state_ = State::line_start;
      return;
    case State::unknown_line:
      if (line_end) {
        // The line that was cut may have been a secret value's first line: a folded line after
        // it is masked too.
        state_ = State::value_line_end;
      } else if (byte != '\r') {
        mask(byte, counts_.bytes_masked_unparsed);
      }
      return;
  }
}

}  // namespace tlstap::redact
