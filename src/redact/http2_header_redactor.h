// Until the HPACK-aware redactor lands: an HTTP/2 stream under --redact is masked whole.
#pragma once
#include "redact/redact_names.h"
#include "redact/stream_redactor.h"
namespace tlstap::redact {
class Http2HeaderRedactor final : public StreamRedactor {
 public:
  Http2HeaderRedactor(const RedactNames&, bool) {}
  void feed(uint64_t pos, std::span<char> bytes, const Patch&) override {
    for (char& c : bytes) c = 0;
    counts_.bytes_masked_unparsed += bytes.size();
    until_ = pos + bytes.size();
  }
  void gap() override {}
  void flush(const Patch&) override {}
  uint64_t decided_until() const override { return until_; }
  const RedactCounts& counts() const override { return counts_; }

 private:
  uint64_t until_ = 0;
  RedactCounts counts_;
};
}  // namespace tlstap::redact
