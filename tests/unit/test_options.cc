#include "cli/options.h"

#include <gtest/gtest.h>

#include <fstream>

#include <pwd.h>
#include <unistd.h>
#include <filesystem>

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

TEST(ParseOptions, OutputAndCaptureInOneFileHoweverSpelledIsAUsageError) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "tlstap-same-output";
  std::filesystem::create_directories(dir / "sub");
  const std::string file = (dir / "b").string();
  { std::ofstream(file) << "x"; }
  std::filesystem::remove(dir / "hard");
  std::filesystem::create_hard_link(file, dir / "hard");
  for (std::string other : {file, (dir / "." / "b").string(), (dir / "sub" / ".." / "b").string(),
                            (dir / "hard").string()}) {
    SCOPED_TRACE(other);
    int exit_code = 0;
    Result<Options> parsed = parse({"-o", file.c_str(), "-w", other.c_str()}, exit_code);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(exit_code, 2);
    EXPECT_NE(parsed.error().message.find("same file"), std::string::npos);
  }
  // Not yet existing, in another spelling: the same too.
  const std::string fresh = (dir / "new").string(), fresh_other = (dir / "sub/../new").string();
  int exit_code = 0;
  EXPECT_FALSE(parse({"-o", fresh.c_str(), "-w", fresh_other.c_str()}, exit_code));
  EXPECT_TRUE(parse({"-o", file.c_str(), "-w", fresh.c_str()}, exit_code));
  EXPECT_TRUE(parse({"-o", "-", "-w", file.c_str()}, exit_code));
  std::filesystem::remove_all(dir);
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

TEST(ParseOptions, ChildrenGoesWithPid) {
  int exit_code = 0;
  Result<Options> plain = parse({"-p", "812"}, exit_code);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->children);  // -p keeps its meaning: that process only
  Result<Options> tree = parse({"-p", "812", "--children", "-p", "900"}, exit_code);
  ASSERT_TRUE(tree);
  EXPECT_TRUE(tree->children);
  EXPECT_EQ(tree->pids, (std::vector<pid_t>{812, 900}));
}

TEST(ParseOptions, ChildrenWithoutPidIsAUsageErrorSayingWhy) {
  int exit_code = 0;
  Result<Options> alone = parse({"--children"}, exit_code);
  ASSERT_FALSE(alone);
  EXPECT_EQ(exit_code, 2);
  EXPECT_EQ(alone.error().message,
            "--children applies to -p/--pid: add -p PID to trace that process and its "
            "descendants");
  exit_code = 0;
  Result<Options> with_command = parse({"--children", "--", "nginx"}, exit_code);
  ASSERT_FALSE(with_command);
  EXPECT_EQ(exit_code, 2);
  EXPECT_EQ(with_command.error().message,
            "--children applies to -p/--pid; a COMMAND is always traced with its descendants: "
            "leave --children out");
}

TEST(ParseOptions, PortsAreNumbersFrom1To65535) {
  int exit_code = 0;
  Result<Options> parsed = parse({"--port", "1", "--port", "443", "--port", "65535"}, exit_code);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->ports, (std::vector<uint16_t>{1, 443, 65535}));
  for (const char* value : {"abc", "0", "65536", "-1", "443x", "", "99999999999999999999"}) {
    SCOPED_TRACE(value);
    exit_code = 0;
    Result<Options> bad = parse({"--port", value}, exit_code);
    ASSERT_FALSE(bad);
    EXPECT_EQ(exit_code, 2);
    EXPECT_EQ(bad.error().message,
              std::string("--port: ") + value + " is not a port number (1-65535)");
  }
}

TEST(ParseOptions, DurationIsAFinitePositiveNumberOfSeconds) {
  int exit_code = 0;
  Result<Options> parsed = parse({"-d", "0.5"}, exit_code);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->duration_seconds, 0.5);
  parsed = parse({"--duration", "10"}, exit_code);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->duration_seconds, 10.0);
  for (const char* value : {"-1", "0", "-0", "inf", "nan", "1e999", "10s", "", "ten"}) {
    SCOPED_TRACE(value);
    exit_code = 0;
    Result<Options> bad = parse({"-d", value}, exit_code);
    ASSERT_FALSE(bad);
    EXPECT_EQ(exit_code, 2);
    EXPECT_EQ(bad.error().message,
              std::string("-d/--duration: ") + value +
                  " is not a duration: expected a positive number of seconds, like 10 or 0.5");
  }
}

TEST(ParseOptions, UserIsANameOrANumericUid) {
  // Names and uids that exist on any system tlstap runs on: root is 0.
  int exit_code = 0;
  Result<Options> by_name = parse({"-u", "root"}, exit_code);
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->uid, 0u);
  const passwd* me = getpwuid(getuid());
  ASSERT_NE(me, nullptr);
  const uid_t my_uid = me->pw_uid;
  Result<Options> by_own_name = parse({"--uid", me->pw_name}, exit_code);
  ASSERT_TRUE(by_own_name);
  EXPECT_EQ(by_own_name->uid, my_uid);
  Result<Options> by_number = parse({"-u", "1234"}, exit_code);  // a uid need not have a name
  ASSERT_TRUE(by_number);
  EXPECT_EQ(by_number->uid, 1234u);
  Result<Options> none = parse({}, exit_code);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->uid);
}

TEST(ParseOptions, UnknownUserNameIsAUsageError) {
  int exit_code = 0;
  Result<Options> bad = parse({"-u", "nosuchuser-tlstap"}, exit_code);
  ASSERT_FALSE(bad);
  EXPECT_EQ(exit_code, 2);
  EXPECT_EQ(bad.error().message,
            "-u/--uid: no user named \"nosuchuser-tlstap\" (give a user name or a numeric uid)");
  exit_code = 0;
  Result<Options> too_big = parse({"-u", "4294967295"}, exit_code);  // (uid_t)-1: no user
  ASSERT_FALSE(too_big);
  EXPECT_EQ(exit_code, 2);
  EXPECT_EQ(too_big.error().message, "-u/--uid: 4294967295 is not a user id");
}

}  // namespace
TEST(ParseOptions, RedactHeaderNamesAreCheckedAndImplyRedact) {
  int exit_code = 0;
  Result<Options> named = parse({"--redact-header", "X-Api-Key"}, exit_code);
  ASSERT_TRUE(named);
  EXPECT_TRUE(named->redact);
  EXPECT_EQ(named->redact_headers, std::vector<std::string>{"X-Api-Key"});
  for (const char* bad : {"-q", "X Api", ":path", "a\nb"}) {
    SCOPED_TRACE(bad);
    Result<Options> parsed = parse({"--redact-header", bad}, exit_code);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(exit_code, 2);
    EXPECT_NE(parsed.error().message.find("--redact-header"), std::string::npos);
  }
}

}  // namespace tlstap
