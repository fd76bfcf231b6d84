// Giving up, once the BPF programs are loaded and the first probes attached, every
// capability tlstap does not need any more. What stays is what later work needs: attaching
// probes to files that processes start using after that (a new program, a dlopen), and
// reading those processes' /proc entries and files whoever they belong to.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace tlstap {

// The capabilities kept after the drop, with why (README, "Security").
struct KeptCapability {
  int number;
  const char* name;
  const char* why;
};
const std::vector<KeptCapability>& capabilities_kept_after_attach();

// Drops every other capability from the effective, permitted and inheritable sets, clears
// the ambient set, drops them from the bounding set too when this process may (CAP_SETPCAP),
// and sets no_new_privs. Capabilities belong to a thread, so this must run while the process
// has one thread; it fails, changing nothing, when there are more (a bug to fix, never to
// ignore: the other threads would keep everything). Processes started before (the COMMAND)
// keep what they were given.
Status drop_capabilities_after_attach();

}  // namespace tlstap
