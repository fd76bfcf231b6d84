// --redact in the --http view: the bytes reach the parsers masked already (RedactingSink);
// the view shows each redacted header's value as '*'s of the same length, whatever mask
// symbols the HTTP/2 redactor had to use to keep the Huffman code's bit lengths.
#pragma once

#include "protocols/http_exchange.h"
#include "redact/redact_names.h"

namespace tlstap::redact {

// True when `exchange` has a header or trailer `names` masks (and so needs `mask_exchange`).
bool has_redacted_header(const http::Exchange& exchange, const RedactNames& names);
void mask_exchange(http::Exchange& exchange, const RedactNames& names);

}  // namespace tlstap::redact
