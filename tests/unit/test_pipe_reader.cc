#include "output/pipe_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <gtest/gtest.h>

namespace tlstap {
namespace {

TEST(PipeReaderGone, OnlyWhenEveryReaderClosedThePipe) {
  int ends[2];
  ASSERT_EQ(pipe(ends), 0);
  EXPECT_FALSE(pipe_reader_gone(ends[1]));  // a reader that has not read yet is still there
  close(ends[0]);
  EXPECT_TRUE(pipe_reader_gone(ends[1]));
  close(ends[1]);
}

TEST(PipeReaderGone, NeverForAFile) {
  FILE* file = tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_FALSE(pipe_reader_gone(fileno(file)));
  fclose(file);
  int null = open("/dev/null", O_WRONLY);
  ASSERT_GE(null, 0);
  EXPECT_FALSE(pipe_reader_gone(null));
  close(null);
}

}  // namespace
}  // namespace tlstap
