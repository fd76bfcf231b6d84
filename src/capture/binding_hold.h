// Keeps back, for a short while, the records of a memory-BIO SSL* whose socket is not known
// yet. node and python's asyncio run OpenSSL over memory BIOs: BPF finds the socket only when
// the thread sends an SSL_write's ciphertext right after the call (bpf/conn.bpf.h), and tells
// user space with an SSL_BOUND event. A server's first record (the request it read) comes
// before its first write: held here, it gets its connection when the binding arrives instead
// of going out without one. Records go out in order per SSL*; a binding that does not come
// within the window releases them without a connection (never with a guessed one), and later
// records of that SSL* are no longer held. Memory is bounded.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "capture/call.h"

namespace tlstap {

class BindingHold {
 public:
  using Release = std::function<void(HeldCall&&)>;

  BindingHold(uint64_t window_ns, size_t max_bytes, Release release)
      : window_ns_(window_ns), max_bytes_(max_bytes), release_(std::move(release)) {}

  // Takes the call if it should wait for its SSL*'s binding; false: emit it now.
  bool hold(const CallMeta& meta, std::string_view bytes, Truncation truncation, uint64_t now_ns);
  // The SSL*'s socket is known: its held calls go out with `conn`.
  void bound(uint32_t pid, uint64_t ssl, const tlstap_conn_info& conn);
  // Releases calls of `pid`'s `ssl` (unbound) before a later record of it goes out.
  void flush(uint32_t pid, uint64_t ssl);
  // Releases everything `pid` held (it exited).
  void flush_process(uint32_t pid);
  // Releases the calls of SSL*s whose window has passed.
  void expire(uint64_t now_ns);
  void flush_all();

  size_t held_calls() const;

 private:
  using Key = std::pair<uint32_t, uint64_t>;  // pid, SSL*
  struct Waiting {
    uint64_t first_ns = 0;
    std::vector<HeldCall> calls;
  };
  void release(std::map<Key, Waiting>::iterator it, const tlstap_conn_info* conn);

  uint64_t window_ns_;
  size_t max_bytes_;
  Release release_;
  size_t held_bytes_ = 0;
  std::map<Key, Waiting> waiting_;
  // SSL*s whose window passed without a binding: their records are not held again. Bounded:
  // when full it is cleared (such an SSL* is then held for one more window).
  std::set<Key> given_up_;
  static constexpr size_t kMaxGivenUp = 65536;
};

}  // namespace tlstap
