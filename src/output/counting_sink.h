// Counts what passes through to the real sink, for the exit summary.
#pragma once

#include <cstdint>

#include "output/record.h"

namespace tlstap {

struct TraceCounts {
  uint64_t records[2] = {0, 0};  // indexed by Direction
  uint64_t bytes[2] = {0, 0};    // bytes the calls moved
  uint64_t truncated_records = 0;
  uint64_t lost_events = 0;
  uint64_t lost_bytes = 0;
  uint64_t closed_connections = 0;
  uint64_t unseen_calls = 0;  // calls in flight at attach that returned unseen
  uint64_t unseen_bytes = 0;  // what those of them whose size is known moved (Go)
};

class CountingSink final : public RecordSink {
 public:
  explicit CountingSink(RecordSink& next) : next_(next) {}

  void data(const DataRecord& record) override {
    size_t d = record.direction == Direction::write ? 1 : 0;
    counts_.records[d]++;
    counts_.bytes[d] += record.len;
    if (record.truncated()) counts_.truncated_records++;
    next_.data(record);
  }
  void lost(const LostRecord& record) override {
    if (record.unseen_call) {
      counts_.unseen_calls += record.events;
      if (record.bytes_known) counts_.unseen_bytes += record.bytes;
    } else {
      counts_.lost_events += record.events;
      counts_.lost_bytes += record.bytes;
    }
    next_.lost(record);
  }
  void close(const CloseRecord& record) override {
    counts_.closed_connections++;
    next_.close(record);
  }
  void http(const HttpRecord& record) override { next_.http(record); }
  void http_skip(const HttpSkipRecord& record) override { next_.http_skip(record); }
  const TraceCounts& counts() const { return counts_; }

 private:
  RecordSink& next_;
  TraceCounts counts_;
};

}  // namespace tlstap
