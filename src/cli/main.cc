// tlstap's entry point: parse the command line, hand over to the session.
#include <cstdio>

#include <fmt/format.h>

#include "app/list_targets.h"
#include "app/trace_session.h"
#include "cli/options.h"

int main(int argc, char** argv) {
  int exit_code = 0;
  tlstap::Result<tlstap::Options> options = tlstap::parse_options(argc, argv, exit_code);
  if (!options) {
    if (!options.error().message.empty())
      fmt::print(stderr, "tlstap: {}\n", options.error().message);
    return exit_code;
  }
  if (options->list_targets) return tlstap::list_targets(*options);
  return tlstap::run_trace_session(*options);
}
