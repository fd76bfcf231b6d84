// --redact: the first sink after capture. Every data record passes through a redactor for its
// connection's direction before anything else sees it, so the text/JSON records, the --http
// view and the pcapng capture all show the same masked bytes, with `len` and `pos` unchanged.
//
// Each direction of a connection gets an HTTP/2 redactor if the connection speaks HTTP/2 (the
// client's preface or the server's first SETTINGS frame, or, joined midstream, records that are
// whole HTTP/2 frames), otherwise the HTTP/1 line redactor, which any text protocol can take.
// A record whose masking waits for bytes not seen yet (an HTTP/2 Huffman value that continues
// in the next record) is held with every later record of its connection, so that a
// connection's records keep their order; a close, the end, or a hold over `max_hold_ns` lets
// them go, the undecided bytes masked. A record without a connection is redacted on its own.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "output/record.h"
#include "redact/redact_names.h"
#include "redact/stream_redactor.h"

namespace tlstap::redact {

struct RedactingSinkLimits {
  uint64_t max_hold_ns = 1'000'000'000;  // a held record waits at most this long (record time)
  size_t max_held_bytes = 64 << 20;      // over this, every connection's held records go out
};

class RedactingSink final : public RecordSink {
 public:
  RedactingSink(RecordSink& next, RedactNames names, RedactingSinkLimits limits = {});
  ~RedactingSink() override;

  void data(const DataRecord& record) override;
  void lost(const LostRecord& record) override;
  void close(const CloseRecord& record) override;
  void http(const HttpRecord& record) override { next_.http(record); }
  void http_skip(const HttpSkipRecord& record) override { next_.http_skip(record); }

  // Lets held records go that waited over max_hold_ns (`now_ns`: wall clock, as records' ts),
  // or all when over max_held_bytes. Called for each record, and by the session after each
  // drain, so that a connection that goes quiet does not keep its records back.
  void expire(uint64_t now_ns);
  // At exit: what is held goes out.
  void finish();

  // All streams' counts, those ended included.
  RedactCounts counts() const;
  size_t held_records() const;
  const RedactNames& names() const { return names_; }

 private:
  // unproven: joined midstream, neither a start line nor whole frames seen yet: masked whole.
  enum class Protocol { unknown, http1, http2, unproven };
  // A record of a connection waiting for its turn, with copies of what its views point to.
  struct Held {
    std::optional<DataRecord> data;  // or, when empty, `lost`
    LostRecord lost;
    std::string bytes, comm, library, function;
  };
  struct Stream {
    std::unique_ptr<StreamRedactor> redactor;
    uint64_t next_pos = 0;
    bool gap_pending = false;  // bytes were lost after the last record (truncation, lost record)
  };
  struct ConnectionState {
    Protocol protocol = Protocol::unknown;
    // Taken for text from a first record too short to tell: its first bytes (kept here, per
    // direction, up to the preface's length) or whole HTTP/2 frames may overrule that.
    bool guessed = false;
    std::string first_bytes[2];
    Stream streams[2];
    std::deque<Held> held;
    size_t held_bytes = 0;
  };

  void decide_protocol(ConnectionState& state, const DataRecord& record, bool from_start);
  void switch_protocol(ConnectionState& state, Protocol protocol);
  std::unique_ptr<StreamRedactor> make_redactor(Protocol protocol, std::string_view first_bytes,
                                                bool from_start) const;
  void redact_unconnected(const DataRecord& record);
  // Feeds the newest held record to its stream's redactor.
  void feed(ConnectionState& state, Held& held);
  static StreamRedactor::Patch patch_held(ConnectionState& state, Direction direction);
  // Sends out the held records whose bytes are all decided, in order.
  void release_decided(ConnectionState& state);
  // Masks what is undecided (the stream ends or cannot wait) and sends out everything held.
  void release_all(ConnectionState& state);
  void emit(const Held& held);
  void retire(ConnectionState& state);

  RecordSink& next_;
  RedactNames names_;
  RedactingSinkLimits limits_;
  std::unordered_map<std::string, ConnectionState> connections_;
  std::unordered_set<std::string> holding_;  // connections with held records
  size_t held_bytes_ = 0;
  RedactCounts retired_;  // of streams already freed
};

}  // namespace tlstap::redact
