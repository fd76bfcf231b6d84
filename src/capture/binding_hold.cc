#include "capture/binding_hold.h"

namespace tlstap {

bool BindingHold::hold(const CallMeta& meta, std::string_view bytes, Truncation truncation,
                       uint64_t now_ns) {
  Key key{meta.pid, meta.ssl};
  if (given_up_.count(key)) return false;
  auto [it, inserted] = waiting_.try_emplace(key);
  if (inserted) it->second.first_ns = now_ns;
  it->second.calls.push_back(HeldCall{meta, std::string(bytes), truncation});
  held_bytes_ += bytes.size();
  // Over the memory bound: the oldest waiting SSL* goes out without its connection.
  while (held_bytes_ > max_bytes_ && !waiting_.empty()) {
    auto oldest = waiting_.begin();
    for (auto w = waiting_.begin(); w != waiting_.end(); ++w) {
      if (w->second.first_ns < oldest->second.first_ns) oldest = w;
    }
    if (given_up_.size() >= kMaxGivenUp) given_up_.clear();
    given_up_.insert(oldest->first);
    release(oldest, nullptr);
  }
  return true;
}

void BindingHold::release(std::map<Key, Waiting>::iterator it, const tlstap_conn_info* conn) {
  std::vector<HeldCall> calls = std::move(it->second.calls);
  waiting_.erase(it);
  for (HeldCall& call : calls) {
    held_bytes_ -= call.bytes.size();
    if (conn) call.meta.conn = *conn;
    release_(std::move(call));
  }
}

void BindingHold::bound(uint32_t pid, uint64_t ssl, const tlstap_conn_info& conn) {
  Key key{pid, ssl};
  given_up_.erase(key);
  auto it = waiting_.find(key);
  if (it != waiting_.end()) release(it, &conn);
}

void BindingHold::flush(uint32_t pid, uint64_t ssl) {
  auto it = waiting_.find({pid, ssl});
  if (it != waiting_.end()) release(it, nullptr);
}

void BindingHold::flush_process(uint32_t pid) {
  auto it = waiting_.lower_bound({pid, 0});
  while (it != waiting_.end() && it->first.first == pid) {
    auto next = std::next(it);
    release(it, nullptr);
    it = next;
  }
  auto gone = given_up_.lower_bound({pid, 0});
  while (gone != given_up_.end() && gone->first == pid) gone = given_up_.erase(gone);
}

void BindingHold::expire(uint64_t now_ns) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto next = std::next(it);
    if (now_ns >= it->second.first_ns + window_ns_) {
      if (given_up_.size() >= kMaxGivenUp) given_up_.clear();
      given_up_.insert(it->first);
      release(it, nullptr);
    }
    it = next;
  }
}

void BindingHold::flush_all() {
  while (!waiting_.empty()) release(waiting_.begin(), nullptr);
}

size_t BindingHold::held_calls() const {
  size_t count = 0;
  for (const auto& [key, waiting] : waiting_) count += waiting.calls.size();
  return count;
}

}  // namespace tlstap
