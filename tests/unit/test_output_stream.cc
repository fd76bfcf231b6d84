// OutputStream never loses a write silently: errors are kept, unwritten records counted.
#include "output/output_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "output/sinks.h"
#include "test_support.h"

namespace tlstap {
namespace {

// Runs `body` with standard output redirected to `path` (OutputStream::standard_output()
// is the only way to get a stream on a descriptor not opened by create_private_file, which
// would chmod the device node). Nothing else may print while it runs.
template <typename Body>
void with_stdout_redirected(const char* path, Body body) {
  std::fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  int target = open(path, O_WRONLY | O_CLOEXEC);
  ASSERT_GE(target, 0) << path;
  ASSERT_EQ(dup2(target, STDOUT_FILENO), STDOUT_FILENO);
  close(target);
  body();
  dup2(saved, STDOUT_FILENO);
  close(saved);
}

DataRecord sample_record(std::string_view data) {
  DataRecord record;
  record.comm = "curl";
  record.library = "openssl";
  record.function = "SSL_write";
  record.direction = Direction::write;
  record.len = data.size();
  record.data = data;
  return record;
}

TEST(OutputStream, WriteErrorIsKeptAndRecordsAreCounted) {
  std::optional<std::string> first_error, second_error;
  uint64_t unwritten_after_first = 0, unwritten_after_second = 0, unwritten_after_third = 0;
  with_stdout_redirected("/dev/full", [&] {
    OutputStream out = OutputStream::standard_output();
    auto sink = make_sink(OutputFormat::json, out);
    for (int i = 0; i < 3; i++) sink->data(sample_record("hello"));
    out.sync();  // errors are the writer thread's: known once it has written
    first_error = out.error();
    unwritten_after_first = out.records_not_written();

    sink->data(sample_record("more"));
    sink->lost(LostRecord{1, 2});
    out.sync();
    second_error = out.error();
    unwritten_after_second = out.records_not_written();

    // Records large enough to flush on their own (the 256 KiB threshold) are counted too.
    std::string big(800000, 'x');
    for (int i = 0; i < 4; i++) sink->data(sample_record(big));
    out.sync();
    unwritten_after_third = out.records_not_written();
  });
  ASSERT_TRUE(first_error);
  EXPECT_NE(first_error->find("stdout"), std::string::npos) << *first_error;
  EXPECT_NE(first_error->find("No space left on device"), std::string::npos) << *first_error;
  EXPECT_EQ(unwritten_after_first, 3u);
  EXPECT_EQ(second_error, first_error);  // the first error is the one kept
  EXPECT_EQ(unwritten_after_second, 5u);
  EXPECT_EQ(unwritten_after_third, 9u);
}

TEST(OutputStream, TextSinkWriteErrorIsCountedToo) {
  std::optional<std::string> error;
  uint64_t unwritten = 0;
  with_stdout_redirected("/dev/full", [&] {
    OutputStream out = OutputStream::standard_output();
    auto sink = make_sink(OutputFormat::text, out);
    sink->data(sample_record("GET / HTTP/1.1\r\n\r\n"));
    sink->data(sample_record("x"));
    out.sync();
    out.sync();  // flushing again counts nothing twice
    error = out.error();
    unwritten = out.records_not_written();
  });
  EXPECT_TRUE(error);
  EXPECT_EQ(unwritten, 2u);
}

TEST(OutputStream, MovedFromStreamIsHarmless) {
  test::TempDir dir;
  auto opened = OutputStream::create_private_file(dir.file("a.out"));
  ASSERT_TRUE(opened);
  OutputStream moved(std::move(*opened));
  moved.append(std::string_view("abc"));
  moved.sync();
  EXPECT_FALSE(moved.error());
  EXPECT_EQ(test::read_file(dir.file("a.out")), "abc");
  EXPECT_EQ(moved.name(), dir.file("a.out"));
}

TEST(OutputStream, SuccessfulWritesCountNothingUnwritten) {
  test::TempDir dir;
  auto opened = OutputStream::create_private_file(dir.file("ok.out"));
  ASSERT_TRUE(opened);
  auto sink = make_sink(OutputFormat::json, *opened);
  for (int i = 0; i < 10; i++) sink->data(sample_record("fine"));
  opened->sync();
  EXPECT_FALSE(opened->error());
  EXPECT_EQ(opened->records_not_written(), 0u);
}

// The session flushes after every drain of the ring and never waits for the writer: records
// must still reach the file at once, not when a buffer fills or at exit.
TEST(OutputStream, FlushedRecordsAppearWithoutWaiting) {
  test::TempDir dir;
  auto opened = OutputStream::create_private_file(dir.file("soon.out"));
  ASSERT_TRUE(opened);
  opened->append(std::string_view("one line\n"));
  opened->flush();
  std::string content;
  for (int i = 0; i < 100 && content.empty(); i++) {
    usleep(10'000);
    content = test::read_file(dir.file("soon.out"));
  }
  EXPECT_EQ(content, "one line\n");
}

TEST(OutputStream, DestroyedStreamWritesWhatItWasGiven) {
  test::TempDir dir;
  std::string expected;
  {
    auto opened = OutputStream::create_private_file(dir.file("end.out"));
    ASSERT_TRUE(opened);
    auto sink = make_sink(OutputFormat::json, *opened);
    std::string big(300000, 'y');  // flushed on its own: queued when the stream ends
    sink->data(sample_record(big));
    sink->data(sample_record("last, never flushed"));
  }
  std::string content = test::read_file(dir.file("end.out"));
  EXPECT_EQ(std::count(content.begin(), content.end(), '\n'), 2);
  EXPECT_NE(content.find("bGFzdCwgbmV2ZXIgZmx1c2hlZA=="), std::string::npos);
}

// `tlstap -o /dev/null` run as root must not make /dev/null 0600 for the whole machine: only
// a regular file is made private. This test makes its own copy of /dev/full's device node
// (needs CAP_MKNOD) and checks that its mode is left alone.
TEST(OutputStream, DeviceNodeModeIsNotChanged) {
  test::TempDir dir;
  const std::string node = dir.file("full");
  if (mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0) {
    GTEST_SKIP() << "mknod needs CAP_MKNOD";
  }
  ASSERT_EQ(chmod(node.c_str(), 0666), 0);
  {
    auto opened = OutputStream::create_private_file(node);
    ASSERT_TRUE(opened) << opened.error().message;
  }
  struct stat st {};
  ASSERT_EQ(stat(node.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
}

}  // namespace
}  // namespace tlstap
