// --list-targets: what tlstap would attach to, without loading anything.
#pragma once

#include "cli/options.h"

namespace tlstap {

int list_targets(const Options& options);

}  // namespace tlstap
