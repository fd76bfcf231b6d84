#include "capture/reassembler.h"
#include "stacks/registry.h"

#include <time.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "capture/wall_clock.h"
#include "test_support.h"

namespace tlstap {
namespace {

using test::CapturedRecord;
using test::ChunkSpec;
using test::make_event;
using test::pattern_bytes;

constexpr size_t kChunk = TLSTAP_CHUNK_BYTES;

class ReassemblerTest : public ::testing::Test {
 protected:
  void feed(const ChunkSpec& spec, std::string_view chunk) {
    auto event = make_event(spec, chunk);
    reassembler.on_chunk(*event, {event->data, event->chunk_len});
  }

  // All chunks of one call, as BPF sends them: TLSTAP_CHUNK_BYTES each, the last shorter.
  std::vector<std::pair<ChunkSpec, std::string>> chunks_of(ChunkSpec spec,
                                                           std::string_view captured) {
    std::vector<std::pair<ChunkSpec, std::string>> chunks;
    for (size_t offset = 0; offset < captured.size() || offset == 0; offset += kChunk) {
      spec.offset = offset;
      chunks.emplace_back(spec, std::string(captured.substr(offset, kChunk)));
      if (captured.empty()) break;
    }
    return chunks;
  }

  test::RecordingSink sink;
  WallClock clock;
  Reassembler reassembler{sink, clock};
};

TEST_F(ReassemblerTest, SingleChunkCall) {
  const std::string data = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
  ChunkSpec spec;
  spec.pid = 812;
  spec.tid = 813;
  spec.uid = 33;
  spec.call_id = 7;
  spec.call_len = data.size();
  spec.capture_len = data.size();
  spec.function = function_id("openssl", "SSL_write_ex");
  spec.direction = TLSTAP_DIR_WRITE;
  spec.ts_ns = clock_ns(CLOCK_MONOTONIC);
  feed(spec, data);

  ASSERT_EQ(sink.records.size(), 1u);
  const CapturedRecord& r = sink.records[0];
  EXPECT_EQ(r.pid, 812u);
  EXPECT_EQ(r.tid, 813u);
  EXPECT_EQ(r.uid, 33u);
  EXPECT_EQ(r.comm, "curl");
  EXPECT_EQ(r.library, "openssl");
  EXPECT_EQ(r.function, "SSL_write_ex");
  EXPECT_EQ(r.direction, Direction::write);
  EXPECT_EQ(r.len, data.size());
  EXPECT_EQ(r.data, data);
  EXPECT_EQ(r.truncation, Truncation::none);
  // Monotonic "now" becomes wall-clock "now".
  uint64_t real_now = clock_ns(CLOCK_REALTIME);
  EXPECT_LT(std::max(r.ts_ns, real_now) - std::min(r.ts_ns, real_now), 2'000'000'000u);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
  EXPECT_EQ(reassembler.malformed_chunks(), 0u);
}

TEST_F(ReassemblerTest, FunctionAndDirectionNames) {
  const std::pair<uint8_t, std::string_view> functions[] = {
      {function_id("openssl", "SSL_read"), "SSL_read"},
      {function_id("openssl", "SSL_write"), "SSL_write"},
      {function_id("openssl", "SSL_read_ex"), "SSL_read_ex"},
      {function_id("openssl", "SSL_write_ex"), "SSL_write_ex"},
      {function_id("wolfssl", "wolfSSL_send"), "wolfSSL_send"},
      {function_id("mbedtls", "mbedtls_ssl_write"), "mbedtls_ssl_write"},
      {0, "unknown"},
      {200, "unknown"}};
  uint64_t call_id = 1;
  for (auto [function, name] : functions) {
    ChunkSpec spec;
    spec.call_id = call_id++;
    spec.call_len = spec.capture_len = 3;
    spec.function = function;
    spec.direction =
        function == function_id("openssl", "SSL_read") ? TLSTAP_DIR_READ : TLSTAP_DIR_WRITE;
    feed(spec, "abc");
    ASSERT_FALSE(sink.records.empty());
    EXPECT_EQ(sink.records.back().function, name);
    EXPECT_EQ(sink.records.back().direction,
              function == function_id("openssl", "SSL_read") ? Direction::read : Direction::write);
  }
}

TEST_F(ReassemblerTest, LibIsTheStackOfTheFunction) {
  const std::pair<uint8_t, std::string_view> functions[] = {
      {function_id("openssl", "SSL_write"), "openssl"},
      {function_id("wolfssl", "wolfSSL_write"), "wolfssl"},
      {function_id("wolfssl", "wolfSSL_write_ex"), "wolfssl"},
      {function_id("mbedtls", "mbedtls_ssl_write"), "mbedtls"}};
  uint64_t call_id = 1;
  for (auto [function, lib] : functions) {
    ASSERT_NE(function, 0);
    ChunkSpec spec;
    spec.call_id = call_id++;
    spec.call_len = spec.capture_len = 3;
    spec.function = function;
    spec.direction = TLSTAP_DIR_WRITE;
    feed(spec, "abc");
    ASSERT_FALSE(sink.records.empty());
    EXPECT_EQ(sink.records.back().library, lib);
  }
}

TEST_F(ReassemblerTest, CommIsCutAtItsTerminatorAndAlwaysTerminated) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 1;
  spec.comm = "0123456789abcdefXYZ";  // fills all 16 bytes, no terminator
  feed(spec, "x");
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].comm, "0123456789abcde");
}

TEST_F(ReassemblerTest, ZeroLengthCall) {
  ChunkSpec spec;
  spec.call_len = 0;
  spec.capture_len = 0;
  feed(spec, "");
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].len, 0u);
  EXPECT_EQ(sink.records[0].data, "");
  EXPECT_EQ(sink.records[0].truncation, Truncation::none);
}

TEST_F(ReassemblerTest, InterleavedMultiChunkCallsAreReassembledExactly) {
  // Three threads with calls of several chunks each, their chunks interleaved (as chunks
  // from several CPUs are in the ring), plus one-chunk calls of a fourth thread between.
  struct Call {
    ChunkSpec spec;
    std::string data;
  };
  std::vector<Call> calls;
  const size_t sizes[] = {3 * kChunk, 2 * kChunk + 1, 5 * kChunk - 7};
  for (uint32_t i = 0; i < 3; i++) {
    Call call;
    call.spec.pid = 500;
    call.spec.tid = 501 + i;
    call.spec.call_id = 1000 + i;
    call.spec.direction = i == 1 ? TLSTAP_DIR_READ : TLSTAP_DIR_WRITE;
    call.spec.function =
        i == 1 ? function_id("openssl", "SSL_read") : function_id("openssl", "SSL_write");
    call.data = pattern_bytes(sizes[i], i + 1);
    call.spec.call_len = call.spec.capture_len = call.data.size();
    calls.push_back(call);
  }
  std::vector<std::vector<std::pair<ChunkSpec, std::string>>> pending;
  for (const Call& call : calls) pending.push_back(chunks_of(call.spec, call.data));

  std::set<std::string> small_calls;  // the one-chunk calls of tid 900
  uint64_t small_id = 5000;
  for (size_t round = 0;; round++) {
    bool any = false;
    for (auto& chunks : pending) {
      if (round < chunks.size()) {
        feed(chunks[round].first, chunks[round].second);
        any = true;
      }
      ChunkSpec small;
      small.tid = 900;
      small.call_id = small_id++;
      std::string data = "small " + std::to_string(small.call_id);
      small.call_len = small.capture_len = data.size();
      feed(small, data);
      small_calls.insert(data);
    }
    if (!any) break;
  }

  EXPECT_EQ(reassembler.malformed_chunks(), 0u);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
  size_t big_records = 0;
  for (const CapturedRecord& r : sink.records) {
    if (r.tid == 900) {
      EXPECT_EQ(small_calls.count(r.data), 1u);
      EXPECT_EQ(r.truncation, Truncation::none);
      continue;
    }
    big_records++;
    ASSERT_GE(r.tid, 501u);
    ASSERT_LE(r.tid, 503u);
    const Call& call = calls[r.tid - 501];
    EXPECT_EQ(r.len, call.data.size());
    EXPECT_EQ(r.data.size(), call.data.size());
    EXPECT_TRUE(r.data == call.data) << "bytes differ for tid " << r.tid;
    EXPECT_EQ(r.truncation, Truncation::none);
    EXPECT_EQ(r.direction, r.tid == 502 ? Direction::read : Direction::write);
  }
  EXPECT_EQ(big_records, 3u);
  EXPECT_EQ(sink.records.size(), 3 + small_calls.size());
}

TEST_F(ReassemblerTest, ChunksOfAnyLengthAreJoined) {
  // Reassembly goes by offsets, not by the chunk size BPF happens to use.
  const std::string data = pattern_bytes(1000, 9);
  ChunkSpec spec;
  spec.call_len = spec.capture_len = data.size();
  size_t offset = 0;
  for (size_t length : {1, 2, 3, 500, 94, 400}) {
    spec.offset = offset;
    feed(spec, std::string_view(data).substr(offset, length));
    offset += length;
  }
  ASSERT_EQ(offset, data.size());
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, data);
  EXPECT_EQ(sink.records[0].truncation, Truncation::none);
}

TEST_F(ReassemblerTest, TruncatedByMaxBytesSingleChunk) {
  const std::string data = pattern_bytes(100, 3);
  ChunkSpec spec;
  spec.call_len = 5000;
  spec.capture_len = 100;
  feed(spec, data);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].len, 5000u);
  EXPECT_EQ(sink.records[0].data, data);
  EXPECT_EQ(sink.records[0].truncation, Truncation::max_bytes);
}

TEST_F(ReassemblerTest, TruncatedByMaxBytesMultiChunk) {
  const std::string data = pattern_bytes(2 * kChunk + 100, 4);
  ChunkSpec spec;
  spec.call_len = 1 << 20;
  spec.capture_len = data.size();
  for (auto& [chunk_spec, chunk] : chunks_of(spec, data)) feed(chunk_spec, chunk);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].len, uint64_t{1} << 20);
  EXPECT_TRUE(sink.records[0].data == data);
  EXPECT_EQ(sink.records[0].truncation, Truncation::max_bytes);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
}

TEST_F(ReassemblerTest, BytesBeyondCaptureLenAreIgnored) {
  ChunkSpec spec;
  spec.call_len = 10;
  spec.capture_len = 4;
  feed(spec, "0123456789");  // a chunk longer than the capture: only capture_len is kept
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, "0123");
  EXPECT_EQ(sink.records[0].truncation, Truncation::max_bytes);

  spec.call_id = 2;
  spec.call_len = spec.capture_len = 6;
  spec.offset = 0;
  feed(spec, "abc");
  spec.offset = 3;
  feed(spec, "defXYZ");
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].data, "abcdef");
  EXPECT_EQ(sink.records[1].truncation, Truncation::none);
}

TEST_F(ReassemblerTest, LostTailThenNewCallOnSameThread) {
  const std::string first = pattern_bytes(3 * kChunk, 5);
  ChunkSpec spec;
  spec.tid = 42;
  spec.call_id = 10;
  spec.call_len = spec.capture_len = first.size();
  feed(spec, std::string_view(first).substr(0, kChunk));
  spec.offset = kChunk;
  feed(spec, std::string_view(first).substr(kChunk, kChunk));
  // ... the third chunk was never delivered; the thread's next call starts.
  EXPECT_TRUE(sink.records.empty());
  EXPECT_EQ(reassembler.pending_calls(), 1u);

  ChunkSpec next;
  next.tid = 42;
  next.call_id = 11;
  next.call_len = next.capture_len = 5;
  next.direction = TLSTAP_DIR_READ;
  next.function = function_id("openssl", "SSL_read");
  feed(next, "hello");

  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].len, first.size());
  EXPECT_TRUE(sink.records[0].data == first.substr(0, 2 * kChunk));
  EXPECT_EQ(sink.records[0].truncation, Truncation::ring_buffer_full);
  EXPECT_EQ(sink.records[1].data, "hello");
  EXPECT_EQ(sink.records[1].truncation, Truncation::none);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
  EXPECT_EQ(reassembler.malformed_chunks(), 0u);
}

TEST_F(ReassemblerTest, OtherThreadsDoNotEndAPendingCall) {
  ChunkSpec spec;
  spec.tid = 1;
  spec.call_id = 1;
  spec.call_len = spec.capture_len = 10;
  feed(spec, "01234");
  ChunkSpec other;
  other.tid = 2;
  other.call_id = 2;
  other.call_len = other.capture_len = 2;
  feed(other, "zz");
  EXPECT_EQ(reassembler.pending_calls(), 1u);
  spec.offset = 5;
  feed(spec, "56789");
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].data, "0123456789");
  EXPECT_EQ(sink.records[1].truncation, Truncation::none);
}

TEST_F(ReassemblerTest, ExpireEmitsOnlyQuietCalls) {
  ChunkSpec spec;
  spec.tid = 1;
  spec.call_id = 1;
  spec.call_len = spec.capture_len = 100;
  feed(spec, "partial");
  const uint64_t after_feed = clock_ns(CLOCK_MONOTONIC);
  constexpr uint64_t kQuiet = 1'000'000'000;

  reassembler.expire(after_feed, kQuiet);  // not quiet long enough
  EXPECT_TRUE(sink.records.empty());
  EXPECT_EQ(reassembler.pending_calls(), 1u);

  reassembler.expire(after_feed + 2 * kQuiet, kQuiet);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, "partial");
  EXPECT_EQ(sink.records[0].len, 100u);
  EXPECT_EQ(sink.records[0].truncation, Truncation::ring_buffer_full);
  EXPECT_EQ(reassembler.pending_calls(), 0u);

  // A late chunk of the expired call is malformed (its first chunk is gone), not a record.
  spec.offset = 7;
  feed(spec, "rest");
  EXPECT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(reassembler.malformed_chunks(), 1u);

  // The thread's next call is unaffected.
  spec.call_id = 2;
  spec.offset = 0;
  spec.call_len = spec.capture_len = 2;
  feed(spec, "ok");
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].data, "ok");
}

TEST_F(ReassemblerTest, FinishAllEmitsEveryPendingCall) {
  for (uint32_t tid = 1; tid <= 5; tid++) {
    ChunkSpec spec;
    spec.tid = tid;
    spec.call_id = tid * 10;
    spec.call_len = spec.capture_len = 1000;
    feed(spec, pattern_bytes(tid * 10, tid));
  }
  EXPECT_EQ(reassembler.pending_calls(), 5u);
  reassembler.finish_all();
  EXPECT_EQ(reassembler.pending_calls(), 0u);
  ASSERT_EQ(sink.records.size(), 5u);
  for (const CapturedRecord& r : sink.records) {
    EXPECT_EQ(r.data, pattern_bytes(r.tid * 10, r.tid));
    EXPECT_EQ(r.len, 1000u);
    EXPECT_EQ(r.truncation, Truncation::ring_buffer_full);
  }
  reassembler.finish_all();  // idempotent
  EXPECT_EQ(sink.records.size(), 5u);
}

TEST_F(ReassemblerTest, PageFaultOnFirstChunk) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 4 * kChunk;
  spec.flags = TLSTAP_CHUNK_READ_FAULT;
  feed(spec, "");  // BPF sends a fault chunk with chunk_len 0
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, "");
  EXPECT_EQ(sink.records[0].len, 4 * kChunk);
  EXPECT_EQ(sink.records[0].truncation, Truncation::page_fault);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
}

TEST_F(ReassemblerTest, PageFaultOnLaterChunkKeepsThePrefix) {
  const std::string data = pattern_bytes(3 * kChunk, 6);
  ChunkSpec spec;
  spec.call_len = spec.capture_len = data.size();
  feed(spec, std::string_view(data).substr(0, kChunk));
  spec.offset = kChunk;
  spec.flags = TLSTAP_CHUNK_READ_FAULT;
  feed(spec, "");
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_TRUE(sink.records[0].data == data.substr(0, kChunk));
  EXPECT_EQ(sink.records[0].len, data.size());
  EXPECT_EQ(sink.records[0].truncation, Truncation::page_fault);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
}

TEST_F(ReassemblerTest, ChunkWithoutFirstChunkIsMalformed) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 3 * kChunk;
  spec.offset = kChunk;
  feed(spec, pattern_bytes(kChunk, 1));
  EXPECT_TRUE(sink.records.empty());
  EXPECT_EQ(reassembler.malformed_chunks(), 1u);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
}

TEST_F(ReassemblerTest, OffsetGapIsMalformedAndEndsTheCall) {
  const std::string data = pattern_bytes(3 * kChunk, 7);
  ChunkSpec spec;
  spec.call_len = spec.capture_len = data.size();
  feed(spec, std::string_view(data).substr(0, kChunk));
  spec.offset = 2 * kChunk;  // the middle chunk is missing
  feed(spec, std::string_view(data).substr(2 * kChunk));
  EXPECT_EQ(reassembler.malformed_chunks(), 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_TRUE(sink.records[0].data == data.substr(0, kChunk));  // only the trusted prefix
  EXPECT_EQ(sink.records[0].truncation, Truncation::ring_buffer_full);
  EXPECT_EQ(reassembler.pending_calls(), 0u);
}

TEST_F(ReassemblerTest, RepeatedOrBackwardsOffsetIsMalformed) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 30;
  feed(spec, "0123456789");
  spec.offset = 5;  // overlaps what was received
  feed(spec, "56789abcde");
  EXPECT_EQ(reassembler.malformed_chunks(), 1u);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, "0123456789");
  EXPECT_EQ(sink.records[0].truncation, Truncation::ring_buffer_full);
}

TEST_F(ReassemblerTest, DuplicateFirstChunkIsMalformed) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 20;
  feed(spec, "0123456789");
  feed(spec, "0123456789");  // same call_id, offset 0 again
  EXPECT_EQ(reassembler.malformed_chunks(), 1u);
  spec.offset = 10;
  feed(spec, "abcdefghij");
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, "0123456789abcdefghij");
}

TEST_F(ReassemblerTest, InconsistentLengthsAreMalformed) {
  ChunkSpec spec;
  spec.call_len = 10;
  spec.capture_len = 20;  // more captured than the call moved
  feed(spec, "0123456789");
  spec.call_id = 2;
  spec.call_len = ~uint64_t{0};
  spec.capture_len = TLSTAP_MAX_CAPTURE_BYTES + 1;  // beyond what BPF can send
  feed(spec, "0123456789");
  EXPECT_EQ(reassembler.malformed_chunks(), 2u);
  EXPECT_TRUE(sink.records.empty());
  EXPECT_EQ(reassembler.pending_calls(), 0u);
}

TEST_F(ReassemblerTest, RandomMalformedStreamNeverCrashesAndEndsEmpty) {
  // A deterministic stream of plausible-but-wrong chunks. Whatever comes out must respect
  // the record invariants.
  uint64_t x = 12345;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 5000; i++) {
    ChunkSpec spec;
    spec.tid = static_cast<uint32_t>(next() % 4);
    spec.call_id = next() % 8;
    spec.call_len = next() % 70000;
    spec.capture_len = next() % 2 ? spec.call_len : next() % 70000;
    spec.offset = next() % 3 == 0 ? 0 : (next() % 5) * 1000;
    spec.flags = next() % 50 == 0 ? TLSTAP_CHUNK_READ_FAULT : 0;
    feed(spec, pattern_bytes(next() % 3000, i));
    if (i % 1000 == 999) reassembler.expire(clock_ns(CLOCK_MONOTONIC) + 10, 0);
  }
  reassembler.finish_all();
  EXPECT_EQ(reassembler.pending_calls(), 0u);
  EXPECT_GT(reassembler.malformed_chunks(), 0u);
  for (const CapturedRecord& r : sink.records) {
    EXPECT_LE(r.data.size(), r.len);
    if (r.truncation == Truncation::none) {
      EXPECT_EQ(r.data.size(), r.len);
    }
  }
}

}  // namespace
}  // namespace tlstap
