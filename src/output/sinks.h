// The encoders: text (default), hex and JSON lines. Each writes whole records to an
// OutputStream; none does I/O of its own.
#pragma once

#include <memory>
#include <string_view>

#include "output/output_stream.h"
#include "output/record.h"

namespace tlstap {

enum class OutputFormat { text, hex, json };

std::unique_ptr<RecordSink> make_sink(OutputFormat format, OutputStream& out);

}  // namespace tlstap
