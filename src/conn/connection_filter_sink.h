// --host and --port: pass on only the records of connections that match. Records whose
// connection is not known cannot be shown to match and are left out; lost records are never
// filtered. Applied after reassembly and the memory-BIO binding, so a call whose connection
// BPF did not know yet is decided once it has one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "conn/connection.h"
#include "output/record.h"

namespace tlstap {

class ConnectionFilterSink : public RecordSink {
 public:
  explicit ConnectionFilterSink(RecordSink& next) : next_(next) {}

  void data(const DataRecord& record) override {
    if (record.connection && matches(*record.connection)) next_.data(record);
  }
  void lost(const LostRecord& record) override { next_.lost(record); }
  void close(const CloseRecord& record) override {
    if (record.connection && matches(*record.connection)) next_.close(record);
  }
  void http(const HttpRecord& record) override {
    if (matches(*record.connection)) next_.http(record);
  }
  void http_skip(const HttpSkipRecord& record) override {
    if (matches(*record.connection)) next_.http_skip(record);
  }

 protected:
  virtual bool matches(const Connection& connection) const = 0;

 private:
  RecordSink& next_;
};

// --host: that address at either end.
class HostFilterSink final : public ConnectionFilterSink {
 public:
  // `host` is an IPv4 or IPv6 address in any textual form the resolver accepts.
  static Result<std::string> canonical_address(const std::string& host);

  HostFilterSink(RecordSink& next, std::string canonical_host)
      : ConnectionFilterSink(next), host_(std::move(canonical_host)) {}

 private:
  // Addresses are canonical on both sides (v4-mapped ones already shown as IPv4).
  bool matches(const Connection& c) const override { return c.laddr == host_ || c.raddr == host_; }
  std::string host_;
};

// --port: one of the ports at either end (BPF applies the same filter to calls whose
// connection it knows).
class PortFilterSink final : public ConnectionFilterSink {
 public:
  PortFilterSink(RecordSink& next, std::vector<uint16_t> ports)
      : ConnectionFilterSink(next), ports_(std::move(ports)) {}

 private:
  bool matches(const Connection& c) const override { return listed(c.lport) || listed(c.rport); }
  bool listed(uint16_t port) const {
    return port != 0 && std::find(ports_.begin(), ports_.end(), port) != ports_.end();
  }
  std::vector<uint16_t> ports_;
};

}  // namespace tlstap
