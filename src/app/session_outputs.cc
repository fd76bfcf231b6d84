#include "app/session_outputs.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "common/plural.h"
#include "common/say.h"
#include "output/pipe_reader.h"
#include "output/sinks.h"

namespace tlstap {
namespace {

std::string mebibytes(uint64_t bytes) {
  if (bytes % (1 << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

// A separate line: scripts parse the main summary line.
void print_queue_summary(const WriteQueue::Stats& queue) {
  std::string line = fmt::format("tlstap: output queue peak {} of {}", mebibytes(queue.peak_bytes),
                                 mebibytes(queue.capacity_bytes));
  if (queue.producer_waits > 0) {
    // While the reader waits, the ring fills: the loss above, if any, happened then.
    line += fmt::format(
        "; it was full {} times, the ring buffer reader waited {:.3f} s in all for space "
        "(raise --queue-size if records were lost)",
        queue.producer_waits, std::chrono::duration<double>(queue.producer_wait_time).count());
  }
  say("{}\n", line);
}

void print_pcapng_summary(const PcapngSink& sink, const OutputStream& out) {
  std::string line = fmt::format("tlstap: pcapng {}: {} packets ({} bytes of packets)", out.name(),
                                 sink.counts().packets, sink.counts().packet_bytes);
  if (out.error()) {
    line += fmt::format(", {} of them not written (write error)", out.records_not_written());
  }
  if (uint64_t orphans = sink.synthesizer_counts().records_without_connection; orphans > 0) {
    line += fmt::format("; {} records had no connection and are not in it", orphans);
  }
  say("{}\n", line);
}

void print_http_summary(const HttpViewCounts& counts) {
  std::string line = fmt::format("tlstap: http: {} reported on {}, {} bytes skipped in {}",
                                 counted(counts.exchanges, "exchange"),
                                 counted(counts.connections_parsed, "connection"),
                                 counts.skipped_bytes, counted(counts.skips, "place"));
  if (counts.connections_not_parsed > 0) {
    line += fmt::format(
        "; {} records of connections over the limit of parsed connections were not parsed",
        counts.connections_not_parsed);
  }
  say("{}\n", line);
}

void print_redact_summary(const redact::RedactCounts& counts) {
  std::string line = fmt::format("tlstap: redact: {} masked ({} bytes)",
                                 counted(counts.values_masked, "header value", "header values"),
                                 counts.bytes_masked);
  if (counts.bytes_masked_unparsed > 0) {
    line += fmt::format(
        "; {} bytes masked whole after a loss, where headers could not be told from the rest",
        counts.bytes_masked_unparsed);
  }
  say("{}\n", line);
}

HttpViewOptions http_view_options(const Options& options, const redact::RedactNames* redact) {
  HttpViewOptions view;
  view.redact = redact;
  view.http_only = options.http_only;
  view.limits.body_bytes = options.body_bytes;
  return view;
}

Result<OutputStream> open_stream(const std::optional<std::string>& path, const Options& options) {
  if (!path || *path == "-") return OutputStream::standard_output(options.queue_bytes);
  return OutputStream::create_private_file(
      *path, options.queue_bytes, options.force ? ExistingFile::truncate : ExistingFile::refuse);
}

// Writes out what `out` holds, or gives up on a reader that stopped; says what was lost.
// `reader_gone`: its pipe's reader exited while no write failed (see flush).
bool finish_stream(OutputStream& out, std::chrono::milliseconds stalled_after,
                   std::string_view what, bool reader_gone) {
  bool finished = out.sync_unless_stalled(stalled_after);
  std::optional<std::string> error = out.error();
  if (!error && reader_gone) {  // said as the next write would have said it
    error = fmt::format("writing {}: {} (its reader has exited)", out.name(), std::strerror(EPIPE));
  }
  uint64_t not_written = out.records_not_written();
  if (!finished) {
    if (!error) error = fmt::format("writing {}: it stopped being read", out.name());
    not_written += out.records_pending();
    out.abandon();
  }
  if (!error) return true;
  say("tlstap: {}; {} {} were not written\n", *error, not_written, what);
  return false;
}

}  // namespace

Result<std::unique_ptr<SessionOutputs>> SessionOutputs::open(const Options& options) {
  const bool capture_to_stdout = options.pcapng_path && *options.pcapng_path == "-";
  std::optional<OutputStream> records;
  if (options.output_path || !capture_to_stdout) {
    Result<OutputStream> opened = open_stream(options.output_path, options);
    if (!opened) return opened.error();
    records.emplace(std::move(*opened));
  }
  std::optional<OutputStream> capture;
  if (options.pcapng_path) {
    Result<OutputStream> opened = open_stream(options.pcapng_path, options);
    if (!opened) return opened.error();
    capture.emplace(std::move(*opened));
  }
  return std::unique_ptr<SessionOutputs>(
      new SessionOutputs(options, std::move(records), std::move(capture)));
}

SessionOutputs::SessionOutputs(const Options& options, std::optional<OutputStream> records,
                               std::optional<OutputStream> capture)
    : records_out_(std::move(records)), capture_out_(std::move(capture)), fan_out_({}) {
  if (records_out_) encoder_ = make_sink(options.format, *records_out_);
  // --http: the protocol view in front of the text/JSON encoder. The capture gets every data
  // record whatever --http-only says.
  if (options.redact) redact_names_ = redact::RedactNames::defaults_and(options.redact_headers);
  if (encoder_ && options.http) {
    http_view_.emplace(*encoder_,
                       http_view_options(options, options.redact ? &redact_names_ : nullptr));
  }
  if (capture_out_) pcapng_.emplace(*capture_out_);
  RecordSink* records_sink = http_view_ ? &*http_view_ : encoder_.get();
  fan_out_ = FanOutSink(chain(records_sink, pcapng_ ? &*pcapng_ : nullptr));
  if (options.redact) redactor_.emplace(fan_out_, redact_names_);
}

std::vector<RecordSink*> SessionOutputs::chain(RecordSink* records, RecordSink* capture) {
  std::vector<RecordSink*> sinks;
  if (records) sinks.push_back(records);
  if (capture) sinks.push_back(capture);
  return sinks;
}

void SessionOutputs::give_up_waiting_when(const volatile sig_atomic_t* flag,
                                          std::chrono::milliseconds stalled_after) {
  if (records_out_) records_out_->give_up_waiting_when(flag, stalled_after);
  if (capture_out_) capture_out_->give_up_waiting_when(flag, stalled_after);
}

bool SessionOutputs::flush(const LogFn& log) {
  if (redactor_) {
    redactor_->expire(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count()));
  }
  if (records_out_) {
    records_out_->flush();
    // Any write error of the records stops tracing: every later record could only be counted
    // as not written. A closed pipe (`tlstap | head`, EPIPE) most of all: nobody will read
    // more, so tlstap stops as tcpdump does. A full disk stops it too: what was written is
    // whole, and a tracer that goes on without writing would only make the loss larger. While
    // no records flow no write fails, so the pipe is also asked whether its reader has gone.
    if (records_out_->error()) return false;
    if (pipe_reader_gone(records_out_->fd())) {
      reader_gone_ = &*records_out_;
      return false;
    }
  }
  if (capture_out_) {
    capture_out_->flush();
    if (capture_out_->error() && !capture_error_said_) {
      // Said at once; the records (if they go somewhere) go on being written.
      log(fmt::format("{}; no more packets will be written to the pcapng capture",
                      *capture_out_->error()));
      capture_error_said_ = true;
      if (!records_out_) return false;
    }
    if (!records_out_ && pipe_reader_gone(capture_out_->fd())) {  // `-w - | tshark`, tshark gone
      reader_gone_ = &*capture_out_;
      return false;
    }
  }
  return true;
}

bool SessionOutputs::finish(uint64_t now_wall_ns, std::chrono::milliseconds stalled_after) {
  if (redactor_) redactor_->finish();  // what it holds goes to the view before the view ends
  if (http_view_) http_view_->finish(now_wall_ns);
  bool complete = true;
  if (records_out_)
    complete &=
        finish_stream(*records_out_, stalled_after, "records", reader_gone_ == &*records_out_);
  if (capture_out_) {
    if (capture_error_said_) {
      complete = false;
    } else if (!finish_stream(*capture_out_, stalled_after, "packet records",
                              reader_gone_ == &*capture_out_)) {
      complete = false;
    }
  }
  return complete;
}

void SessionOutputs::print_summaries() const {
  if (records_out_) print_queue_summary(records_out_->queue_stats());
  if (pcapng_) print_pcapng_summary(*pcapng_, *capture_out_);
  if (http_view_) print_http_summary(http_view_->counts());
  if (redactor_) print_redact_summary(redactor_->counts());
}

}  // namespace tlstap
