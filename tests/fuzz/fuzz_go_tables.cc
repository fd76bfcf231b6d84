// Fuzzes the Go readers on raw bytes. The first byte picks the reader, the rest is its input:
//   0  a function table (pclntab) of any format; the next 8 bytes are the text start
//   1  a build info blob, inline or through pointers, in a one-segment image
//   2  finding a function table (scan, moduledata) in an image of three segments (code,
//      read-only, writable) cut from the input in equal parts
//   3  RET instructions in x86-64 code;  4  the same on arm64
// Beyond not crashing: every decoded function lies in order inside the table's range, its
// name inside the input; every RET is inside the code, in ascending order.
#include <elf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "discover/elf_image.h"
#include "discover/go_buildinfo.h"
#include "discover/go_function_table.h"
#include "discover/go_pclntab.h"
#include "discover/return_instructions.h"
#include "fuzz_check.h"

namespace {

constexpr uint64_t kText = 0x401000, kRodata = 0x800000, kData = 0xc00000;

void check_table(const tlstap::GoPclntab& pclntab, std::span<const uint8_t> bytes) {
  const char* begin = reinterpret_cast<const char*>(bytes.data());
  uint64_t previous_end = 0;
  for (size_t i = 0; i < pclntab.size(); i++) {
    tlstap::GoFunction function = pclntab.function(i);
    FUZZ_CHECK(function.entry <= function.end);
    FUZZ_CHECK(i == 0 || function.entry == previous_end);
    previous_end = function.end;
    FUZZ_CHECK(function.name.data() >= begin &&
               function.name.data() + function.name.size() < begin + bytes.size());
    FUZZ_CHECK(function.name.data()[function.name.size()] == '\0');
  }
  if (pclntab.size() > 0) {
    tlstap::GoFunction first = pclntab.function(0);
    std::optional<tlstap::GoFunction> found = pclntab.find(first.name);
    FUZZ_CHECK(found && found->name == first.name);
  }
}

void check_returns(uint16_t machine, std::span<const uint8_t> code) {
  constexpr uint64_t kAddress = 0x1000;
  tlstap::Result<std::vector<uint64_t>> returns =
      tlstap::find_return_instructions(machine, code, kAddress);
  if (!returns) return;
  uint64_t previous = 0;
  for (uint64_t address : *returns) {
    FUZZ_CHECK(address >= kAddress && address < kAddress + code.size());
    FUZZ_CHECK(address >= previous);
    previous = address + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0] % 5;
  std::span<const uint8_t> input(data + 1, size - 1);
  std::string_view file(reinterpret_cast<const char*>(input.data()), input.size());
  switch (mode) {
    case 0: {
      if (input.size() < 8) return 0;
      uint64_t text_start = tlstap::read_unsigned(input.data(), 8, false);
      std::span<const uint8_t> table = input.subspan(8);
      tlstap::Result<tlstap::GoPclntab> pclntab = tlstap::GoPclntab::parse(table, text_start);
      if (pclntab) check_table(*pclntab, table);
      break;
    }
    case 1: {
      tlstap::ElfImage image(file, {{kData, 0, file.size(), true, false}}, {}, EM_X86_64, 8, false);
      std::optional<tlstap::GoBuildInfo> info = tlstap::decode_go_buildinfo(image, kData);
      if (info) FUZZ_CHECK(!info->version.empty());
      (void)tlstap::find_go_buildinfo(image, std::nullopt);
      break;
    }
    case 2: {
      size_t third = file.size() / 3;
      tlstap::ElfImage image(file,
                             {{kText, 0, third, false, true},
                              {kRodata, third, third, false, false},
                              {kData, 2 * third, file.size() - 2 * third, true, false}},
                             {{kData, kRodata}}, EM_X86_64, 8, false);
      tlstap::Result<tlstap::GoFunctionTable> table = tlstap::locate_go_function_table(image, {});
      if (table) {
        std::span<const uint8_t> bytes = image.bytes_from(table->address);
        check_table(table->pclntab, bytes);
        FUZZ_CHECK(image.segment_of(table->pclntab.function(0).entry)->executable);
      }
      break;
    }
    case 3: check_returns(EM_X86_64, input); break;
    case 4: check_returns(EM_AARCH64, input); break;
  }
  return 0;
}
