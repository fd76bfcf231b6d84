#include "protocols/http2/grpc.h"

#include <algorithm>

#include "protocols/http2/frame.h"

namespace tlstap::http2 {

bool is_grpc_content_type(std::string_view content_type) {
  constexpr std::string_view grpc = "application/grpc";
  if (content_type.size() < grpc.size()) return false;
  for (size_t i = 0; i < grpc.size(); ++i) {
    char c = content_type[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != grpc[i]) return false;
  }
  if (content_type.size() == grpc.size()) return true;
  char next = content_type[grpc.size()];
  return next == '+' || next == ';';
}

void split_grpc_path(std::string_view path, http::Grpc& grpc) {
  if (path.size() < 4 || path[0] != '/') return;
  path.remove_prefix(1);
  size_t slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size()) return;
  std::string_view method = path.substr(slash + 1);
  if (method.find('/') != std::string_view::npos || method.find('?') != std::string_view::npos)
    return;
  grpc.service = std::string(path.substr(0, slash));
  grpc.method = std::string(method);
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high << 4 | low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

void read_grpc_status(const http::Headers& headers, http::Grpc& grpc) {
  for (const http::Header& header : headers) {
    if (header.name == "grpc-status") {
      const std::string& v = header.value;
      if (v.empty() || v.size() > 9 ||
          !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;  // not a status code: absent rather than guessed
      grpc.status = std::stoi(v);
    } else if (header.name == "grpc-message") {
      grpc.message = percent_decode(header.value);
    }
  }
}

void GrpcMessageCounter::feed(std::string_view data) {
  if (lost_) return;
  while (!data.empty()) {
    if (in_body_) {
      uint64_t take = std::min<uint64_t>(body_left_, data.size());
      body_left_ -= take;
      data.remove_prefix(static_cast<size_t>(take));
      if (body_left_ == 0) {
        in_body_ = false;
        ++messages_;
      }
      continue;
    }
    size_t take = std::min(sizeof(prefix_) - prefix_have_, data.size());
    std::copy_n(data.data(), take, prefix_ + prefix_have_);
    prefix_have_ += take;
    data.remove_prefix(take);
    if (prefix_have_ == sizeof(prefix_)) {
      prefix_have_ = 0;
      body_left_ = read_u32(std::string_view(prefix_ + 1, 4));
      if (body_left_ == 0)
        ++messages_;
      else
        in_body_ = true;
    }
  }
}

}  // namespace tlstap::http2
