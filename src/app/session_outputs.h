// Everything a trace session writes to: the records (text/JSON/hex, with the --http view in
// front) and the pcapng capture, each an OutputStream of its own, and the sink chain that
// hands records to both. trace_session.cc wires the capture to `sink()` and leaves opening,
// flushing, finishing and the per-output summary lines to this.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli/options.h"
#include "common/result.h"
#include "output/fan_out_sink.h"
#include "output/output_stream.h"
#include "output/pcapng_sink.h"
#include "output/record.h"
#include "redact/redact_names.h"
#include "redact/redacting_sink.h"
#include "views/http_view_sink.h"

namespace tlstap {

class SessionOutputs {
 public:
  using LogFn = std::function<void(const std::string&)>;

  // Opens -o FILE (or stdout) and -w FILE (or stdout with -w -): before anything is loaded, so
  // a file that may not be written is said at once. With -w - and no -o, records are not
  // written anywhere (stdout carries the capture).
  static Result<std::unique_ptr<SessionOutputs>> open(const Options& options);

  // Where every record goes: through --redact's masking, to the --http view (or the encoder)
  // and the capture.
  RecordSink& sink() { return redactor_ ? static_cast<RecordSink&>(*redactor_) : fan_out_; }

  // Ctrl-C must stop tlstap whatever its outputs do (see WriteQueue::give_up_waiting_when).
  void give_up_waiting_when(const volatile sig_atomic_t* flag,
                            std::chrono::milliseconds stalled_after);
  // Called after each drain: what was buffered shows up now. False when tracing should stop
  // because nothing can be written any more (the records' output failed, or the capture's
  // when it is the only output); a capture's error is logged once, at once.
  bool flush(const LogFn& log);
  // At the end: the --http view reports what is pending, then every output is written out or,
  // if its reader stopped reading for `stalled_after`, left behind and counted. Says each
  // error; returns false if any output lost records.
  bool finish(uint64_t now_wall_ns, std::chrono::milliseconds stalled_after);
  // The summary's lines of each output (queue use, packets, exchanges).
  void print_summaries() const;

 private:
  SessionOutputs(const Options& options, std::optional<OutputStream> records,
                 std::optional<OutputStream> capture);
  static std::vector<RecordSink*> chain(RecordSink* records, RecordSink* capture);

  std::optional<OutputStream> records_out_;
  std::optional<OutputStream> capture_out_;
  std::unique_ptr<RecordSink> encoder_;
  std::optional<HttpViewSink> http_view_;
  std::optional<PcapngSink> pcapng_;
  FanOutSink fan_out_;
  std::optional<redact::RedactingSink> redactor_;  // --redact: in front of everything
  redact::RedactNames redact_names_;               // --redact: for the --http view
  bool capture_error_said_ = false;
  // The output whose pipe reader exited while no write failed (nothing was being written).
  const OutputStream* reader_gone_ = nullptr;
};

}  // namespace tlstap
