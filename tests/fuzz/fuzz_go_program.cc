// Fuzzes inspect_go_program on a hostile file: the input is written to a memfd and read as
// an ELF program (libelf headers, segments, relocations, build info, function table, RETs).
// Beyond not crashing: a supported program's probe points are in the file, each RET inside
// its function and after its entry, in ascending order.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "discover/go_program.h"
#include "fuzz_check.h"

namespace {

int input_file() {
  static int fd = memfd_create("fuzz_go_program", MFD_CLOEXEC);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = input_file();
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size)) abort();
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  tlstap::Result<tlstap::GoProgram> program = tlstap::inspect_go_program(path);
  if (!program) return 0;
  if (program->kind != tlstap::GoProgramKind::kSupported) {
    FUZZ_CHECK(!program->reason.empty());
    FUZZ_CHECK(program->functions.empty());
    return 0;
  }
  FUZZ_CHECK(program->register_abi);
  for (const tlstap::GoProbeFunction& function : program->functions) {
    FUZZ_CHECK(function.entry_offset < size);
    FUZZ_CHECK(function.end_address > function.address);
    uint64_t previous = function.entry_offset;
    for (uint64_t offset : function.ret_offsets) {
      FUZZ_CHECK(offset >= previous);
      FUZZ_CHECK(offset - function.entry_offset < function.end_address - function.address);
      FUZZ_CHECK(offset < size);
      previous = offset + 1;
    }
  }
  return 0;
}
