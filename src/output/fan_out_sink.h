// Hands every record to several sinks in turn (the text/JSON encoder and the pcapng writer),
// so that each output stays a sink of its own.
#pragma once

#include <vector>

#include "output/record.h"

namespace tlstap {

class FanOutSink final : public RecordSink {
 public:
  explicit FanOutSink(std::vector<RecordSink*> sinks) : sinks_(std::move(sinks)) {}

  void data(const DataRecord& record) override {
    for (RecordSink* sink : sinks_) sink->data(record);
  }
  void lost(const LostRecord& record) override {
    for (RecordSink* sink : sinks_) sink->lost(record);
  }
  void close(const CloseRecord& record) override {
    for (RecordSink* sink : sinks_) sink->close(record);
  }
  void http(const HttpRecord& record) override {
    for (RecordSink* sink : sinks_) sink->http(record);
  }
  void http_skip(const HttpSkipRecord& record) override {
    for (RecordSink* sink : sinks_) sink->http_skip(record);
  }

 private:
  std::vector<RecordSink*> sinks_;
};

}  // namespace tlstap
