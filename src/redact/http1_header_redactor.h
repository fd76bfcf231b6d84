// Masks secret header values in an HTTP/1.x direction (and in any text protocol fed to it):
// a line that begins with a redacted name and a colon has its value replaced by '*', byte for
// byte, with obs-fold continuation lines. It needs no message framing: every header line
// starts a line, so looking at every line start cannot miss one; a body line that looks like
// such a header is masked too (more masked, never less). Each byte is decided when fed.
//
// After a loss the position in the line is unknown: the bytes up to the next line end may be
// the rest of a secret value, and are masked.
#pragma once

#include <string>

#include "redact/redact_names.h"
#include "redact/stream_redactor.h"

namespace tlstap::redact {

class Http1HeaderRedactor final : public StreamRedactor {
 public:
  // `at_line_start`: the first byte fed begins a line (the stream's first byte, or a record
  // known to begin with a start line); otherwise it starts as after a gap.
  Http1HeaderRedactor(const RedactNames& names, bool at_line_start);

  void feed(uint64_t pos, std::span<char> bytes, const Patch& patch) override;
  void gap() override;
  void flush(const Patch& patch) override { (void)patch; }
  uint64_t decided_until() const override { return decided_until_; }
  const RedactCounts& counts() const override { return counts_; }

 private:
  enum class State {
    line_start,      // the next byte begins a line
    name,            // reading a line's first token, which may be a redacted name
    before_colon,    // a redacted name followed by spaces: a colon makes it a header
    value_space,     // after a redacted name's colon: spaces kept
    value,           // a redacted value: masked to the line's end
    value_line_end,  // a redacted value's line ended: a space or tab continues it (obs-fold)
    other_line,      // any other line: shown to its end
    unknown_line,    // after a loss: masked to the line's end
  };
  void step(char& byte);
  void mask(char& byte, uint64_t& counter);

  const RedactNames& names_;
  State state_;
  std::string name_;  // the line's first token so far (at most the longest redacted name)
  uint64_t decided_until_ = 0;
  RedactCounts counts_;
};

}  // namespace tlstap::redact
