#include "protocols/http1/http1_parser.h"

#include <algorithm>
#include <utility>

#include "protocols/http1/http1_syntax.h"

namespace tlstap::http {
namespace {

constexpr size_t kMaxChunkLine = 4096;     // chunk size plus extensions
constexpr size_t kResyncStep = 64 * 1024;  // bytes scanned at a time while resyncing
constexpr std::string_view kHeadOverLimit =
    "header block over the limit: its fields and body are not shown";

std::string_view without_line_ending(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

size_t next_line_start(const std::string& buf, size_t from) {
  size_t nl = buf.find('\n', from);
  return nl == std::string::npos ? std::string::npos : nl + 1;
}

// The index just past the empty line that ends a header block in buf, searching lines
// that end at or after `from`; npos when not there yet. buf[0] begins a line.
size_t find_block_end(const std::string& buf, size_t from) {
  for (size_t i = std::max<size_t>(from, 0); i < buf.size(); i++) {
    if (buf[i] != '\n') continue;
    if (i == 0 || buf[i - 1] == '\n') return i + 1;
    if (buf[i - 1] == '\r' && (i == 1 || buf[i - 2] == '\n')) return i + 1;
  }
  return std::string::npos;
}

bool is_success(int status) { return status >= 200 && status < 300; }

}  // namespace

Http1Parser::Http1Parser(const Limits& limits, ParserEvents events)
    : limits_(limits), events_(std::move(events)) {}

size_t Http1Parser::buffered_bytes() const {
  return requests_.buf.capacity() + responses_.buf.capacity() + tunnel_held_.capacity() +
         early_responses_bytes_;
}

void Http1Parser::feed(Side side, std::string_view bytes, uint64_t ts_ns) {
  if (ended_) return;
  half(side).last_ts = ts_ns;
  half(side).at_call_start = true;
  std::string carry;  // bytes taken back out of a buffer to be read again
  std::string_view input = bytes;
  while (!input.empty()) {
    step(side, input, carry, ts_ns);
    half(side).at_call_start = false;  // only a resync that is the feed's first step uses it
  }
  if (tunnel_refused_) release_tunnel_wait();
  if (!early_responses_.empty() && answered_ < pending_.size()) release_early_responses();
}

bool Http1Parser::hold_early_response(std::string_view& input, uint64_t ts) {
  if (!order_proven_ || flushing_early_responses_ || answered_ < pending_.size() ||
      unpaired_answers_due_ > 0) {
    return false;
  }
  append_held(input, ts);
  input = {};
  if (early_responses_bytes_ > limits_.max_buffered_bytes) {
    // Over the limit: what is held is read now, as responses without a request (each makes
    // the next request read be reported without one).
    std::deque<HeldBytes> held = std::move(early_responses_);
    clear_held();
    flushing_early_responses_ = true;
    replay_held(std::move(held));
    flushing_early_responses_ = false;
  }
  return true;
}

void Http1Parser::append_held(std::string_view input, uint64_t ts) {
  HeldScan& scan = held_scan_;
  auto keep = [&](std::string_view bytes) {
    if (bytes.empty()) return;
    if (!early_responses_.empty() && early_responses_.back().ts_ns == ts &&
        early_responses_.back().elided == 0) {
      early_responses_.back().bytes.append(bytes);
    } else {
      early_responses_.push_back({std::string(bytes), ts});
    }
    early_responses_bytes_ += bytes.size();
  };
  while (!input.empty()) {
    switch (scan.state) {
      case HeldScan::State::head: {
        if (scan.head.empty()) scan.responses++;
        size_t old = scan.head.size();
        size_t room = limits_.max_header_bytes + 1 - std::min(old, limits_.max_header_bytes);
        scan.head.append(input.substr(0, room));
        size_t end = find_block_end(scan.head, old >= 2 ? old - 2 : 0);
        if (end == std::string::npos) {
          if (scan.head.size() > limits_.max_header_bytes) scan.state = HeldScan::State::opaque;
          keep(input.substr(0, std::min(input.size(), room)));
          input.remove_prefix(std::min(input.size(), room));
          break;
        }
        keep(input.substr(0, end - old));
        input.remove_prefix(end - old);
        scan.head.resize(end);
        // The framing as it would be for any method but HEAD (and CONNECT).
        size_t nl = scan.head.find('\n');
        std::optional<h1::StatusLine> line =
            h1::parse_status_line(without_line_ending(std::string_view(scan.head).substr(0, nl)));
        Headers headers;
        scan.state = HeldScan::State::opaque;
        if (line && h1::parse_header_lines(std::string_view(scan.head).substr(nl + 1), headers)) {
          int status = line->status;
          h1::ContentLength length = h1::content_length(headers);
          if ((status >= 100 && status < 200 && status != 101) || status == 204 || status == 304) {
            scan.state = HeldScan::State::head;
          } else if (status != 101 && h1::last_transfer_coding(headers).empty() && length.valid &&
                     length.length) {
            scan.state = *length.length > 0 ? HeldScan::State::body : HeldScan::State::head;
            scan.remaining = *length.length;
            scan.kept = 0;
          }
        }
        scan.head.clear();
        break;
      }
      case HeldScan::State::body: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(scan.remaining, input.size()));
        size_t kept = static_cast<size_t>(std::min<uint64_t>(
            n, limits_.body_bytes - std::min<uint64_t>(scan.kept, limits_.body_bytes)));
        keep(input.substr(0, kept));
        scan.kept += kept;
        input.remove_prefix(kept);
        append_held_elided(n - kept, ts);
        input.remove_prefix(n - kept);
        break;
      }
      case HeldScan::State::opaque:
        keep(input);
        input = {};
        break;
    }
  }
}

void Http1Parser::append_held_elided(uint64_t bytes, uint64_t ts) {
  if (bytes == 0) return;
  if (early_responses_.empty()) early_responses_.push_back({std::string(), ts});
  early_responses_.back().elided += bytes;
  HeldScan& scan = held_scan_;
  scan.remaining -= std::min(scan.remaining, bytes);
  if (scan.remaining == 0) scan.state = HeldScan::State::head;
}

void Http1Parser::release_early_responses() {
  std::deque<HeldBytes> held = std::move(early_responses_);
  clear_held();
  replay_held(std::move(held));
}

void Http1Parser::replay_held(std::deque<HeldBytes> held) {
  // Read in order; a later response with no request awaiting it is held again.
  for (HeldBytes& b : held) {
    if (!b.bytes.empty()) feed(Side::responses, b.bytes, b.ts_ns);
    if (b.elided == 0) continue;
    Half& h = responses_;
    if (!early_responses_.empty()) {
      append_held_elided(b.elided, b.ts_ns);  // held again: still inside that body
    } else if (h.phase == Phase::body_length && h.remaining >= b.elided) {
      // The body the held bytes were framed for: counted, as if read.
      if (h.message) h.message->body.len += b.elided;
      h.remaining -= b.elided;
      h.message_bytes += b.elided;
      if (h.remaining == 0) message_done(Side::responses, b.ts_ns);
    } else {
      gap(Side::responses, b.elided);  // framed otherwise (a HEAD's response): bytes lost
    }
  }
}

void Http1Parser::clear_held() {
  early_responses_.clear();
  early_responses_bytes_ = 0;
  held_scan_ = HeldScan{};
}

void Http1Parser::lose_order_proof() {
  order_proven_ = false;
  if (early_responses_.empty()) return;
  // Whether their requests are still to come is no longer known: not paired, and the next
  // requests read (as many as responses were held) are reported without one, in case they
  // are theirs.
  uint64_t bytes = early_responses_bytes_;
  for (const HeldBytes& b : early_responses_) bytes += b.elided;
  requests_owed_no_response_ += std::max<size_t>(held_scan_.responses, 1);
  owed_note_ = "no response paired: its response was read before it, then bytes were lost";
  responses_.skipped += bytes;
  if (responses_.skip_reason.empty()) responses_.skip_reason = "response without a request";
  report_skip(Side::responses);
  clear_held();
}

void Http1Parser::step(Side side, std::string_view& input, std::string& carry, uint64_t ts) {
  Half& h = half(side);
  switch (h.phase) {
    case Phase::head: head_step(side, input, carry, ts); return;
    case Phase::body_length:
    case Phase::chunk_data: {
      size_t n = static_cast<size_t>(std::min<uint64_t>(h.remaining, input.size()));
      add_body(h, input.substr(0, n));
      input.remove_prefix(n);
      h.remaining -= n;
      h.message_bytes += n;
      if (h.remaining > 0) return;
      if (h.phase == Phase::chunk_data) {
        h.phase = Phase::chunk_data_end;
      } else {
        message_done(side, ts);
      }
      return;
    }
    case Phase::chunk_size:
    case Phase::chunk_data_end:
    case Phase::trailers: line_step(side, input, carry, ts); return;
    case Phase::body_until_close:
      add_body(h, input);
      h.message_bytes += input.size();
      input = {};
      return;
    case Phase::resync: resync_step(side, input, carry, ts); return;
    case Phase::tunnel_wait:
      if (!tunnel_held_lost_ && tunnel_held_.size() + input.size() <= limits_.max_buffered_bytes) {
        if (tunnel_held_.empty()) tunnel_held_ts_ = ts;
        tunnel_held_.append(input);
      } else {
        h.skipped += tunnel_held_.size() + input.size();
        if (h.skip_reason.empty()) h.skip_reason = "sent while waiting for a tunnel";
        tunnel_held_.clear();
        tunnel_held_.shrink_to_fit();
        tunnel_held_lost_ = true;
      }
      input = {};
      return;
    case Phase::stopped:
      h.ignored += input.size();
      input = {};
      return;
  }
}

void Http1Parser::head_step(Side side, std::string_view& input, std::string& carry, uint64_t ts) {
  Half& h = half(side);
  // A response with no request awaiting it yet waits for the request's bytes.
  if (side == Side::responses && !h.message_started && hold_early_response(input, ts)) return;
  if (!h.message_started) {
    // Empty lines before a start line are allowed (RFC 9112 section 2.2).
    while (!input.empty() && h.buf.empty() && (input[0] == '\r' || input[0] == '\n')) {
      input.remove_prefix(1);
    }
    if (input.empty()) return;
    h.message_started = true;
    h.message_start_ts = ts;
    h.message_bytes = 0;
    h.start_line_checked = false;
  }
  size_t old = h.buf.size();
  size_t take = std::min(input.size(),
                         limits_.max_header_bytes + 1 - std::min(old, limits_.max_header_bytes));
  h.buf.append(input.substr(0, take));

  // Garbage is recognised at its first line, not after a whole block of it.
  if (!h.start_line_checked) {
    size_t nl = h.buf.find('\n', old);  // none before: the line was not whole then
    if (nl != std::string::npos || h.buf.size() >= h1::kMaxStartLine) {
      std::string_view line = without_line_ending(std::string_view(h.buf).substr(0, nl));
      bool ok = nl != std::string::npos &&
                (side == Side::requests ? h1::parse_request_line(line).has_value()
                                        : h1::parse_status_line(line).has_value());
      if (!ok) {
        input.remove_prefix(take);
        rescan_held(side, input, carry, "not http");
        return;
      }
      h.start_line_checked = true;
    }
  }

  size_t end = find_block_end(h.buf, old >= 2 ? old - 2 : 0);
  if (end == std::string::npos) {
    input.remove_prefix(take);
    if (h.buf.size() > limits_.max_header_bytes) {
      // A message began (its start line was read): it is still paired, said to be cut, so
      // that the next response is not given to the wrong request.
      if (h.start_line_checked) {
        std::string held = std::move(h.buf);
        std::string_view line =
            without_line_ending(std::string_view(held).substr(0, held.find('\n') + 1));
        if (side == Side::requests) {
          on_request_head(line, {}, ts, false);
        } else {
          on_response_head(line, {}, ts, false);
        }
        h.buf = std::move(held);
      }
      rescan_held(side, input, carry, "header block over the limit");
    }
    return;
  }
  input.remove_prefix(end - old);
  h.buf.resize(end);
  h.message_bytes = end;
  size_t first_nl = h.buf.find('\n');
  std::string_view start_line =
      without_line_ending(std::string_view(h.buf).substr(0, first_nl + 1));
  Headers headers;
  if (!h1::parse_header_lines(std::string_view(h.buf).substr(first_nl + 1), headers)) {
    rescan_held(side, input, carry, "not http");
    return;
  }
  std::string block = std::move(h.buf);
  h.buf.clear();
  start_line = without_line_ending(std::string_view(block).substr(0, first_nl + 1));
  if (side == Side::requests) {
    on_request_head(start_line, std::move(headers), ts);
  } else {
    on_response_head(start_line, std::move(headers), ts);
  }
}

void Http1Parser::rescan_held(Side side, std::string_view& input, std::string& carry,
                              std::string_view reason) {
  Half& h = half(side);
  std::string again = std::move(h.buf);
  h.buf.clear();
  again.append(input);
  carry = std::move(again);
  input = carry;
  begin_resync(side, reason, false);
}

void Http1Parser::line_step(Side side, std::string_view& input, std::string& carry, uint64_t ts) {
  (void)carry;
  Half& h = half(side);
  size_t nl = input.find('\n');
  size_t take = nl == std::string_view::npos ? input.size() : nl + 1;
  size_t limit = h.phase == Phase::trailers ? limits_.max_header_bytes : kMaxChunkLine;
  if (h.buf.size() + take > limit) {
    input.remove_prefix(take);
    malformed(side,
              h.phase == Phase::trailers ? "trailers over the limit" : "malformed chunked body");
    return;
  }
  h.buf.append(input.substr(0, take));
  input.remove_prefix(take);
  h.message_bytes += take;
  if (nl == std::string_view::npos) return;

  if (h.phase == Phase::trailers) {
    std::string_view line = without_line_ending(std::string_view(h.buf).substr(h.line_begin));
    h.line_begin = h.buf.size();
    if (!line.empty()) return;
    Headers trailers;
    if (!h1::parse_header_lines(h.buf, trailers)) {
      malformed(side, "malformed trailers");
      return;
    }
    if (h.message) h.message->trailers = std::move(trailers);
    h.buf.clear();
    h.line_begin = 0;
    message_done(side, ts);
    return;
  }
  std::string_view line = without_line_ending(h.buf);
  if (h.phase == Phase::chunk_data_end) {
    if (!line.empty()) {
      malformed(side, "malformed chunked body");
      return;
    }
    h.buf.clear();
    h.phase = Phase::chunk_size;
    return;
  }
  std::optional<uint64_t> size = h1::parse_chunk_size(line);
  h.buf.clear();
  if (!size) {
    malformed(side, "malformed chunked body");
    return;
  }
  if (*size == 0) {
    h.phase = Phase::trailers;
    h.line_begin = 0;
  } else {
    h.phase = Phase::chunk_data;
    h.remaining = *size;
  }
}

void Http1Parser::resync_step(Side side, std::string_view& input, std::string& carry, uint64_t ts) {
  (void)ts;
  Half& h = half(side);
  size_t take = std::min(input.size(), kResyncStep);
  if (h.at_call_start) h.call_start = h.buf.size();
  h.at_call_start = false;
  h.buf.append(input.substr(0, take));
  input.remove_prefix(take);

  // Candidates: the start of a line, and the first byte of a call (a TLS read or write).
  const size_t call_start = h.call_start;
  auto next_candidate = [&](size_t pos) {
    return std::min(next_line_start(h.buf, pos), call_start != std::string::npos && call_start > pos
                                                     ? call_start
                                                     : std::string::npos);
  };
  size_t pos = h.line_start_at_0 ? 0 : std::min(next_line_start(h.buf, 0), call_start);
  while (pos != std::string::npos && pos < h.buf.size()) {
    std::string_view rest = std::string_view(h.buf).substr(pos);
    h1::Verdict v = side == Side::requests ? h1::request_line_at(rest) : h1::status_line_at(rest);
    if (v == h1::Verdict::yes) {
      h.skipped += pos;
      report_skip(side);
      std::string again = h.buf.substr(pos);
      again.append(input);
      carry = std::move(again);
      input = carry;
      h.buf.clear();
      h.buf.shrink_to_fit();
      h.call_start = std::string::npos;
      h.phase = Phase::head;
      h.message_started = false;
      if (side == Side::responses) {
        responses_in_sync_ = true;
        joined_midstream_unsynced_ = false;
      }
      return;
    }
    if (v == h1::Verdict::maybe) {
      h.skipped += pos;
      h.buf.erase(0, pos);
      h.line_start_at_0 = true;
      h.call_start = call_start != std::string::npos && call_start > pos ? call_start - pos
                                                                         : std::string::npos;
      return;
    }
    pos = next_candidate(pos);
  }
  h.call_start = std::string::npos;
  // No start line here: all of it is skipped. The next byte begins a line after a LF.
  h.skipped += h.buf.size();
  h.line_start_at_0 = !h.buf.empty() ? h.buf.back() == '\n' : h.line_start_at_0;
  h.buf.clear();
}

void Http1Parser::on_request_head(std::string_view start_line, Headers headers, uint64_t ts,
                                  bool whole) {
  std::optional<h1::RequestLine> line = h1::parse_request_line(start_line);
  Pending p;
  Exchange& e = p.exchange;
  e.version = std::string(line->version);
  e.method = std::string(line->method);
  e.path = std::string(line->target);
  if (const std::string* host = h1::find_header(headers, "host")) e.authority = *host;
  e.request.headers = std::move(headers);
  e.request.first_ts_ns = requests_.message_start_ts;
  p.expects_tunnel =
      e.method == "CONNECT" || h1::find_header(e.request.headers, "upgrade") != nullptr;

  std::string_view unpaired;
  bool answer_due = false;  // its response is still to come (and will be skipped)
  if (requests_owed_no_response_ > 0) {
    requests_owed_no_response_--;
    unpaired = owed_note_;
  } else if (!responses_in_sync_) {
    unpaired = joined_midstream_unsynced_
                   ? "no response paired: the connection was joined midstream before it"
                   : "no response paired: bytes were lost on the response side before it";
  } else if (pending_.size() >= limits_.max_pending_exchanges) {
    unpaired = "no response paired: too many requests awaiting a response";
    answer_due = true;
  }
  if (unpaired.empty()) {
    pending_.push_back(std::move(p));
    current_request_ = &pending_.back();
  } else {
    if (answer_due && order_proven_) unpaired_answers_due_++;
    unpaired_request_.emplace(std::move(p));
    unpaired_request_->exchange.note = unpaired;
    unpaired_request_->response_done = true;
    current_request_ = &*unpaired_request_;
  }
  requests_.message = &current_request_->exchange.request;
  if (!whole) {
    set_note(current_request_->exchange, kHeadOverLimit);
    cut_message(Side::requests, kHeadOverLimit);
    return;
  }
  // A request without Content-Length or chunked coding has no body (RFC 9112 6.3).
  frame_body(Side::requests, current_request_->exchange.request.headers, false, ts);
}

void Http1Parser::on_response_head(std::string_view start_line, Headers headers, uint64_t ts,
                                   bool whole) {
  std::optional<h1::StatusLine> line = h1::parse_status_line(start_line);
  int status = line->status;
  Pending* target = answered_ < pending_.size() ? &pending_[answered_] : nullptr;
  Half& h = responses_;
  if (whole && status >= 100 && status < 200 && status != 101) {
    // 100 Continue, 103 Early Hints...: the exchange waits for its final response.
    if (target) {
      target->exchange.informational.push_back(status);
    } else {
      h.skipped += h.message_bytes;
      h.skip_reason = "response without a request";
      report_skip(Side::responses);
    }
    h.message_started = false;
    return;
  }
  if (!target && order_proven_) {
    // Order is proven, so this response's request is in the stream: one reported unpaired,
    // or one not read yet (the response was over the hold limit): that one owes a response.
    if (unpaired_answers_due_ > 0) {
      unpaired_answers_due_--;
    } else {
      requests_owed_no_response_++;
      owed_note_ = "no response paired: its response was read before it, over the hold limit";
      h.skip_reason = "response read before its request, over the hold limit";
    }
  }
  if (target) {
    Exchange& e = target->exchange;
    e.status = status;
    e.reason = std::string(line->reason);
    e.response.headers = std::move(headers);
    e.response.first_ts_ns = h.message_start_ts;
    current_response_ = target;
    h.message = &e.response;
  } else {
    current_response_ = nullptr;
    scratch_response_ = Message{};
    scratch_response_.headers = std::move(headers);
    h.message = &scratch_response_;
  }
  if (!whole) {
    // Its framing is in the headers not read: the response side has lost its place.
    malformed(Side::responses, kHeadOverLimit);
    return;
  }

  if (status == 101) {
    if (target) {
      stop_parsing(*target, "upgrade: the connection switched protocol; not parsed further",
                   "after an upgrade", ts);
    } else {
      h.skipped += h.message_bytes;
      h.skip_reason = "response without a request";
      report_skip(Side::responses);
      Pending none;
      stop_parsing(none, "", "after an upgrade", ts);
    }
    return;
  }
  if (target && target->exchange.method == "CONNECT" && is_success(status)) {
    stop_parsing(*target, "connect: a tunnel; not parsed further", "inside a CONNECT tunnel", ts);
    return;
  }
  if (target && target->expects_tunnel && requests_.phase == Phase::tunnel_wait) {
    tunnel_refused_ = true;  // the requests sent meanwhile are HTTP/1 after all
  }
  bool bodyless = (target && target->exchange.method == "HEAD") || status == 204 || status == 304;
  if (bodyless) {
    message_done(Side::responses, ts);
    return;
  }
  frame_body(Side::responses, h.message->headers, true, ts);
}

void Http1Parser::frame_body(Side side, const Headers& headers, bool until_close_allowed,
                             uint64_t ts) {
  Half& h = half(side);
  if (const std::string* coding = h1::find_header(headers, "content-encoding")) {
    std::string lower = *coding;
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (lower != "identity" && h.message) h.message->body.encoding = lower;
  }
  std::string coding = h1::last_transfer_coding(headers);
  if (coding == "chunked") {
    h.phase = Phase::chunk_size;
    h.buf.clear();
    return;
  }
  if (!coding.empty()) {
    // RFC 9112 6.3: a response so framed ends at close; a request so framed is an error.
    if (until_close_allowed) {
      h.phase = Phase::body_until_close;
    } else {
      malformed(side, "transfer-encoding without chunked");
    }
    return;
  }
  h1::ContentLength length = h1::content_length(headers);
  if (!length.valid) {
    malformed(side, "invalid content-length");
    return;
  }
  if (length.length && *length.length > 0) {
    h.phase = Phase::body_length;
    h.remaining = *length.length;
    return;
  }
  if (!length.length && until_close_allowed) {
    h.phase = Phase::body_until_close;
    return;
  }
  message_done(side, ts);
}

void Http1Parser::add_body(Half& h, std::string_view bytes) {
  if (!h.message) return;
  Body& body = h.message->body;
  body.len += bytes.size();
  if (body.first_bytes.size() < limits_.body_bytes) {
    body.first_bytes.append(bytes.substr(0, limits_.body_bytes - body.first_bytes.size()));
  }
}

void Http1Parser::message_done(Side side, uint64_t ts) {
  Half& h = half(side);
  if (side == Side::requests) {
    Pending* p = current_request_;
    current_request_ = nullptr;
    // After CONNECT or Upgrade the next bytes may be another protocol: held until the response
    // says (unless it already said no).
    h.phase = p && p->expects_tunnel && !p->response_done ? Phase::tunnel_wait : Phase::head;
    if (p) {
      p->request_done = true;
      p->exchange.request.complete = true;
      p->exchange.request.last_ts_ns = ts;
      if (p == (unpaired_request_ ? &*unpaired_request_ : nullptr)) {
        emit(unpaired_request_->exchange);
        unpaired_request_.reset();
        if (h.phase == Phase::tunnel_wait) h.phase = Phase::head;  // no response will decide
      }
    }
  } else {
    h.phase = Phase::head;
    if (current_response_) {
      current_response_->exchange.response.complete = true;
      current_response_->exchange.response.last_ts_ns = ts;
      current_response_->response_done = true;
      answered_++;
      current_response_ = nullptr;
    } else {
      h.skipped += h.message_bytes;
      h.skip_reason = "response without a request";
      report_skip(Side::responses);
    }
  }
  h.message_started = false;
  h.message = nullptr;
  h.buf.clear();
  if (h.buf.capacity() > 4096) h.buf.shrink_to_fit();
  emit_ready();
}

void Http1Parser::cut_message(Side side, std::string_view note) {
  Half& h = half(side);
  if (!h.message_started) return;
  if (!h.message) {  // its head was not read whole: no exchange to say it in
    h.skipped += h.buf.size();
    if (h.skip_reason.empty()) h.skip_reason = note;
  } else if (side == Side::requests) {
    if (Pending* p = current_request_) {
      current_request_ = nullptr;
      set_note(p->exchange, note);
      p->request_done = true;
      p->exchange.request.last_ts_ns = h.last_ts;
      if (unpaired_request_ && p == &*unpaired_request_) {
        emit(unpaired_request_->exchange);
        unpaired_request_.reset();
      }
    }
  } else if (current_response_) {
    set_note(current_response_->exchange, note);
    current_response_->exchange.response.last_ts_ns = h.last_ts;
    current_response_->response_done = true;
    answered_++;
    current_response_ = nullptr;
  } else {
    h.skipped += h.message_bytes;
    if (h.skip_reason.empty()) h.skip_reason = "response without a request";
  }
  h.message_started = false;
  h.message = nullptr;
  h.buf.clear();
  h.line_begin = 0;
  h.remaining = 0;
  emit_ready();
}

void Http1Parser::malformed(Side side, std::string_view note) {
  cut_message(side, note);
  if (side == Side::responses) {
    drop_unanswered("no response paired: the response side could not be parsed");
    responses_in_sync_ = false;
    resume_requests_after_lost_answer();
  }
  half(side).buf.clear();
  begin_resync(side, "not http", false);
}

void Http1Parser::begin_resync(Side side, std::string_view reason, bool first_byte_may_start) {
  lose_order_proof();
  Half& h = half(side);
  if (h.skip_reason != reason) {
    report_skip(side);
    h.skip_reason = reason;
  }
  h.phase = Phase::resync;
  h.line_start_at_0 = first_byte_may_start;
  h.message_started = false;
  h.message = nullptr;
  h.remaining = 0;
  h.line_begin = 0;
}

void Http1Parser::report_skip(Side side) {
  Half& h = half(side);
  if (h.skipped > 0 && events_.skip) {
    Skip skip;
    skip.requests = side == Side::requests;
    skip.bytes = h.skipped;
    skip.reason = h.skip_reason.empty() ? "not http" : h.skip_reason;
    events_.skip(skip);
  }
  h.skipped = 0;
}

void Http1Parser::stop_parsing(Pending& p, std::string_view note, std::string_view skip_reason,
                               uint64_t ts) {
  if (!note.empty()) {
    set_note(p.exchange, note);
    p.exchange.response.complete = true;
    p.exchange.response.last_ts_ns = ts;
    p.response_done = true;
    p.request_done = true;
    current_response_ = nullptr;
    answered_++;
  }
  cut_message(Side::requests, "request incomplete: the connection switched protocol");
  requests_.ignored += tunnel_held_.size();
  tunnel_held_.clear();
  tunnel_held_.shrink_to_fit();
  for (Half* h : {&requests_, &responses_}) {
    h->phase = Phase::stopped;
    h->message_started = false;
    h->message = nullptr;
    h->buf.clear();
    h->buf.shrink_to_fit();
  }
  stop_reason_ = skip_reason;
  drop_unanswered("no response: the connection switched protocol");
}

void Http1Parser::release_tunnel_wait() {
  tunnel_refused_ = false;
  if (requests_.phase != Phase::tunnel_wait) return;
  std::string held = std::move(tunnel_held_);
  tunnel_held_.clear();
  requests_.phase = Phase::head;
  requests_.message_started = false;
  if (tunnel_held_lost_) {
    tunnel_held_lost_ = false;
    begin_resync(Side::requests, "data lost", false);
  }
  if (!held.empty()) feed(Side::requests, held, tunnel_held_ts_);
}

void Http1Parser::drop_unanswered(std::string_view note) {
  for (size_t i = answered_; i < pending_.size(); i++) {
    set_note(pending_[i].exchange, note);
    pending_[i].response_done = true;
  }
  answered_ = pending_.size();
  emit_ready();
}

void Http1Parser::emit_ready() {
  while (!pending_.empty() && answered_ > 0 && pending_.front().request_done &&
         pending_.front().response_done) {
    emit(pending_.front().exchange);
    pending_.pop_front();
    answered_--;
  }
}

void Http1Parser::emit(Exchange& exchange) {
  if (events_.exchange) events_.exchange(exchange);
}

void Http1Parser::gap(Side side, uint64_t bytes) {
  if (ended_) return;
  joined_midstream_unsynced_ = false;  // a loss after the join is a loss
  lose_order_proof();
  Half& h = half(side);
  if (h.phase == Phase::stopped) {
    h.ignored += bytes;
    return;
  }
  if (h.phase == Phase::tunnel_wait) {
    tunnel_held_lost_ = true;
    h.skipped += tunnel_held_.size();
    tunnel_held_.clear();
    return;
  }
  cut_message(side, side == Side::requests ? "request incomplete: bytes were lost"
                                           : "response incomplete: bytes were lost");
  if (side == Side::responses) {
    drop_unanswered("no response paired: bytes were lost on the response side");
    responses_in_sync_ = false;
    resume_requests_after_lost_answer();
  }
  h.skipped += h.buf.size();
  h.buf.clear();
  begin_resync(side, "data lost", true);
  if (tunnel_refused_) release_tunnel_wait();
}

void Http1Parser::joined_midstream() {
  gap(Side::requests, 0);
  gap(Side::responses, 0);
  joined_midstream_unsynced_ = true;  // until the response side finds a status line
}

void Http1Parser::resume_requests_after_lost_answer() {
  // A CONNECT or Upgrade whose answer was lost: whether a tunnel followed is not known. The
  // request side goes on, resyncing: tunnel bytes are not start lines and are skipped.
  if (requests_.phase == Phase::tunnel_wait) {
    tunnel_refused_ = true;
    tunnel_held_lost_ = true;
  }
}

void Http1Parser::end(uint64_t ts_ns) {
  if (ended_) return;
  if (!early_responses_.empty()) {
    // Their requests never came.
    report_skip(Side::responses);
    responses_.skipped += early_responses_bytes_;
    for (const HeldBytes& b : early_responses_) responses_.skipped += b.elided;
    responses_.skip_reason = "response without a request";
    report_skip(Side::responses);
    clear_held();
  }
  if (responses_.phase == Phase::body_until_close && responses_.message_started) {
    message_done(Side::responses, responses_.last_ts ? responses_.last_ts : ts_ns);
  }
  cut_message(Side::responses, "response incomplete: the connection closed");
  cut_message(Side::requests, "request incomplete: the connection closed");
  drop_unanswered("no response: the connection closed first");
  for (Pending& p : pending_) p.request_done = true;
  emit_ready();
  if (unpaired_request_) {
    emit(unpaired_request_->exchange);
    unpaired_request_.reset();
  }
  requests_.ignored += tunnel_held_.size();
  tunnel_held_.clear();
  for (Side side : {Side::requests, Side::responses}) {
    Half& h = half(side);
    if (h.phase == Phase::resync) h.skipped += h.buf.size();
    report_skip(side);
    if (h.ignored > 0) {
      h.skipped = h.ignored;
      h.skip_reason = stop_reason_.empty() ? "not parsed" : stop_reason_;
      report_skip(side);
    }
  }
  ended_ = true;
}

}  // namespace tlstap::http
