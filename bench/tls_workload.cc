// A TLS workload for the overhead benchmark: a client and a server, two processes over
// loopback, both linked to the system libssl (so tlstap's and the floor's uprobes fire).
//
//   tls_workload --mode pingpong|bulk --api write|write_ex --count N --size S
//
// pingpong: the client writes S bytes, the server reads them and echoes them back, N times
//           (latency-bound: every SSL call is on the critical path).
// bulk:     the client streams N messages of S bytes; the server reads until it has them all
//           (throughput-bound: both processes busy on their own core).
//
// Prints one JSON line: calls and bytes of both processes, the timed seconds (handshake
// excluded), the CPU the two processes used in that time, and SHA-256 of every plaintext
// stream (client write, server read, server write, client read) so a tracer's capture can
// be checked byte for byte.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "tls_workload: %s\n", what.c_str());
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

[[noreturn]] void die_errno(const std::string& what) { die(what + ": " + std::strerror(errno)); }

enum class Mode { pingpong, bulk };
enum class Api { write, write_ex };

struct Config {
  Mode mode = Mode::pingpong;
  Api api = Api::write;
  uint64_t count = 10000;
  size_t size = 64;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: tls_workload [--mode pingpong|bulk] [--api write|write_ex] "
               "[--count N] [--size BYTES]\n");
  std::exit(2);
}

uint64_t parse_number(std::string_view text) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) usage();
  return value;
}

Config parse_args(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) usage();
    std::string_view value = argv[++i];
    if (arg == "--mode") {
      if (value == "pingpong")
        config.mode = Mode::pingpong;
      else if (value == "bulk")
        config.mode = Mode::bulk;
      else
        usage();
    } else if (arg == "--api") {
      if (value == "write")
        config.api = Api::write;
      else if (value == "write_ex")
        config.api = Api::write_ex;
      else
        usage();
    } else if (arg == "--count") {
      config.count = parse_number(value);
    } else if (arg == "--size") {
      config.size = parse_number(value);
    } else {
      usage();
    }
  }
  // An int-returning SSL_write must be able to report the whole message.
  if (config.count == 0 || config.size == 0 || config.size > (64u << 20)) usage();
  return config;
}

// --- certificate --------------------------------------------------------------------------

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct CtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

// A P-256 key and a self-signed certificate for "localhost", made in memory: no temp files,
// no openssl CLI, and EC keygen takes microseconds where RSA takes tens of milliseconds.
std::pair<KeyPtr, X509Ptr> make_self_signed() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) die("generating a key");
  X509Ptr cert(X509_new());
  if (!cert) die("X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) die("signing the certificate");
  return {std::move(key), std::move(cert)};
}

// --- hashing --------------------------------------------------------------------------

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) die("SHA-256 init");
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const uint8_t* data, size_t size) {
    if (EVP_DigestUpdate(ctx_, data, size) != 1) die("SHA-256 update");
  }
  std::array<uint8_t, 32> finish() {
    std::array<uint8_t, 32> digest{};
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_, digest.data(), &length) != 1 || length != 32) die("SHA-256 final");
    return digest;
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::string hex(const std::array<uint8_t, 32>& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : digest) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xf]);
  }
  return out;
}

// --- SSL calls, through the API the run asked for ------------------------------------------

// Counts successful SSL_read/SSL_write calls: each is one event a tracer must capture.
struct Io {
  SSL* ssl;
  Api api;
  uint64_t calls = 0;

  // Writes all of `size` (blocking socket, no partial-write mode: one call, all or error).
  void write_all(const uint8_t* data, size_t size) {
    if (api == Api::write) {
      int n = SSL_write(ssl, data, static_cast<int>(size));
      if (n <= 0 || static_cast<size_t>(n) != size) die("SSL_write failed");
    } else {
      size_t written = 0;
      if (SSL_write_ex(ssl, data, size, &written) != 1 || written != size) {
        die("SSL_write_ex failed");
      }
    }
    calls++;
  }

  // Reads at most `size`; returns the bytes read, 0 at a clean close.
  size_t read_some(uint8_t* data, size_t size) {
    size_t got = 0;
    if (api == Api::write) {
      int n = SSL_read(ssl, data, static_cast<int>(size));
      if (n <= 0) {
        if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) return 0;
        die("SSL_read failed");
      }
      got = static_cast<size_t>(n);
    } else if (SSL_read_ex(ssl, data, size, &got) != 1) {
      if (SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN) return 0;
      die("SSL_read_ex failed");
    }
    calls++;
    return got;
  }

  void read_exact(uint8_t* data, size_t size) {
    for (size_t done = 0; done < size;) {
      size_t got = read_some(data + done, size - done);
      if (got == 0) die("peer closed early");
      done += got;
    }
  }
};

// --- timing ---------------------------------------------------------------------------

double monotonic_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// user+sys of this process so far. The sum is exact (scheduler runtime); only the split
// between user and sys is sampled.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// --- payload --------------------------------------------------------------------------

// Messages are windows into a pseudo-random pool at offsets that keep moving, so each
// message differs (a tracer that drops, repeats or reorders one changes the hash) while
// the workload spends no time generating bytes.
class Payload {
 public:
  explicit Payload(size_t message_size) : size_(message_size), pool_(message_size + kSpan) {
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (uint8_t& byte : pool_) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;  // xorshift64
      byte = static_cast<uint8_t>(state >> 24);
    }
  }
  const uint8_t* message(uint64_t index) const { return pool_.data() + (index * 4099) % kSpan; }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kSpan = 1 << 16;
  size_t size_;
  std::vector<uint8_t> pool_;
};

// What the server tells the client (over a pipe, not over TLS, so the report adds no SSL
// calls) once it has read everything.
struct ServerReport {
  uint64_t calls = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  double cpu_seconds = 0;
  uint8_t read_sha256[32] = {};
  uint8_t write_sha256[32] = {};
};

void write_fully(int fd, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die_errno("writing the report pipe");
    p += n, size -= static_cast<size_t>(n);
  }
}

bool read_fully(int fd, void* data, size_t size) {
  auto* p = static_cast<uint8_t*>(data);
  while (size > 0) {
    ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n, size -= static_cast<size_t>(n);
  }
  return true;
}

void tune_socket(int fd) {
  int one = 1;
  // pingpong messages are tiny: without NODELAY, Nagle + delayed ACK would measure 40 ms
  // timers instead of SSL calls.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// --- the two processes ----------------------------------------------------------------

[[noreturn]] void run_server(const Config& config, int listener, int report_fd, EVP_PKEY* key,
                             X509* cert) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) die("SSL_CTX_new (server)");
  if (SSL_CTX_use_certificate(ctx.get(), cert) != 1 || SSL_CTX_use_PrivateKey(ctx.get(), key) != 1)
    die("loading the certificate");
  // No session tickets: they are post-handshake records the client would read inside the
  // timed loop, and nothing here resumes sessions.
  SSL_CTX_set_num_tickets(ctx.get(), 0);

  int fd = accept(listener, nullptr, nullptr);
  if (fd < 0) die_errno("accept");
  close(listener);
  tune_socket(fd);
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  if (SSL_accept(ssl.get()) != 1) die("server handshake");

  Io io{ssl.get(), config.api};
  Sha256 read_hash, write_hash;
  ServerReport report;
  const double cpu_start = cpu_seconds();
  // A buffer of at least one TLS record: the server reads whatever each record holds.
  std::vector<uint8_t> buffer(std::max<size_t>(config.size, 16384));
  const uint64_t total = config.count * config.size;
  if (config.mode == Mode::pingpong) {
    for (uint64_t i = 0; i < config.count; i++) {
      io.read_exact(buffer.data(), config.size);
      read_hash.update(buffer.data(), config.size);
      io.write_all(buffer.data(), config.size);  // echo
      write_hash.update(buffer.data(), config.size);
    }
    report.bytes_read = report.bytes_written = total;
  } else {
    while (report.bytes_read < total) {
      size_t got =
          io.read_some(buffer.data(), std::min<uint64_t>(buffer.size(), total - report.bytes_read));
      if (got == 0) die("client closed early");
      read_hash.update(buffer.data(), got);
      report.bytes_read += got;
    }
  }
  report.cpu_seconds = cpu_seconds() - cpu_start;
  report.calls = io.calls;
  std::array<uint8_t, 32> digest = read_hash.finish();
  std::memcpy(report.read_sha256, digest.data(), 32);
  digest = write_hash.finish();
  std::memcpy(report.write_sha256, digest.data(), 32);
  write_fully(report_fd, &report, sizeof(report));
  close(report_fd);

  // Wait for the client's close_notify so neither side sees a reset.
  uint8_t byte;
  (void)SSL_read(ssl.get(), &byte, 1);
  SSL_shutdown(ssl.get());
  close(fd);
  std::_Exit(0);
}

void run_client(const Config& config, uint16_t port, int report_fd, pid_t server_pid, X509* cert) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) die("SSL_CTX_new (client)");
  // Verify for real against the one certificate we trust: the handshake is the usual one.
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), cert);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    die_errno("connect");
  tune_socket(fd);
  SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set1_host(ssl.get(), "localhost");
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  if (SSL_connect(ssl.get()) != 1) die("client handshake");

  Payload payload(config.size);
  Io io{ssl.get(), config.api};
  Sha256 read_hash;
  std::vector<uint8_t> echo(config.size);
  const double cpu_start = cpu_seconds();
  const double start = monotonic_seconds();
  for (uint64_t i = 0; i < config.count; i++) {
    io.write_all(payload.message(i), config.size);
    if (config.mode == Mode::pingpong) {
      io.read_exact(echo.data(), config.size);
      read_hash.update(echo.data(), config.size);
    }
  }
  ServerReport report;
  // bulk: the clock stops when the server has read the last byte, not when it is queued.
  if (!read_fully(report_fd, &report, sizeof(report))) die("the server did not report");
  const double seconds = monotonic_seconds() - start;
  const double client_cpu = cpu_seconds() - cpu_start;

  // The client's stream is deterministic: hash it after the clock stopped.
  Sha256 write_hash;
  for (uint64_t i = 0; i < config.count; i++) write_hash.update(payload.message(i), config.size);

  SSL_shutdown(ssl.get());
  int status = 0;
  waitpid(server_pid, &status, 0);
  close(fd);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the server failed");

  const uint64_t client_written = config.count * config.size;
  const uint64_t client_read = config.mode == Mode::pingpong ? client_written : 0;
  const uint64_t calls = io.calls + report.calls;
  const uint64_t bytes = client_written + report.bytes_written;  // each byte written is read once
  std::printf(
      "{\"mode\":\"%s\",\"api\":\"%s\",\"count\":%llu,\"size\":%zu,\"client_pid\":%d,"
      "\"server_pid\":%d,\"calls\":%llu,\"client_calls\":%llu,\"server_calls\":%llu,"
      "\"bytes\":%llu,\"seconds\":%.6f,\"calls_per_s\":%.1f,\"mb_per_s\":%.3f,"
      "\"cpu_seconds\":%.6f,\"client_cpu_seconds\":%.6f,\"server_cpu_seconds\":%.6f,"
      "\"client_written\":%llu,\"server_read\":%llu,\"server_written\":%llu,"
      "\"client_read\":%llu,\"client_write_sha256\":\"%s\",\"server_read_sha256\":\"%s\","
      "\"server_write_sha256\":\"%s\",\"client_read_sha256\":\"%s\"}\n",
      config.mode == Mode::pingpong ? "pingpong" : "bulk",
      config.api == Api::write ? "write" : "write_ex",
      static_cast<unsigned long long>(config.count), config.size, static_cast<int>(getpid()),
      static_cast<int>(server_pid), static_cast<unsigned long long>(calls),
      static_cast<unsigned long long>(io.calls), static_cast<unsigned long long>(report.calls),
      static_cast<unsigned long long>(bytes), seconds, static_cast<double>(calls) / seconds,
      static_cast<double>(bytes) / seconds / 1e6, client_cpu + report.cpu_seconds, client_cpu,
      report.cpu_seconds, static_cast<unsigned long long>(client_written),
      static_cast<unsigned long long>(report.bytes_read),
      static_cast<unsigned long long>(report.bytes_written),
      static_cast<unsigned long long>(client_read), hex(write_hash.finish()).c_str(),
      hex(std::to_array(report.read_sha256)).c_str(),
      hex(std::to_array(report.write_sha256)).c_str(), hex(read_hash.finish()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse_args(argc, argv);
  auto [key, cert] = make_self_signed();

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) die_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    die_errno("listening on loopback");
  }
  int report_pipe[2];
  if (pipe2(report_pipe, O_CLOEXEC) != 0) die_errno("pipe");

  // Flush before fork so nothing buffered is printed twice.
  std::fflush(nullptr);
  pid_t server = fork();
  if (server < 0) die_errno("fork");
  if (server == 0) {
    close(report_pipe[0]);
    run_server(config, listener, report_pipe[1], key.get(), cert.get());
  }
  close(listener);
  close(report_pipe[1]);
  run_client(config, ntohs(address.sin_port), report_pipe[0], server, cert.get());
  return 0;
}
