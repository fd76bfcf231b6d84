#include "discover/proc_maps.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "discover/elf_symbols.h"
#include "test_support.h"

namespace tlstap {
namespace {

TEST(ParseMapsLine, SharedLibraryText) {
  auto entry = parse_maps_line(
      "7f2c4a1b2000-7f2c4a1d4000 r-xp 00022000 fd:01 1234567                    "
      "/usr/lib/x86_64-linux-gnu/libssl.so.3");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->start, 0x7f2c4a1b2000u);
  EXPECT_EQ(entry->end, 0x7f2c4a1d4000u);
  EXPECT_TRUE(entry->executable);
  EXPECT_EQ(entry->file_offset, 0x22000u);
  EXPECT_EQ(entry->dev_major, 0xfdu);
  EXPECT_EQ(entry->dev_minor, 0x01u);
  EXPECT_EQ(entry->inode, 1234567u);
  EXPECT_EQ(entry->path, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
  EXPECT_FALSE(entry->deleted);
}

TEST(ParseMapsLine, NotExecutableAndTrailingNewline) {
  auto entry =
      parse_maps_line("55d0c0a00000-55d0c0a21000 rw-p 00001000 103:02 42     /usr/bin/curl\n");
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry->executable);
  EXPECT_EQ(entry->dev_major, 0x103u);
  EXPECT_EQ(entry->dev_minor, 0x02u);
  EXPECT_EQ(entry->inode, 42u);
  EXPECT_EQ(entry->path, "/usr/bin/curl");  // the newline is not part of the path
}

TEST(ParseMapsLine, PathWithSpaces) {
  auto entry = parse_maps_line(
      "7f0000000000-7f0000001000 r-xp 00000000 08:01 99                         "
      "/opt/my app/lib ssl  two.so");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->path, "/opt/my app/lib ssl  two.so");
  EXPECT_FALSE(entry->deleted);
}

TEST(ParseMapsLine, DeletedFile) {
  auto entry = parse_maps_line(
      "7f0000000000-7f0000001000 r-xp 00001000 08:01 77                         "
      "/tmp/libssl.so.3 (deleted)");
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->deleted);
  EXPECT_EQ(entry->path, "/tmp/libssl.so.3");
  EXPECT_EQ(entry->inode, 77u);
}

TEST(ParseMapsLine, DeletedFileWithSpacesInPath) {
  auto entry = parse_maps_line(
      "7f0000000000-7f0000001000 r-xp 00001000 08:01 77 /tmp/a b/lib ssl.so (deleted)");
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->deleted);
  EXPECT_EQ(entry->path, "/tmp/a b/lib ssl.so");
}

TEST(ParseMapsLine, DeletedSuffixInsideNameIsKept) {
  auto entry =
      parse_maps_line("7f0000000000-7f0000001000 r-xp 00001000 08:01 77 /tmp/x (deleted).so");
  ASSERT_TRUE(entry);
  EXPECT_FALSE(entry->deleted);
  EXPECT_EQ(entry->path, "/tmp/x (deleted).so");
}

TEST(ParseMapsLine, AnonymousMapping) {
  // The kernel prints no name for anonymous memory; with and without trailing padding.
  for (const char* line : {"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0",
                           "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 ",
                           "7ffd00000000-7ffd00021000 rwxp 00000000 00:00 0                   "}) {
    SCOPED_TRACE(line);
    auto entry = parse_maps_line(line);
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->inode, 0u);
    EXPECT_EQ(entry->path, "");
    EXPECT_FALSE(entry->deleted);
  }
}

TEST(ParseMapsLine, PseudoPaths) {
  auto vdso = parse_maps_line(
      "7ffd5e9f5000-7ffd5e9f7000 r-xp 00000000 00:00 0                          [vdso]");
  ASSERT_TRUE(vdso);
  EXPECT_TRUE(vdso->executable);
  EXPECT_EQ(vdso->inode, 0u);
  EXPECT_EQ(vdso->path, "[vdso]");

  auto vsyscall = parse_maps_line(
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
  ASSERT_TRUE(vsyscall);
  EXPECT_EQ(vsyscall->start, 0xffffffffff600000u);
  EXPECT_EQ(vsyscall->end, 0xffffffffff601000u);
  EXPECT_TRUE(vsyscall->executable);
  EXPECT_EQ(vsyscall->path, "[vsyscall]");

  auto heap = parse_maps_line("55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0  [heap]");
  ASSERT_TRUE(heap);
  EXPECT_FALSE(heap->executable);
  EXPECT_EQ(heap->path, "[heap]");
}

TEST(ParseMapsLine, MalformedLines) {
  const char* bad[] = {
      "",
      "\n",
      "garbage",
      "7f00-7f01",
      "7f00-7f01 r-xp",
      "7f00-7f01 r-xp 00000000 fd:01",               // no inode
      "7f00 r-xp 00000000 fd:01 12 /lib/x.so",       // no dash in the range
      "zz00-7f01 r-xp 00000000 fd:01 12 /lib/x.so",  // not hex
      "7f00-7f0g r-xp 00000000 fd:01 12 /lib/x.so",
      "7f00-7f01 r-xp 0000000z fd:01 12 /lib/x.so",
      "7f00-7f01 r-xp 00000000 fd01 12 /lib/x.so",  // no colon in the device
      "7f00-7f01 r-xp 00000000 fd: 12 /lib/x.so",
      "7f00-7f01 r-xp 00000000 :01 12 /lib/x.so",
      "7f00-7f01 r-xp 00000000 fd:01 12a /lib/x.so",  // inode not decimal
      "7f00-7f01 r-xp 00000000 fd:01 -12 /lib/x.so",
      "7f00-7f01 r-x 00000000 fd:01 12 /lib/x.so",  // perms too short
      "-7f01 r-xp 00000000 fd:01 12 /lib/x.so",
      "7f00- r-xp 00000000 fd:01 12 /lib/x.so",
      "7f00-7f01 r-xp 00000000 fd:01 99999999999999999999999 /lib/x.so",  // inode overflows
      "10000000000000000-7f01 r-xp 00000000 fd:01 12 /lib/x.so",          // start overflows
      "7f00-7f01 r-xp 00000000 100000000:01 12 /lib/x.so",                // major overflows
  };
  for (const char* line : bad) {
    SCOPED_TRACE(line);
    EXPECT_FALSE(parse_maps_line(line));
  }
}

TEST(ParseMapsLine, EmbeddedNulBytesDoNotCrash) {
  std::string line("7f00-7f01 r-xp 00000000 fd:01 12 /lib/\0x.so", 43);
  auto entry = parse_maps_line(line);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->path.size(), std::string_view("/lib/\0x.so", 10).size());
}

struct FileIdentity {
  dev_t dev;
  ino_t ino;
};

FileIdentity identity_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return {st.st_dev, st.st_ino};
}

TEST(ExecutableFileMappings, ContainsThisTestBinary) {
  FileIdentity exe = identity_of("/proc/self/exe");
  std::string exe_path = std::filesystem::read_symlink("/proc/self/exe").string();

  std::vector<MapsEntry> mappings = executable_file_mappings(getpid());
  ASSERT_FALSE(mappings.empty());
  auto it = std::find_if(mappings.begin(), mappings.end(),
                         [&](const MapsEntry& e) { return e.inode == exe.ino; });
  ASSERT_NE(it, mappings.end()) << "no executable mapping with inode " << exe.ino;
  EXPECT_EQ(it->path, exe_path);
  EXPECT_TRUE(it->executable);
  EXPECT_FALSE(it->deleted);
  // On a plain file system the device in maps is the one stat reports (overlayfs may show
  // the underlying device, so this is only checked when the paths agree on the file).
  if (identity_of(it->path).dev == exe.dev) {
    EXPECT_EQ(makedev(it->dev_major, it->dev_minor), exe.dev);
  }
  EXPECT_EQ(identity_of(path_seen_from_tracer(getpid(), *it)).ino, exe.ino);
}

TEST(ExecutableFileMappings, OnlyExecutableFilesOncePerFile) {
  std::vector<MapsEntry> mappings = executable_file_mappings(getpid());
  for (size_t i = 0; i < mappings.size(); i++) {
    const MapsEntry& e = mappings[i];
    EXPECT_TRUE(e.executable) << e.path;
    EXPECT_NE(e.inode, 0u) << e.path;
    EXPECT_TRUE(e.path.starts_with('/')) << e.path;  // no [vdso], no anonymous memory
    for (size_t k = 0; k < i; k++) {
      EXPECT_FALSE(mappings[k].inode == e.inode && mappings[k].dev_major == e.dev_major &&
                   mappings[k].dev_minor == e.dev_minor)
          << "duplicate " << e.path;
    }
  }
}

TEST(ExecutableFileMappings, GoneProcessIsEmpty) {
  // PIDs above pid_max never exist.
  EXPECT_TRUE(executable_file_mappings(INT_MAX).empty());
}

TEST(ExecutableFileMappings, DeletedLibraryIsReachableThroughMapFiles) {
  test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string copy = dir.file("libcopy.so");
  std::filesystem::copy_file(TLSTAP_FIXTURE_SSL, copy);
  FileIdentity identity = identity_of(copy);
  void* handle = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  ASSERT_EQ(unlink(copy.c_str()), 0);

  std::vector<MapsEntry> mappings = executable_file_mappings(getpid());
  auto it = std::find_if(mappings.begin(), mappings.end(),
                         [&](const MapsEntry& e) { return e.inode == identity.ino; });
  ASSERT_NE(it, mappings.end());
  EXPECT_TRUE(it->deleted);
  EXPECT_EQ(it->path, copy);

  std::string seen = path_seen_from_tracer(getpid(), *it);
  EXPECT_TRUE(seen.starts_with("/proc/" + std::to_string(getpid()) + "/map_files/")) << seen;
  if (access(seen.c_str(), R_OK) != 0 && geteuid() != 0) {
    dlclose(handle);
    GTEST_SKIP() << "map_files needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN";
  }
  EXPECT_EQ(identity_of(seen).ino, identity.ino);
  const std::array<std::string_view, 1> wanted = {"SSL_write"};
  auto functions = find_functions(seen, wanted);
  ASSERT_TRUE(functions) << functions.error().message;
  ASSERT_EQ(functions->size(), 1u);
  EXPECT_EQ(functions->front().name, "SSL_write");
  dlclose(handle);
}

TEST(PathSeenFromTracer, UsesTheProcessRoot) {
  MapsEntry entry;
  entry.start = 0x7f00;
  entry.end = 0x8f00;
  entry.path = "/usr/lib/libssl.so.3";
  EXPECT_EQ(path_seen_from_tracer(1234, entry), "/proc/1234/root/usr/lib/libssl.so.3");
  entry.deleted = true;
  EXPECT_EQ(path_seen_from_tracer(1234, entry), "/proc/1234/map_files/7f00-8f00");
}

}  // namespace
}  // namespace tlstap
