#include "cli/options.h"

#include <gtest/gtest.h>

namespace tlstap {
namespace {

TEST(ParseByteSize, UnitsAndPlainBytes) {
  EXPECT_EQ(parse_byte_size("1M"), 1048576u);
  EXPECT_EQ(parse_byte_size("16MiB"), 16u << 20);
  EXPECT_EQ(parse_byte_size("16mib"), 16u << 20);
  EXPECT_EQ(parse_byte_size("16MB"), 16u << 20);
  EXPECT_EQ(parse_byte_size("64k"), 65536u);
  EXPECT_EQ(parse_byte_size("64K"), 65536u);
  EXPECT_EQ(parse_byte_size("64KiB"), 65536u);
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("512B"), 512u);
  EXPECT_EQ(parse_byte_size("1G"), uint64_t{1} << 30);
  EXPECT_EQ(parse_byte_size("2GiB"), uint64_t{2} << 30);
  EXPECT_EQ(parse_byte_size("0"), 0u);  // a valid size; callers decide whether it is allowed
  EXPECT_EQ(parse_byte_size("007K"), 7u << 10);
  EXPECT_EQ(parse_byte_size("999999999999"), 999999999999u);
  EXPECT_EQ(parse_byte_size("999999999999M"), 999999999999ull << 20);
}

TEST(ParseByteSize, BadInputs) {
  for (const char* text : {"", "M", "MiB", "-1", "-1M", "+1M", "1.5M", "1,5M", "1 M", " 1M",
                           "1M ", "1MM", "1T", "1TB", "1Mi", "0x10", "1e6", "16 MiB", "k64",
                           "1000000000000", "99999999999999999999", "1M\n"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_byte_size(text)) << *parse_byte_size(text);
  }
}

// BUG (src/cli/options.cc, parse_byte_size): up to 12 digits are accepted and multiplied by
// the unit without an overflow check, so a G suffix wraps around: "17179869185G" is
// (2^34 + 1) GiB = 2^64 + 2^30 bytes, returned as exactly 1 GiB (accepted by
// --buffer-size). Enable once the multiplication is checked.
TEST(ParseByteSize, OverflowIsRejected) {
  EXPECT_FALSE(parse_byte_size("17179869185G"));
  EXPECT_FALSE(parse_byte_size("999999999999G"));
  EXPECT_FALSE(parse_byte_size("999999999999GiB"));
}

}  // namespace
}  // namespace tlstap
