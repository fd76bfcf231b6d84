// JSON lines exactly as DESIGN.md specifies: one object per line, data in base64.
#include <fmt/format.h>

#include "conn/connection.h"
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
      fmt::format_to(std::back_inserter(b),
                     R"(","truncated":true,"captured":{},"truncated_by":"{}")", r.data.size(),
                     truncation_name(r.truncation));
    } else {
      b += "\",\"truncated\":false";
    }
    if (r.connection) {
      append_connection(b, *r.connection);
      fmt::format_to(std::back_inserter(b), R"(,"pos":{})", r.pos);
    }
    b += "}\n";
    out_.record_done();
    out_.flush_if_full();
  }

  void close(const CloseRecord& r) override {
    std::string& b = out_.buffer();
    fmt::format_to(std::back_inserter(b), R"({{"type":"close","ts_ns":{},"pid":{})", r.ts_ns,
                   r.pid);
    if (!r.connection->comm.empty()) {
      b += R"(,"comm":)";
      append_json_string(b, r.connection->comm);
    }
    append_connection(b, *r.connection);
    fmt::format_to(std::back_inserter(b),
                   R"(,"read_bytes":{},"write_bytes":{}}})"
                   "\n",
                   r.connection->bytes[0], r.connection->bytes[1]);
    out_.record_done();
    out_.flush_if_full();
  }

  void lost(const LostRecord& r) override {
    std::string& b = out_.buffer();
    fmt::format_to(std::back_inserter(b), R"({{"type":"lost","events":{})", r.events);
    if (r.bytes_known) fmt::format_to(std::back_inserter(b), R"(,"bytes":{})", r.bytes);
    if (r.unseen_call) {
      fmt::format_to(std::back_inserter(b), R"(,"reason":"in-flight-at-attach","dir":"{}")",
                     direction_name(r.direction));
    }
    if (r.connection) append_connection(b, *r.connection);
    b += "}\n";
    out_.record_done();
    out_.flush_if_full();
  }

 private:
  // Fields of the connection that are known; unknown ones are left out.
  static void append_connection(std::string& b, const Connection& c) {
    b += ",\"conn\":";
    append_json_string(b, c.id);
    if (c.fd >= 0) fmt::format_to(std::back_inserter(b), R"(,"fd":{})", c.fd);
    if (!c.laddr.empty()) {
      b += ",\"laddr\":";
      append_json_string(b, c.laddr);
      if (c.lport) fmt::format_to(std::back_inserter(b), R"(,"lport":{})", c.lport);
    }
    if (!c.raddr.empty()) {
      b += ",\"raddr\":";
      append_json_string(b, c.raddr);
      if (c.rport) fmt::format_to(std::back_inserter(b), R"(,"rport":{})", c.rport);
    }
    fmt::format_to(std::back_inserter(b), R"(,"role":"{}")", role_name(c.role));
    if (c.midstream) b += R"(,"midstream":true)";
  }

  OutputStream& out_;
};

}  // namespace

std::unique_ptr<RecordSink> make_json_sink(OutputStream& out) {
  return std::make_unique<JsonSink>(out);
}

}  // namespace tlstap
