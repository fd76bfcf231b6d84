// tlstap's entry point: parse the command line, hand over to the session.
#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include "app/list_targets.h"
#include "app/trace_session.h"
#include "cli/options.h"
#include "common/say.h"

int main(int argc, char** argv) {
  int exit_code = 0;
  tlstap::Result<tlstap::Options> options = tlstap::parse_options(argc, argv, exit_code);
  if (!options) {
    if (!options.error().message.empty()) tlstap::say("tlstap: {}\n", options.error().message);
    return exit_code;
  }
  if (options->list_targets) {
    try {
      return tlstap::list_targets(*options);
    } catch (const std::system_error& error) {  // stdout closed (`--list-targets | head`)
      tlstap::say("tlstap: writing the list: {}\n", error.code().message());
      return 1;
    }
  }
  return tlstap::run_trace_session(*options);
}
