// JSON lines exactly as DESIGN.md specifies: one object per line, data in base64.
#include <fmt/format.h>

#include "output/encoding.h"
#include "output/sinks.h"

namespace tlstap {
namespace {

class JsonSink final : public RecordSink {
 public:
  explicit JsonSink(OutputStream& out) : out_(out) {}

  void data(const DataRecord& r) override {
    std::string& b = out_.buffer();
    fmt::format_to(std::back_inserter(b), R"({{"type":"data","ts_ns":{},"pid":{},"tid":{},"comm":)",
                   r.ts_ns, r.pid, r.tid);
    append_json_string(b, r.comm);
    fmt::format_to(std::back_inserter(b),
                   R"(,"uid":{},"lib":"{}","func":"{}","dir":"{}","len":{},"data":")", r.uid,
                   r.library, r.function, direction_name(r.direction), r.len);
    append_base64(b, r.data);
    if (r.truncated()) {
      fmt::format_to(std::back_inserter(b), R"(","truncated":true,"captured":{},"truncated_by":"{}"}})",
                     r.data.size(), truncation_name(r.truncation));
      b += '\n';
    } else {
      b += "\",\"truncated\":false}\n";
    }
    out_.record_done();
    out_.flush_if_full();
  }

  void lost(const LostRecord& r) override {
    fmt::format_to(std::back_inserter(out_.buffer()), R"({{"type":"lost","events":{},"bytes":{}}})"
                                                      "\n",
                   r.events, r.bytes);
    out_.record_done();
  }

 private:
  OutputStream& out_;
};

}  // namespace

std::unique_ptr<RecordSink> make_json_sink(OutputStream& out) {
  return std::make_unique<JsonSink>(out);
}

}  // namespace tlstap
