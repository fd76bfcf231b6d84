// BPF timestamps are CLOCK_MONOTONIC; records carry wall-clock time.
#pragma once

#include <time.h>

#include <cstdint>

namespace tlstap {

inline uint64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

class WallClock {
 public:
  // The offset is taken once: records of one run stay ordered even if NTP steps the clock.
  WallClock() {
    uint64_t before = clock_ns(CLOCK_MONOTONIC);
    uint64_t real = clock_ns(CLOCK_REALTIME);
    uint64_t after = clock_ns(CLOCK_MONOTONIC);
    offset_ = real - (before + (after - before) / 2);
  }
  uint64_t from_monotonic(uint64_t monotonic_ns) const { return monotonic_ns + offset_; }

 private:
  uint64_t offset_;
};

}  // namespace tlstap
