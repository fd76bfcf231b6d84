#include "redact/redact_exchange.h"

#include <algorithm>

namespace tlstap::redact {
namespace {

bool any_redacted(const http::Headers& headers, const RedactNames& names) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const http::Header& header) { return names.contains(header.name); });
}

void mask(http::Headers& headers, const RedactNames& names) {
  for (http::Header& header : headers)
    if (names.contains(header.name)) header.value.assign(header.value.size(), '*');
}

}  // namespace

bool has_redacted_header(const http::Exchange& exchange, const RedactNames& names) {
  for (const http::Message* message : {&exchange.request, &exchange.response}) {
    if (any_redacted(message->headers, names) || any_redacted(message->trailers, names))
      return true;
  }
  return false;
}

void mask_exchange(http::Exchange& exchange, const RedactNames& names) {
  for (http::Message* message : {&exchange.request, &exchange.response}) {
    mask(message->headers, names);
    mask(message->trailers, names);
  }
}

}  // namespace tlstap::redact
