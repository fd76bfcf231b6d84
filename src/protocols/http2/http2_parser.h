// The HTTP/2 view of one connection (RFC 9113): the client preface, frames, HPACK header
// blocks (one decoder per direction), streams interleaved on the connection, each stream one
// http::Exchange; gRPC calls recognised by their content-type.
//
// What it will not do is guess. When bytes are missing it keeps going only where the framing
// is still proved: a gap of known size inside a frame's payload is stepped over (a DATA hole
// is counted, a header block hole makes that direction's HPACK state unknown); a gap that
// reaches a frame header, or of unknown size, stops the parsing of that direction until a
// record that is exactly whole frames proves where frames start again. Once a direction's
// HPACK state is unknown, a header block is decoded only if it needs nothing from the lost
// dynamic table (static references and literals); other streams are reported (Skip with
// their ids, exchanges with a note and without those headers), never with a header that
// might be wrong. Bytes that are not HTTP/2 stop the parsing of that direction for good.
//
// The two directions are each in order, but not with each other: a response's record can come
// before its request's (a client that writes and reads on different threads, e.g. Go). A
// response HEADERS for a client stream not opened yet opens it; the request's HEADERS complete
// it, or it is reported with "request not seen". Frames for streams already reported are
// counted in a Skip, never dropped silently.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/http2/frame.h"
#include "protocols/http2/grpc.h"
#include "protocols/http2/hpack_inflater.h"
#include "protocols/protocol_parser.h"

namespace tlstap::http2 {

class Http2Parser final : public http::ProtocolParser {
 public:
  Http2Parser(http::Limits limits, http::ParserEvents events);

  void feed(http::Side side, std::string_view bytes, uint64_t ts_ns) override;
  void gap(http::Side side, uint64_t bytes) override;
  // The requests' preface is sent once, first, so it proves their start; the responses'
  // frames are found again at a record of whole frames.
  void joined_midstream() override { gap(http::Side::responses, 0); }
  void end(uint64_t ts_ns) override;

  // How many exchanges are open (for tests and the memory bound).
  size_t open_streams() const { return streams_.size(); }

 private:
  enum class State { preface, frame_header, payload, lost };
  enum class Payload { buffered, data, skipped };

  // A header block being decoded: a HEADERS or PUSH_PROMISE frame and its CONTINUATIONs.
  struct HeaderBlock {
    uint32_t stream = 0;
    bool end_stream = false;
    bool push = false;
    uint32_t promised = 0;
    bool undecodable = false;
    bool overflow = false;  // fields beyond Limits::max_header_bytes were dropped
    uint64_t wire_bytes = 0;
    size_t decoded_bytes = 0;
    uint64_t first_ts_ns = 0;
    http::Headers headers;
    // The direction's HPACK state is unknown: this block is decoded on its own (see
    // HpackInflater::for_unknown_state), and only if it needs nothing from before.
    std::optional<HpackInflater> on_its_own;
  };

  // A SETTINGS frame one side sent, waiting for the other side's ACK.
  struct AnnouncedSettings {
    std::optional<uint32_t> header_table_size;
    bool lost = false;  // its payload was in a gap: what it said is unknown
  };

  struct Direction {
    State state = State::frame_header;
    size_t preface_have = 0;
    std::string header_bytes;  // the frame header being read (< 9 bytes)
    FrameHeader frame;
    uint64_t frame_ts_ns = 0;  // the record that held the frame's first byte
    uint64_t last_ts_ns = 0;
    Payload payload = Payload::buffered;
    uint64_t payload_done = 0;
    std::string payload_bytes;        // a buffered (non-DATA) payload
    bool payload_lost = false;        // part of it was in a gap
    std::optional<uint8_t> data_pad;  // a padded DATA frame's pad length, once read

    HpackInflater hpack;
    bool hpack_known = true;
    size_t table_limit = 4096;                   // SETTINGS_HEADER_TABLE_SIZE the decoder enforces
    std::optional<size_t> deferred_table_limit;  // to apply once the block in progress ends
    std::deque<AnnouncedSettings> announced;     // the other side's SETTINGS, not yet ACKed
    uint32_t max_frame_size = kDefaultMaxFrameSize;
    std::optional<HeaderBlock> block;

    std::string lost_reason;
    uint64_t bytes_after_loss = 0;
    bool ever_lost = false;            // framing was lost once (and maybe found again)
    uint64_t data_without_stream = 0;  // DATA for streams not open (reported at end)
  };

  struct Stream {
    http::Exchange exchange;
    bool ended[2] = {false, false};
    bool started[2] = {false, false};      // a HEADERS of that side was seen
    bool final_response = false;           // a non-1xx response HEADERS was seen
    bool undecodable[2] = {false, false};  // a header block of that side was not decoded
    bool lost[2] = {false, false};         // bytes of that side were missing
    bool cut[2] = {false, false};          // that side's end can no longer be seen
    bool header_overflow = false;
    bool body_hole[2] = {false, false};  // first_bytes stop at a gap
    GrpcMessageCounter messages[2];
  };

  Direction& dir(http::Side side) { return side == http::Side::requests ? requests_ : responses_; }
  static http::Side other(http::Side side) {
    return side == http::Side::requests ? http::Side::responses : http::Side::requests;
  }
  static size_t index(http::Side side) { return side == http::Side::requests ? 0 : 1; }

  void start_payload(http::Side side);
  void consume_payload(http::Side side, std::string_view bytes);
  void finish_frame(http::Side side);
  void on_header_fragment(http::Side side, std::string_view fragment, bool end_headers);
  void finish_block(http::Side side, HeaderBlock block);
  void on_settings(http::Side side);
  void on_rst_stream(http::Side side);
  void on_goaway(http::Side side);
  void on_data(http::Side side, uint32_t stream, std::string_view data);
  void on_data_lost(http::Side side, uint32_t stream, uint64_t bytes);
  void set_table_limit(Direction& d, size_t bytes);

  Stream* find(uint32_t id);
  Stream* open_stream(uint32_t id);
  void apply_request_headers(Stream& s, http::Headers headers);
  void apply_response_headers(Stream& s, http::Headers headers);
  void end_side(Stream& s, http::Side side, uint64_t ts_ns);
  void maybe_complete(uint32_t id);
  void report(uint32_t id, const std::string& why);
  void lose(http::Side side, const std::string& reason, uint64_t bytes);
  bool resync(http::Side side, std::string_view record);
  // An http_skip of `bytes` in `side`'s direction (of one stream, when given).
  void say_skipped(http::Side side, uint64_t bytes, std::string reason,
                   std::optional<uint32_t> stream = std::nullopt);

  http::Limits limits_;
  http::ParserEvents events_;
  Direction requests_;
  Direction responses_;
  std::map<uint32_t, Stream> streams_;
  uint32_t highest_client_stream_ = 0;
  uint32_t highest_pushed_stream_ = 0;
};

}  // namespace tlstap::http2
