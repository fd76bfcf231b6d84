// open_private_file: never through a symbolic link, never over an existing file unless told,
// and then only a regular file with one name; what it creates or truncates is 0600.
#include "output/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "test_support.h"

namespace tlstap {
namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Writes through the descriptor and closes it, so the test sees what a writer would leave.
void write_and_close(int fd, std::string_view bytes) {
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
}

TEST(PrivateFile, NewFileIsCreated0600EvenWithAPermissiveUmask) {
  test::TempDir dir;
  const std::string path = dir.file("new.out");
  mode_t old_umask = umask(0);
  Result<int> fd = open_private_file(path, ExistingFile::refuse);
  umask(old_umask);
  ASSERT_TRUE(fd) << fd.error().message;
  write_and_close(*fd, "records");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(test::read_file(path), "records");
}

TEST(PrivateFile, ExistingFileIsRefusedWithoutForceAndLeftAlone) {
  test::TempDir dir;
  const std::string path = dir.file("old.out");
  test::write_file(path, "precious");
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  Result<int> fd = open_private_file(path, ExistingFile::refuse);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().message, path + " exists; use --force to overwrite it");
  EXPECT_EQ(test::read_file(path), "precious");
  EXPECT_EQ(mode_of(path), 0644u);
}

TEST(PrivateFile, ForceTruncatesARegularFileAndMakesIt0600) {
  test::TempDir dir;
  const std::string path = dir.file("old.out");
  test::write_file(path, "a much longer old content than the new one");
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  Result<int> fd = open_private_file(path, ExistingFile::truncate);
  ASSERT_TRUE(fd) << fd.error().message;
  write_and_close(*fd, "new");
  EXPECT_EQ(test::read_file(path), "new");
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(PrivateFile, SymlinkIsRefusedEvenWithForceAndItsTargetUntouched) {
  test::TempDir dir;
  const std::string target = dir.file("victim");
  test::write_file(target, "do not touch");
  ASSERT_EQ(chmod(target.c_str(), 0644), 0);
  const std::string link = dir.file("link.out");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  for (ExistingFile existing : {ExistingFile::refuse, ExistingFile::truncate}) {
    Result<int> fd = open_private_file(link, existing);
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().message, link +
                                      " is a symbolic link; tlstap does not write through links "
                                      "(name the file it points to)");
  }
  EXPECT_EQ(test::read_file(target), "do not touch");
  EXPECT_EQ(mode_of(target), 0644u);
}

TEST(PrivateFile, DanglingSymlinkDoesNotCreateItsTarget) {
  test::TempDir dir;
  const std::string target = dir.file("would-be-created");
  const std::string link = dir.file("dangling.out");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  for (ExistingFile existing : {ExistingFile::refuse, ExistingFile::truncate}) {
    Result<int> fd = open_private_file(link, existing);
    ASSERT_FALSE(fd);
    EXPECT_NE(fd.error().message.find("is a symbolic link"), std::string::npos)
        << fd.error().message;
  }
  EXPECT_NE(access(target.c_str(), F_OK), 0) << "the link's target was created";
}

TEST(PrivateFile, ForceDoesNotTruncateAFileWithAnotherHardLink) {
  test::TempDir dir;
  const std::string original = dir.file("original");
  test::write_file(original, "shared content");
  const std::string other_name = dir.file("other.out");
  ASSERT_EQ(link(original.c_str(), other_name.c_str()), 0);
  Result<int> fd = open_private_file(other_name, ExistingFile::truncate);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().message,
            other_name +
                " has 2 hard links; tlstap does not overwrite a file that has other names "
                "(remove it first)");
  EXPECT_EQ(test::read_file(original), "shared content");
}

TEST(PrivateFile, DeviceIsWrittenWithoutForceAndKeepsItsMode) {
  // /dev/null: writing to it overwrites nothing; it must stay usable by everyone.
  mode_t before = mode_of("/dev/null");
  Result<int> fd = open_private_file("/dev/null", ExistingFile::refuse);
  ASSERT_TRUE(fd) << fd.error().message;
  write_and_close(*fd, "discarded");
  EXPECT_EQ(mode_of("/dev/null"), before);
}

TEST(PrivateFile, FifoIsWrittenWithoutForce) {
  test::TempDir dir;
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  // A reader first: opening a FIFO for writing waits for one.
  int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  Result<int> fd = open_private_file(fifo, ExistingFile::refuse);
  ASSERT_TRUE(fd) << fd.error().message;
  write_and_close(*fd, "through");
  char got[16] = {};
  EXPECT_EQ(read(reader, got, sizeof got), 7);
  EXPECT_EQ(std::string(got), "through");
  close(reader);
  EXPECT_EQ(mode_of(fifo), 0644u);
}

TEST(PrivateFile, DirectoryIsRefused) {
  test::TempDir dir;
  for (ExistingFile existing : {ExistingFile::refuse, ExistingFile::truncate}) {
    Result<int> fd = open_private_file(dir.path(), existing);
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().message, "cannot open " + dir.path() + ": Is a directory");
  }
}

TEST(PrivateFile, MissingDirectoryIsSaid) {
  test::TempDir dir;
  const std::string path = dir.file("no-such-dir/out");
  Result<int> fd = open_private_file(path, ExistingFile::refuse);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().message, "cannot create " + path + ": No such file or directory");
}

}  // namespace
}  // namespace tlstap
