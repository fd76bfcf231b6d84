#include "stacks/go.h"

namespace tlstap {

const TlsStack& go_stack() {
  static const TlsStack stack{
      .name = "go",
      .library_prefixes = {},  // in executables only
      .functions =
          {
              // func (c *Conn) Write(b []byte) (int, error), Read alike
              {"crypto/tls.(*Conn).Write", Direction::write},
              {"crypto/tls.(*Conn).Read", Direction::read},
          },
      .go_program = true,
  };
  return stack;
}

}  // namespace tlstap
