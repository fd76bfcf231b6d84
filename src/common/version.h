// tlstap's version, as files it writes name it (the pcapng Section Header's shb_userappl).
#pragma once

#include <string_view>

namespace tlstap {

inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace tlstap
