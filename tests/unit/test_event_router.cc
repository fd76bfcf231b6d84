#include "capture/event_router.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "capture/abi_check.h"
#include "test_support.h"

namespace tlstap {
namespace {

using test::ChunkSpec;
using test::make_event;

class EventRouterTest : public ::testing::Test {
 protected:
  EventRouterTest() : router(reassembler, callbacks()) {}

  // Set by name: ProcessEvents may grow more callbacks.
  ProcessEvents callbacks() {
    ProcessEvents events;
    events.changed = [this](pid_t pid, bool exec) {
      changed.push_back(pid);
      execs.push_back(exec);
    };
    events.exited = [this](pid_t pid, uint64_t) { exited.push_back(pid); };
    return events;
  }

  // Delivers `size` bytes starting at `event` from 8-byte aligned storage, like the ring.
  void deliver(const void* event, size_t size) {
    std::vector<uint64_t> storage((size + 7) / 8 + 1);
    std::memcpy(storage.data(), event, size);
    router.on_event(storage.data(), size);
  }
  void deliver_data(const tlstap_data_event& event, size_t size) { deliver(&event, size); }

  void expect_nothing_forwarded() {
    EXPECT_TRUE(sink.records.empty());
    EXPECT_EQ(reassembler.pending_calls(), 0u);
    EXPECT_EQ(reassembler.malformed_chunks(), 0u);  // never reached the reassembler
    EXPECT_TRUE(changed.empty());
    EXPECT_TRUE(exited.empty());
  }

  test::RecordingSink sink;
  Reassembler reassembler{sink, WallClock()};
  std::vector<pid_t> changed, exited;
  std::vector<bool> execs;
  EventRouter router;
};

TEST_F(EventRouterTest, WellFormedDataEventIsForwarded) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 5;
  auto event = make_event(spec, "hello");
  deliver_data(*event, kDataEventHeaderBytes + 5);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, "hello");
  EXPECT_EQ(router.malformed_events(), 0u);
}

TEST_F(EventRouterTest, FullSizeChunkIsForwarded) {
  const std::string data = test::pattern_bytes(TLSTAP_CHUNK_BYTES, 1);
  ChunkSpec spec;
  spec.call_len = spec.capture_len = data.size();
  auto event = make_event(spec, data);
  deliver_data(*event, sizeof(tlstap_data_event));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_TRUE(sink.records[0].data == data);
  EXPECT_EQ(router.malformed_events(), 0u);
}

TEST_F(EventRouterTest, EventLargerThanItsChunkIsAccepted) {
  // The ring may round sizes up; only the chunk_len bytes are data.
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 3;
  auto event = make_event(spec, "abc");
  deliver_data(*event, kDataEventHeaderBytes + 8);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].data, "abc");
}

TEST_F(EventRouterTest, ShortEventsAreMalformed) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 5;
  auto event = make_event(spec, "hello");
  for (size_t size : {size_t{0}, size_t{1}, sizeof(tlstap_event_header) - 1,
                      sizeof(tlstap_event_header), kDataEventHeaderBytes - 1}) {
    SCOPED_TRACE(size);
    deliver_data(*event, size);
  }
  router.on_event(nullptr, 0);  // an empty event is not dereferenced
  EXPECT_EQ(router.malformed_events(), 6u);
  expect_nothing_forwarded();
}

TEST_F(EventRouterTest, ChunkLenBeyondTheEventIsMalformed) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 100;
  auto event = make_event(spec, std::string(100, 'x'));
  deliver_data(*event, kDataEventHeaderBytes + 99);  // one byte short
  deliver_data(*event, kDataEventHeaderBytes);       // no data at all
  event->chunk_len = TLSTAP_CHUNK_BYTES + 1;         // more than a chunk can be
  deliver_data(*event, sizeof(tlstap_data_event));
  event->chunk_len = 0xffffffffu;  // would overflow a careless size check
  deliver_data(*event, sizeof(tlstap_data_event));
  EXPECT_EQ(router.malformed_events(), 4u);
  expect_nothing_forwarded();
}

TEST_F(EventRouterTest, UnknownKindsAreMalformed) {
  ChunkSpec spec;
  spec.call_len = spec.capture_len = 5;
  auto event = make_event(spec, "hello");
  for (uint32_t kind : {0u, 100u, 0x10000u, 0x80000001u, 0xffffffffu}) {
    event->header.kind = kind;
    deliver_data(*event, kDataEventHeaderBytes + 5);
  }
  EXPECT_EQ(router.malformed_events(), 5u);
  expect_nothing_forwarded();
}

TEST_F(EventRouterTest, ProcessEvents) {
  tlstap_process_event event{};
  event.header.pid = 4242;
  event.header.kind = TLSTAP_EVENT_EXEC;
  deliver(&event, sizeof(event));
  event.header.kind = TLSTAP_EVENT_MMAP;
  event.header.pid = 4243;
  deliver(&event, sizeof(event));
  event.header.kind = TLSTAP_EVENT_EXIT;
  event.header.pid = 4244;
  deliver(&event, sizeof(event));
  EXPECT_EQ(changed, (std::vector<pid_t>{4242, 4243}));
  EXPECT_EQ(execs, (std::vector<bool>{true, false}));  // an exec is looked at at once
  EXPECT_EQ(exited, (std::vector<pid_t>{4244}));
  EXPECT_EQ(router.malformed_events(), 0u);
}

TEST_F(EventRouterTest, ShortProcessEventsAreMalformed) {
  tlstap_process_event event{};
  event.header.pid = 4242;
  for (uint32_t kind : {TLSTAP_EVENT_EXEC, TLSTAP_EVENT_MMAP, TLSTAP_EVENT_EXIT}) {
    event.header.kind = kind;
    deliver(&event, sizeof(event) - 1);
    deliver(&event, sizeof(tlstap_event_header));
  }
  EXPECT_EQ(router.malformed_events(), 6u);
  expect_nothing_forwarded();
}

TEST(EventRouterNoCallbacks, ProcessEventsWithoutCallbacksDoNotCrash) {
  test::RecordingSink sink;
  Reassembler reassembler(sink, WallClock());
  EventRouter router(reassembler, ProcessEvents{});
  tlstap_process_event event{};
  event.header.pid = 1;
  for (uint32_t kind : {TLSTAP_EVENT_EXEC, TLSTAP_EVENT_MMAP, TLSTAP_EVENT_EXIT}) {
    event.header.kind = kind;
    router.on_event(&event, sizeof(event));
  }
  EXPECT_EQ(router.malformed_events(), 0u);
}

}  // namespace
}  // namespace tlstap
