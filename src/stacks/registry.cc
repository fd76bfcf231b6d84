#include "stacks/registry.h"

#include "stacks/gnutls.h"
#include "stacks/go.h"
#include "stacks/mbedtls.h"
#include "stacks/nss.h"
#include "stacks/openssl.h"
#include "stacks/wolfssl.h"

namespace tlstap {

const std::vector<const TlsStack*>& tls_stacks() {
  static const std::vector<const TlsStack*> stacks = {&openssl_stack(), &gnutls_stack(),
                                                      &nss_stack(),     &wolfssl_stack(),
                                                      &mbedtls_stack(), &go_stack()};
  return stacks;
}

const TlsStack* find_stack(std::string_view name) {
  for (const TlsStack* stack : tls_stacks()) {
    if (stack->name == name) return stack;
  }
  return nullptr;
}

uint8_t function_id(const TlsStack& stack, const TlsFunction& function) {
  unsigned id = 1;
  for (const TlsStack* candidate : tls_stacks()) {
    for (const TlsFunction& f : candidate->functions) {
      if (candidate == &stack && &f == &function) return static_cast<uint8_t>(id);
      id++;
    }
  }
  return 0;
}

uint8_t function_id(std::string_view stack_name, std::string_view symbol) {
  const TlsStack* stack = find_stack(stack_name);
  const TlsFunction* function = stack ? stack->function(symbol) : nullptr;
  return function ? function_id(*stack, *function) : 0;
}

std::optional<StackFunction> function_by_id(uint8_t id) {
  unsigned index = 1;
  for (const TlsStack* stack : tls_stacks()) {
    for (const TlsFunction& f : stack->functions) {
      if (index == id) return StackFunction{stack, &f};
      index++;
    }
  }
  return std::nullopt;
}

}  // namespace tlstap
