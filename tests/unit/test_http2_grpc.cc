#include "protocols/http2/grpc.h"

#include <gtest/gtest.h>

namespace tlstap::http2 {
namespace {

TEST(Grpc, ContentType) {
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc+proto"));
  EXPECT_TRUE(is_grpc_content_type("Application/GRPC;charset=utf-8"));
  EXPECT_FALSE(is_grpc_content_type("application/grpc-web"));
  EXPECT_FALSE(is_grpc_content_type("application/json"));
  EXPECT_FALSE(is_grpc_content_type("application/grp"));
}

TEST(Grpc, Path) {
  http::Grpc g;
  split_grpc_path("/grpc.health.v1.Health/Check", g);
  EXPECT_EQ(g.service, "grpc.health.v1.Health");
  EXPECT_EQ(g.method, "Check");
  for (const char* odd : {"/", "/x", "/Svc/", "//M", "/a/b/c", "nope/M", "/a/b?q=1"}) {
    http::Grpc none;
    split_grpc_path(odd, none);
    EXPECT_EQ(none.service, "") << odd;
    EXPECT_EQ(none.method, "") << odd;
  }
}

TEST(Grpc, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b%2fc"), "a b/c");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%2"), "%zz%2");
}

TEST(Grpc, Status) {
  http::Grpc g;
  read_grpc_status({{"grpc-status", "0"}}, g);
  EXPECT_EQ(g.status, 0);
  http::Grpc bad;
  read_grpc_status({{"grpc-status", "x1"}, {"grpc-message", "m%21"}}, bad);
  EXPECT_FALSE(bad.status);
  EXPECT_EQ(bad.message, "m!");
}

TEST(Grpc, MessageCounterAtEverySplit) {
  std::string stream = std::string("\0\0\0\0\3abc", 8) + std::string("\1\0\0\0\0", 5) +
                       std::string("\0\0\0\0\2xy", 7);
  for (size_t at = 0; at <= stream.size(); ++at) {
    GrpcMessageCounter counter;
    counter.feed(stream.substr(0, at));
    counter.feed(stream.substr(at));
    EXPECT_EQ(counter.messages(), 3u) << at;
  }
  GrpcMessageCounter partial;
  partial.feed(stream.substr(0, stream.size() - 1));
  EXPECT_EQ(partial.messages(), 2u);
}

}  // namespace
}  // namespace tlstap::http2
