// `tlstap -- COMMAND`: finding COMMAND the way execvp will, so that one that cannot run is
// said before anything is set up for it.
#include "cli/child_command.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "test_support.h"

namespace tlstap {
namespace {

// Sets PATH for one test and puts the old value back.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& value) {
    if (const char* old = getenv("PATH")) old_ = old;
    setenv("PATH", value.c_str(), 1);
  }
  ~ScopedPath() {
    if (old_) {
      setenv("PATH", old_->c_str(), 1);
    } else {
      unsetenv("PATH");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(LookUpExecutable, FoundOnPath) {
  ExecutableLookup sh = look_up_executable("sh");
  ASSERT_TRUE(sh.path);
  EXPECT_TRUE(sh.path->ends_with("/sh")) << *sh.path;
  ExecutableLookup absolute = look_up_executable(*sh.path);
  EXPECT_EQ(absolute.path, sh.path);
}

TEST(LookUpExecutable, MissingIsNotFound127) {
  for (const std::string name : {"/nonexistent", "tlstap-no-such-command", ""}) {
    SCOPED_TRACE(name);
    ExecutableLookup lookup = look_up_executable(name);
    EXPECT_FALSE(lookup.path);
    EXPECT_EQ(lookup.error, ENOENT);
    EXPECT_EQ(lookup.exit_code(), 127);
  }
  EXPECT_EQ(look_up_executable("/nonexistent").message("/nonexistent"),
            "cannot run /nonexistent: No such file or directory");
}

TEST(LookUpExecutable, NotExecutableIs126) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string script = dir.file("script");
  test::write_file(script, "#!/bin/sh\nexit 0\n");
  ASSERT_EQ(chmod(script.c_str(), 0644), 0);  // no execute bit: not even root may run it

  ExecutableLookup by_path = look_up_executable(script);
  EXPECT_FALSE(by_path.path);
  EXPECT_EQ(by_path.error, EACCES);
  EXPECT_EQ(by_path.exit_code(), 126);
  EXPECT_EQ(by_path.message(script), "cannot run " + script + ": Permission denied");

  ExecutableLookup directory = look_up_executable(dir.path());
  EXPECT_FALSE(directory.path);
  EXPECT_EQ(directory.exit_code(), 126);
  EXPECT_EQ(directory.message(dir.path()), "cannot run " + dir.path() + ": Is a directory");
}

TEST(LookUpExecutable, PathSearchSkipsWhatCannotRunLikeExecvp) {
  test::TempDir first, second;
  ASSERT_FALSE(first.path().empty());
  ASSERT_FALSE(second.path().empty());
  const std::string blocked = first.file("tool"), runnable = second.file("tool");
  test::write_file(blocked, "#!/bin/sh\n");
  test::write_file(runnable, "#!/bin/sh\n");
  ASSERT_EQ(chmod(blocked.c_str(), 0644), 0);
  ASSERT_EQ(chmod(runnable.c_str(), 0755), 0);
  {
    ScopedPath path(first.path() + ":" + second.path());
    EXPECT_EQ(look_up_executable("tool").path, runnable);
  }
  {
    ScopedPath path(first.path());  // only the one that cannot run
    ExecutableLookup lookup = look_up_executable("tool");
    EXPECT_FALSE(lookup.path);
    EXPECT_EQ(lookup.error, EACCES);
    EXPECT_EQ(lookup.exit_code(), 126);
  }
}

}  // namespace
}  // namespace tlstap
