#include "protocols/http2/hpack_inflater.h"

#include <nghttp2/nghttp2.h>

#include <new>

namespace tlstap::http2 {

void HpackInflater::Free::operator()(nghttp2_hd_inflater* inflater) const {
  nghttp2_hd_inflate_del(inflater);
}

HpackInflater::HpackInflater() {
  nghttp2_hd_inflater* raw = nullptr;
  if (nghttp2_hd_inflate_new2(&raw, nullptr) != 0) throw std::bad_alloc();
  inflater_.reset(raw);
}

HpackInflater HpackInflater::for_unknown_state() {
  HpackInflater inflater;
  // Whatever size the real table has, a size update at the block's start is accepted.
  inflater.set_max_table_size(kMaxTableBytes);
  return inflater;
}

bool HpackInflater::decode(std::string_view fragment, bool last, http::Headers& out,
                           size_t max_bytes, size_t& used_bytes, bool& overflow) {
  if (failed_) return false;
  auto* in = reinterpret_cast<const uint8_t*>(fragment.data());
  size_t left = fragment.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    ssize_t used = nghttp2_hd_inflate_hd2(inflater_.get(), &nv, &flags, in, left, last ? 1 : 0);
    if (used < 0) {
      failed_ = true;
      return false;
    }
    in += used;
    left -= static_cast<size_t>(used);
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      size_t size = nv.namelen + nv.valuelen + 32;
      if (!overflow && used_bytes + size <= max_bytes) {
        // nv may point into `fragment` or into the inflater's buffers: copied now.
        out.push_back({std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                       std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen)});
        used_bytes += size;
      } else {
        overflow = true;
      }
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater_.get());
      return true;
    }
    if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && left == 0) return true;
  }
}

bool HpackInflater::set_max_table_size(size_t bytes) {
  if (failed_) return false;
  if (bytes > kMaxTableBytes) bytes = kMaxTableBytes;
  if (nghttp2_hd_inflate_change_table_size(inflater_.get(), bytes) != 0) failed_ = true;
  return !failed_;
}

}  // namespace tlstap::http2
