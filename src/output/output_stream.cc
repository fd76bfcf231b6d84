#include "output/output_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tlstap {

OutputStream::OutputStream(int fd, bool owned, std::string name)
    : fd_(fd), owned_(owned), name_(std::move(name)) {
  buffer_.reserve(kFlushThreshold + (64 << 10));
}

OutputStream::OutputStream(OutputStream&& other) noexcept
    : fd_(other.fd_),
      owned_(other.owned_),
      name_(std::move(other.name_)),
      buffer_(std::move(other.buffer_)),
      error_(std::move(other.error_)),
      records_(other.records_),
      records_unwritten_(other.records_unwritten_) {
  other.fd_ = -1;
  other.owned_ = false;
}

OutputStream::~OutputStream() {
  if (owned_ && fd_ >= 0) close(fd_);
}

OutputStream OutputStream::standard_output() {
  return OutputStream(STDOUT_FILENO, false, "stdout");
}

Result<OutputStream> OutputStream::create_private_file(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{fmt::format("cannot create {}: {}", path, std::strerror(errno))};
  // An existing file keeps its old mode through O_CREAT; plaintext must not stay readable.
  // Only regular files: -o /dev/null must not become unusable for everyone else.
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fchmod(fd, 0600) != 0) {
    int error = errno;
    close(fd);
    return Error{fmt::format("cannot make {} private: {}", path, std::strerror(error))};
  }
  return OutputStream(fd, true, path);
}

void OutputStream::flush() {
  if (error_) {
    records_unwritten_ += records_;
    records_ = 0;
    buffer_.clear();
    return;
  }
  size_t written = 0;
  while (written < buffer_.size()) {
    ssize_t n = write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = fmt::format("writing {}: {}", name_, n < 0 ? std::strerror(errno) : "no progress");
      records_unwritten_ += records_;
      break;
    }
    written += static_cast<size_t>(n);
  }
  records_ = 0;
  buffer_.clear();
}

}  // namespace tlstap
