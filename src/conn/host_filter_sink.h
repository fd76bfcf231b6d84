// --host: passes on only records of connections with that address at either end. Records
// whose connection's addresses are unknown cannot be shown to match and are left out, as
// BPF does for --port.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "conn/connection.h"
#include "output/record.h"

namespace tlstap {

class HostFilterSink final : public RecordSink {
 public:
  // `host` is an IPv4 or IPv6 address in any textual form the resolver accepts.
  static Result<std::string> canonical_address(const std::string& host);

  HostFilterSink(RecordSink& next, std::string canonical_host)
      : next_(next), host_(std::move(canonical_host)) {}

  void data(const DataRecord& record) override {
    if (matches(record.connection)) next_.data(record);
  }
  void lost(const LostRecord& record) override { next_.lost(record); }  // never filtered
  void close(const CloseRecord& record) override {
    if (matches(record.connection)) next_.close(record);
  }

 private:
  bool matches(const Connection* connection) const {
    return connection && (same_host(connection->laddr) || same_host(connection->raddr));
  }
  // Addresses are canonical on both sides (v4-mapped ones already shown as IPv4).
  bool same_host(const std::string& address) const { return address == host_; }

  RecordSink& next_;
  std::string host_;
};

}  // namespace tlstap
