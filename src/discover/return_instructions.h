// Where a function returns: the address of every return instruction in its code, decoded
// with Capstone from the entry onwards. Go programs cannot take uretprobes (the kernel
// swaps the return address on the stack, and Go moves and copies goroutine stacks), so a
// Go function's return is caught by a uprobe on each of its RET instructions instead.
// Decoding linearly from the entry finds only real instructions: a 0xc3 byte inside another
// instruction's immediate or displacement is not a RET. (Go puts no data between the
// instructions of a function, so a linear sweep sees every instruction.)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"

namespace tlstap {

// x86-64 (EM_X86_64: near RET, with or without an immediate) and arm64 (EM_AARCH64: RET
// through any register). `code` is the function's bytes, placed at `address`; the result is
// addresses in the same space. On x86-64, bytes that do not decode are an error unless
// only padding (INT3 or zero bytes) is left; on arm64 every instruction is 4 bytes, so an
// undecodable word (zero padding) is skipped.
Result<std::vector<uint64_t>> find_return_instructions(uint16_t elf_machine,
                                                       std::span<const uint8_t> code,
                                                       uint64_t address);

}  // namespace tlstap
