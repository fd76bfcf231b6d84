#include "discover/go_targets.h"

#include <fmt/format.h>

#include "discover/elf_file.h"
#include "discover/go_program.h"
#include "stacks/go.h"

namespace tlstap {
namespace {

// Every Go program has one of these (PIE builds keep .go.buildinfo; stripping keeps both).
bool looks_like_go(const std::string& path) {
  Result<ElfFile> elf = ElfFile::open(path);
  if (!elf) return false;
  return elf->has_section(".go.buildinfo") || elf->has_section(".gopclntab") ||
         elf->has_section(".data.rel.ro.gopclntab");
}

}  // namespace

GoLook look_for_go_target(const FileId& id, const std::string& display_path,
                          const std::string& open_path) {
  GoLook look;
  if (!looks_like_go(open_path)) return look;
  Result<GoProgram> program = inspect_go_program(open_path);
  if (!program) {
    look.why_not = program.error().message;
    return look;
  }
  if (program->kind == GoProgramKind::kNotGo) return look;
  if (program->kind == GoProgramKind::kUnsupported) {
    look.why_not = fmt::format("{}: Go program not probed: {}", display_path, program->reason);
    return look;
  }
  if (program->go_arch != "amd64") {
    look.why_not = fmt::format("{}: Go program for {}: tlstap probes Go's crypto/tls on amd64 only",
                               display_path, program->go_arch);
    return look;
  }
  if (program->functions.empty()) return look;  // a Go program without crypto/tls
  Target target{id, display_path, open_path, std::string(go_stack().name), {}, program->go_version};
  for (const GoProbeFunction& function : program->functions) {
    if (function.ret_offsets.empty()) {
      look.why_not = fmt::format(
          "{}: {} has no RET instruction tlstap could find in {:#x}..{:#x} (from its {}): not "
          "probed",
          display_path, function.name, function.address, function.end_address, function.found_in);
      return look;
    }
    FunctionSymbol symbol;
    symbol.name = function.name;
    symbol.address = function.address;
    symbol.file_offset = function.entry_offset;
    symbol.size = function.end_address - function.address;
    symbol.return_offsets = function.ret_offsets;
    target.functions.push_back(std::move(symbol));
  }
  look.target = std::move(target);
  return look;
}

}  // namespace tlstap
