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

  // {"type":"http",...}: README "Protocol views" lists the fields. Absent what is not known.
  void http(const HttpRecord& r) override {
    const http::Exchange& e = *r.exchange;
    std::string& b = out_.buffer();
    fmt::format_to(std::back_inserter(b), R"({{"type":"http","ts_ns":{},"pid":{},"comm":)", r.ts_ns,
                   r.pid);
    append_json_string(b, r.comm);
    append_connection(b, *r.connection);
    append_field(b, "version", e.version);
    if (e.stream) fmt::format_to(std::back_inserter(b), R"(,"stream":{})", *e.stream);
    append_field(b, "method", e.method);
    append_field(b, "scheme", e.scheme);
    append_field(b, "authority", e.authority);
    append_field(b, "path", e.path);
    if (e.status) {
      fmt::format_to(std::back_inserter(b), R"(,"status":{})", *e.status);
      append_field(b, "reason", e.reason);
    }
    if (!e.informational.empty()) {
      b += R"(,"informational":[)";
      for (size_t i = 0; i < e.informational.size(); i++) {
        fmt::format_to(std::back_inserter(b), "{}{}", i ? "," : "", e.informational[i]);
      }
      b += ']';
    }
    append_message(b, "req_", e.request);
    if (e.status) append_message(b, "resp_", e.response);
    if (e.request.first_ts_ns) {
      fmt::format_to(std::back_inserter(b), R"(,"req_ts_ns":{})", e.request.first_ts_ns);
    }
    if (e.status && e.response.last_ts_ns) {
      fmt::format_to(std::back_inserter(b), R"(,"resp_ts_ns":{})", e.response.last_ts_ns);
    }
    if (e.status && e.request.first_ts_ns && e.response.first_ts_ns >= e.request.first_ts_ns) {
      fmt::format_to(std::back_inserter(b), R"(,"latency_ns":{})",
                     e.response.first_ts_ns - e.request.first_ts_ns);
    }
    if (e.grpc) {
      append_field(b, "grpc_service", e.grpc->service);
      append_field(b, "grpc_method", e.grpc->method);
      if (e.grpc->status)
        fmt::format_to(std::back_inserter(b), R"(,"grpc_status":{})", *e.grpc->status);
      append_field(b, "grpc_message", e.grpc->message);
      fmt::format_to(std::back_inserter(b), R"(,"grpc_req_messages":{},"grpc_resp_messages":{})",
                     e.grpc->request_messages, e.grpc->response_messages);
    }
    append_field(b, "note", e.note);
    b += "}\n";
    out_.record_done();
    out_.flush_if_full();
  }

  void http_skip(const HttpSkipRecord& r) override {
    const http::Skip& s = *r.skip;
    std::string& b = out_.buffer();
    fmt::format_to(std::back_inserter(b), R"({{"type":"http_skip","ts_ns":{},"pid":{},"comm":)",
                   r.ts_ns, r.pid);
    append_json_string(b, r.comm);
    append_connection(b, *r.connection);
    fmt::format_to(std::back_inserter(b), R"(,"dir":"{}","side":"{}","bytes":{})",
                   direction_name(r.direction), s.requests ? "requests" : "responses", s.bytes);
    append_field(b, "reason", s.reason);
    if (!s.streams.empty()) {
      b += R"(,"streams":[)";
      for (size_t i = 0; i < s.streams.size(); i++) {
        fmt::format_to(std::back_inserter(b), "{}{}", i ? "," : "", s.streams[i]);
      }
      b += ']';
    }
    b += "}\n";
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
    if (r.pid != 0) {
      fmt::format_to(std::back_inserter(b), R"(,"ts_ns":{},"pid":{},"tid":{},"comm":)", r.ts_ns,
                     r.pid, r.tid);
      append_json_string(b, r.comm);
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

  // ,"name":"value" unless value is empty.
  static void append_field(std::string& b, std::string_view name, std::string_view value) {
    if (value.empty()) return;
    fmt::format_to(std::back_inserter(b), R"(,"{}":)", name);
    append_json_string(b, value);
  }

  // Ordered [name, value] pairs, repeated names kept.
  static void append_headers(std::string& b, const http::Headers& headers) {
    b += '[';
    for (size_t i = 0; i < headers.size(); i++) {
      if (i) b += ',';
      b += '[';
      append_json_string(b, headers[i].name);
      b += ',';
      append_json_string(b, headers[i].value);
      b += ']';
    }
    b += ']';
  }

  // req_headers, req_trailers, req_body_len, req_body, req_body_encoding (resp_ alike).
  static void append_message(std::string& b, std::string_view prefix, const http::Message& m) {
    fmt::format_to(std::back_inserter(b), R"(,"{}headers":)", prefix);
    append_headers(b, m.headers);
    if (!m.trailers.empty()) {
      fmt::format_to(std::back_inserter(b), R"(,"{}trailers":)", prefix);
      append_headers(b, m.trailers);
    }
    fmt::format_to(std::back_inserter(b), R"(,"{}body_len":{})", prefix, m.body.len);
    if (!m.body.first_bytes.empty()) {
      fmt::format_to(std::back_inserter(b), R"(,"{}body":")", prefix);
      append_base64(b, m.body.first_bytes);
      b += '"';
    }
    if (!m.body.encoding.empty()) {
      fmt::format_to(std::back_inserter(b), R"(,"{}body_encoding":)", prefix);
      append_json_string(b, m.body.encoding);
    }
    if (!m.complete) fmt::format_to(std::back_inserter(b), R"(,"{}complete":false)", prefix);
  }

  OutputStream& out_;
};

}  // namespace

std::unique_ptr<RecordSink> make_json_sink(OutputStream& out) {
  return std::make_unique<JsonSink>(out);
}

}  // namespace tlstap
