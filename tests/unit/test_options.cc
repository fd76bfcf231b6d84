#include "cli/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
  for (const char* text : {"",
                           "M",
                           "MiB",
                           "-1",
                           "-1M",
                           "+1M",
                           "1.5M",
                           "1,5M",
                           "1 M",
                           " 1M",
                           "1M ",
                           "1MM",
                           "1T",
                           "1TB",
                           "1Mi",
                           "0x10",
                           "1e6",
                           "16 MiB",
                           "k64",
                           "1000000000000",
                           "99999999999999999999",
                           "1M\n"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_byte_size(text)) << *parse_byte_size(text);
  }
}

// Up to 12 digits times a unit can pass 2^64: "17179869185G" is 2^64 + 2^30 bytes and must
// not wrap around to 1 GiB.
TEST(ParseByteSize, OverflowIsRejected) {
  EXPECT_FALSE(parse_byte_size("17179869185G"));
  EXPECT_FALSE(parse_byte_size("999999999999G"));
  EXPECT_FALSE(parse_byte_size("999999999999GiB"));
}

Result<Options> parse(std::vector<std::string> args, int& exit_code) {
  args.insert(args.begin(), "tlstap");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), exit_code);
}

TEST(ParseOptions, NiceDefaultsAheadOfTracedProcessesAndCanBeChanged) {
  int exit_code = 0;
  Result<Options> defaults = parse({}, exit_code);
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->nice, -10);
  EXPECT_FALSE(defaults->nice_given);  // a failure to apply the default is said only with -v
  Result<Options> normal = parse({"--nice", "0"}, exit_code);
  ASSERT_TRUE(normal);
  EXPECT_EQ(normal->nice, 0);
  EXPECT_TRUE(normal->nice_given);
  Result<Options> lowest = parse({"--nice", "19"}, exit_code);
  ASSERT_TRUE(lowest);
  EXPECT_EQ(lowest->nice, 19);
}

TEST(ParseOptions, ExistingOutputIsKeptUnlessForced) {
  int exit_code = 0;
  Result<Options> defaults = parse({"-o", "out.jsonl"}, exit_code);
  ASSERT_TRUE(defaults);
  EXPECT_FALSE(defaults->force);
  Result<Options> forced = parse({"-o", "out.jsonl", "--force"}, exit_code);
  ASSERT_TRUE(forced);
  EXPECT_TRUE(forced->force);
}

TEST(ParseOptions, NiceOutOfRangeIsAUsageError) {
  for (const char* value : {"20", "-21", "high"}) {
    SCOPED_TRACE(value);
    int exit_code = 0;
    testing::internal::CaptureStderr();  // CLI11 prints the usage error
    testing::internal::CaptureStdout();
    Result<Options> parsed = parse({"--nice", value}, exit_code);
    testing::internal::GetCapturedStdout();
    testing::internal::GetCapturedStderr();
    EXPECT_FALSE(parsed);
    EXPECT_NE(exit_code, 0);
  }
}

TEST(ParseOptions, QueueSizeDefaultsTo512MiBAndTakesSizes) {
  int exit_code = 0;
  Result<Options> defaults = parse({}, exit_code);
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->queue_bytes, uint64_t{512} << 20);
  EXPECT_EQ(defaults->queue_bytes, kDefaultQueueBytes);
  for (auto [text, bytes] :
       {std::pair{"1M", uint64_t{1} << 20}, std::pair{"512M", uint64_t{512} << 20},
        std::pair{"2G", uint64_t{2} << 30}, std::pair{"64G", uint64_t{64} << 30}}) {
    SCOPED_TRACE(text);
    Result<Options> parsed = parse({"--queue-size", text}, exit_code);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->queue_bytes, bytes);
  }
}

TEST(ParseOptions, QueueSizeOutOfRangeIsAUsageError) {
  for (const char* value : {"0", "512K", "65G", "lots", "1T"}) {
    SCOPED_TRACE(value);
    int exit_code = 0;
    Result<Options> parsed = parse({"--queue-size", value}, exit_code);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(exit_code, 2);
    EXPECT_EQ(parsed.error().message, "--queue-size: expected a size from 1M to 64G, like 512M");
  }
}

TEST(ParseOptions, EverythingAfterDoubleDashIsTheCommand) {
  // A repeatable option right before `--` (CLI11 2.1 took the command's options as tlstap's).
  for (const char* repeatable : {"--lib", "--port", "--comm"}) {
    SCOPED_TRACE(repeatable);
    int exit_code = 0;
    Result<Options> parsed =
        parse({repeatable, "443", "--", "server", "--port", "8443", "--lib", "x", "--"}, exit_code);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->command,
              (std::vector<std::string>{"server", "--port", "8443", "--lib", "x", "--"}));
  }
  int exit_code = 0;
  Result<Options> parsed =
      parse({"--lib", "/lib/a.so", "--lib", "/lib/b.so", "--", "ls"}, exit_code);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->libs, (std::vector<std::string>{"/lib/a.so", "/lib/b.so"}));
  EXPECT_EQ(parsed->ports, std::vector<uint16_t>{});
  EXPECT_EQ(parsed->command, std::vector<std::string>{"ls"});
}

}  // namespace
}  // namespace tlstap
