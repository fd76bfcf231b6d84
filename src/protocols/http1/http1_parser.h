// HTTP/1.x exchanges from the two byte streams of one connection (RFC 9112): keep-alive,
// pipelining (a FIFO of requests awaiting their response), Content-Length, chunked bodies
// with trailers, responses that end at close, 1xx responses, HEAD/204/304 without bodies,
// CONNECT and Upgrade (parsing stops: the bytes after are another protocol).
//
// Loss and garbage: the side that lost bytes (or met bytes that are not HTTP) skips to the
// next start line it can prove: a complete request or status line (strict: CRLF, HTTP/1.x) at
// the start of a line, right after the gap, or at the first byte of a call (a record: writers
// start messages at calls; a body that holds a whole status line exactly at a read's start is
// the one case this takes wrongly). It reports what it skipped. A response is paired with the
// oldest request awaiting one; when that pairing cannot be proven it is not made:
//   - a gap on the response side drops every request awaiting a response (each is reported
//     with a note, without a response), and requests that start before the response side
//     has found its next status line are reported unpaired too;
//   - a response that starts while no request awaits one waits for it: a writer's record can
//     reach tlstap after the read record of its answer (Go's net/http writes and reads on
//     different goroutines; a record is stamped when its call returns). Each direction is in
//     order, only their interleaving is not, so the response's bytes are held (up to
//     Limits::max_buffered_bytes; a Content-Length body beyond its first Limits::body_bytes
//     is counted, not held) and parsed once the next request's head has been read. This
//     holds only while both directions are whole from their start: after a gap (or on a
//     connection joined midstream) a response with no request awaiting it may answer a
//     request already reported, so it is skipped (reported as a Skip), and responses held
//     when a gap comes leave as many next requests unpaired. A held response whose request
//     never comes is skipped at end; one over the hold limit is skipped at once and the next
//     request read is reported without a response (it was that request's).
// This is exact for clients that wait for a response before the next request (all common
// ones); a pipelining client that loses a whole request in a gap could still see a later
// response paired with the wrong request, which no byte in the stream can rule out.
//
// Memory: the header block being read (Limits::max_header_bytes), the first body bytes
// (Limits::body_bytes), at most Limits::max_pending_exchanges requests awaiting a response
// and Limits::max_buffered_bytes of responses read before their request.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/protocol_parser.h"

namespace tlstap::http {

class Http1Parser final : public ProtocolParser {
 public:
  Http1Parser(const Limits& limits, ParserEvents events);

  void feed(Side side, std::string_view bytes, uint64_t ts_ns) override;
  void gap(Side side, uint64_t bytes) override;
  void joined_midstream() override;
  void end(uint64_t ts_ns) override;

  // What the parser holds now (for tests and the fuzzer's memory bound).
  size_t buffered_bytes() const;
  size_t pending_exchanges() const { return pending_.size(); }
  size_t held_response_bytes() const { return early_responses_bytes_; }

 private:
  struct HeldBytes {
    std::string bytes;
    uint64_t ts_ns;
    uint64_t elided = 0;  // body bytes after `bytes` not kept (beyond Limits::body_bytes)
  };

  enum class Phase {
    head,              // start line and header fields, up to the empty line
    body_length,       // Content-Length bytes
    chunk_size,        // a chunk-size line
    chunk_data,        // chunk bytes
    chunk_data_end,    // the CRLF after a chunk
    trailers,          // trailer fields after the last chunk, up to the empty line
    body_until_close,  // a response without a length
    resync,            // skipping to the next start line that can be proven
    tunnel_wait,       // requests: after CONNECT/Upgrade, until the response decides
    stopped,           // the connection switched protocol: nothing more is parsed
  };

  struct Pending {
    Exchange exchange;
    bool request_done = false;
    bool response_done = false;
    bool expects_tunnel = false;  // CONNECT, or a request with Upgrade
  };

  // One direction's parsing state.
  struct Half {
    Phase phase = Phase::head;
    std::string buf;                // head, chunk line or trailers being assembled; resync scan
    uint64_t remaining = 0;         // body or chunk bytes still to come
    bool line_start_at_0 = true;    // resync: buf[0] may begin a start line (after a gap)
    uint64_t message_start_ts = 0;  // the record that held the message's first byte
    uint64_t message_bytes = 0;     // raw bytes of the message so far (for skips)
    bool message_started = false;
    Message* message = nullptr;  // what the bytes go to (a scratch message when unpaired)
    uint64_t skipped = 0;        // bytes skipped since the last report
    std::string skip_reason;
    uint64_t ignored = 0;  // after a protocol switch
    uint64_t last_ts = 0;
    size_t line_begin = 0;                  // trailers: where the line being read starts in buf
    bool at_call_start = false;             // the next byte fed begins a call (a record)
    size_t call_start = std::string::npos;  // resync: where a call's bytes begin in buf
    bool start_line_checked = false;
  };

  Half& half(Side side) { return side == Side::requests ? requests_ : responses_; }

  // Each step consumes a prefix of `input` (or moves bytes into `carry` to be re-read).
  void step(Side side, std::string_view& input, std::string& carry, uint64_t ts);
  void head_step(Side side, std::string_view& input, std::string& carry, uint64_t ts);
  void line_step(Side side, std::string_view& input, std::string& carry, uint64_t ts);
  void resync_step(Side side, std::string_view& input, std::string& carry, uint64_t ts);

  // `whole`: false when the header block was over the limit (only the start line is known).
  void on_request_head(std::string_view start_line, Headers headers, uint64_t ts,
                       bool whole = true);
  void on_response_head(std::string_view start_line, Headers headers, uint64_t ts,
                        bool whole = true);
  // Content-Length / Transfer-Encoding framing of the message whose head was just read.
  void frame_body(Side side, const Headers& headers, bool until_close_allowed, uint64_t ts);
  void add_body(Half& h, std::string_view bytes);
  void message_done(Side side, uint64_t ts);
  // The message being read ends here, incomplete (`note` says why).
  void cut_message(Side side, std::string_view note);
  // The bytes do not follow HTTP/1 framing: cut the message, lose pairing, resync.
  void malformed(Side side, std::string_view note);

  // Skips from here to the next provable start line. Bytes held in buf are scanned again;
  // their first byte is a candidate only when `first_byte_may_start` (right after a gap).
  void begin_resync(Side side, std::string_view reason, bool first_byte_may_start);
  // A head that failed: its bytes (but its first) and the rest of input are scanned again.
  void rescan_held(Side side, std::string_view& input, std::string& carry, std::string_view reason);
  void report_skip(Side side);
  void stop_parsing(Pending& p, std::string_view note, std::string_view skip_reason, uint64_t ts);
  void release_tunnel_wait();
  void resume_requests_after_lost_answer();
  void drop_unanswered(std::string_view note);
  // A response is about to start: true when its bytes (the rest of `input`) are held until a
  // request awaits it (see the class comment); the caller stops reading `input` then.
  bool hold_early_response(std::string_view& input, uint64_t ts);
  // Requests await a response now: the held response bytes are read, in order.
  void release_early_responses();
  // Appends response bytes to what is held, eliding body bytes beyond those shown.
  void append_held(std::string_view bytes, uint64_t ts);
  void append_held_elided(uint64_t bytes, uint64_t ts);
  // Reads held bytes (and the bytes elided after them) as if fed now.
  void replay_held(std::deque<HeldBytes> held);
  void clear_held();
  // Pairing can no longer be proven from order alone: held responses are skipped.
  void lose_order_proof();
  void emit_ready();
  void emit(Exchange& exchange);
  static void set_note(Exchange& e, std::string_view note) {
    if (e.note.empty()) e.note = note;
  }

  Limits limits_;
  ParserEvents events_;
  Half requests_;
  Half responses_;
  std::deque<Pending> pending_;  // requests in order; the first `answered_` have a response
  size_t answered_ = 0;
  Pending* current_request_ = nullptr;       // the request being read (queued or unpaired_request_)
  std::optional<Pending> unpaired_request_;  // a request whose response cannot be paired
  std::string unpaired_request_note_;
  Pending* current_response_ = nullptr;  // null while an unpaired response is read
  Message scratch_response_;             // where an unpaired response's bytes go
  bool responses_in_sync_ = true;        // the response side has not lost its place
  std::string tunnel_held_;              // request bytes sent while waiting for the tunnel
  uint64_t tunnel_held_ts_ = 0;
  bool tunnel_held_lost_ = false;  // some were lost or over the limit: resync instead
  bool tunnel_refused_ = false;    // replay tunnel_held_ once the response side is done
  std::string stop_reason_;        // why parsing stopped (upgrade, connect)
  // Both directions whole from their start: every response has its request in the stream.
  bool order_proven_ = true;
  // Follows the held responses' framing so that a Content-Length body beyond the bytes shown
  // is counted, not held: a large response can wait for its request in little memory. It
  // assumes the request was not HEAD; if it was, the elided bytes are a gap when read.
  struct HeldScan {
    enum class State { head, body, opaque } state = State::head;
    std::string head;        // the head being read (up to Limits::max_header_bytes)
    uint64_t remaining = 0;  // body: bytes still to come
    uint64_t kept = 0;       // body: bytes held so far
    size_t responses = 0;    // responses begun in the held bytes
  };
  std::deque<HeldBytes> early_responses_;  // response bytes read before their request's
  size_t early_responses_bytes_ = 0;       // held (not elided)
  HeldScan held_scan_;
  size_t requests_owed_no_response_ = 0;  // their responses were skipped (over the limit, loss)
  std::string owed_note_;                 // what those requests' notes say
  size_t unpaired_answers_due_ = 0;       // requests reported unpaired whose response is due
  bool flushing_early_responses_ = false;
  bool joined_midstream_unsynced_ = false;  // midstream, no status line found yet
  bool ended_ = false;
};

}  // namespace tlstap::http
