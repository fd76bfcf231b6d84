// Human-readable output: a header line per record, then the data, terminal-safe (text) or
// as a hexdump (hex).
#include <time.h>

#include <fmt/format.h>

#include "output/encoding.h"
#include "output/sinks.h"

namespace tlstap {
namespace {

class TextSink final : public RecordSink {
 public:
  TextSink(OutputStream& out, bool hex) : out_(out), hex_(hex) {}

  void data(const DataRecord& r) override {
    std::string& b = out_.buffer();
    append_clock(b, r.ts_ns);
    fmt::format_to(std::back_inserter(b), " {}[{}/{}] {} {} bytes ({} {})", r.comm, r.pid,
                   r.tid, direction_name(r.direction), r.len, r.library, r.function);
    if (r.truncated()) {
      fmt::format_to(std::back_inserter(b), " [truncated by {}: {} of {} bytes shown]",
                     truncation_name(r.truncation), r.data.size(), r.len);
    }
    b += '\n';
    if (hex_) {
      append_hexdump(b, r.data);
    } else {
      append_terminal_safe(b, r.data);
      if (!r.data.empty() && r.data.back() != '\n') b += '\n';
    }
    b += '\n';
    out_.record_done();
    out_.flush_if_full();
  }

  void lost(const LostRecord& r) override {
    fmt::format_to(std::back_inserter(out_.buffer()),
                   "*** lost {} events, {} bytes: the ring buffer was full "
                   "(a larger --buffer-size or a lighter output helps) ***\n\n",
                   r.events, r.bytes);
    out_.record_done();
  }

 private:
  // Local time of day with microseconds; the local-time conversion is done once a second.
  void append_clock(std::string& b, uint64_t ts_ns) {
    time_t seconds = static_cast<time_t>(ts_ns / 1000000000);
    if (seconds != cached_second_) {
      struct tm local;
      localtime_r(&seconds, &local);
      cached_clock_ = fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
      cached_second_ = seconds;
    }
    fmt::format_to(std::back_inserter(b), "{}.{:06}", cached_clock_, ts_ns % 1000000000 / 1000);
  }

  OutputStream& out_;
  bool hex_;
  time_t cached_second_ = -1;
  std::string cached_clock_;
};

}  // namespace

std::unique_ptr<RecordSink> make_text_sink(OutputStream& out, bool hex) {
  return std::make_unique<TextSink>(out, hex);
}

}  // namespace tlstap
