#include "output/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tlstap {
namespace {

Error system_error(const std::string& what, const std::string& path, int error) {
  return Error{fmt::format("cannot {} {}: {}", what, path, std::strerror(error))};
}

Error symlink_refused(const std::string& path) {
  return Error{fmt::format(
      "{} is a symbolic link; tlstap does not write through links (name the file it points to)",
      path)};
}

// Checks what an existing path is, through the descriptor opened with O_NOFOLLOW (so the
// checks are about the file that will be written, not one swapped in after a stat).
// Returns whether it may be written, truncating it first when it is a regular file.
Status prepare_existing(int fd, const std::string& path, ExistingFile existing) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return system_error("inspect", path, errno);
  if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return Ok{};
  if (!S_ISREG(st.st_mode)) {
    return Error{
        fmt::format("{} is not a regular file, a device or a FIFO; not writing to it", path)};
  }
  if (existing == ExistingFile::refuse) {
    return Error{fmt::format("{} exists; use --force to overwrite it", path)};
  }
  // A hard link shares the file with another name (maybe one the user cannot write), so
  // --force does not empty it.
  if (st.st_nlink > 1) {
    return Error{fmt::format(
        "{} has {} hard links; tlstap does not overwrite a file that has other names (remove "
        "it first)",
        path, st.st_nlink)};
  }
  if (ftruncate(fd, 0) != 0) return system_error("truncate", path, errno);
  // The file keeps its old mode through open(); plaintext must not stay readable to others.
  if (fchmod(fd, 0600) != 0) return system_error("make private", path, errno);
  return Ok{};
}

}  // namespace

Result<int> open_private_file(const std::string& path, ExistingFile existing) {
  // The path may appear or vanish between the two opens below (another process creating or
  // removing it); a few rounds settle that without looping forever against a hostile one.
  for (int attempt = 0; attempt < 4; attempt++) {
    // O_EXCL: created now, by us, or it fails; with O_CREAT it also fails on any symlink,
    // dangling ones included.
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // The umask may have taken bits away, never added; 0600 exactly all the same.
      if (fchmod(fd, 0600) != 0) {
        int error = errno;
        close(fd);
        return system_error("make private", path, error);
      }
      return fd;
    }
    if (errno != EEXIST) return system_error("create", path, errno);

    // It exists. O_NOFOLLOW makes open fail with ELOOP when the last component is a link.
    fd = open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ELOOP) return symlink_refused(path);
      if (errno == ENOENT) continue;  // removed in between: try to create it again
      return system_error("open", path, errno);
    }
    if (Status ready = prepare_existing(fd, path, existing); !ready) {
      close(fd);
      return ready.error();
    }
    return fd;
  }
  return Error{fmt::format("cannot create {}: it keeps appearing and disappearing", path)};
}

}  // namespace tlstap
