#include "conn/connection_filter_sink.h"

#include <arpa/inet.h>

#include <fmt/format.h>

namespace tlstap {

Result<std::string> HostFilterSink::canonical_address(const std::string& host) {
  unsigned char bytes[16];
  char text[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, host.c_str(), bytes) == 1 &&
        inet_ntop(family, bytes, text, sizeof(text)) != nullptr) {
      return std::string(text);
    }
  }
  return Error{fmt::format("--host {}: not an IPv4 or IPv6 address", host)};
}

}  // namespace tlstap
