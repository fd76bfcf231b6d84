// Whether this process may load BPF programs and attach uprobes.
#pragma once

#include <optional>
#include <string>

namespace tlstap {

// Nullopt when tracing is allowed; otherwise one line naming what is missing and what to do.
std::optional<std::string> missing_tracing_privileges();

}  // namespace tlstap
