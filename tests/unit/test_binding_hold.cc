#include "capture/binding_hold.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tlstap {
namespace {

CallMeta call_of(uint32_t pid, uint64_t ssl, uint64_t pos) {
  CallMeta meta{};
  meta.pid = pid;
  meta.ssl = ssl;
  meta.pos = pos;
  meta.conn.fd = -1;
  return meta;
}

tlstap_conn_info socket_fd(int fd) {
  tlstap_conn_info conn{};
  conn.fd = fd;
  conn.family = 2;
  return conn;
}

class BindingHoldTest : public ::testing::Test {
 protected:
  BindingHold hold_{1000, 100, [this](HeldCall&& call) { released_.push_back(std::move(call)); }};
  std::vector<HeldCall> released_;
};

TEST_F(BindingHoldTest, BindingReleasesHeldCallsInOrderWithTheSocket) {
  EXPECT_TRUE(hold_.hold(call_of(1, 0xa, 0), "first", Truncation::none, 0));
  EXPECT_TRUE(hold_.hold(call_of(1, 0xa, 5), "second", Truncation::none, 10));
  EXPECT_TRUE(released_.empty());
  hold_.bound(1, 0xa, socket_fd(7));
  ASSERT_EQ(released_.size(), 2u);
  EXPECT_EQ(released_[0].bytes, "first");
  EXPECT_EQ(released_[1].bytes, "second");
  EXPECT_EQ(released_[0].meta.conn.fd, 7);
  EXPECT_EQ(released_[1].meta.pos, 5u);
  EXPECT_EQ(hold_.held_calls(), 0u);
}

TEST_F(BindingHoldTest, OtherSslsAndProcessesAreNotReleased) {
  hold_.hold(call_of(1, 0xa, 0), "a", Truncation::none, 0);
  hold_.hold(call_of(2, 0xa, 0), "b", Truncation::none, 0);
  hold_.bound(1, 0xb, socket_fd(7));
  EXPECT_TRUE(released_.empty());
  hold_.flush_process(2);
  ASSERT_EQ(released_.size(), 1u);
  EXPECT_EQ(released_[0].bytes, "b");
  EXPECT_EQ(released_[0].meta.conn.fd, -1);  // never a guessed socket
}

TEST_F(BindingHoldTest, WindowPassedReleasesWithoutSocketAndStopsHolding) {
  hold_.hold(call_of(1, 0xa, 0), "a", Truncation::none, 0);
  hold_.expire(999);
  EXPECT_TRUE(released_.empty());
  hold_.expire(1000);
  ASSERT_EQ(released_.size(), 1u);
  EXPECT_EQ(released_[0].meta.conn.fd, -1);
  EXPECT_FALSE(hold_.hold(call_of(1, 0xa, 1), "b", Truncation::none, 2000));
  hold_.bound(1, 0xa, socket_fd(3));  // bound after all: held again from now on
  EXPECT_TRUE(hold_.hold(call_of(1, 0xa, 2), "c", Truncation::none, 2001));
}

TEST_F(BindingHoldTest, MemoryBoundReleasesTheOldestFirst) {
  hold_.hold(call_of(1, 0xa, 0), std::string(60, 'a'), Truncation::none, 0);
  hold_.hold(call_of(1, 0xb, 0), std::string(60, 'b'), Truncation::none, 1);
  ASSERT_EQ(released_.size(), 1u);  // 120 > 100 bytes: 0xa went out
  EXPECT_EQ(released_[0].meta.ssl, 0xau);
  EXPECT_EQ(hold_.held_calls(), 1u);
  hold_.flush_all();
  EXPECT_EQ(released_.size(), 2u);
}

}  // namespace
}  // namespace tlstap
