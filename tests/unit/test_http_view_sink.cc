// The --http view between the connection tracker and the encoders: records passed on (or
// not, --http-only), parsers fed by pos, gaps from pos jumps and truncation, end at close.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conn/connection.h"
#include "views/http_view_sink.h"

namespace tlstap {
namespace {

struct Seen : RecordSink {
  void data(const DataRecord& r) override { data_records.push_back(std::string(r.data)); }
  void lost(const LostRecord&) override { lost_records++; }
  void close(const CloseRecord&) override { order.push_back("close"); }
  void http(const HttpRecord& r) override {
    exchanges.push_back(*r.exchange);
    comms.push_back(std::string(r.comm));
    order.push_back("http " + r.exchange->path);
  }
  void http_skip(const HttpSkipRecord& r) override {
    skips.push_back(*r.skip);
    skip_dirs.push_back(r.direction);
  }
  std::vector<std::string> data_records;
  int lost_records = 0;
  std::vector<http::Exchange> exchanges;
  std::vector<std::string> comms;
  std::vector<http::Skip> skips;
  std::vector<Direction> skip_dirs;
  std::vector<std::string> order;
};

struct ViewHarness {
  explicit ViewHarness(bool http_only = false, Role role = Role::client) {
    HttpViewOptions options;
    options.http_only = http_only;
    view.emplace(seen, options);
    connection.id = "1-2-3-0";
    connection.role = role;
  }
  void send(Direction d, std::string_view bytes, uint64_t ts, std::optional<uint64_t> pos = {},
            uint64_t len = 0) {
    size_t i = d == Direction::write ? 1 : 0;
    DataRecord r;
    r.ts_ns = ts;
    r.pid = 42;
    r.comm = "client";
    r.direction = d;
    r.data = bytes;
    r.len = len ? len : bytes.size();
    if (r.len > bytes.size()) r.truncation = Truncation::max_bytes;
    r.connection = &connection;
    r.pos = pos ? *pos : next[i];
    next[i] = r.pos + r.len;
    view->data(r);
  }
  void close(uint64_t ts) {
    CloseRecord c;
    c.ts_ns = ts;
    c.pid = 42;
    c.connection = &connection;
    view->close(c);
  }
  Seen seen;
  Connection connection;
  std::optional<HttpViewSink> view;
  uint64_t next[2] = {0, 0};
};

TEST(HttpViewSink, ClientExchangesWithLatencyAndDataPassedOn) {
  ViewHarness h;
  h.send(Direction::write, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 1000);
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", 5000);
  h.send(Direction::read, "hi", 6000);
  ASSERT_EQ(h.seen.exchanges.size(), 1u);
  const http::Exchange& e = h.seen.exchanges[0];
  EXPECT_EQ(e.path, "/a");
  EXPECT_EQ(e.request.first_ts_ns, 1000u);
  EXPECT_EQ(e.response.first_ts_ns, 5000u);
  EXPECT_EQ(e.response.last_ts_ns, 6000u);
  EXPECT_EQ(e.response.body.first_bytes, "hi");
  EXPECT_EQ(h.seen.comms[0], "client");
  EXPECT_EQ(h.seen.data_records.size(), 3u);
  EXPECT_EQ(h.view->counts().exchanges, 1u);
}

// A write's bytes left during the call: its messages are timed from the call's entry. A client
// descheduled after its send returned after the server had answered (wget, seen in a trial):
// timed from the return, its latency came out shorter than the server's.
TEST(HttpViewSink, WritesAreTimedFromTheCallsEntry) {
  for (Role role : {Role::client, Role::server}) {
    SCOPED_TRACE(role_name(role));
    ViewHarness h(false, role);
    const Direction requests = role == Role::client ? Direction::write : Direction::read;
    const Direction responses = role == Role::client ? Direction::read : Direction::write;
    auto send = [&](Direction d, std::string_view bytes, uint64_t entry, uint64_t ret) {
      size_t i = d == Direction::write ? 1 : 0;
      DataRecord r;
      r.ts_ns = ret;
      r.entry_ts_ns = entry;
      r.pid = 42;
      r.comm = "peer";
      r.direction = d;
      r.data = bytes;
      r.len = bytes.size();
      r.connection = &h.connection;
      r.pos = h.next[i];
      h.next[i] += r.len;
      h.view->data(r);
    };
    send(requests, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 1000, 9000);
    send(responses, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4000, 6000);
    ASSERT_EQ(h.seen.exchanges.size(), 1u);
    const http::Exchange& e = h.seen.exchanges[0];
    // Which time each side takes (the numbers need not be one real timeline): a write's
    // entry, a read's return.
    EXPECT_EQ(e.request.first_ts_ns, role == Role::client ? 1000u : 9000u);
    EXPECT_EQ(e.response.first_ts_ns, role == Role::client ? 6000u : 4000u);
  }
}

TEST(HttpViewSink, HttpOnlyPassesNoDataAndReportsBeforeClose) {
  ViewHarness h(true);
  h.send(Direction::write, "GET /x HTTP/1.1\r\n\r\n", 1);
  h.send(Direction::read, "HTTP/1.0 200 OK\r\n\r\nuntil close", 2);
  h.close(3);
  EXPECT_TRUE(h.seen.data_records.empty());
  EXPECT_EQ(h.seen.order, (std::vector<std::string>{"http /x", "close"}));
  EXPECT_EQ(h.seen.exchanges[0].response.body.first_bytes, "until close");
  EXPECT_EQ(h.view->tracked_connections(), 0u);
}

TEST(HttpViewSink, ServerRoleReadsRequests) {
  ViewHarness h(false, Role::server);
  h.send(Direction::read, "POST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nz", 1);
  h.send(Direction::write, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 2);
  ASSERT_EQ(h.seen.exchanges.size(), 1u);
  EXPECT_EQ(h.seen.exchanges[0].method, "POST");
  EXPECT_EQ(h.seen.exchanges[0].status, 201);
}

TEST(HttpViewSink, UnknownRoleDecidedByTheFirstBytes) {
  ViewHarness h(false, Role::unknown);
  // A server-side view whose role is unknown: the request line is read.
  h.send(Direction::read, "GET /u HT", 1);
  h.send(Direction::read, "TP/1.1\r\n\r\n", 2);
  h.send(Direction::write, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3);
  ASSERT_EQ(h.seen.exchanges.size(), 1u);
  EXPECT_EQ(h.seen.exchanges[0].path, "/u");
  EXPECT_EQ(h.seen.exchanges[0].request.first_ts_ns, 1u);
}

TEST(HttpViewSink, NotHttpIsLeftAlone) {
  ViewHarness h;
  h.send(Direction::write, "EHLO mail.example.com\r\n", 1);
  h.send(Direction::write, "GET / HTTP/1.1\r\n\r\n", 2);
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 3);
  EXPECT_TRUE(h.seen.exchanges.empty());
  EXPECT_TRUE(h.seen.skips.empty());
  EXPECT_EQ(h.seen.data_records.size(), 3u);
  EXPECT_EQ(h.view->counts().connections_parsed, 0u);
}

TEST(HttpViewSink, MidstreamConnectionPairsOnlyOnceTheResponseSideIsFound) {
  ViewHarness h;
  h.connection.midstream = true;
  // The tail of a response to a request sent before tracing started, then a whole exchange:
  // the first request cannot be proven to own the first status line seen.
  h.send(Direction::read, "lo world", 1);
  h.send(Direction::write, "GET /1 HTTP/1.1\r\n\r\n", 2);
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 3);
  h.send(Direction::write, "GET /2 HTTP/1.1\r\n\r\n", 4);
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2", 5);
  ASSERT_EQ(h.seen.exchanges.size(), 2u);
  EXPECT_EQ(h.seen.exchanges[0].path, "/1");
  EXPECT_FALSE(h.seen.exchanges[0].status);
  EXPECT_EQ(h.seen.exchanges[1].path, "/2");
  EXPECT_EQ(h.seen.exchanges[1].response.body.first_bytes, "2");
}

// Go's net/http: each response's read record reaches the view before its request's write
// record (written and read on different goroutines, stamped at return). Pairs stay right.
TEST(HttpViewSink, ResponseRecordsBeforeTheirRequestRecordsPairInStreamOrder) {
  ViewHarness h;
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1", 1);
  h.send(Direction::write, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n", 2);
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 3);
  h.send(Direction::read, "22222", 4);
  h.send(Direction::write, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n", 5);
  h.send(Direction::write, "POST /3 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n", 6);
  h.send(Direction::read, "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n3", 7);
  h.send(Direction::write, "up", 8);
  h.close(9);
  ASSERT_EQ(h.seen.exchanges.size(), 3u);
  EXPECT_EQ(h.seen.exchanges[0].path, "/1");
  EXPECT_EQ(h.seen.exchanges[0].response.body.first_bytes, "1");
  EXPECT_EQ(h.seen.exchanges[1].path, "/2");
  EXPECT_EQ(h.seen.exchanges[1].response.body.first_bytes, "22222");
  EXPECT_EQ(h.seen.exchanges[2].path, "/3");
  EXPECT_EQ(h.seen.exchanges[2].status, 201);
  EXPECT_EQ(h.seen.exchanges[2].request.body.first_bytes, "up");
  for (const http::Exchange& e : h.seen.exchanges) EXPECT_EQ(e.note, "") << e.path;
  EXPECT_TRUE(h.seen.skips.empty());
}

TEST(HttpViewSink, MidstreamFirstRequestNoteSaysTheJoin) {
  ViewHarness h;
  h.connection.midstream = true;
  h.send(Direction::write, "GET /1 HTTP/1.1\r\n\r\n", 1);
  h.close(2);
  ASSERT_EQ(h.seen.exchanges.size(), 1u);
  EXPECT_EQ(h.seen.exchanges[0].note,
            "no response paired: the connection was joined midstream before it");
}

TEST(HttpViewSink, LargeUndecidedRecordsAreNotHeld) {
  ViewHarness h(false, Role::unknown);
  h.send(Direction::read, std::string(100000, '\x17'), 1);  // not HTTP; the other side silent
  EXPECT_EQ(h.seen.data_records.size(), 1u);
  h.send(Direction::write, "GET / HTTP/1.1\r\n\r\n", 2);
  EXPECT_EQ(h.view->counts().connections_parsed, 0u);  // left alone after the limit
}

TEST(HttpViewSink, PosGapAndTruncationAreGaps) {
  ViewHarness h;
  h.send(Direction::write, "GET /1 HTTP/1.1\r\n\r\n", 1);
  // The response arrives truncated (only its first bytes captured).
  std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b');
  h.send(Direction::read, std::string_view(response).substr(0, 50), 2, {}, response.size());
  ASSERT_EQ(h.seen.exchanges.size(), 1u);
  EXPECT_FALSE(h.seen.exchanges[0].response.complete);
  EXPECT_NE(h.seen.exchanges[0].note.find("lost"), std::string::npos);
  // A request lost entirely (pos jumps), then one seen whole.
  h.next[1] += 20;
  h.send(Direction::write, "GET /3 HTTP/1.1\r\n\r\n", 3);
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2", 4);  // /2's
  h.send(Direction::read, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3", 5);
  // The response side lost its place at the truncation: /3 began before it found a status
  // line again, so /3 is reported unpaired, and both responses are skipped (either could be
  // the lost /2's): nothing is paired wrongly.
  ASSERT_EQ(h.seen.exchanges.size(), 2u);
  EXPECT_EQ(h.seen.exchanges[1].path, "/3");
  EXPECT_FALSE(h.seen.exchanges[1].status);
  uint64_t skipped_responses = 0;
  for (size_t i = 0; i < h.seen.skips.size(); i++) {
    if (!h.seen.skips[i].requests) {
      skipped_responses += h.seen.skips[i].bytes;
      EXPECT_EQ(h.seen.skip_dirs[i], Direction::read);
    }
  }
  EXPECT_EQ(skipped_responses,
            2 * std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2").size());
  h.close(6);
}

}  // namespace
}  // namespace tlstap
