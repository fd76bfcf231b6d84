#include "output/sinks.h"

namespace tlstap {

std::unique_ptr<RecordSink> make_json_sink(OutputStream& out);
std::unique_ptr<RecordSink> make_text_sink(OutputStream& out, bool hex);

std::unique_ptr<RecordSink> make_sink(OutputFormat format, OutputStream& out) {
  switch (format) {
    case OutputFormat::json: return make_json_sink(out);
    case OutputFormat::hex: return make_text_sink(out, true);
    case OutputFormat::text: break;
  }
  return make_text_sink(out, false);
}

}  // namespace tlstap
