// A Go program as a target: its crypto/tls functions, with their entries and every RET, from
// the program's own function table (stripped and PIE builds included). Go programs built
// with a Go tlstap cannot probe safely are said once, never probed.
#pragma once

#include <optional>
#include <string>

#include "discover/target.h"

namespace tlstap {

struct GoLook {
  std::optional<Target> target;        // a Go program with crypto/tls that tlstap probes
  std::optional<std::string> why_not;  // a Go program tlstap does not probe, and why
};

// Cheap for files that are not Go (a look at their section names).
GoLook look_for_go_target(const FileId& id, const std::string& display_path,
                          const std::string& open_path);

}  // namespace tlstap
