#include "views/http_view_sink.h"

#include <utility>

#include "conn/connection.h"
#include "protocols/http2/frame.h"
#include "redact/redact_exchange.h"

namespace tlstap {
namespace {

// Enough for the longest start line detection waits for (h1::kMaxStartLine) and the preface.
constexpr size_t kDetectionWindow = 8192 + 64;
constexpr size_t kMaxHeldRecords = 64;

size_t index_of(Direction d) { return d == Direction::write ? 1 : 0; }
Direction other(Direction d) { return d == Direction::write ? Direction::read : Direction::write; }

}  // namespace

HttpViewSink::HttpViewSink(RecordSink& next, HttpViewOptions options)
    : next_(next), options_(std::move(options)) {}

HttpViewSink::~HttpViewSink() = default;

// When a record's bytes were where its messages' times say: a read's at its return (they had
// arrived), a write's at its entry (they left during the call; a thread descheduled after its
// send returns late, after the peer's answer, and a client's latency came out shorter than the
// server's for the same exchange).
uint64_t HttpViewSink::message_ts(const DataRecord& r) {
  return r.direction == Direction::write && r.entry_ts_ns ? r.entry_ts_ns : r.ts_ns;
}

void HttpViewSink::data(const DataRecord& r) {
  if (!options_.http_only) next_.data(r);
  if (!r.connection) return;
  ConnectionView* view = view_for(*r.connection);
  if (!view || view->state == ConnectionView::State::ignored) return;
  if (view->state == ConnectionView::State::midstream_http2) {
    view->not_decoded[index_of(r.direction)] += r.len;
    view->pid = r.pid;
    view->connection = r.connection;
    view->last_ts_ns = r.ts_ns;
    return;
  }
  view->pid = r.pid;
  if (view->comm != r.comm) view->comm = std::string(r.comm);
  view->connection = r.connection;
  view->last_ts_ns = r.ts_ns;
  if (view->state == ConnectionView::State::parsing) {
    deliver(*view, r.direction, r.pos, r.len, r.data, message_ts(r));
    return;
  }
  // Still detecting: decide with this record before anything is copied.
  if (detect(*view, &r)) return;
  if (view->held_bytes + r.data.size() > options_.max_detection_bytes ||
      view->held.size() >= kMaxHeldRecords) {
    ignore(*view);  // nothing decided within the limit: not HTTP enough to parse
    return;
  }
  view->held.push_back({r.direction, r.pos, r.len, message_ts(r), std::string(r.data)});
  view->held_bytes += r.data.size();
}

void HttpViewSink::lost(const LostRecord& r) {
  next_.lost(r);
  // A call in flight at attach returned unseen: that direction misses bytes here. (Other
  // losses show up as pos gaps on the connections they hit.)
  if (!r.connection || !r.unseen_call) return;
  auto it = views_.find(r.connection->id);
  if (it == views_.end()) return;
  ConnectionView& view = *it->second;
  if (view.state == ConnectionView::State::parsing && view.requests) {
    view.parser->gap(r.direction == *view.requests ? http::Side::requests : http::Side::responses,
                     0);
  } else if (view.state == ConnectionView::State::detecting) {
    view.held.push_back({r.direction, UINT64_MAX, 0, 0, {}});  // a gap, replayed in order
  }
}

void HttpViewSink::close(const CloseRecord& r) {
  if (r.connection) {
    auto it = views_.find(r.connection->id);
    if (it != views_.end()) {
      ConnectionView& view = *it->second;
      view.connection = r.connection;
      end(view, r.ts_ns);
      views_.erase(it);
    }
  }
  next_.close(r);
}

void HttpViewSink::finish(uint64_t ts_ns) {
  for (auto& [id, view] : views_) end(*view, ts_ns);
  views_.clear();
}

HttpViewSink::ConnectionView* HttpViewSink::view_for(const Connection& connection) {
  auto it = views_.find(connection.id);
  if (it != views_.end()) return it->second.get();
  if (views_.size() >= options_.max_connections) {
    counts_.connections_not_parsed++;
    return nullptr;
  }
  auto view = std::make_unique<ConnectionView>();
  view->connection = &connection;
  return views_.emplace(connection.id, std::move(view)).first->second.get();
}

bool HttpViewSink::detect(ConnectionView& view, const DataRecord* current) {
  // The first bytes of each direction (contiguous from its start), as far as detection looks.
  std::string first[2];
  bool gapped[2] = {false, false};
  auto take = [&](Direction direction, uint64_t pos, uint64_t len, std::string_view bytes) {
    size_t d = index_of(direction);
    if (pos == UINT64_MAX || (first[d].empty() && pos != 0 && !view.connection->midstream)) {
      gapped[d] = true;
    }
    if (gapped[d]) return;
    first[d].append(
        bytes.substr(0, kDetectionWindow - std::min(first[d].size(), kDetectionWindow)));
    if (bytes.size() < len) gapped[d] = true;  // truncated: what follows is not contiguous
  };
  for (const HeldRecord& h : view.held) take(h.direction, h.pos, h.len, h.bytes);
  if (current) take(current->direction, current->pos, current->len, current->data);

  using http::FirstBytes;
  FirstBytes verdict[2] = {http::classify_first_bytes(first[0]),
                           http::classify_first_bytes(first[1])};
  Role role = view.connection->role;
  std::optional<Direction> role_requests;
  if (role == Role::client) role_requests = Direction::write;
  if (role == Role::server) role_requests = Direction::read;

  for (Direction d : {Direction::write, Direction::read}) {
    FirstBytes v = verdict[index_of(d)];
    std::optional<Direction> requests;
    http::Protocol protocol = http::Protocol::http1;
    if (v == FirstBytes::http1_request || v == FirstBytes::http2_preface) {
      requests = d;
      if (v == FirstBytes::http2_preface) protocol = http::Protocol::http2;
    } else if (v == FirstBytes::http1_response) {
      requests = other(d);
    }
    // The role, when known, says which side sends requests; bytes that say otherwise are
    // not believed.
    if (requests && (!role_requests || *role_requests == *requests)) {
      start_parser(view, protocol, *requests);
      if (current && view.state == ConnectionView::State::parsing) {
        deliver(view, current->direction, current->pos, current->len, current->data,
                message_ts(*current));
      }
      return true;
    }
  }
  // Not HTTP when the side that sends requests (or, role unknown, both sides) says so. One
  // side not HTTP and the other silent may still be HTTP: a server's HTTP/2 SETTINGS can
  // come before the client's preface is read. Then wait, within the limit.
  bool not_http;
  if (role_requests) {
    not_http = verdict[index_of(*role_requests)] == FirstBytes::not_http;
  } else {
    not_http = verdict[0] == FirstBytes::not_http && verdict[1] == FirstBytes::not_http;
  }
  if (not_http) {
    if (is_midstream_http2(view, current)) {
      leave_midstream_http2(view, current);
    } else {
      ignore(view);
    }
    return true;
  }
  return false;
}

bool HttpViewSink::is_midstream_http2(const ConnectionView& view, const DataRecord* current) const {
  // Which side sends requests must be known to say what was not decoded.
  if (!view.connection->midstream || view.connection->role == Role::unknown) return false;
  // Peers write whole frames per call: one record that is exactly plausible frames (lengths
  // chaining to its last byte) is HTTP/2; other protocols' records almost never are.
  auto whole_frames = [](std::string_view bytes, uint64_t len) {
    return bytes.size() == len && http2::is_whole_frames(bytes, http2::kLargestMaxFrameSize);
  };
  for (const HeldRecord& h : view.held) {
    if (h.pos != UINT64_MAX && whole_frames(h.bytes, h.len)) return true;
  }
  return current && whole_frames(current->data, current->len);
}

void HttpViewSink::leave_midstream_http2(ConnectionView& view, const DataRecord* current) {
  for (const HeldRecord& h : view.held) view.not_decoded[index_of(h.direction)] += h.len;
  if (current) view.not_decoded[index_of(current->direction)] += current->len;
  ignore(view);
  view.state = ConnectionView::State::midstream_http2;
}

void HttpViewSink::ignore(ConnectionView& view) {
  view.state = ConnectionView::State::ignored;
  view.held.clear();
  view.held.shrink_to_fit();
  view.held_bytes = 0;
}

void HttpViewSink::start_parser(ConnectionView& view, http::Protocol protocol, Direction requests) {
  ConnectionView* v = &view;
  http::ParserEvents events;
  events.exchange = [this, v](const http::Exchange& exchange) {
    HttpRecord record;
    record.exchange = &exchange;
    std::optional<http::Exchange> masked;
    if (options_.redact && redact::has_redacted_header(exchange, *options_.redact)) {
      masked = exchange;
      redact::mask_exchange(*masked, *options_.redact);
      record.exchange = &*masked;
    }
    record.ts_ns =
        exchange.response.last_ts_ns ? exchange.response.last_ts_ns : exchange.request.last_ts_ns;
    if (record.ts_ns == 0) record.ts_ns = v->last_ts_ns;
    record.pid = v->pid;
    record.comm = v->comm;
    record.connection = v->connection;
    counts_.exchanges++;
    next_.http(record);
  };
  events.skip = [this, v](const http::Skip& skip) {
    HttpSkipRecord record;
    record.skip = &skip;
    record.ts_ns = v->last_ts_ns;
    record.pid = v->pid;
    record.comm = v->comm;
    record.connection = v->connection;
    record.direction = skip.requests ? *v->requests : other(*v->requests);
    counts_.skips++;
    counts_.skipped_bytes += skip.bytes;
    next_.http_skip(record);
  };
  view.parser = http::make_protocol_parser(protocol, options_.limits, std::move(events));
  std::vector<HeldRecord> held = std::move(view.held);
  view.held.clear();
  view.held_bytes = 0;
  if (!view.parser) {  // no parser for it in this build
    ignore(view);
    return;
  }
  counts_.connections_parsed++;
  view.state = ConnectionView::State::parsing;
  view.requests = requests;
  // Joined in the middle: the parser knows what that leaves unknown for its protocol.
  if (view.connection->midstream) view.parser->joined_midstream();
  for (const HeldRecord& h : held) {
    if (h.pos == UINT64_MAX) {
      view.parser->gap(h.direction == requests ? http::Side::requests : http::Side::responses, 0);
    } else {
      deliver(view, h.direction, h.pos, h.len, h.bytes, h.ts_ns);
    }
  }
}

void HttpViewSink::deliver(ConnectionView& view, Direction direction, uint64_t pos, uint64_t len,
                           std::string_view bytes, uint64_t ts_ns) {
  http::Side side = direction == *view.requests ? http::Side::requests : http::Side::responses;
  size_t d = index_of(direction);
  uint64_t expected = view.next_pos[d];
  if (!view.seen[d]) {
    // The first record of a direction starts at 0 unless bytes before it were lost (a
    // midstream connection counts from its first record).
    expected = 0;
    view.seen[d] = true;
  }
  if (pos > expected) {
    view.parser->gap(side, pos - expected);
  } else if (pos < expected) {
    // Bytes already given (should not happen): only what is new goes on.
    uint64_t overlap = expected - pos;
    if (overlap >= len) return;
    bytes.remove_prefix(static_cast<size_t>(std::min<uint64_t>(overlap, bytes.size())));
    len -= overlap;
    pos = expected;
  }
  view.parser->feed(side, bytes, ts_ns);
  if (bytes.size() < len) view.parser->gap(side, len - bytes.size());  // truncated
  view.next_pos[d] = pos + len;
}

void HttpViewSink::end(ConnectionView& view, uint64_t ts_ns) {
  if (view.state == ConnectionView::State::parsing && view.parser) view.parser->end(ts_ns);
  if (view.state == ConnectionView::State::midstream_http2) {
    // One skip per direction for the connection's life: said once, not per record.
    Direction requests = view.connection->role == Role::client ? Direction::write : Direction::read;
    for (Direction d : {Direction::write, Direction::read}) {
      uint64_t bytes = view.not_decoded[index_of(d)];
      if (bytes == 0) continue;
      http::Skip skip;
      skip.requests = d == requests;
      skip.bytes = bytes;
      skip.reason = "midstream http2: frames not decoded";
      HttpSkipRecord record;
      record.skip = &skip;
      record.ts_ns = view.last_ts_ns ? view.last_ts_ns : ts_ns;
      record.pid = view.pid;
      record.comm = view.comm;
      record.connection = view.connection;
      record.direction = d;
      counts_.skips++;
      counts_.skipped_bytes += bytes;
      next_.http_skip(record);
    }
  }
  view.parser.reset();
}

}  // namespace tlstap
