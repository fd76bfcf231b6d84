#include "output/output_stream.h"

#include <unistd.h>

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
      record_ends_(std::move(other.record_ends_)),
      abandoned_(other.abandoned_) {
  other.fd_ = -1;
  other.owned_ = false;
  other.record_ends_.clear();
}

OutputStream::~OutputStream() {
  if (abandoned_) {
    (void)queue_.release();  // leaked on purpose: its thread may still use it, blocked in write()
    return;
  }
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
                                                       uint64_t queue_bytes,
                                                       ExistingFile existing) {
  Result<int> fd = open_private_file(path, existing);
  if (!fd) return fd.error();
  return OutputStream(*fd, true, path, queue_bytes);
}

void OutputStream::flush() {
  if (buffer_.empty() && record_ends_.empty()) return;
  queue_->push(std::move(buffer_), std::move(record_ends_));
  record_ends_.clear();  // moved from: valid, now certainly empty
  buffer_ = queue_->take_buffer();
}

bool OutputStream::sync_unless_stalled(std::chrono::milliseconds stalled_after) {
  flush();
  return queue_->wait_written_unless_stalled(stalled_after);
}

void OutputStream::abandon() {
  queue_->detach_writer();
  abandoned_ = true;
  owned_ = false;
}

void OutputStream::sync() {
  flush();
  queue_->wait_written();
}

}  // namespace tlstap
