// The registry of TLS stacks: function ids, and what the GnuTLS descriptor tells the probes.
#include "stacks/registry.h"

#include <set>
#include <string_view>

#include <gtest/gtest.h>

namespace tlstap {
namespace {

TEST(StackRegistry, EveryFunctionHasItsOwnIdThatLeadsBackToIt) {
  std::set<uint8_t> ids;
  for (const TlsStack* stack : tls_stacks()) {
    for (const TlsFunction& function : stack->functions) {
      uint8_t id = function_id(*stack, function);
      ASSERT_NE(id, 0) << function.symbol;
      EXPECT_TRUE(ids.insert(id).second) << function.symbol;
      std::optional<StackFunction> found = function_by_id(id);
      ASSERT_TRUE(found) << function.symbol;
      EXPECT_EQ(found->stack, stack);
      EXPECT_EQ(found->function, &function);
      EXPECT_EQ(function_id(stack->name, function.symbol), id);
    }
  }
  EXPECT_EQ(function_id("gnutls", "gnutls_record_send_file"), 0);
}

TEST(StackRegistry, GnuTlsRecordFunctionsReturnSsizeT) {
  const TlsStack* gnutls = find_stack("gnutls");
  ASSERT_NE(gnutls, nullptr);
  ASSERT_EQ(gnutls->library_prefixes.size(), 1u);
  EXPECT_EQ(gnutls->library_prefixes[0], "libgnutls.so");
  struct Expected {
    std::string_view symbol;
    Direction direction;
  };
  for (Expected expected : {Expected{"gnutls_record_send", Direction::write},
                            Expected{"gnutls_record_send2", Direction::write},
                            Expected{"gnutls_record_send_range", Direction::write},
                            Expected{"gnutls_record_recv", Direction::read},
                            Expected{"gnutls_record_recv_seq", Direction::read},
                            Expected{"gnutls_record_recv_early_data", Direction::read}}) {
    const TlsFunction* function = gnutls->function(expected.symbol);
    ASSERT_NE(function, nullptr) << expected.symbol;
    EXPECT_EQ(function->direction, expected.direction) << expected.symbol;
    EXPECT_EQ(function->shape, CallShape::buffer_length) << expected.symbol;
    EXPECT_TRUE(function->returns_64bit) << expected.symbol;
  }
  // Probed only so that the writes inside it, which resend what corked writes queued, are not
  // reported twice.
  const TlsFunction* uncork = gnutls->function("gnutls_record_uncork");
  ASSERT_NE(uncork, nullptr);
  EXPECT_EQ(uncork->shape, CallShape::flush_buffered);
  EXPECT_EQ(uncork->direction, Direction::write);
  // Their plaintext is reported by gnutls_record_send inside them, or is not in a caller's
  // buffer.
  for (std::string_view absent :
       {"gnutls_record_send_file", "gnutls_record_send_early_data", "gnutls_record_recv_packet"}) {
    EXPECT_EQ(gnutls->function(absent), nullptr) << absent;
  }
}

}  // namespace
}  // namespace tlstap
