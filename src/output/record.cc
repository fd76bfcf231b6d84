#include "output/record.h"

namespace tlstap {

std::string_view direction_name(Direction direction) {
  return direction == Direction::write ? "write" : "read";
}

std::string_view truncation_name(Truncation truncation) {
  switch (truncation) {
    case Truncation::none: return "none";
    case Truncation::max_bytes: return "max-bytes";
    case Truncation::ring_buffer_full: return "ring-buffer-full";
    case Truncation::page_fault: return "page-fault";
  }
  return "unknown";
}

}  // namespace tlstap
