#include "discover/return_instructions.h"

#include <capstone/capstone.h>
#include <elf.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

namespace tlstap {
namespace {

// A function bigger than this is not a function a TLS library has; refusing it keeps a
// hostile size from costing a long decode.
constexpr size_t kMaxFunctionBytes = 16 << 20;

struct CapstoneHandle {
  csh handle = 0;
  ~CapstoneHandle() {
    if (handle) cs_close(&handle);
  }
};

bool only_padding(const uint8_t* bytes, size_t size) {
  return std::all_of(bytes, bytes + size, [](uint8_t b) { return b == 0xcc || b == 0x00; });
}

}  // namespace

Result<std::vector<uint64_t>> find_return_instructions(uint16_t elf_machine,
                                                       std::span<const uint8_t> code,
                                                       uint64_t address) {
  cs_arch arch;
  cs_mode mode;
  unsigned return_id;
  switch (elf_machine) {
    case EM_X86_64:
      arch = CS_ARCH_X86;
      mode = CS_MODE_64;
      return_id = X86_INS_RET;
      break;
    case EM_AARCH64:
      arch = CS_ARCH_ARM64;
      mode = CS_MODE_ARM;
      return_id = ARM64_INS_RET;
      break;
    default:
      return Error{fmt::format("return instructions: machine {} is not supported", elf_machine)};
  }
  if (code.size() > kMaxFunctionBytes) {
    return Error{
        fmt::format("function at {:#x} has {} bytes: too big to decode", address, code.size())};
  }
  CapstoneHandle capstone;
  if (cs_open(arch, mode, &capstone.handle) != CS_ERR_OK) {
    return Error{"Capstone could not be initialised"};
  }
  // Detail (operands, groups) is not needed: the instruction id says RET.
  cs_option(capstone.handle, CS_OPT_DETAIL, CS_OPT_OFF);
  std::unique_ptr<cs_insn, void (*)(cs_insn*)> instruction(cs_malloc(capstone.handle),
                                                           [](cs_insn* i) { cs_free(i, 1); });
  if (!instruction) return Error{"Capstone could not allocate an instruction"};

  std::vector<uint64_t> returns;
  const uint8_t* bytes = code.data();
  size_t left = code.size();
  uint64_t at = address;
  while (left > 0) {
    if (cs_disasm_iter(capstone.handle, &bytes, &left, &at, instruction.get())) {
      if (instruction->id == return_id) returns.push_back(instruction->address);
      continue;
    }
    if (elf_machine == EM_AARCH64 && left >= 4) {
      bytes += 4;
      left -= 4;
      at += 4;
      continue;
    }
    if (only_padding(bytes, left)) break;
    return Error{fmt::format("undecodable instruction at {:#x}", at)};
  }
  return returns;
}

}  // namespace tlstap
