// --http, --http-only and --body-bytes on the command line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/options.h"

namespace tlstap {
namespace {

Result<Options> parse(std::vector<std::string> args, int& exit_code) {
  args.insert(args.begin(), "tlstap");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), exit_code);
}

TEST(HttpOptions, OffByDefaultWith4096BodyBytes) {
  int exit_code = 0;
  Result<Options> options = parse({}, exit_code);
  ASSERT_TRUE(options);
  EXPECT_FALSE(options->http);
  EXPECT_FALSE(options->http_only);
  EXPECT_EQ(options->body_bytes, 4096u);
}

TEST(HttpOptions, HttpOnlyImpliesHttp) {
  int exit_code = 0;
  Result<Options> options = parse({"--http-only", "--body-bytes", "64K"}, exit_code);
  ASSERT_TRUE(options);
  EXPECT_TRUE(options->http);
  EXPECT_TRUE(options->http_only);
  EXPECT_EQ(options->body_bytes, 65536u);
  Result<Options> plain = parse({"--http", "--body-bytes", "0"}, exit_code);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->http);
  EXPECT_FALSE(plain->http_only);
  EXPECT_EQ(plain->body_bytes, 0u);
}

TEST(HttpOptions, BadBodyBytesAndBodyBytesWithoutHttpAreUsageErrors) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--http", "--body-bytes", "lots"},
                                        std::vector<std::string>{"--http", "--body-bytes", "17M"},
                                        std::vector<std::string>{"--body-bytes", "100"}}) {
    int exit_code = 0;
    Result<Options> options = parse(args, exit_code);
    ASSERT_FALSE(options) << args.back();
    EXPECT_EQ(exit_code, 2);
    EXPECT_NE(options.error().message.find("--body-bytes"), std::string::npos);
  }
}

}  // namespace
}  // namespace tlstap
