// HTTP/2 through the --http view: detection by the preface, sides from the role, pos gaps
// turned into parser gaps, http and http_skip records with the connection.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conn/connection.h"
#include "http2_frames.h"
#include "views/http_view_sink.h"

namespace tlstap {
namespace {

using test::Fields;

struct Captured {
  std::vector<http::Exchange> exchanges;
  std::vector<http::Skip> skips;
  std::vector<Direction> skip_directions;
  std::vector<uint64_t> data_records = {};
};

class CapturingSink final : public RecordSink {
 public:
  explicit CapturingSink(Captured& c) : c_(c) {}
  void data(const DataRecord& r) override { c_.data_records.push_back(r.pos); }
  void lost(const LostRecord&) override {}
  void http(const HttpRecord& r) override {
    EXPECT_NE(r.connection, nullptr);
    c_.exchanges.push_back(*r.exchange);
  }
  void http_skip(const HttpSkipRecord& r) override {
    c_.skips.push_back(*r.skip);
    c_.skip_directions.push_back(r.direction);
  }

 private:
  Captured& c_;
};

const Fields kRequest = {{":method", "GET"},
                         {":scheme", "https"},
                         {":authority", "example.com"},
                         {":path", "/a"},
                         {"accept", "*/*"}};

// Feeds records of one connection, each direction's pos counted by the helper.
struct Peer {
  HttpViewSink& view;
  Connection& connection;
  uint64_t pos[2] = {0, 0};
  uint64_t ts = 1000;
  void send(Direction d, const std::string& bytes, uint64_t skip_before = 0) {
    size_t i = d == Direction::write ? 1 : 0;
    pos[i] += skip_before;
    DataRecord r;
    r.ts_ns = ++ts;
    r.pid = 7;
    r.comm = "client";
    r.direction = d;
    r.len = bytes.size();
    r.data = bytes;
    r.connection = &connection;
    r.pos = pos[i];
    pos[i] += bytes.size();
    view.data(r);
  }
};

Fields as_fields(const http::Headers& headers) {
  Fields out;
  for (const auto& h : headers) out.push_back({h.name, h.value});
  return out;
}

TEST(HttpViewHttp2, ClientAndServerViews) {
  for (Role role : {Role::client, Role::server}) {
    // The client writes requests; the server reads them.
    Direction requests = role == Role::client ? Direction::write : Direction::read;
    Direction responses = requests == Direction::write ? Direction::read : Direction::write;
    Captured got;
    CapturingSink sink(got);
    HttpViewSink view(sink, {});
    Connection conn;
    conn.id = "c1";
    conn.role = role;
    Peer peer{view, conn};
    test::HpackEncoder client_hpack, server_hpack;
    // The server's SETTINGS may come first: detection waits for the preface.
    peer.send(responses, test::settings());
    peer.send(requests, std::string(test::kPreface) + test::settings() + test::settings_ack() +
                            test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                                        client_hpack.encode(kRequest)));
    peer.send(responses,
              test::settings_ack() + test::frame(test::HEADERS, test::END_HEADERS, 1,
                                                 server_hpack.encode({{":status", "200"}})));
    peer.send(responses, test::frame(test::DATA, test::END_STREAM, 1, "body"));
    ASSERT_EQ(got.exchanges.size(), 1u) << role_name(role);
    const http::Exchange& e = got.exchanges[0];
    EXPECT_EQ(e.version, "2");
    EXPECT_EQ(e.path, "/a");
    EXPECT_EQ(e.status, 200);
    EXPECT_EQ(as_fields(e.request.headers), Fields({{"accept", "*/*"}}));
    EXPECT_EQ(e.response.body.first_bytes, "body");
    EXPECT_EQ(e.request.first_ts_ns, 1002u);
    EXPECT_EQ(e.response.first_ts_ns, 1003u);
    EXPECT_EQ(e.response.last_ts_ns, 1004u);
    EXPECT_TRUE(got.skips.empty());
  }
}

TEST(HttpViewHttp2, PosGapMakesStreamsUndecodable) {
  Captured got;
  CapturingSink sink(got);
  HttpViewSink view(sink, {});
  Connection conn;
  conn.id = "c2";
  conn.role = Role::client;
  Peer peer{view, conn};
  test::HpackEncoder client_hpack, server_hpack;
  std::string request = std::string(test::kPreface) + test::settings();
  for (uint32_t id : {1u, 3u})
    request += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, id,
                           client_hpack.encode(kRequest));
  peer.send(Direction::write, request);
  Fields response = {{":status", "200"}, {"x-served-by", "edge-7"}};
  std::string first = test::settings() + test::frame(test::HEADERS, test::END_HEADERS, 1,
                                                     server_hpack.encode(response));
  std::string lost = test::frame(test::DATA, test::END_STREAM, 1, "one");
  // Stream 3's block refers to x-served-by in the dynamic table.
  std::string after =
      test::frame(test::HEADERS, test::END_HEADERS, 3, server_hpack.encode(response)) +
      test::frame(test::DATA, test::END_STREAM, 3, "three");
  peer.send(Direction::read, first);
  peer.send(Direction::read, after, lost.size());  // a pos jump: `lost` was never seen
  view.finish(5000);
  ASSERT_EQ(got.exchanges.size(), 2u);
  const http::Exchange& e3 = got.exchanges[0];
  EXPECT_EQ(e3.stream, 3u);
  EXPECT_EQ(e3.path, "/a");
  EXPECT_FALSE(e3.status);  // never guessed
  EXPECT_TRUE(e3.response.headers.empty());
  EXPECT_EQ(e3.response.body.first_bytes, "three");
  EXPECT_EQ(e3.note, "hpack state unknown, data lost");
  const http::Exchange& e1 = got.exchanges[1];
  EXPECT_EQ(e1.stream, 1u);
  EXPECT_EQ(e1.status, 200);
  EXPECT_EQ(as_fields(e1.response.headers), Fields({{"x-served-by", "edge-7"}}));
  EXPECT_EQ(e1.note, "connection closed, data lost");
  ASSERT_EQ(got.skips.size(), 2u);
  EXPECT_EQ(got.skips[0].reason, "data lost");
  EXPECT_EQ(got.skips[0].bytes, lost.size());
  EXPECT_EQ(got.skips[1].reason, "hpack state unknown");
  EXPECT_EQ(got.skips[1].streams, std::vector<uint32_t>{3});
  EXPECT_EQ(got.skip_directions, (std::vector<Direction>{Direction::read, Direction::read}));
}

TEST(HttpViewHttp2, MidstreamConnectionStartingWithThePreface) {
  Captured got;
  CapturingSink sink(got);
  HttpViewSink view(sink, {});
  Connection conn;
  conn.id = "c3";
  conn.role = Role::client;
  conn.midstream = true;
  Peer peer{view, conn};
  test::HpackEncoder client_hpack, server_hpack;
  peer.send(Direction::write, std::string(test::kPreface) + test::settings() +
                                  test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM,
                                              1, client_hpack.encode(kRequest)));
  // The responses' start is not proved; a record of whole frames is, and this block needs
  // nothing from before it.
  peer.send(Direction::read,
            test::settings() + test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                                           server_hpack.encode({{":status", "204"}})));
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].path, "/a");  // the preface proved the requests' start
  EXPECT_EQ(got.exchanges[0].status, 204);
}

// Joined midstream, HTTP/2: not decoded (no preface proves where frames start), but said:
// one http_skip per direction at close, with all its bytes, counted in the summary.
TEST(HttpViewHttp2, MidstreamHttp2IsSaidOncePerDirection) {
  Captured got;
  CapturingSink sink(got);
  HttpViewSink view(sink, {});
  Connection conn;
  conn.id = "c4";
  conn.role = Role::client;
  conn.midstream = true;
  Peer peer{view, conn};
  test::HpackEncoder client_hpack, server_hpack;
  std::string request = test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 7,
                                    client_hpack.encode(kRequest));
  std::string response =
      test::frame(test::HEADERS, test::END_HEADERS, 7, server_hpack.encode({{":status", "200"}})) +
      test::frame(test::DATA, test::END_STREAM, 7, "body");
  std::string window = test::frame(test::WINDOW_UPDATE, 0, 0, test::be32(1000));
  peer.send(Direction::write, request);
  peer.send(Direction::read, response);
  peer.send(Direction::write, window);
  peer.send(Direction::read, "tail of a frame");  // any bytes after: counted, not parsed
  EXPECT_TRUE(got.skips.empty());                 // said once, at the end
  CloseRecord close;
  close.ts_ns = 9000;
  close.connection = &conn;
  view.close(close);
  EXPECT_TRUE(got.exchanges.empty());
  ASSERT_EQ(got.skips.size(), 2u);
  EXPECT_EQ(got.skip_directions, (std::vector<Direction>{Direction::write, Direction::read}));
  EXPECT_TRUE(got.skips[0].requests);
  EXPECT_EQ(got.skips[0].bytes, request.size() + window.size());
  EXPECT_FALSE(got.skips[1].requests);
  EXPECT_EQ(got.skips[1].bytes, response.size() + std::string("tail of a frame").size());
  EXPECT_EQ(got.skips[0].reason, "midstream http2: frames not decoded");
  EXPECT_EQ(view.counts().skipped_bytes, request.size() + window.size() + response.size() + 15);
}

TEST(HttpViewHttp2, MidstreamNotHttpSaysNothing) {
  Captured got;
  CapturingSink sink(got);
  HttpViewSink view(sink, {});
  Connection conn;
  conn.id = "c5";
  conn.role = Role::client;
  conn.midstream = true;
  Peer peer{view, conn};
  peer.send(Direction::write, "EHLO mail.example.com\r\n");
  view.finish(9000);
  EXPECT_TRUE(got.skips.empty());
  EXPECT_EQ(view.counts().skipped_bytes, 0u);
}

// Go's client: stream 3's response read records reach the view before the write record of
// its request HEADERS. The exchange is whole.
TEST(HttpViewHttp2, ResponseRecordBeforeItsRequestRecord) {
  Captured got;
  CapturingSink sink(got);
  HttpViewSink view(sink, {});
  Connection conn;
  conn.id = "c6";
  conn.role = Role::client;
  Peer peer{view, conn};
  test::HpackEncoder client_hpack, server_hpack;
  peer.send(Direction::write, std::string(test::kPreface) + test::settings());
  peer.send(Direction::read, test::settings() + test::settings_ack());
  peer.send(Direction::read, test::frame(test::HEADERS, test::END_HEADERS, 3,
                                         server_hpack.encode({{":status", "200"}})));
  peer.send(Direction::read, test::frame(test::DATA, test::END_STREAM, 3, "big"));
  peer.send(Direction::write, test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3,
                                          client_hpack.encode(kRequest)));
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].stream, 3u);
  EXPECT_EQ(got.exchanges[0].path, "/a");
  EXPECT_EQ(got.exchanges[0].status, 200);
  EXPECT_EQ(got.exchanges[0].response.body.first_bytes, "big");
  EXPECT_EQ(got.exchanges[0].note, "");
  EXPECT_TRUE(got.skips.empty());
}

}  // namespace
}  // namespace tlstap
