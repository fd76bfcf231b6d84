#include "protocols/http2/http2_parser.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace tlstap::http2 {

using http::Side;

namespace {

constexpr size_t kMaxAnnouncedSettings = 16;  // unacknowledged SETTINGS frames tracked
constexpr size_t kMaxInformational = 16;      // 1xx statuses kept per exchange

bool is_type(const FrameHeader& frame, FrameType type) {
  return frame.type == static_cast<uint8_t>(type);
}

const std::string* find_header(const http::Headers& headers, std::string_view name) {
  for (const http::Header& h : headers)
    if (h.name == name) return &h.value;
  return nullptr;
}

std::string content_encoding(const http::Headers& headers) {
  const std::string* value = find_header(headers, "content-encoding");
  if (!value || *value == "identity") return {};
  return *value;
}

std::optional<int> parse_status(const std::string& text) {
  if (text.size() != 3 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoi(text);
}

void append_note(std::string& note, std::string_view part) {
  if (part.empty() || note.find(part) != std::string::npos) return;
  if (!note.empty()) note += ", ";
  note += part;
}

}  // namespace

Http2Parser::Http2Parser(http::Limits limits, http::ParserEvents events)
    : limits_(limits), events_(std::move(events)) {
  requests_.state = State::preface;
}

// --- bytes in -------------------------------------------------------------------------------

void Http2Parser::feed(Side side, std::string_view bytes, uint64_t ts_ns) {
  Direction& d = dir(side);
  d.last_ts_ns = ts_ns;
  while (!bytes.empty()) {
    switch (d.state) {
      case State::lost:
        if (resync(side, bytes)) continue;
        d.bytes_after_loss += bytes.size();
        return;
      case State::preface: {
        size_t take = std::min(kClientPreface.size() - d.preface_have, bytes.size());
        if (bytes.substr(0, take) != kClientPreface.substr(d.preface_have, take)) {
          lose(side, "not http2", 0);
          d.bytes_after_loss += d.preface_have;  // what looked like a preface was not one
          continue;
        }
        d.preface_have += take;
        bytes.remove_prefix(take);
        if (d.preface_have == kClientPreface.size()) d.state = State::frame_header;
        break;
      }
      case State::frame_header: {
        if (d.header_bytes.empty()) d.frame_ts_ns = ts_ns;
        size_t take = std::min(kFrameHeaderSize - d.header_bytes.size(), bytes.size());
        d.header_bytes.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (d.header_bytes.size() == kFrameHeaderSize) {
          d.frame = parse_frame_header(d.header_bytes);
          d.header_bytes.clear();
          start_payload(side);
        }
        break;
      }
      case State::payload: {
        uint64_t left = d.frame.length - d.payload_done;
        size_t take = static_cast<size_t>(std::min<uint64_t>(left, bytes.size()));
        uint64_t before = d.payload_done;
        consume_payload(side, bytes.substr(0, take));
        // Bytes of this frame after a point where it proved not to be HTTP/2 are not parsed.
        if (d.state == State::lost) d.bytes_after_loss += take - (d.payload_done - before);
        bytes.remove_prefix(take);
        if (d.state == State::payload && d.payload_done == d.frame.length) finish_frame(side);
        break;
      }
    }
  }
}

void Http2Parser::gap(Side side, uint64_t bytes) {
  Direction& d = dir(side);
  if (d.state == State::lost) {
    d.bytes_after_loss += bytes;
    return;
  }
  uint64_t left = d.state == State::payload ? d.frame.length - d.payload_done : 0;
  if (bytes == 0 || bytes > left) {
    // The gap reaches a frame header (or its size is unknown): where the next frame starts
    // cannot be proved.
    lose(side, "data lost", bytes);
    return;
  }
  // Inside one frame's payload: the framing holds, only this payload's content is missing.
  if (d.payload == Payload::data) {
    uint64_t skip = bytes;
    if ((d.frame.flags & flag::padded) && !d.data_pad) {
      // The pad length itself is gone: the DATA length of this frame is not known exactly.
      d.data_pad = 0;
      --skip;
      d.payload_done += 1;
    }
    uint64_t data_end = d.frame.length - d.data_pad.value_or(0);
    uint64_t data_bytes =
        d.payload_done < data_end ? std::min<uint64_t>(skip, data_end - d.payload_done) : 0;
    on_data_lost(side, d.frame.stream, data_bytes);
    d.payload_done += skip;
  } else {
    d.payload_lost = true;
    d.payload_done += bytes;
  }
  if (d.payload_done == d.frame.length) finish_frame(side);
}

void Http2Parser::end(uint64_t ts_ns) {
  (void)ts_ns;
  std::vector<uint32_t> ids;
  for (const auto& [id, stream] : streams_) ids.push_back(id);
  for (uint32_t id : ids) report(id, "connection closed");
  for (Side side : {Side::requests, Side::responses}) {
    Direction& d = dir(side);
    if (d.bytes_after_loss > 0)
      say_skipped(side, d.bytes_after_loss, "not parsed after " + d.lost_reason);
    d.bytes_after_loss = 0;
    if (d.data_without_stream > 0)
      say_skipped(side, d.data_without_stream, "data for a stream not open");
    d.data_without_stream = 0;
  }
}

// --- frames ---------------------------------------------------------------------------------

void Http2Parser::start_payload(Side side) {
  Direction& d = dir(side);
  const FrameHeader& f = d.frame;
  if (!plausible(f, d.max_frame_size)) {
    lose(side, "not http2", 0);
    return;
  }
  // A header block's CONTINUATION frames follow it immediately, on its stream (RFC 9113 6.10).
  bool continuation = is_type(f, FrameType::continuation);
  if (d.block ? (!continuation || f.stream != d.block->stream) : continuation) {
    lose(side, "not http2", 0);
    return;
  }
  d.state = State::payload;
  d.payload_done = 0;
  d.payload_bytes.clear();
  d.payload_lost = false;
  d.data_pad.reset();
  if (is_type(f, FrameType::data))
    d.payload = Payload::data;
  else if (f.length <= limits_.max_buffered_bytes)
    d.payload = Payload::buffered;
  else
    d.payload = Payload::skipped;  // larger than tlstap holds: its content is not read
  if (f.length == 0) finish_frame(side);
}

void Http2Parser::consume_payload(Side side, std::string_view bytes) {
  Direction& d = dir(side);
  switch (d.payload) {
    case Payload::buffered:
      d.payload_bytes.append(bytes);
      d.payload_done += bytes.size();
      return;
    case Payload::skipped: d.payload_done += bytes.size(); return;
    case Payload::data: break;
  }
  while (!bytes.empty()) {
    if ((d.frame.flags & flag::padded) && !d.data_pad) {
      d.data_pad = static_cast<uint8_t>(bytes[0]);
      bytes.remove_prefix(1);
      d.payload_done = 1;
      if (1u + *d.data_pad > d.frame.length) {
        lose(side, "not http2", 0);
        return;
      }
      continue;
    }
    uint64_t data_end = d.frame.length - d.data_pad.value_or(0);
    size_t take = bytes.size();
    if (d.payload_done < data_end) {
      take = static_cast<size_t>(std::min<uint64_t>(data_end - d.payload_done, bytes.size()));
      on_data(side, d.frame.stream, bytes.substr(0, take));
    }
    d.payload_done += take;
    bytes.remove_prefix(take);
  }
}

void Http2Parser::finish_frame(Side side) {
  Direction& d = dir(side);
  d.state = State::frame_header;
  const FrameHeader f = d.frame;
  switch (static_cast<FrameType>(f.type)) {
    case FrameType::data: {
      if (d.data_pad && (f.flags & flag::padded) && 1u + *d.data_pad > f.length) {
        lose(side, "not http2", 0);
        return;
      }
      if (Stream* s = find(f.stream)) {
        http::Message& m = side == Side::requests ? s->exchange.request : s->exchange.response;
        m.last_ts_ns = d.last_ts_ns;
        if (f.flags & flag::end_stream) {
          end_side(*s, side, d.last_ts_ns);
          maybe_complete(f.stream);
        }
      }
      return;
    }
    case FrameType::headers:
    case FrameType::push_promise: {
      if (is_type(f, FrameType::push_promise) && side != Side::responses) {
        lose(side, "not http2", 0);  // only servers push
        return;
      }
      HeaderBlock block;
      block.stream = f.stream;
      block.end_stream = is_type(f, FrameType::headers) && (f.flags & flag::end_stream);
      block.push = is_type(f, FrameType::push_promise);
      block.first_ts_ns = d.frame_ts_ns;
      std::string_view fragment;
      if (d.payload == Payload::buffered && !d.payload_lost) {
        std::optional<std::string_view> part = header_block_fragment(f, d.payload_bytes);
        if (!part) {
          lose(side, "not http2", 0);
          return;
        }
        fragment = *part;
        if (block.push) {
          std::optional<uint32_t> promised = promised_stream(f, d.payload_bytes);
          block.promised = promised.value_or(0);
        }
      } else {
        block.undecodable = true;  // content lost or too large: this block cannot be decoded
        d.hpack_known = false;
      }
      if (!block.undecodable && !d.hpack_known)
        block.on_its_own.emplace(HpackInflater::for_unknown_state());
      d.block = std::move(block);
      on_header_fragment(side, fragment, f.flags & flag::end_headers);
      return;
    }
    case FrameType::continuation: {
      std::string_view fragment;
      if (d.payload == Payload::buffered && !d.payload_lost) {
        fragment = d.payload_bytes;
      } else {
        d.block->undecodable = true;
        d.hpack_known = false;
      }
      on_header_fragment(side, fragment, f.flags & flag::end_headers);
      return;
    }
    case FrameType::settings: on_settings(side); return;
    case FrameType::rst_stream: on_rst_stream(side); return;
    case FrameType::goaway: on_goaway(side); return;
    case FrameType::priority:
    case FrameType::ping:
    case FrameType::window_update: return;  // flow control and liveness: nothing an exchange shows
  }
  // Extension frame types are ignored (RFC 9113 5.5).
}

void Http2Parser::on_header_fragment(Side side, std::string_view fragment, bool end_headers) {
  Direction& d = dir(side);
  HeaderBlock& block = *d.block;
  block.wire_bytes += d.frame.length;
  if (!block.undecodable) {
    if (block.on_its_own) {
      if (!block.on_its_own->decode(fragment, end_headers, block.headers, limits_.max_header_bytes,
                                    block.decoded_bytes, block.overflow))
        block.undecodable = true;  // it needed the lost table
    } else if (!d.hpack_known) {
      block.undecodable = true;
    } else if (!d.hpack.decode(fragment, end_headers, block.headers, limits_.max_header_bytes,
                               block.decoded_bytes, block.overflow)) {
      block.undecodable = true;
      d.hpack_known = false;
    }
  }
  if (block.undecodable) block.headers.clear();
  if (!end_headers) return;
  HeaderBlock done = std::move(block);
  d.block.reset();
  if (d.deferred_table_limit) {
    size_t limit = *d.deferred_table_limit;
    d.deferred_table_limit.reset();
    set_table_limit(d, limit);
  }
  finish_block(side, std::move(done));
}

void Http2Parser::on_settings(Side side) {
  Direction& d = dir(side);
  Direction& peer = dir(other(side));
  if (d.frame.flags & flag::ack) {
    // This side acknowledged the other side's oldest SETTINGS: from here on its header blocks
    // are encoded within the table size that SETTINGS announced.
    if (d.announced.empty()) return;
    AnnouncedSettings settings = d.announced.front();
    d.announced.pop_front();
    if (settings.lost)
      d.hpack_known = false;
    else if (settings.header_table_size && *settings.header_table_size < d.table_limit)
      set_table_limit(d, *settings.header_table_size);
    return;
  }
  AnnouncedSettings settings;
  if (d.payload != Payload::buffered || d.payload_lost) {
    settings.lost = true;
  } else {
    std::string_view payload = d.payload_bytes;
    for (size_t i = 0; i + 6 <= payload.size(); i += 6) {
      uint16_t id = read_u16(payload.substr(i));
      uint32_t value = read_u32(payload.substr(i + 2));
      if (id == setting::header_table_size) settings.header_table_size = value;
      // Frames toward this side may be as large as it allows: accepted as soon as announced.
      if (id == setting::max_frame_size && value <= kLargestMaxFrameSize)
        peer.max_frame_size = std::max(peer.max_frame_size, value);
    }
  }
  // A larger table may be used by the other side as soon as it reads this SETTINGS: the
  // decoder accepts it now; a smaller one binds once acknowledged.
  if (settings.header_table_size && *settings.header_table_size > peer.table_limit)
    set_table_limit(peer, *settings.header_table_size);
  if (peer.announced.size() == kMaxAnnouncedSettings) {
    peer.announced.pop_front();
    peer.hpack_known = false;  // what the dropped one said is forgotten
  }
  peer.announced.push_back(settings);
}

void Http2Parser::on_rst_stream(Side side) {
  const FrameHeader& f = dir(side).frame;
  if (find(f.stream)) report(f.stream, "stream reset");
}

void Http2Parser::on_goaway(Side side) {
  Direction& d = dir(side);
  if (d.payload != Payload::buffered || d.payload_lost) return;
  uint32_t last_stream = read_u32(d.payload_bytes) & 0x7fffffffu;
  // Streams the other side opened after last_stream were not and will not be processed by
  // the sender of GOAWAY. The client opens odd streams, the server even (pushed) ones.
  uint32_t parity = side == Side::responses ? 1 : 0;
  std::vector<uint32_t> ids;
  for (const auto& [id, stream] : streams_)
    if (id > last_stream && id % 2 == parity) ids.push_back(id);
  for (uint32_t id : ids) report(id, "goaway");
}

void Http2Parser::set_table_limit(Direction& d, size_t bytes) {
  if (d.block) {
    d.deferred_table_limit = bytes;  // nghttp2 takes it between header blocks only
    return;
  }
  d.table_limit = bytes;
  if (d.hpack_known && !d.hpack.set_max_table_size(bytes)) d.hpack_known = false;
}

// --- streams --------------------------------------------------------------------------------

Http2Parser::Stream* Http2Parser::find(uint32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

Http2Parser::Stream* Http2Parser::open_stream(uint32_t id) {
  while (!streams_.empty() && streams_.size() >= limits_.max_pending_exchanges)
    report(streams_.begin()->first, "too many open streams");
  if (limits_.max_pending_exchanges == 0) return nullptr;
  Stream& s = streams_[id];
  // assign(1, '2'), not = "2": GCC 12 takes the literal's copy for an overlapping memcpy
  // (a false -Wrestrict, an error under -Werror) once say_skipped is inlined nearby.
  s.exchange.version.assign(1, '2');
  s.exchange.stream = id;
  return &s;
}

void Http2Parser::finish_block(Side side, HeaderBlock block) {
  size_t i = index(side);
  Stream* s = nullptr;
  uint32_t id = block.push ? block.promised : block.stream;
  if (block.push) {
    // PUSH_PROMISE: the server's header block is the request of the promised stream.
    if (id == 0 || id % 2 != 0 || id <= highest_pushed_stream_) return;
    highest_pushed_stream_ = id;
    s = open_stream(id);
    if (!s) return;
    i = index(Side::requests);
  } else {
    s = find(id);
    if (!s) {
      bool new_request = side == Side::requests && id % 2 == 1 && id > highest_client_stream_;
      // A response for a stream the client has not opened yet in what was read: the request's
      // record can reach tlstap after the response's (Go writes and reads on different
      // goroutines; a record is stamped when its call returns). The stream opens from the
      // response; the request's HEADERS complete it (or the exchange says it was not seen).
      // If the request's direction is no longer parsed, it will not come: said as data lost.
      bool early_response = side == Side::responses && id % 2 == 1 && id > highest_client_stream_;
      if (!new_request && !early_response) {
        // Decoded (HPACK in step), not shown: a stream reported already (reset, goaway).
        say_skipped(side, block.wire_bytes, "headers for a stream already reported", id);
        return;
      }
      if (new_request) highest_client_stream_ = id;
      s = open_stream(id);
      if (!s) return;
      if (early_response && requests_.ever_lost) s->lost[0] = s->cut[0] = true;
    }
  }
  if (side == Side::requests && !block.push && id % 2 == 1)
    highest_client_stream_ = std::max(highest_client_stream_, id);
  http::Message& m = i == 0 ? s->exchange.request : s->exchange.response;
  if (!s->started[i]) m.first_ts_ns = block.first_ts_ns;
  m.last_ts_ns = dir(side).last_ts_ns;
  if (block.overflow) s->header_overflow = true;
  if (block.undecodable) {
    s->undecodable[i] = true;
    if (i == 1) s->final_response = true;  // a 1xx or not, it is not known: not guessed
    say_skipped(side, block.wire_bytes, "hpack state unknown", id);
  } else if (i == 0) {
    if (!s->started[0])
      apply_request_headers(*s, std::move(block.headers));
    else
      m.trailers = std::move(block.headers);
  } else if (!s->final_response) {
    apply_response_headers(*s, std::move(block.headers));
  } else {
    m.trailers = std::move(block.headers);
  }
  s->started[i] = true;
  if (block.push) {
    end_side(*s, Side::requests, m.last_ts_ns);  // a pushed request has no body
  } else if (block.end_stream) {
    end_side(*s, side, m.last_ts_ns);
    maybe_complete(id);
  }
}

void Http2Parser::apply_request_headers(Stream& s, http::Headers headers) {
  http::Exchange& ex = s.exchange;
  for (http::Header& h : headers) {
    if (h.name == ":method")
      ex.method = h.value;
    else if (h.name == ":scheme")
      ex.scheme = h.value;
    else if (h.name == ":authority")
      ex.authority = h.value;
    else if (h.name == ":path")
      ex.path = h.value;
    else if (!h.name.starts_with(":"))
      ex.request.headers.push_back(std::move(h));
  }
  if (ex.authority.empty())
    if (const std::string* host = find_header(ex.request.headers, "host")) ex.authority = *host;
  ex.request.body.encoding = content_encoding(ex.request.headers);
  const std::string* type = find_header(ex.request.headers, "content-type");
  if (type && is_grpc_content_type(*type)) {
    ex.grpc.emplace();
    split_grpc_path(ex.path, *ex.grpc);
  }
}

void Http2Parser::apply_response_headers(Stream& s, http::Headers headers) {
  http::Exchange& ex = s.exchange;
  std::optional<int> status;
  http::Headers regular;
  for (http::Header& h : headers) {
    if (h.name == ":status")
      status = parse_status(h.value);
    else if (!h.name.starts_with(":"))
      regular.push_back(std::move(h));
  }
  if (status && *status >= 100 && *status < 200) {
    // Bounded: a peer may send any number of 1xx responses before the final one.
    if (ex.informational.size() < kMaxInformational) ex.informational.push_back(*status);
    return;
  }
  s.final_response = true;
  ex.status = status;
  ex.response.headers = std::move(regular);
  ex.response.body.encoding = content_encoding(ex.response.headers);
  // The request's headers were not decoded: the response's content-type says gRPC as well.
  const std::string* type = find_header(ex.response.headers, "content-type");
  if (!ex.grpc && s.undecodable[0] && type && is_grpc_content_type(*type)) ex.grpc.emplace();
}

void Http2Parser::on_data(Side side, uint32_t stream, std::string_view data) {
  Stream* s = find(stream);
  if (!s) {
    // A stream reported already (reset, goaway, too many open) or never opened: said.
    dir(side).data_without_stream += data.size();
    return;
  }
  size_t i = index(side);
  http::Body& body = i == 0 ? s->exchange.request.body : s->exchange.response.body;
  body.len += data.size();
  if (!s->body_hole[i] && body.first_bytes.size() < limits_.body_bytes)
    body.first_bytes.append(data.substr(0, limits_.body_bytes - body.first_bytes.size()));
  s->messages[i].feed(data);
}

void Http2Parser::on_data_lost(Side side, uint32_t stream, uint64_t bytes) {
  Stream* s = find(stream);
  if (!s) return;
  size_t i = index(side);
  http::Body& body = i == 0 ? s->exchange.request.body : s->exchange.response.body;
  body.len += bytes;
  s->body_hole[i] = true;
  s->lost[i] = true;
  s->messages[i].lose();
}

void Http2Parser::end_side(Stream& s, Side side, uint64_t ts_ns) {
  size_t i = index(side);
  s.ended[i] = true;
  http::Message& m = i == 0 ? s.exchange.request : s.exchange.response;
  m.complete = true;
  m.last_ts_ns = ts_ns;
}

void Http2Parser::maybe_complete(uint32_t id) {
  Stream* s = find(id);
  if (!s) return;
  bool request_done = s->ended[0] || s->cut[0];
  if (request_done && s->ended[1]) report(id, "");
}

void Http2Parser::report(uint32_t id, const std::string& why) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream s = std::move(it->second);
  streams_.erase(it);
  http::Exchange& ex = s.exchange;
  std::string note;
  if (!(s.ended[0] && s.ended[1])) append_note(note, why);
  if (!s.started[0] && !s.cut[0]) append_note(note, "request not seen");
  if (s.undecodable[0] || s.undecodable[1]) append_note(note, "hpack state unknown");
  if (s.lost[0] || s.lost[1]) append_note(note, "data lost");
  if (s.header_overflow) append_note(note, "headers over limit");
  ex.note = note;
  if (ex.grpc) {
    read_grpc_status(ex.response.headers, *ex.grpc);  // a trailers-only response
    read_grpc_status(ex.response.trailers, *ex.grpc);
    ex.grpc->request_messages = s.messages[0].messages();
    ex.grpc->response_messages = s.messages[1].messages();
  }
  if (events_.exchange) events_.exchange(ex);
}

void Http2Parser::lose(Side side, const std::string& reason, uint64_t bytes) {
  Direction& d = dir(side);
  if (d.state == State::lost) return;
  d.state = State::lost;
  d.ever_lost = true;
  d.lost_reason = reason;
  d.hpack_known = false;
  d.block.reset();
  size_t i = index(side);
  http::Skip skip;
  skip.requests = side == Side::requests;
  skip.bytes = bytes;
  skip.reason = reason;
  for (auto& [id, s] : streams_) {
    if (s.ended[i]) continue;
    s.lost[i] = true;
    s.cut[i] = true;
    skip.streams.push_back(id);
  }
  if (events_.skip) events_.skip(skip);
  // With the requests no longer parsed, streams whose response already ended are done.
  if (side == Side::requests) {
    std::vector<uint32_t> done;
    for (auto& [id, s] : streams_)
      if (s.ended[1]) done.push_back(id);
    for (uint32_t id : done) report(id, "data lost");
  }
}

void Http2Parser::say_skipped(Side side, uint64_t bytes, std::string reason,
                              std::optional<uint32_t> stream) {
  if (!events_.skip) return;
  http::Skip skip;
  skip.requests = side == Side::requests;
  skip.bytes = bytes;
  skip.reason = std::move(reason);
  if (stream) skip.streams = {*stream};
  events_.skip(skip);
}

bool Http2Parser::resync(Side side, std::string_view record) {
  Direction& d = dir(side);
  // Garbage is not resynced from: only a direction that lost bytes of real HTTP/2.
  if (d.lost_reason != "data lost" || !is_whole_frames(record, d.max_frame_size)) return false;
  if (d.bytes_after_loss > 0) say_skipped(side, d.bytes_after_loss, "not parsed after data lost");
  d.bytes_after_loss = 0;
  d.state = State::frame_header;
  d.header_bytes.clear();
  return true;  // the HPACK state stays unknown: blocks are decoded on their own
}

}  // namespace tlstap::http2
