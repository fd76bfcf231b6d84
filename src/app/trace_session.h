// A tracing run: load, attach, read events until told to stop, summarise.
#pragma once

#include "cli/options.h"

namespace tlstap {

// Returns the process exit code: 0, 1 on an error, or COMMAND's status with `-- COMMAND`.
int run_trace_session(const Options& options);

}  // namespace tlstap
