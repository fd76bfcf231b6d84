// Attaches the do-nothing uprobes of empty_probes.bpf.c to the four OpenSSL functions tlstap
// probes, in every process, prints "ready" and waits for SIGINT/SIGTERM. bench/run.py runs
// the workload under it to measure the floor any uprobe tracer pays.
//
//   empty_probes [--lib PATH]   (default: /usr/lib/x86_64-linux-gnu/libssl.so.3)
//   empty_probes --go PATH      Go's crypto/tls.(*Conn).Write/Read in a Go program: a uprobe
//                               at the entry and at every RET, as tlstap probes Go
#include <bpf/libbpf.h>
#include <signal.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "discover/go_program.h"
#include "empty_probes.skel.h"

namespace {

int quiet_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
  // Warnings and errors only: the debug log would drown the one line run.py waits for.
  if (level == LIBBPF_DEBUG || level == LIBBPF_INFO) return 0;
  return std::vfprintf(stderr, format, args);
}

int fail(const std::string& message) {
  std::fprintf(stderr, "empty_probes: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
  bool go = false;
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if ((arg == "--lib" || arg == "--go") && i + 1 < argc) {
      go = arg == "--go";
      lib = argv[++i];
    } else {
      std::fprintf(stderr, "usage: empty_probes [--lib PATH | --go PATH]\n");
      return 2;
    }
  }
  libbpf_set_print(quiet_libbpf);

  // Block the stop signals before anything can fail half-attached: sigwait takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  empty_probes_bpf* skeleton = empty_probes_bpf__open_and_load();
  if (!skeleton) return fail(std::string("loading the BPF object: ") + std::strerror(errno));

  std::vector<bpf_link*> links;
  int status = 0;
  if (go) {
    // The probes tlstap puts on Go: the entry and every RET, plain uprobes.
    tlstap::Result<tlstap::GoProgram> program = tlstap::inspect_go_program(lib);
    if (!program) return fail(program.error().message);
    if (program->functions.empty()) return fail(lib + ": no crypto/tls in it");
    for (const tlstap::GoProbeFunction& function : program->functions) {
      std::vector<uint64_t> offsets = function.ret_offsets;
      offsets.push_back(function.entry_offset);
      for (uint64_t offset : offsets) {
        LIBBPF_OPTS(bpf_uprobe_opts, options, .retprobe = false);
        bpf_link* link = bpf_program__attach_uprobe_opts(skeleton->progs.empty_enter, -1,
                                                         lib.c_str(), offset, &options);
        if (!link) return fail("uprobe on " + function.name + ": " + std::strerror(errno));
        links.push_back(link);
      }
    }
  }
  // The same entry+return pair tlstap puts on each function, resolved by name by libbpf.
  for (const char* function : {"SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex"}) {
    if (go) break;
    for (bool is_return : {true, false}) {
      LIBBPF_OPTS(bpf_uprobe_opts, options, .retprobe = is_return, .func_name = function);
      bpf_program* program = is_return ? skeleton->progs.empty_return : skeleton->progs.empty_enter;
      bpf_link* link = bpf_program__attach_uprobe_opts(program, -1, lib.c_str(), 0, &options);
      if (!link) {
        status =
            fail(std::string("uprobe on ") + function + " in " + lib + ": " + std::strerror(errno));
        break;
      }
      links.push_back(link);
    }
    if (status != 0) break;
  }

  if (status == 0) {
    std::printf("ready: %zu probes on %s\n", links.size(), lib.c_str());
    std::fflush(stdout);
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
  }
  for (bpf_link* link : links) bpf_link__destroy(link);
  empty_probes_bpf__destroy(skeleton);
  return status;
}
