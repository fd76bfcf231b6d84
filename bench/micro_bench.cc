// Micro-benchmarks of tlstap's user-space hot path, without the kernel: chunk reassembly,
// record encoding (JSON, text) and base64. Each event run.py counts passes through these.
//
// The sinks write through a real OutputStream to /dev/null (the write(2) calls are part of
// the cost). OutputStream::standard_output() is the only way to get a stream on a
// descriptor we opened, so fd 1 is pointed at /dev/null and Google Benchmark's report goes
// to the original stdout through a saved descriptor. (create_private_file("/dev/null")
// would fchmod /dev/null to 0600 when run as root.)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "capture/event_router.h"
#include "capture/reassembler.h"
#include "conn/connection.h"
#include "http2_frames.h"  // tests/unit: frames and nghttp2-coded header blocks
#include "output/encoding.h"
#include "output/output_stream.h"
#include "output/sinks.h"
#include "redact/redacting_sink.h"
#include "stacks/registry.h"
#include "tlstap/abi.h"

namespace {

using tlstap::DataRecord;
using tlstap::LostRecord;
using tlstap::RecordSink;

// Keeps the record alive for the optimizer and nothing else: reassembly cost alone.
class NullSink final : public RecordSink {
 public:
  void data(const DataRecord& record) override {
    benchmark::DoNotOptimize(record.data.data());
    bytes_ += record.data.size();
  }
  void lost(const LostRecord&) override {}
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

// Plaintext that looks like what tlstap mostly sees (HTTP/1.1 text) followed by binary
// bytes, so both the printable and the escaped paths of the text encoder are exercised.
std::string make_payload(size_t size) {
  static constexpr char kText[] =
      "GET /api/v1/items?page=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  std::string payload;
  payload.reserve(size);
  uint32_t state = 2463534242u;
  for (size_t i = 0; payload.size() < size; i++) {
    if ((i / 256) % 4 == 3) {  // one quarter binary
      state ^= state << 13, state ^= state >> 17, state ^= state << 5;
      payload.push_back(static_cast<char>(state));
    } else {
      payload.push_back(kText[i % (sizeof(kText) - 1)]);
    }
  }
  return payload;
}

// The chunks BPF would send for one call of `size` bytes, as raw ring-buffer events.
struct CallEvents {
  std::vector<std::vector<uint8_t>> chunks;

  CallEvents(size_t size, uint8_t function, uint8_t direction) {
    std::string payload = make_payload(size);
    for (size_t offset = 0; offset < size; offset += TLSTAP_CHUNK_BYTES) {
      size_t length = std::min<size_t>(TLSTAP_CHUNK_BYTES, size - offset);
      std::vector<uint8_t> raw(TLSTAP_DATA_EVENT_HEADER_BYTES + length, 0);
      tlstap_data_event event;
      std::memset(&event, 0, TLSTAP_DATA_EVENT_HEADER_BYTES);
      event.header.kind = TLSTAP_EVENT_DATA;
      event.header.pid = 4242;
      event.tid = 4242;
      event.uid = 1000;
      event.ts_ns = 1'000'000'000;
      event.call_len = size;
      event.capture_len = size;
      event.offset = offset;
      event.chunk_len = static_cast<uint32_t>(length);
      event.function = function;
      event.direction = direction;
      std::memcpy(event.comm, "bench", 6);
      std::memcpy(raw.data(), &event, TLSTAP_DATA_EVENT_HEADER_BYTES);
      std::memcpy(raw.data() + TLSTAP_DATA_EVENT_HEADER_BYTES, payload.data() + offset, length);
      chunks.push_back(std::move(raw));
    }
  }

  // Every call needs a fresh id (the reassembler rejects a repeated first chunk).
  void set_call_id(uint64_t call_id) {
    for (std::vector<uint8_t>& raw : chunks) {
      std::memcpy(raw.data() + offsetof(tlstap_data_event, call_id), &call_id, sizeof(call_id));
    }
  }
};

tlstap::OutputStream& devnull_stream() {
  static tlstap::OutputStream stream = tlstap::OutputStream::standard_output();
  return stream;
}

// Router -> reassembler -> sink, fed raw events the way the ring-buffer callback feeds them.
void run_calls(benchmark::State& state, size_t size, RecordSink& sink) {
  CallEvents call(size, tlstap::function_id("openssl", "SSL_write"), TLSTAP_DIR_WRITE);
  tlstap::Reassembler reassembler(sink, tlstap::WallClock{});
  tlstap::EventRouter router(reassembler, {});
  uint64_t call_id = 1;
  for (auto _ : state) {
    call.set_call_id(call_id++);
    for (const std::vector<uint8_t>& raw : call.chunks) router.on_event(raw.data(), raw.size());
  }
  if (reassembler.pending_calls() != 0 || router.malformed_events() != 0 ||
      reassembler.malformed_chunks() != 0) {
    state.SkipWithError("the reassembler did not complete every call");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

void BM_Reassemble(benchmark::State& state) {
  NullSink sink;
  run_calls(state, static_cast<size_t>(state.range(0)), sink);
}
// 64 B and 16 KiB arrive as one chunk (the no-copy path); 1 MiB is 64 chunks put together.
BENCHMARK(BM_Reassemble)->Arg(64)->Arg(16 << 10)->Arg(1 << 20);

// The whole per-event user-space path of `tlstap -f json -o FILE`, minus the ring buffer.
void BM_ReassembleJson(benchmark::State& state) {
  std::unique_ptr<RecordSink> sink =
      tlstap::make_sink(tlstap::OutputFormat::json, devnull_stream());
  run_calls(state, static_cast<size_t>(state.range(0)), *sink);
  devnull_stream().sync();
}
BENCHMARK(BM_ReassembleJson)->Arg(64)->Arg(16 << 10)->Arg(1 << 20);

DataRecord make_record(const std::string& payload) {
  DataRecord record;
  record.ts_ns = 1764050000123456789ull;
  record.pid = 812;
  record.tid = 812;
  record.uid = 0;
  record.comm = "curl";
  record.library = "openssl";
  record.function = "SSL_write";
  record.direction = tlstap::Direction::write;
  record.len = payload.size();
  record.data = payload;
  return record;
}

void encode_records(benchmark::State& state, tlstap::OutputFormat format) {
  std::string payload = make_payload(static_cast<size_t>(state.range(0)));
  DataRecord record = make_record(payload);
  std::unique_ptr<RecordSink> sink = tlstap::make_sink(format, devnull_stream());
  for (auto _ : state) sink->data(record);
  devnull_stream().sync();
  if (devnull_stream().error()) state.SkipWithError(devnull_stream().error()->c_str());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

void BM_EncodeJson(benchmark::State& state) { encode_records(state, tlstap::OutputFormat::json); }
BENCHMARK(BM_EncodeJson)->Arg(64)->Arg(16 << 10);

void BM_EncodeText(benchmark::State& state) { encode_records(state, tlstap::OutputFormat::text); }
BENCHMARK(BM_EncodeText)->Arg(64)->Arg(16 << 10);

void BM_EncodeHex(benchmark::State& state) { encode_records(state, tlstap::OutputFormat::hex); }
BENCHMARK(BM_EncodeHex)->Arg(64)->Arg(16 << 10);

void BM_Base64(benchmark::State& state) {
  std::string payload = make_payload(static_cast<size_t>(state.range(0)));
  std::string out;
  out.reserve(payload.size() / 3 * 4 + 8);
  for (auto _ : state) {
    out.clear();
    tlstap::append_base64(out, payload);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Base64)->Arg(64)->Arg(16 << 10)->Arg(1 << 20);

// --redact: one connection's records through the redacting sink, as a client would send them.
// A request's header record with secrets (HTTP/1 text, or an HTTP/2 HEADERS frame coded by
// nghttp2's encoder: Huffman values, dynamic table references after the first) and 16 KiB
// body records (text, or DATA frames) that are scanned but not changed.
void run_redaction(benchmark::State& state, const std::vector<std::string>& records,
                   const std::string& preamble) {
  NullSink out;
  tlstap::redact::RedactingSink sink(out, tlstap::redact::RedactNames::defaults_and({}));
  tlstap::Connection connection;
  connection.id = "4242-1-5-0";
  DataRecord record = make_record(preamble);
  record.connection = &connection;
  record.pos = 0;
  sink.data(record);
  uint64_t pos = preamble.size();
  int64_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& bytes_of_call : records) {
      record.data = bytes_of_call;
      record.len = bytes_of_call.size();
      record.pos = pos;
      pos += bytes_of_call.size();
      sink.data(record);
      bytes += static_cast<int64_t>(bytes_of_call.size());
    }
  }
  if (sink.held_records() != 0) state.SkipWithError("records were held");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records.size()));
  state.SetBytesProcessed(bytes);
}

const std::string kCookie =
    "session=6f1c2b9e0d7a4c3f8e5b1a2d9c0f7e6b; theme=dark; tracking=GA1.2.123456789.987654321";

void BM_RedactHttp1Headers(benchmark::State& state) {
  std::string request =
      "GET /api/v1/items?page=2 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench/1.0\r\n"
      "Accept: */*\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig\r\n"
      "Cookie: " +
      kCookie + "\r\n\r\n";
  run_redaction(state, {request}, "");
}
BENCHMARK(BM_RedactHttp1Headers);

void BM_RedactHttp1Body(benchmark::State& state) {
  run_redaction(state, {make_payload(16 << 10)},
                "POST / HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n");
}
BENCHMARK(BM_RedactHttp1Body);

void BM_RedactHttp2Headers(benchmark::State& state) {
  tlstap::test::HpackEncoder encoder;
  std::vector<std::string> records;
  for (uint32_t stream = 1; stream < 2 * 64; stream += 2) {
    std::string block =
        encoder.encode({{":method", "GET"},
                        {":scheme", "https"},
                        {":authority", "example.com"},
                        {":path", "/api/v1/items?page=" + std::to_string(stream)},
                        {"user-agent", "bench/1.0"},
                        {"authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig"},
                        {"cookie", kCookie}});
    records.push_back(tlstap::test::frame(tlstap::test::HEADERS,
                                          tlstap::test::END_HEADERS | tlstap::test::END_STREAM,
                                          stream, block));
  }
  // The encoder's table state goes with its blocks: each iteration replays the same 64.
  run_redaction(state, records, std::string(tlstap::test::kPreface) + tlstap::test::settings());
}
BENCHMARK(BM_RedactHttp2Headers);

void BM_RedactHttp2Data(benchmark::State& state) {
  std::string payload = make_payload(16 << 10);
  run_redaction(state, {tlstap::test::frame(tlstap::test::DATA, 0, 1, payload)},
                std::string(tlstap::test::kPreface) + tlstap::test::settings());
}
BENCHMARK(BM_RedactHttp2Data);

// std::ostream over a raw descriptor, for the benchmark report.
class FdStreamBuf final : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd) : fd_(fd) {}

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    char byte = static_cast<char>(c);
    return xsputn(&byte, 1) == 1 ? c : traits_type::eof();
  }
  std::streamsize xsputn(const char* data, std::streamsize size) override {
    std::streamsize done = 0;
    while (done < size) {
      ssize_t n = write(fd_, data + done, static_cast<size_t>(size - done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += n;
    }
    return done;
  }

 private:
  int fd_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::fflush(stdout);
  // The report keeps the real stdout; fd 1 becomes the sinks' /dev/null.
  int report_fd = dup(STDOUT_FILENO);
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (report_fd < 0 || devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0) {
    std::perror("micro_bench: redirecting stdout to /dev/null");
    return 1;
  }
  close(devnull);

  FdStreamBuf report_buffer(report_fd);
  std::ostream report(&report_buffer);
  benchmark::ConsoleReporter reporter(isatty(report_fd)
                                          ? benchmark::ConsoleReporter::OO_ColorTabular
                                          : benchmark::ConsoleReporter::OO_Tabular);
  reporter.SetOutputStream(&report);
  reporter.SetErrorStream(&report);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  report.flush();
  return 0;
}
