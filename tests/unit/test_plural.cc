#include "common/plural.h"

#include <gtest/gtest.h>

namespace tlstap {
namespace {

TEST(Counted, SingularOnlyForExactlyOne) {
  EXPECT_EQ(counted(0, "target"), "0 targets");
  EXPECT_EQ(counted(1, "target"), "1 target");
  EXPECT_EQ(counted(2, "TLS target"), "2 TLS targets");
  EXPECT_EQ(counted(1, "process", "processes"), "1 process");
  EXPECT_EQ(counted(3, "process", "processes"), "3 processes");
}

}  // namespace
}  // namespace tlstap
