// Human-readable output: a header line per record, then the data, terminal-safe (text) or
// as a hexdump (hex).
#include <time.h>

#include <fmt/format.h>

#include "conn/connection.h"
#include "output/encoding.h"
#include "output/sinks.h"

namespace tlstap {
namespace {

class TextSink final : public RecordSink {
 public:
  TextSink(OutputStream& out, bool hex) : out_(out), hex_(hex) {}

  void data(const DataRecord& r) override {
    std::string& b = out_.buffer();
    append_clock(b, r.ts_ns);
    b += ' ';
    append_terminal_safe_field(b, r.comm);  // a process chooses its own name: never trust it
    fmt::format_to(std::back_inserter(b), "[{}/{}]", r.pid, r.tid);
    if (r.connection) {
      b += ' ';
      append_endpoints(b, *r.connection, r.direction == Direction::write ? " -> " : " <- ");
    }
    fmt::format_to(std::back_inserter(b), " {} {} bytes ({} {})", direction_name(r.direction),
                   r.len, r.library, r.function);
    if (r.connection) {
      fmt::format_to(std::back_inserter(b), " pos {}", r.pos);
      if (r.connection->midstream) b += " (midstream)";
    }
    if (r.truncated()) {
      fmt::format_to(std::back_inserter(b), " [truncated by {}: {} of {} bytes shown]",
                     truncation_name(r.truncation), r.data.size(), r.len);
    }
    b += '\n';
    if (hex_) {
      append_hexdump(b, r.data);
    } else {
      append_terminal_safe(b, r.data);
      if (!r.data.empty() && r.data.back() != '\n') b += '\n';
    }
    b += '\n';
    out_.record_done();
    out_.flush_if_full();
  }

  void close(const CloseRecord& r) override {
    std::string& b = out_.buffer();
    append_clock(b, r.ts_ns);
    b += ' ';
    append_terminal_safe_field(b, r.connection->comm);
    fmt::format_to(std::back_inserter(b), "[{}] ", r.pid);
    append_endpoints(b, *r.connection, " - ");
    fmt::format_to(
        std::back_inserter(b), " closed: {} bytes written, {} bytes read ({}){}\n\n",
        r.connection->bytes[1], r.connection->bytes[0], r.connection->id,
        r.connection->midstream ? " (midstream: counted from the first record seen)" : "");
    out_.record_done();
    out_.flush_if_full();
  }

  // One block per exchange: a summary line (time, process, connection, request, status,
  // latency), then the request's header fields (>), the response's (<), body sizes and
  // their first bytes, terminal-safe.
  void http(const HttpRecord& r) override {
    const http::Exchange& e = *r.exchange;
    std::string& b = out_.buffer();
    append_clock(b, e.request.first_ts_ns ? e.request.first_ts_ns : r.ts_ns);
    b += ' ';
    append_terminal_safe_field(b, r.comm);
    fmt::format_to(std::back_inserter(b), "[{}] ", r.pid);
    append_endpoints(b, *r.connection, " -> ");
    fmt::format_to(std::back_inserter(b), " {} HTTP/{}", role_name(r.connection->role), e.version);
    if (e.stream) fmt::format_to(std::back_inserter(b), " stream {}", *e.stream);
    b += ' ';
    append_terminal_safe_field(b, e.method.empty() ? std::string_view("?") : e.method);
    b += ' ';
    append_terminal_safe_field(b, e.path.empty() ? std::string_view("?") : e.path);
    if (e.status) {
      fmt::format_to(std::back_inserter(b), " -> {}", *e.status);
      if (!e.reason.empty()) {
        b += ' ';
        append_terminal_safe_field(b, e.reason);
      }
      if (e.request.first_ts_ns && e.response.first_ts_ns >= e.request.first_ts_ns) {
        fmt::format_to(std::back_inserter(b), " {:.3f} ms",
                       static_cast<double>(e.response.first_ts_ns - e.request.first_ts_ns) / 1e6);
      }
    } else {
      b += " -> (no response)";
    }
    b += '\n';
    if (!e.note.empty()) {
      b += "  note: ";
      append_terminal_safe_field(b, e.note);
      b += '\n';
    }
    if (e.grpc) {
      b += "  grpc: ";
      append_terminal_safe_field(b, e.grpc->service);
      b += '/';
      append_terminal_safe_field(b, e.grpc->method);
      if (e.grpc->status) fmt::format_to(std::back_inserter(b), " status {}", *e.grpc->status);
      if (!e.grpc->message.empty()) {
        b += " message ";
        append_terminal_safe_field(b, e.grpc->message);
      }
      b += '\n';
    }
    // HTTP/2's :authority is not among the header fields (HTTP/1's Host is).
    if (e.stream && !e.authority.empty()) {
      b += "  > :authority: ";
      append_terminal_safe_field(b, e.authority);
      b += '\n';
    }
    append_message(b, "request", "> ", e.request);
    // 1xx responses (100 Continue) answer the request's head: after it, before the final one.
    for (int status : e.informational) fmt::format_to(std::back_inserter(b), "  < {}\n", status);
    if (e.status) append_message(b, "response", "< ", e.response);
    b += '\n';
    out_.record_done();
    out_.flush_if_full();
  }

  void http_skip(const HttpSkipRecord& r) override {
    std::string& b = out_.buffer();
    append_clock(b, r.ts_ns);
    b += ' ';
    append_terminal_safe_field(b, r.comm);
    fmt::format_to(std::back_inserter(b), "[{}] ", r.pid);
    append_endpoints(b, *r.connection, r.direction == Direction::write ? " -> " : " <- ");
    fmt::format_to(std::back_inserter(b), " http: skipped {} {} bytes ({}): ", r.skip->bytes,
                   r.skip->requests ? "request" : "response", direction_name(r.direction));
    append_terminal_safe_field(b, r.skip->reason);
    if (!r.skip->streams.empty()) {
      b += "; streams";
      for (uint32_t stream : r.skip->streams) fmt::format_to(std::back_inserter(b), " {}", stream);
    }
    b += "\n\n";
    out_.record_done();
    out_.flush_if_full();
  }

  void lost(const LostRecord& r) override {
    std::string& b = out_.buffer();
    if (r.unseen_call) {
      b += "*** lost: a ";
      b += direction_name(r.direction);
      b += " call already in flight when tracing started returned unseen";
      if (r.pid != 0) {
        b += " in ";
        append_terminal_safe_field(b, r.comm);
        fmt::format_to(std::back_inserter(b), "[{}/{}]", r.pid, r.tid);
      }
      b += " on ";
      if (r.connection) {
        append_endpoints(b, *r.connection, " - ");
        fmt::format_to(std::back_inserter(b), " ({})", r.connection->id);
      } else {
        b += "a connection";
      }
      if (r.bytes_known) {
        fmt::format_to(std::back_inserter(b), ": {} bytes not captured ***\n\n", r.bytes);
      } else {
        b += "; its bytes are not known ***\n\n";
      }
    } else {
      fmt::format_to(std::back_inserter(b),
                     "*** lost {} events, {} bytes: the ring buffer was full "
                     "(a larger --buffer-size or a lighter output helps) ***\n\n",
                     r.events, r.bytes);
    }
    out_.record_done();
    out_.flush_if_full();
  }

 private:
  // "laddr:lport -> raddr:rport" (arrow in the direction of the data); [v6]:port.
  static void append_endpoints(std::string& b, const Connection& c, std::string_view arrow) {
    auto endpoint = [&](const std::string& addr, uint16_t port) {
      if (addr.empty()) {
        b += c.fd >= 0 ? fmt::format("fd {}", c.fd) : std::string("?");
      } else if (port == 0) {
        append_terminal_safe_field(b, addr);  // a Unix socket's path, chosen by a process
      } else if (addr.find(':') != std::string::npos) {
        fmt::format_to(std::back_inserter(b), "[{}]:{}", addr, port);
      } else {
        fmt::format_to(std::back_inserter(b), "{}:{}", addr, port);
      }
    };
    endpoint(c.laddr, c.lport);
    b += arrow;
    if (c.raddr.empty() && !c.laddr.empty()) {
      b += "?";
    } else {
      endpoint(c.raddr, c.rport);
    }
  }

  void append_message(std::string& b, std::string_view what, std::string_view mark,
                      const http::Message& m) {
    for (const http::Header& h : m.headers) {
      b += "  ";
      b += mark;
      append_terminal_safe_field(b, h.name);
      b += ": ";
      append_terminal_safe_field(b, h.value);
      b += '\n';
    }
    fmt::format_to(std::back_inserter(b), "  {} body: {} bytes", what, m.body.len);
    if (!m.body.encoding.empty()) {
      b += ", ";
      append_terminal_safe_field(b, m.body.encoding);
      b += "-encoded, shown as is";
    }
    if (!m.body.first_bytes.empty() && m.body.first_bytes.size() < m.body.len) {
      fmt::format_to(std::back_inserter(b), ", first {} shown", m.body.first_bytes.size());
    }
    b += m.body.first_bytes.empty() ? "\n" : ":\n";
    if (!m.body.first_bytes.empty()) {
      if (hex_) {
        append_hexdump(b, m.body.first_bytes);
      } else {
        append_terminal_safe(b, m.body.first_bytes);
        if (m.body.first_bytes.back() != '\n') b += '\n';
      }
    }
    for (const http::Header& h : m.trailers) {
      b += "  ";
      b += mark;
      b += "(trailer) ";
      append_terminal_safe_field(b, h.name);
      b += ": ";
      append_terminal_safe_field(b, h.value);
      b += '\n';
    }
  }

  // Local time of day with microseconds; the local-time conversion is done once a second.
  void append_clock(std::string& b, uint64_t ts_ns) {
    time_t seconds = static_cast<time_t>(ts_ns / 1000000000);
    if (seconds != cached_second_) {
      struct tm local;
      localtime_r(&seconds, &local);
      cached_clock_ = fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
      cached_second_ = seconds;
    }
    fmt::format_to(std::back_inserter(b), "{}.{:06}", cached_clock_, ts_ns % 1000000000 / 1000);
  }

  OutputStream& out_;
  bool hex_;
  time_t cached_second_ = -1;
  std::string cached_clock_;
};

}  // namespace

std::unique_ptr<RecordSink> make_text_sink(OutputStream& out, bool hex) {
  return std::make_unique<TextSink>(out, hex);
}

}  // namespace tlstap
