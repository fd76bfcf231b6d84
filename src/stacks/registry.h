// Every TLS stack tlstap captures, and the ids BPF reports their functions by.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "stacks/tls_stack.h"

namespace tlstap {

const std::vector<const TlsStack*>& tls_stacks();
const TlsStack* find_stack(std::string_view name);

struct StackFunction {
  const TlsStack* stack;
  const TlsFunction* function;
};
// A function's id in data events: 1 + its index in the registry's order of stacks and
// functions (0 is no function). Stable for the life of the process, not across versions.
uint8_t function_id(const TlsStack& stack, const TlsFunction& function);
std::optional<StackFunction> function_by_id(uint8_t id);
// The id of `symbol` of the stack named `stack`; 0 when there is no such function.
uint8_t function_id(std::string_view stack, std::string_view symbol);

}  // namespace tlstap
