// One completed TLS call as the capture layer knows it: what BPF said of it (from its first
// chunk) and the bytes reassembled from its chunks.
#pragma once

#include <cstdint>
#include <string>

#include "output/record.h"
#include "tlstap/abi.h"

namespace tlstap {

struct CallMeta {
  uint32_t pid, tid, uid;
  uint64_t ts_ns, entry_ns, call_len, capture_len, ssl, pos, start_time_ns;
  uint8_t function, direction, call_flags;
  tlstap_conn_info conn;
  char comm[TLSTAP_COMM_LEN];
};

// A call kept back for a while (its bytes owned).
struct HeldCall {
  CallMeta meta;
  std::string bytes;
  Truncation truncation;
};

}  // namespace tlstap
