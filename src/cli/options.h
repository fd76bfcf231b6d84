// The command line (DESIGN.md: a stable interface).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "output/sinks.h"

namespace tlstap {

inline constexpr int kDefaultNice = -10;

struct Options {
  std::vector<pid_t> pids;
  // --children: the -p processes' descendants too, those running at start and those forked
  // later (pre-fork servers do their TLS in workers).
  bool children = false;
  std::optional<uid_t> uid;
  std::optional<std::string> comm;
  std::vector<uint16_t> ports;
  std::optional<std::string> host;
  std::vector<std::string> command;  // after --
  OutputFormat format = OutputFormat::text;
  std::optional<std::string> output_path;
  // -w: the plaintext as a pcapng capture too; "-" is stdout (records then go only to -o).
  std::optional<std::string> pcapng_path;
  bool force = false;  // an existing output file may be overwritten (never through a link)
  uint64_t max_bytes = 1 << 20;
  uint64_t buffer_bytes = 32 << 20;
  uint64_t queue_bytes = kDefaultQueueBytes;  // output queue between draining and writing
  std::vector<std::string> libs;
  bool list_targets = false;
  std::optional<double> duration_seconds;
  // Scheduling priority of tlstap's threads. Above the traced services' by default: a tracer
  // that falls behind loses records, while one that catches up only has work because they do.
  int nice = kDefaultNice;
  bool nice_given = false;  // --nice was on the command line: failing to apply it is said
  bool quiet = false;
  bool verbose = false;
  bool http = false;           // --http: protocol views
  bool http_only = false;      // --http-only: protocol views instead of data records
  uint64_t body_bytes = 4096;  // --body-bytes: first bytes of each body shown by the views
  bool redact = false;         // --redact: secret header values masked in every output
  std::vector<std::string> redact_headers;  // --redact-header: more names (implies --redact)
};

// Parses argv. On --help or a usage error returns an Error with exit_code set; CLI11 has
// printed help or usage already when the message is empty.
Result<Options> parse_options(int argc, char** argv, int& exit_code);

// A TCP port, 1 to 65535, in decimal.
std::optional<uint16_t> parse_port(const std::string& text);
// A finite number of seconds above zero ("10", "0.5").
std::optional<double> parse_duration_seconds(const std::string& text);
// A user name (looked up with getpwnam) or a numeric uid.
Result<uid_t> parse_user(const std::string& text);

// "64K", "16M", "16MiB", "1G" or plain bytes.
std::optional<uint64_t> parse_byte_size(const std::string& text);

}  // namespace tlstap
