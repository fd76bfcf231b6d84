// Buffered output to a file descriptor that never loses a write silently: the first error
// (disk full, closed pipe) is kept and reported, and later writes are counted as unwritten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tlstap {

class OutputStream {
 public:
  // Standard output (not owned).
  static OutputStream standard_output();
  // Creates or truncates `path` with mode 0600: the records are somebody's plaintext.
  static Result<OutputStream> create_private_file(const std::string& path);

  OutputStream(OutputStream&& other) noexcept;
  OutputStream& operator=(OutputStream&&) = delete;
  ~OutputStream();

  void append(std::string_view bytes) {
    buffer_.append(bytes);
    if (buffer_.size() >= kFlushThreshold) flush();
  }
  void append(char c) { buffer_.push_back(c); }
  std::string& buffer() { return buffer_; }  // for encoders that format in place
  void flush_if_full() {
    if (buffer_.size() >= kFlushThreshold) flush();
  }
  void record_done() { records_++; }

  // Writes out the buffer. After an error, keeps the error and discards further output.
  void flush();
  const std::optional<std::string>& error() const { return error_; }
  uint64_t records_not_written() const { return records_unwritten_; }
  const std::string& name() const { return name_; }

 private:
  static constexpr size_t kFlushThreshold = 256 << 10;
  OutputStream(int fd, bool owned, std::string name);

  int fd_;
  bool owned_;
  std::string name_;
  std::string buffer_;
  std::optional<std::string> error_;
  uint64_t records_ = 0;            // records appended since the last successful flush
  uint64_t records_unwritten_ = 0;  // records lost to a write error
};

}  // namespace tlstap
