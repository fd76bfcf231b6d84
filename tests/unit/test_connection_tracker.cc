// Connection identity (DESIGN.md "Connection tracking adds conn, fd, laddr, ..."): the
// tracker, its JSON fields, the reassembler's use of it, and the --host filter.
#include "conn/connection_tracker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "capture/reassembler.h"
#include "conn/connection.h"
#include "conn/connection_filter_sink.h"
#include "output/output_stream.h"
#include "output/sinks.h"
#include "test_support.h"

namespace tlstap {
namespace {

// No process has this pid (pid_max is at most 2^22): /proc lookups find nothing.
constexpr uint32_t kGonePid = 0x40000001;

tlstap_conn_info ipv4(int fd, const char* laddr, uint16_t lport, const char* raddr,
                      uint16_t rport) {
  tlstap_conn_info info{};
  info.fd = fd;
  info.family = AF_INET;
  info.lport = lport;
  info.rport = rport;
  EXPECT_EQ(inet_pton(AF_INET, laddr, info.laddr), 1);
  EXPECT_EQ(inet_pton(AF_INET, raddr, info.raddr), 1);
  return info;
}

tlstap_conn_info unknown_fd() {
  tlstap_conn_info info{};
  info.fd = -1;
  return info;
}

struct CloseCapture {
  uint32_t pid;
  std::string id;
  uint64_t bytes[2];
};

class CloseRecorder final : public RecordSink {
 public:
  void data(const DataRecord&) override {}
  void lost(const LostRecord&) override {}
  void close(const CloseRecord& r) override {
    closes.push_back({r.pid, r.connection->id, {r.connection->bytes[0], r.connection->bytes[1]}});
  }
  std::vector<CloseCapture> closes;
};

// A socket file descriptor closed at the end of the test.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

TEST(ConnectionTracker, SameFdSameConnection) {
  ConnectionTracker tracker;
  Connection* a = tracker.resolve(kGonePid, 0, 0x1000, ipv4(5, "10.0.0.1", 40000, "10.0.0.2", 443));
  Connection* b = tracker.resolve(kGonePid, 0, 0x2000, ipv4(5, "10.0.0.1", 40000, "10.0.0.2", 443));
  EXPECT_EQ(a, b);  // keyed by (pid, fd) when the fd is known, whatever the SSL*
  Connection* other_fd =
      tracker.resolve(kGonePid, 0, 0x1000, ipv4(6, "10.0.0.1", 40001, "10.0.0.2", 443));
  Connection* other_pid =
      tracker.resolve(kGonePid + 1, 0, 0x1000, ipv4(5, "10.0.0.1", 40000, "10.0.0.2", 443));
  EXPECT_NE(a, other_fd);
  EXPECT_NE(a, other_pid);
  std::set<std::string> ids = {a->id, other_fd->id, other_pid->id};
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(tracker.open_connections(), 3u);

  EXPECT_EQ(a->fd, 5);
  EXPECT_EQ(a->laddr, "10.0.0.1");
  EXPECT_EQ(a->lport, 40000);
  EXPECT_EQ(a->raddr, "10.0.0.2");
  EXPECT_EQ(a->rport, 443);
  // The process is gone and nothing in this namespace listens on either port: unknowable.
  EXPECT_EQ(a->role, Role::unknown);
  // The role BPF saw at connect() wins over any /proc lookup.
  tlstap_conn_info connected = ipv4(7, "10.0.0.1", 40002, "10.0.0.2", 443);
  connected.role = TLSTAP_ROLE_CLIENT;
  EXPECT_EQ(tracker.resolve(kGonePid, 0, 0x3000, connected)->role, Role::client);
  tlstap_conn_info accepted = ipv4(8, "10.0.0.2", 443, "10.0.0.1", 40003);
  accepted.role = TLSTAP_ROLE_SERVER;
  EXPECT_EQ(tracker.resolve(kGonePid, 0, 0x4000, accepted)->role, Role::server);
}

TEST(ConnectionTracker, UnknownFdIsKeyedBySsl) {
  ConnectionTracker tracker;
  Connection* a = tracker.resolve(kGonePid, 0, 0xaaaa, unknown_fd());
  Connection* again = tracker.resolve(kGonePid, 0, 0xaaaa, unknown_fd());
  Connection* b = tracker.resolve(kGonePid, 0, 0xbbbb, unknown_fd());
  EXPECT_EQ(a, again);
  EXPECT_NE(a, b);
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(a->fd, -1);
  EXPECT_TRUE(a->laddr.empty());
  EXPECT_EQ(a->role, Role::unknown);
}

TEST(ConnectionTracker, AddressesLearnedLaterAreFilledIn) {
  ConnectionTracker tracker;
  tlstap_conn_info no_family{};
  no_family.fd = 7;
  Connection* a = tracker.resolve(kGonePid, 0, 1, no_family);
  EXPECT_TRUE(a->raddr.empty());
  Connection* b = tracker.resolve(kGonePid, 0, 1, ipv4(7, "192.0.2.1", 5555, "198.51.100.7", 8443));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a->raddr, "198.51.100.7");
  EXPECT_EQ(a->rport, 8443);
}

TEST(ConnectionTracker, Ipv6Addresses) {
  ConnectionTracker tracker;
  tlstap_conn_info info{};
  info.fd = 3;
  info.family = AF_INET6;
  info.lport = 1234;
  info.rport = 443;
  ASSERT_EQ(inet_pton(AF_INET6, "::1", info.laddr), 1);
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::17", info.raddr), 1);
  Connection* c = tracker.resolve(kGonePid, 0, 1, info);
  EXPECT_EQ(c->laddr, "::1");
  EXPECT_EQ(c->raddr, "2001:db8::17");
}

TEST(ConnectionTracker, CloseEmitsOnceAndAReusedFdIsANewConnection) {
  ConnectionTracker tracker;
  CloseRecorder sink;
  auto info = ipv4(9, "10.0.0.1", 40000, "10.0.0.2", 443);
  Connection* first = tracker.resolve(kGonePid, 0, 0x1000, info);
  tracker.count(*first, Direction::write, 0, 100);
  tracker.count(*first, Direction::write, 100, 50);
  tracker.count(*first, Direction::read, 0, 30);
  tracker.count(*first, Direction::write, 20, 10);  // an older position never lowers the count
  EXPECT_EQ(first->bytes[1], 150u);
  EXPECT_EQ(first->bytes[0], 30u);
  const std::string first_id = first->id;

  tlstap_close_event event{};
  event.header.kind = TLSTAP_EVENT_CLOSE;
  event.header.pid = kGonePid;
  event.ssl = 0x1000;
  event.bytes[TLSTAP_DIR_READ] = 10;    // BPF's counts may be lower than the records' ...
  event.bytes[TLSTAP_DIR_WRITE] = 500;  // ... or higher (records filtered or lost)
  event.conn = info;
  tracker.on_close(event, 123, sink);
  ASSERT_EQ(sink.closes.size(), 1u);
  EXPECT_EQ(sink.closes[0].pid, kGonePid);
  EXPECT_EQ(sink.closes[0].id, first_id);
  EXPECT_EQ(sink.closes[0].bytes[0], 30u);
  EXPECT_EQ(sink.closes[0].bytes[1], 500u);
  EXPECT_EQ(tracker.open_connections(), 0u);

  Connection* second = tracker.resolve(kGonePid, 0, 0x3000, info);
  EXPECT_NE(second->id, first_id);
  EXPECT_EQ(second->bytes[0] + second->bytes[1], 0u);
}

TEST(ConnectionTracker, CloseOfAnUnseenConnectionIsStillSaid) {
  ConnectionTracker tracker;
  CloseRecorder sink;
  tlstap_close_event event{};
  event.header.pid = kGonePid;
  event.ssl = 0x1000;
  event.bytes[TLSTAP_DIR_WRITE] = 42;
  event.conn = ipv4(4, "10.0.0.1", 1, "10.0.0.2", 2);
  tracker.on_close(event, 0, sink);
  ASSERT_EQ(sink.closes.size(), 1u);
  EXPECT_EQ(sink.closes[0].bytes[1], 42u);
  EXPECT_EQ(tracker.open_connections(), 0u);
}

TEST(ConnectionTracker, ProcessExitClosesOnlyThatProcess) {
  ConnectionTracker tracker;
  CloseRecorder sink;
  tracker.resolve(kGonePid, 0, 1, ipv4(3, "10.0.0.1", 1, "10.0.0.2", 2));
  tracker.resolve(kGonePid, 0, 2, unknown_fd());
  tracker.resolve(kGonePid + 1, 0, 1, ipv4(3, "10.0.0.1", 1, "10.0.0.2", 2));
  tracker.resolve(kGonePid - 1, 0, 1, ipv4(3, "10.0.0.1", 1, "10.0.0.2", 2));
  tracker.on_process_exit(kGonePid, 0, sink);
  ASSERT_EQ(sink.closes.size(), 2u);
  for (const CloseCapture& c : sink.closes) EXPECT_EQ(c.pid, kGonePid);
  EXPECT_EQ(tracker.open_connections(), 2u);
  tracker.on_process_exit(kGonePid, 0, sink);  // nothing left: nothing said
  EXPECT_EQ(sink.closes.size(), 2u);
}

// BUG (src/conn/connection_tracker.cc, on_process_exit): the range end is
// lower_bound({pid + 1, 0}); for pid 0xffffffff, pid + 1 wraps to 0 and the end iterator is
// the map's first element, so the loop runs past end() (undefined behaviour: in practice
// endless close records of garbage, then a crash). An EXIT event's pid comes from the ring
// buffer unchecked (EventRouter). Enable once fixed.
TEST(ConnectionTracker, ExitOfTheLargestPid) {
  class Bounded final : public RecordSink {
   public:
    void data(const DataRecord&) override {}
    void lost(const LostRecord&) override {}
    void close(const CloseRecord&) override {
      if (++closes > 10) throw std::runtime_error("runaway close records");
    }
    int closes = 0;
  } sink;
  ConnectionTracker tracker;
  tracker.resolve(1, 0, 1, ipv4(3, "10.0.0.1", 1, "10.0.0.2", 2));
  tracker.resolve(0xffffffffu, 0, 1, ipv4(3, "10.0.0.1", 1, "10.0.0.2", 2));
  EXPECT_NO_THROW(tracker.on_process_exit(0xffffffffu, 0, sink));
  EXPECT_EQ(sink.closes, 1);
  EXPECT_EQ(tracker.open_connections(), 1u);
}

TEST(ConnectionTracker, RoleFromThisProcessesListeningSocket) {
  // A real listener in this process: a connection whose local port listens is a server's.
  Fd listener{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  ASSERT_GE(listener.fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener.fd, 4), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const uint16_t port = ntohs(address.sin_port);

  // Connections older than tlstap (midstream: BPF did not see them become established).
  ConnectionTracker tracker;
  const auto pid = static_cast<uint32_t>(getpid());
  tlstap_conn_info old_accepted = ipv4(100, "127.0.0.1", port, "127.0.0.1", 50000);
  tlstap_conn_info old_dialed = ipv4(101, "127.0.0.1", 50000, "127.0.0.1", port);
  old_accepted.flags = old_dialed.flags = TLSTAP_CONN_MIDSTREAM;
  Connection* accepted = tracker.resolve(pid, 0, 1, old_accepted);
  Connection* dialed = tracker.resolve(pid, 0, 2, old_dialed);
  // One made while tracing whose role BPF did not see (closed before its first record) is
  // not guessed.
  Connection* unseen = tracker.resolve(pid, 0, 3, ipv4(102, "127.0.0.1", port, "127.0.0.1", 50001));
  EXPECT_EQ(unseen->role, Role::unknown);
  EXPECT_EQ(accepted->role, Role::server);
  EXPECT_EQ(dialed->role, Role::client);
  EXPECT_EQ(role_name(accepted->role), "server");
  EXPECT_EQ(role_name(dialed->role), "client");
  EXPECT_EQ(role_name(Role::unknown), "unknown");
}

TEST(ConnectionTracker, UnixSocketPathAndRole) {
  test::TempDir dir;
  const std::string path = dir.file("tlstap.sock");
  Fd listener{socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  ASSERT_GE(listener.fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(bind(listener.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener.fd, 4), 0);
  Fd client{socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  ASSERT_EQ(connect(client.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  Fd server{accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC)};
  ASSERT_GE(server.fd, 0);

  ConnectionTracker tracker;
  const auto pid = static_cast<uint32_t>(getpid());
  tlstap_conn_info info{};
  info.family = AF_UNIX;
  info.fd = server.fd;
  Connection* accepted = tracker.resolve(pid, 0, 1, info);
  info.fd = client.fd;
  Connection* dialed = tracker.resolve(pid, 0, 2, info);
  EXPECT_EQ(accepted->laddr, path);
  EXPECT_EQ(accepted->role, Role::server);
  EXPECT_EQ(dialed->laddr, "");
  EXPECT_EQ(dialed->role, Role::client);
}

// --- records with a connection ------------------------------------------------------------

TEST(ConnectionJson, DataAndCloseRecordsCarryTheDesignFields) {
  test::TempDir dir;
  auto opened = OutputStream::create_private_file(dir.file("conn.json"));
  ASSERT_TRUE(opened);
  auto sink = make_sink(OutputFormat::json, *opened);

  ConnectionTracker tracker;
  tlstap_conn_info connected = ipv4(5, "10.0.0.1", 40000, "10.0.0.2", 443);
  connected.role = TLSTAP_ROLE_CLIENT;  // BPF saw the connect()
  Connection* c = tracker.resolve(kGonePid, 0, 1, connected);
  DataRecord record;
  record.pid = kGonePid;
  record.comm = "curl";
  record.library = "openssl";
  record.function = "SSL_write";
  record.direction = Direction::write;
  record.data = "hello";
  record.len = 5;
  record.connection = c;
  record.pos = 1234;
  sink->data(record);
  CloseRecord close_record;
  close_record.ts_ns = 99;
  close_record.pid = kGonePid;
  close_record.connection = c;
  sink->close(close_record);
  // A connection of which nothing is known has no address fields.
  Connection* bare = tracker.resolve(kGonePid, 0, 2, unknown_fd());
  record.connection = bare;
  record.pos = 0;
  sink->data(record);
  opened->sync();

  std::vector<nlohmann::json> lines;
  std::istringstream in(test::read_file(dir.file("conn.json")));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 3u);

  const nlohmann::json& data = lines[0];
  EXPECT_EQ(data["type"], "data");
  EXPECT_EQ(data["conn"], c->id);
  EXPECT_EQ(data["fd"], 5);
  EXPECT_EQ(data["laddr"], "10.0.0.1");
  EXPECT_EQ(data["lport"], 40000);
  EXPECT_EQ(data["raddr"], "10.0.0.2");
  EXPECT_EQ(data["rport"], 443);
  EXPECT_EQ(data["role"], "client");
  EXPECT_EQ(data["pos"], 1234);
  EXPECT_EQ(data["data"], "aGVsbG8=");

  const nlohmann::json& closed = lines[1];
  EXPECT_EQ(closed["type"], "close");
  EXPECT_EQ(closed["conn"], c->id);
  EXPECT_EQ(closed["pid"], kGonePid);
  EXPECT_EQ(closed["raddr"], "10.0.0.2");

  const nlohmann::json& unknown = lines[2];
  EXPECT_EQ(unknown["conn"], bare->id);
  EXPECT_EQ(unknown["role"], "unknown");
  EXPECT_FALSE(unknown.contains("fd"));
  EXPECT_FALSE(unknown.contains("laddr"));
  EXPECT_FALSE(unknown.contains("raddr"));
  EXPECT_EQ(unknown["pos"], 0);
}

TEST(ConnectionReassembly, RecordsGetTheirConnectionAndPosition) {
  class ConnectionSink final : public RecordSink {
   public:
    void data(const DataRecord& r) override {
      ids.push_back(r.connection ? r.connection->id : "");
      positions.push_back(r.pos);
    }
    void lost(const LostRecord&) override {}
    std::vector<std::string> ids;
    std::vector<uint64_t> positions;
  } sink;
  ConnectionTracker tracker;
  Reassembler reassembler(sink, WallClock(), &tracker);
  test::ChunkSpec spec;
  spec.pid = kGonePid;
  spec.call_len = spec.capture_len = 5;
  auto first = test::make_event(spec, "hello");
  first->pos = 0;
  first->conn = ipv4(5, "10.0.0.1", 40000, "10.0.0.2", 443);
  reassembler.on_chunk(*first, {first->data, first->chunk_len});
  spec.call_id = 2;
  auto second = test::make_event(spec, "world");
  second->pos = 5;
  second->conn = first->conn;
  reassembler.on_chunk(*second, {second->data, second->chunk_len});
  ASSERT_EQ(sink.ids.size(), 2u);
  EXPECT_FALSE(sink.ids[0].empty());
  EXPECT_EQ(sink.ids[0], sink.ids[1]);
  EXPECT_EQ(sink.positions, (std::vector<uint64_t>{0, 5}));
  EXPECT_EQ(tracker.open_connections(), 1u);
}

// --- --host ---------------------------------------------------------------------------

TEST(HostFilter, CanonicalAddress) {
  EXPECT_EQ(HostFilterSink::canonical_address("127.0.0.1").value(), "127.0.0.1");
  EXPECT_EQ(HostFilterSink::canonical_address("::1").value(), "::1");
  EXPECT_EQ(HostFilterSink::canonical_address("0:0:0:0:0:0:0:1").value(), "::1");
  EXPECT_EQ(HostFilterSink::canonical_address("2001:DB8::0:17").value(), "2001:db8::17");
  for (const char* bad : {"", "example.com", "1.2.3", "256.1.1.1", "::g", "127.0.0.1:443"}) {
    EXPECT_FALSE(HostFilterSink::canonical_address(bad)) << bad;
  }
}

TEST(HostFilter, PassesOnlyMatchingConnections) {
  test::RecordingSink next;
  HostFilterSink filter(next, "10.0.0.2");
  Connection match;
  match.laddr = "10.0.0.1";
  match.raddr = "10.0.0.2";
  // A dual-stack socket's view of an IPv4 peer, as the tracker shows it (plain IPv4).
  ConnectionTracker tracker;
  tlstap_conn_info v4_mapped{};
  v4_mapped.fd = 9;
  v4_mapped.family = AF_INET6;
  v4_mapped.lport = 443;
  v4_mapped.rport = 50000;
  v4_mapped.role = TLSTAP_ROLE_SERVER;
  const uint8_t local[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 9};
  const uint8_t remote[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2};
  std::memcpy(v4_mapped.laddr, local, 16);
  std::memcpy(v4_mapped.raddr, remote, 16);
  const Connection& mapped = *tracker.resolve(kGonePid, 0, 1, v4_mapped);
  EXPECT_EQ(mapped.laddr, "10.0.0.9");
  EXPECT_EQ(mapped.raddr, "10.0.0.2");
  Connection other;
  other.laddr = "10.0.0.1";
  other.raddr = "10.0.0.3";
  DataRecord record;
  record.data = "x";
  record.len = 1;
  const Connection* connections[] = {&match, &mapped, &other, nullptr};
  for (const Connection* c : connections) {
    record.connection = c;
    filter.data(record);
  }
  EXPECT_EQ(next.records.size(), 2u);
  filter.lost(LostRecord{1, 1});
  EXPECT_EQ(next.losts.size(), 1u);  // losses are never filtered
}

}  // namespace
}  // namespace tlstap
