// Helpers shared by the unit tests: an independent base64 decoder, data-event builders,
// a sink that records copies of what it receives, temporary files.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base64_decode.h"
#include "output/record.h"
#include "stacks/registry.h"
#include "tlstap/abi.h"

namespace tlstap::test {

// Owned copy of a DataRecord (the original's views die with the sink call).
struct CapturedRecord {
  uint64_t ts_ns;
  uint32_t pid, tid, uid;
  std::string comm, library, function;
  Direction direction;
  uint64_t len;
  std::string data;
  Truncation truncation;
};

class RecordingSink final : public RecordSink {
 public:
  void data(const DataRecord& r) override {
    records.push_back(CapturedRecord{r.ts_ns, r.pid, r.tid, r.uid, std::string(r.comm),
                                     std::string(r.library), std::string(r.function), r.direction,
                                     r.len, std::string(r.data), r.truncation});
  }
  void lost(const LostRecord& r) override { losts.push_back(r); }

  std::vector<CapturedRecord> records;
  std::vector<LostRecord> losts;
};

// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
inline std::string pattern_bytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

// A data event as BPF would build it, with data[] filled from `chunk`.
struct ChunkSpec {
  uint32_t pid = 100;
  uint32_t tid = 100;
  uint32_t uid = 1000;
  uint64_t call_id = 1;
  uint64_t ts_ns = 5'000'000'000;
  uint64_t call_len = 0;
  uint64_t capture_len = 0;
  uint64_t offset = 0;
  uint8_t function = function_id("openssl", "SSL_write");
  uint8_t direction = TLSTAP_DIR_WRITE;
  uint8_t flags = 0;
  std::string comm = "curl";
};

inline std::unique_ptr<tlstap_data_event> make_event(const ChunkSpec& s, std::string_view chunk) {
  auto event = std::make_unique<tlstap_data_event>();
  std::memset(event.get(), 0, sizeof(*event));
  event->header.kind = TLSTAP_EVENT_DATA;
  event->header.pid = s.pid;
  event->tid = s.tid;
  event->uid = s.uid;
  event->call_id = s.call_id;
  event->ts_ns = s.ts_ns;
  event->ssl = 0xdead0000;
  event->call_len = s.call_len;
  event->capture_len = s.capture_len;
  event->offset = s.offset;
  event->chunk_len = static_cast<uint32_t>(chunk.size());
  event->function = s.function;
  event->direction = s.direction;
  event->flags = s.flags;
  std::memcpy(event->comm, s.comm.data(), std::min(s.comm.size(), sizeof(event->comm)));
  std::memcpy(event->data, chunk.data(), std::min(chunk.size(), sizeof(event->data)));
  return event;
}

// A temporary directory removed (with its files) at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/tlstap-unit-XXXXXX";
    const char* made = mkdtemp(templ.data());
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

}  // namespace tlstap::test
