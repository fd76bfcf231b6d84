#include "output/output_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tlstap {

OutputStream::OutputStream(int fd, bool owned, std::string name, uint64_t queue_bytes)
    : fd_(fd),
      owned_(owned),
      name_(std::move(name)),
      queue_(std::make_unique<WriteQueue>(fd, name_, queue_bytes, kBufferBytes)),
      buffer_(queue_->take_buffer()) {}

OutputStream::OutputStream(OutputStream&& other) noexcept
    : fd_(other.fd_),
      owned_(other.owned_),
      name_(std::move(other.name_)),
      queue_(std::move(other.queue_)),
      buffer_(std::move(other.buffer_)),
      records_(other.records_) {
  other.fd_ = -1;
  other.owned_ = false;
  other.records_ = 0;
}

OutputStream::~OutputStream() {
  if (queue_) {
    flush();
    queue_.reset();  // the writer finishes before the descriptor is closed
  }
  if (owned_ && fd_ >= 0) close(fd_);
}

OutputStream OutputStream::standard_output(uint64_t queue_bytes) {
  return OutputStream(STDOUT_FILENO, false, "stdout", queue_bytes);
}

Result<OutputStream> OutputStream::create_private_file(const std::string& path,
                                                       uint64_t queue_bytes) {
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
  return OutputStream(fd, true, path, queue_bytes);
}

void OutputStream::flush() {
  if (buffer_.empty() && records_ == 0) return;
  queue_->push(std::move(buffer_), records_);
  records_ = 0;
  buffer_ = queue_->take_buffer();
}

void OutputStream::sync() {
  flush();
  queue_->wait_written();
}

}  // namespace tlstap
