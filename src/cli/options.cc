#include "cli/options.h"

#include <pwd.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "redact/redact_names.h"
#include "tlstap/abi.h"

namespace tlstap {

namespace {

// -o and -w naming one file, however spelled (`b`, `./b`, `../dir/b`, a link or another hard
// link to it): the capture would be written over the records.
bool name_same_output(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a == "-" || b == "-") return false;
  std::error_code error_a, error_b;
  std::filesystem::path canonical_a = std::filesystem::weakly_canonical(a, error_a);
  std::filesystem::path canonical_b = std::filesystem::weakly_canonical(b, error_b);
  if (!error_a && !error_b && canonical_a == canonical_b) return true;
  struct stat stat_a {
  }, stat_b{};
  return ::stat(a.c_str(), &stat_a) == 0 && ::stat(b.c_str(), &stat_b) == 0 &&
         stat_a.st_dev == stat_b.st_dev && stat_a.st_ino == stat_b.st_ino;
}

}  // namespace

std::optional<uint64_t> parse_byte_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) digits++;
  if (digits == 0 || digits > 12) return std::nullopt;
  uint64_t value = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1},           {"B", 1},           {"K", 1 << 10},     {"KB", 1 << 10},
      {"KIB", 1 << 10},  {"M", 1 << 20},     {"MB", 1 << 20},    {"MIB", 1 << 20},
      {"G", 1ull << 30}, {"GB", 1ull << 30}, {"GIB", 1ull << 30}};
  auto unit_it = kUnits.find(unit);
  if (unit_it == kUnits.end()) return std::nullopt;
  if (value > UINT64_MAX / unit_it->second) return std::nullopt;
  return value * unit_it->second;
}

std::optional<uint16_t> parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned long port = std::stoul(text);
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

std::optional<double> parse_duration_seconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double seconds = std::strtod(text.c_str(), &end);
  // strtod takes "inf", "nan" and hex floats; only a finite positive number is a duration.
  if (end != text.c_str() + text.size() || !std::isfinite(seconds) || seconds <= 0) {
    return std::nullopt;
  }
  return seconds;
}

Result<uid_t> parse_user(const std::string& text) {
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 10 || std::stoull(text) > UINT32_MAX - 1) {  // (uid_t)-1 is "no user"
      return Error{fmt::format("-u/--uid: {} is not a user id", text)};
    }
    return static_cast<uid_t>(std::stoull(text));
  }
  // A name that is all digits is taken as a uid above, as ps and chown do.
  if (const passwd* user = text.empty() ? nullptr : getpwnam(text.c_str())) return user->pw_uid;
  return Error{
      fmt::format("-u/--uid: no user named \"{}\" (give a user name or a numeric uid)", text)};
}

Result<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options options;
  CLI::App app{
      "tlstap: shows the plaintext that processes send and receive over TLS.\n"
      "Traces every process using OpenSSL or GnuTLS (or a binary with one linked in), no keys "
      "needed.",
      "tlstap"};
  app.footer("Usage: tlstap [options] [-- COMMAND [ARGS...]]");
  app.add_option("-p,--pid", options.pids, "trace only this process (repeatable)");
  app.add_flag("--children", options.children,
               "with -p: also trace the process's descendants, running or forked later "
               "(the workers of nginx, postgres and other pre-fork servers)");
  std::optional<std::string> user;
  app.add_option("-u,--uid", user, "trace only this user (a name or a numeric uid)");
  app.add_option("-c,--comm", options.comm, "trace only processes with this command name");
  std::vector<std::string> ports;  // checked below, for a message that names the option
  app.add_option("--port", ports,
                 "trace only connections with this port at either end "
                 "(repeatable)");
  app.add_option("--host", options.host, "trace only connections with this address at either end");
  std::string format = "text";
  app.add_option("-f,--format", format, "text (default) | json | hex")
      ->check(CLI::IsMember({"text", "json", "hex"}));
  app.add_option("-o,--output", options.output_path,
                 "write records to FILE (created 0600; never through a symbolic link)");
  app.add_option("-w,--pcapng", options.pcapng_path,
                 "also write the plaintext as a pcapng capture to FILE (created 0600), for "
                 "Wireshark; - for stdout, where records are then not written (-o FILE still "
                 "writes them)");
  app.add_flag("--force", options.force,
               "overwrite an existing output file (a regular file with no other hard link)");
  std::string max_bytes = "1M";
  app.add_option("--max-bytes", max_bytes,
                 "bytes captured per call before `truncated` (default 1M, at most 256M)");
  std::string buffer_size = "32M";
  app.add_option("--buffer-size", buffer_size, "BPF ring buffer size (default 32M)");
  std::string queue_size = "512M";
  app.add_option("--queue-size", queue_size,
                 "memory for output waiting to be written, so a stalled output loses nothing "
                 "until it is full (default 512M)");
  app.add_option("--lib", options.libs, "also attach to this library or binary (repeatable)");
  app.add_flag("--list-targets", options.list_targets,
               "print what would be attached to, with the symbols found; exit");
  std::optional<std::string> duration;  // checked below: CLI11 prints the range of a double
  app.add_option("-d,--duration", duration, "stop after SECS");
  CLI::Option* nice =
      app.add_option("--nice", options.nice,
                     "scheduling priority of tlstap, -20..19 (default -10: ahead of the traced "
                     "processes, so it keeps up with them)")
          ->check(CLI::Range(-20, 19));
  app.add_flag("--http", options.http,
               "add HTTP exchange views: requests paired with responses, with latency");
  app.add_flag("--http-only", options.http_only,
               "HTTP exchange views instead of data records (implies --http)");
  std::string body_bytes = "4096";
  CLI::Option* body_bytes_option = app.add_option(
      "--body-bytes", body_bytes, "first bytes of each HTTP body shown by --http (default 4096)");
  app.add_flag("--redact", options.redact,
               "mask the values of Authorization, Cookie, Set-Cookie and Proxy-Authorization "
               "headers in every output (records, --http, pcapng)");
  app.add_option("--redact-header", options.redact_headers,
                 "also mask this header's values (repeatable; implies --redact)")
      ->type_name("NAME");
  app.add_flag("-q,--quiet", options.quiet, "no exit summary");
  app.add_flag("-v,--verbose", options.verbose, "libbpf and attach diagnostics on stderr");
  app.add_option("command", options.command, "run COMMAND (after --), trace it and its children");

  // Everything after the first `--` is the COMMAND, split off before CLI11 sees it: CLI11
  // 2.1 takes a `--` right after a repeatable option's value (`--lib PATH -- server --port
  // 8443`) as the end of that option's values and goes on parsing the COMMAND's own options
  // as tlstap's.
  int own_argc = argc;
  for (int i = 1; i < argc; i++) {
    if (std::string_view(argv[i]) == "--") {
      own_argc = i;
      break;
    }
  }
  try {
    app.parse(own_argc, argv);
    for (int i = own_argc + 1; i < argc; i++) options.command.emplace_back(argv[i]);
  } catch (const CLI::ParseError& error) {
    exit_code = app.exit(error);
    return Error{""};
  }
  options.nice_given = nice->count() > 0;
  for (const std::string& text : ports) {
    std::optional<uint16_t> port = parse_port(text);
    if (!port) {
      exit_code = 2;
      return Error{fmt::format("--port: {} is not a port number (1-65535)", text)};
    }
    options.ports.push_back(*port);
  }
  if (duration) {
    options.duration_seconds = parse_duration_seconds(*duration);
    if (!options.duration_seconds) {
      exit_code = 2;
      return Error{fmt::format(
          "-d/--duration: {} is not a duration: expected a positive number of seconds, like 10 "
          "or 0.5",
          *duration)};
    }
  }
  if (user) {
    Result<uid_t> uid = parse_user(*user);
    if (!uid) {
      exit_code = 2;
      return uid.error();
    }
    options.uid = *uid;
  }
  if (options.http_only) options.http = true;
  for (const std::string& name : options.redact_headers) {
    if (name.starts_with('-')) {  // `--redact-header -q` took the next option for a name
      exit_code = 2;
      return Error{fmt::format(
          "--redact-header {}: that looks like an option, not a header name; give the name "
          "right after --redact-header",
          name)};
    }
    if (!redact::is_field_name(name)) {
      exit_code = 2;
      return Error{fmt::format(
          "--redact-header {:?}: expected a header name (letters, digits and !#$%&'*+-.^_`|~), "
          "like X-Api-Key",
          name)};
    }
  }
  if (!options.redact_headers.empty()) options.redact = true;
  std::optional<uint64_t> body = parse_byte_size(body_bytes);
  if (!body || *body > (16 << 20)) {
    exit_code = 2;
    return Error{"--body-bytes: expected a size from 0 to 16M, like 4096 or 64K"};
  }
  if (body_bytes_option->count() > 0 && !options.http) {
    exit_code = 2;
    return Error{"--body-bytes applies to the HTTP views: add --http or --http-only"};
  }
  options.body_bytes = *body;
  options.format = format == "json"  ? OutputFormat::json
                   : format == "hex" ? OutputFormat::hex
                                     : OutputFormat::text;
  std::optional<uint64_t> max = parse_byte_size(max_bytes);
  if (!max || *max == 0 || *max > TLSTAP_MAX_CAPTURE_BYTES) {
    exit_code = 2;
    return Error{"--max-bytes: expected a size from 1 to 256M, like 64K or 16M"};
  }
  options.max_bytes = *max;
  if (options.ports.size() > TLSTAP_MAX_PORT_FILTERS) {
    exit_code = 2;
    return Error{fmt::format("--port: at most {} ports", TLSTAP_MAX_PORT_FILTERS)};
  }
  std::optional<uint64_t> buffer = parse_byte_size(buffer_size);
  if (!buffer || *buffer < (64 << 10) || *buffer > (1ull << 31)) {
    exit_code = 2;
    return Error{"--buffer-size: expected a size from 64K to 2G, like 64M"};
  }
  options.buffer_bytes = *buffer;
  std::optional<uint64_t> queue = parse_byte_size(queue_size);
  if (!queue || *queue < (1 << 20) || *queue > (64ull << 30)) {
    exit_code = 2;
    return Error{"--queue-size: expected a size from 1M to 64G, like 512M"};
  }
  options.queue_bytes = *queue;
  if (options.pcapng_path && options.output_path &&
      name_same_output(*options.pcapng_path, *options.output_path)) {
    exit_code = 2;
    return Error{"-w and -o name the same file: give the pcapng capture a file of its own"};
  }
  if (options.children && options.pids.empty()) {
    exit_code = 2;
    return Error{options.command.empty()
                     ? "--children applies to -p/--pid: add -p PID to trace that process and "
                       "its descendants"
                     : "--children applies to -p/--pid; a COMMAND is always traced with its "
                       "descendants: leave --children out"};
  }
  if (!options.command.empty() && !options.pids.empty()) {
    exit_code = 2;
    return Error{"--pid and a COMMAND cannot be combined: a COMMAND is traced with its children"};
  }
  return options;
}

}  // namespace tlstap
