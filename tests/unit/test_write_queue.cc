// WriteQueue: buffers reach the descriptor in order and byte-exact, memory stays bounded (the
// producer waits when the queue is full), write errors are kept and unwritten records counted,
// and nothing handed over is dropped at shutdown.
#include "output/write_queue.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace tlstap {
namespace {

using namespace std::chrono_literals;

constexpr size_t kBuffer = 64 << 10;  // buffer reservation in these tests

// A pipe; the test decides when (and whether) its read end is read.
struct Pipe {
  // The smallest pipe (one page) makes the writer block inside its first buffer when nobody
  // reads; the default (64 KiB) would take a whole test buffer first.
  explicit Pipe(bool smallest = true) {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
    if (smallest) {
      EXPECT_EQ(fcntl(write_end, F_SETPIPE_SZ, 4096), 4096);
    }
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read_end >= 0) close(read_end);
    read_end = -1;
  }
  void close_write() {
    if (write_end >= 0) close(write_end);
    write_end = -1;
  }
  // Reads until EOF (the write end closed).
  std::string read_all() const {
    std::string out;
    char chunk[65536];
    for (;;) {
      ssize_t n = read(read_end, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return out;
      out.append(chunk, static_cast<size_t>(n));
    }
  }
  // Whether a byte can be read within `timeout`.
  bool readable_within(std::chrono::milliseconds timeout) const {
    pollfd p{read_end, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  }
  int read_end = -1;
  int write_end = -1;
};

// A full buffer from the queue: its whole reservation, so it never joins another one.
std::string full_buffer(WriteQueue& queue, uint64_t seed) {
  std::string buffer = queue.take_buffer();
  buffer += test::pattern_bytes(buffer.capacity(), seed);
  return buffer;
}

TEST(WriteQueue, BuffersArriveInOrderByteExact) {
  Pipe pipe(false);
  std::string expected;
  std::string received;
  std::thread reader([&] { received = pipe.read_all(); });
  {
    WriteQueue queue(pipe.write_end, "pipe", 1 << 20, kBuffer);
    for (uint64_t i = 0; i < 300; i++) {
      std::string buffer = queue.take_buffer();
      // Small (joined to the queued buffer before), full, larger than a reservation, and
      // once larger than the whole queue.
      size_t size = i % 3 == 0 ? 100 + i : i % 3 == 1 ? buffer.capacity() : 3 * kBuffer + i;
      if (i == 151) size = 2 << 20;
      buffer += test::pattern_bytes(size, i);
      expected += buffer;
      queue.push(std::move(buffer), 1);
    }
    queue.wait_written();
    EXPECT_FALSE(queue.error());
    EXPECT_EQ(queue.records_not_written(), 0u);
    // Only the buffer larger than the whole capacity went past it, alone.
    EXPECT_EQ(queue.stats().peak_bytes, 2u << 20);
  }
  pipe.close_write();
  reader.join();
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected);
}

TEST(WriteQueue, ProducerWaitsWhenFullAndMemoryStaysBounded) {
  Pipe pipe;  // nobody reads yet: the writer blocks once the pipe's page is full
  std::string expected;
  for (uint64_t i = 0; i < 10; i++) expected += test::pattern_bytes(kBuffer, i);
  WriteQueue queue(pipe.write_end, "pipe", 3 * kBuffer, kBuffer);
  std::atomic<int> pushed = 0;
  std::thread producer([&] {
    for (uint64_t i = 0; i < 10; i++) {
      std::string buffer = queue.take_buffer();
      buffer += std::string_view(expected).substr(i * kBuffer, kBuffer);
      queue.push(std::move(buffer), 1);
      pushed++;
    }
  });
  // One buffer being written (blocked), two queued: the fourth push waits.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(pushed.load(), 3);
  EXPECT_EQ(queue.stats().peak_bytes, 3 * kBuffer);

  std::string received;
  std::thread reader([&] { received = pipe.read_all(); });
  producer.join();
  queue.wait_written();
  pipe.close_write();
  reader.join();
  EXPECT_TRUE(received == expected);
  WriteQueue::Stats stats = queue.stats();
  EXPECT_EQ(stats.capacity_bytes, 3 * kBuffer);
  EXPECT_LE(stats.peak_bytes, 3 * kBuffer);
  EXPECT_GE(stats.producer_waits, 1u);
  EXPECT_GE(stats.producer_wait_time, 200ms);
  EXPECT_EQ(queue.records_not_written(), 0u);
}

TEST(WriteQueue, SmallBuffersJoinTheQueuedOneInsteadOfHoldingAnAllocationEach) {
  Pipe pipe;
  WriteQueue queue(pipe.write_end, "pipe", 4 * kBuffer, kBuffer);
  std::string expected = full_buffer(queue, 1);
  queue.push(std::string(expected), 1);  // the writer blocks in it: the pipe is not read
  for (uint64_t i = 0; i < 500; i++) {   // a periodic flush of 100 bytes, while stalled
    std::string small = queue.take_buffer();
    small += test::pattern_bytes(100, i);
    expected += small;
    queue.push(std::move(small), 1);
  }
  // 50,000 bytes in one queued buffer, beside the one being written.
  EXPECT_EQ(queue.stats().peak_bytes, 2 * kBuffer);
  std::string received;
  std::thread reader([&] { received = pipe.read_all(); });
  queue.wait_written();
  pipe.close_write();
  reader.join();
  EXPECT_TRUE(received == expected);
}

TEST(WriteQueue, WrittenPromptlyWithoutWaiting) {
  Pipe pipe;
  WriteQueue queue(pipe.write_end, "pipe", 1 << 20, kBuffer);
  std::string buffer = queue.take_buffer();
  buffer += "one record\n";
  queue.push(std::move(buffer), 1);
  EXPECT_TRUE(pipe.readable_within(1000ms));
  char got[32] = {};
  EXPECT_EQ(read(pipe.read_end, got, sizeof(got)), 11);
  EXPECT_STREQ(got, "one record\n");
}

TEST(WriteQueue, ClosedPipeKeepsTheFirstErrorAndCountsEveryUnwrittenRecord) {
  Pipe pipe;
  pipe.close_read();  // EPIPE (the writer thread blocks SIGPIPE, so no signal kills the test)
  WriteQueue queue(pipe.write_end, "pipe", 1 << 20, kBuffer);
  queue.push(full_buffer(queue, 1), 2);
  queue.push(full_buffer(queue, 2), 3);
  queue.push(full_buffer(queue, 3), 4);
  queue.wait_written();
  std::optional<std::string> error = queue.error();
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, "writing pipe: Broken pipe");
  EXPECT_EQ(queue.records_not_written(), 9u);  // records, not buffers or bytes

  queue.push(full_buffer(queue, 4), 5);  // after an error: counted at once, not queued
  EXPECT_EQ(queue.records_not_written(), 14u);
  queue.wait_written();
  EXPECT_EQ(queue.error(), error);  // the first error is the one kept
  EXPECT_EQ(queue.records_not_written(), 14u);
}

// A disk that fills part way through a buffer: the records wholly written before the failure
// are in the file and not counted; every other record of that buffer is. (RLIMIT_FSIZE makes
// the write stop at a chosen size: a short write, then EFBIG, as a full disk would.)
TEST(WriteQueue, WriteFailingPartWayCountsOnlyTheRecordsNotWhollyWritten) {
  test::TempDir dir;
  const std::string path = dir.file("limited");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  sighandler_t previous = signal(SIGXFSZ, SIG_IGN);
  rlimit limited = saved;
  limited.rlim_cur = 450;  // records of 100 bytes: 4 fit whole, the 5th is cut
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  uint64_t not_written = 0;
  std::optional<std::string> error;
  {
    WriteQueue queue(fd, "limited", 1 << 20, kBuffer);
    std::string data = queue.take_buffer();
    std::vector<size_t> ends;
    for (int i = 0; i < 10; i++) {
      data += std::string(99, static_cast<char>('a' + i)) + "\n";
      ends.push_back(data.size());
    }
    queue.push(std::move(data), std::move(ends));
    queue.wait_written();
    not_written = queue.records_not_written();
    error = queue.error();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, previous);
  close(fd);
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, "writing limited: File too large");
  EXPECT_EQ(test::read_file(path).size(), 450u);
  EXPECT_EQ(not_written, 6u);
}

// A reader that stops reading for good: Ctrl-C (the flag) releases a producer waiting for
// space once the output has taken nothing for a while after it, its records and all later
// ones are counted, and the final wait gives up once nothing moves, saying how many records
// are stuck. (A reader that only pauses is waited for: test_output_stall.py.)
TEST(WriteQueue, StopFlagReleasesAProducerWaitingOnAReaderThatStoppedReading) {
  Pipe pipe;  // never read
  volatile sig_atomic_t stop = 0;
  auto* queue = new WriteQueue(pipe.write_end, "pipe", 2 * kBuffer, kBuffer);
  queue->give_up_waiting_when(&stop, 300ms);
  std::atomic<bool> returned = false;
  std::thread producer([&] {
    for (uint64_t i = 0; i < 4; i++) queue->push(full_buffer(*queue, i), 10);
    returned = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(returned) << "the producer waits for space while no flag is set";
  stop = 1;
  producer.join();
  ASSERT_TRUE(queue->error());
  EXPECT_EQ(*queue->error(), "writing pipe: stopped while it was not being read");
  // Buffer 0 is being written (blocked), buffer 1 is queued, buffer 2 was given up on; buffer
  // 3 came after the error.
  EXPECT_EQ(queue->records_not_written(), 20u);
  EXPECT_EQ(queue->records_pending(), 20u);
  EXPECT_FALSE(queue->wait_written_unless_stalled(300ms));
  // The writer stays blocked in write(); the queue is left to it, as tlstap leaves it to exit.
  queue->detach_writer();
  pipe.close_read();  // EPIPE: the writer gets out of write() and then waits for work forever
}

TEST(WriteQueue, ErrorWhileTheProducerWaitsForSpaceReleasesIt) {
  Pipe pipe;  // full and unread, then closed under the blocked writer
  WriteQueue queue(pipe.write_end, "pipe", 2 * kBuffer, kBuffer);
  std::atomic<bool> done = false;
  std::thread producer([&] {
    for (uint64_t i = 0; i < 20; i++) queue.push(full_buffer(queue, i), 1);
    done = true;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(done.load());
  pipe.close_read();
  producer.join();
  queue.wait_written();
  ASSERT_TRUE(queue.error());
  EXPECT_EQ(queue.records_not_written(), 20u);  // the first buffer was written in part only
}

TEST(WriteQueue, ShutdownWritesEverythingPending) {
  Pipe pipe(false);
  std::string expected;
  std::string received;
  std::thread reader([&] {
    std::this_thread::sleep_for(200ms);  // the queue is destroyed while this sleeps
    received = pipe.read_all();
  });
  {
    WriteQueue queue(pipe.write_end, "pipe", 1 << 20, kBuffer);
    for (uint64_t i = 0; i < 12; i++) {
      std::string buffer = full_buffer(queue, i);
      expected += buffer;
      queue.push(std::move(buffer), 1);
    }
  }
  pipe.close_write();
  reader.join();
  EXPECT_TRUE(received == expected);
}

TEST(WriteQueue, ShutdownAfterAnErrorWithDataPendingDoesNotHang) {
  Pipe pipe;
  auto started = std::chrono::steady_clock::now();
  {
    WriteQueue queue(pipe.write_end, "pipe", 1 << 20, kBuffer);
    for (uint64_t i = 0; i < 12; i++) queue.push(full_buffer(queue, i), 1);
    pipe.close_read();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  { WriteQueue unused(pipe.write_end, "pipe", 1 << 20, kBuffer); }  // no writer was started
}

}  // namespace
}  // namespace tlstap
