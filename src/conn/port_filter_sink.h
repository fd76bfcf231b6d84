// --port: passes on only records of connections with one of the ports at either end. BPF
// applies the same filter to calls whose connection it knows; a memory-BIO call's connection
// is known only after its binding (capture/binding_hold.h), so such calls reach user space
// and are decided here, once the binding has given them their connection. Records whose
// connection has no ports cannot be shown to match and are left out.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "conn/connection.h"
#include "output/record.h"

namespace tlstap {

class PortFilterSink final : public RecordSink {
 public:
  PortFilterSink(RecordSink& next, std::vector<uint16_t> ports)
      : next_(next), ports_(std::move(ports)) {}

  void data(const DataRecord& record) override {
    if (matches(record.connection)) next_.data(record);
  }
  void lost(const LostRecord& record) override { next_.lost(record); }  // never filtered
  void close(const CloseRecord& record) override {
    if (matches(record.connection)) next_.close(record);
  }

 private:
  bool matches(const Connection* connection) const {
    return connection && (listed(connection->lport) || listed(connection->rport));
  }
  bool listed(uint16_t port) const {
    return port != 0 && std::find(ports_.begin(), ports_.end(), port) != ports_.end();
  }

  RecordSink& next_;
  std::vector<uint16_t> ports_;
};

}  // namespace tlstap
