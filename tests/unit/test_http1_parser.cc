// The HTTP/1.x parser on byte streams: framing cases, splits at every byte, pipelining,
// 1xx, bodiless responses, protocol switches, loss and garbage, limits.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocols/http1/http1_parser.h"
#include "protocols/protocol_detection.h"

namespace tlstap::http {

// Found by argument-dependent lookup (in the namespace of Header).
bool operator==(const Header& a, const Header& b) { return a.name == b.name && a.value == b.value; }

namespace {

struct Collected {
  std::vector<Exchange> exchanges;
  std::vector<Skip> skips;
  uint64_t skipped(bool requests) const {
    uint64_t n = 0;
    for (const Skip& s : skips) n += s.requests == requests ? s.bytes : 0;
    return n;
  }
};

struct Harness {
  explicit Harness(Limits limits = {}) : parser(limits, events()) {}
  ParserEvents events() {
    ParserEvents e;
    e.exchange = [this](const Exchange& x) { got.exchanges.push_back(x); };
    e.skip = [this](const Skip& s) { got.skips.push_back(s); };
    return e;
  }
  void req(std::string_view bytes, uint64_t ts = 0) { parser.feed(Side::requests, bytes, ts); }
  void resp(std::string_view bytes, uint64_t ts = 0) { parser.feed(Side::responses, bytes, ts); }
  Collected got;
  Http1Parser parser;
};

Headers headers(std::initializer_list<std::pair<const char*, const char*>> list) {
  Headers out;
  for (auto& [n, v] : list) out.push_back({n, v});
  return out;
}

// A comparable summary of an exchange (everything the records show).
std::string summary(const Exchange& e) {
  std::string s = e.version + "|" + e.method + "|" + e.authority + "|" + e.path + "|" +
                  (e.status ? std::to_string(*e.status) : "-") + "|" + e.reason + "|";
  for (int i : e.informational) s += std::to_string(i) + ",";
  for (const Message* m : {&e.request, &e.response}) {
    s += "|";
    for (const Header& h : m->headers) s += h.name + ":" + h.value + ";";
    s += "/";
    for (const Header& h : m->trailers) s += h.name + ":" + h.value + ";";
    s += "/" + std::to_string(m->body.len) + "/" + m->body.first_bytes + "/" + m->body.encoding +
         "/" + (m->complete ? "c" : "i");
  }
  return s + "|" + e.note;
}

const std::string kRequests =
    "GET /a HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\nAccept: x\r\n\r\n"
    "POST /orders HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Check: 7\r\n\r\n"
    "HEAD /h HTTP/1.1\r\nHost: example.com\r\n\r\n"
    "PUT /p HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
    "data";
const std::string kResponses =
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Encoding: gzip\r\n\r\nabc"
    "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nmade\r\n0\r\n\r\n"
    "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";

void check_conversation(const Collected& got) {
  ASSERT_EQ(got.exchanges.size(), 4u);
  const Exchange& get = got.exchanges[0];
  EXPECT_EQ(get.version, "1.1");
  EXPECT_EQ(get.method, "GET");
  EXPECT_EQ(get.path, "/a");
  EXPECT_EQ(get.authority, "example.com");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.reason, "OK");
  EXPECT_EQ(
      get.request.headers,
      headers({{"Host", "example.com"}, {"User-Agent", "t"}, {"Accept", "*/*"}, {"Accept", "x"}}));
  EXPECT_EQ(get.response.body.len, 3u);
  EXPECT_EQ(get.response.body.first_bytes, "abc");
  EXPECT_EQ(get.response.body.encoding, "gzip");
  EXPECT_TRUE(get.request.complete && get.response.complete);
  EXPECT_EQ(get.note, "");

  const Exchange& post = got.exchanges[1];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.request.body.len, 11u);
  EXPECT_EQ(post.request.body.first_bytes, "hello world");
  EXPECT_EQ(post.request.trailers, headers({{"X-Check", "7"}}));
  EXPECT_EQ(post.informational, std::vector<int>{103});
  EXPECT_EQ(post.status, 201);
  EXPECT_EQ(post.response.body.first_bytes, "made");

  const Exchange& head = got.exchanges[2];
  EXPECT_EQ(head.method, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.response.body.len, 0u);  // Content-Length 999 describes a GET's body
  EXPECT_TRUE(head.response.complete);

  const Exchange& put = got.exchanges[3];
  EXPECT_EQ(put.informational, std::vector<int>{100});
  EXPECT_EQ(put.status, 204);
  EXPECT_EQ(put.request.body.first_bytes, "data");
  EXPECT_EQ(put.response.body.len, 0u);
  EXPECT_TRUE(got.skips.empty());
}

TEST(Http1Parser, KeepAliveConversationWithEveryFraming) {
  Harness h;
  h.req(kRequests, 10);
  h.resp(kResponses, 20);
  check_conversation(h.got);
  EXPECT_EQ(h.got.exchanges[0].request.first_ts_ns, 10u);
  EXPECT_EQ(h.got.exchanges[0].response.first_ts_ns, 20u);
  EXPECT_EQ(h.parser.pending_exchanges(), 0u);
}

TEST(Http1Parser, SameResultSplitAtEveryByteOfEitherSide) {
  Harness whole;
  whole.req(kRequests);
  whole.resp(kResponses);
  std::vector<std::string> expected;
  for (const Exchange& e : whole.got.exchanges) expected.push_back(summary(e));
  for (int side = 0; side < 2; side++) {
    const std::string& split = side == 0 ? kRequests : kResponses;
    for (size_t at = 0; at <= split.size(); at++) {
      Harness h;
      if (side == 0) {
        h.req(std::string_view(kRequests).substr(0, at));
        h.req(std::string_view(kRequests).substr(at));
        h.resp(kResponses);
      } else {
        h.req(kRequests);
        h.resp(std::string_view(kResponses).substr(0, at));
        h.resp(std::string_view(kResponses).substr(at));
      }
      std::vector<std::string> got;
      for (const Exchange& e : h.got.exchanges) got.push_back(summary(e));
      ASSERT_EQ(got, expected) << "side " << side << " split at " << at;
      ASSERT_TRUE(h.got.skips.empty()) << "split at " << at;
    }
  }
}

TEST(Http1Parser, ByteByByteInterleaved) {
  Harness h;
  // Requests and responses alternate a byte at a time (responses 100 bytes behind, so each
  // request's head is whole before its response's): responses start before their request's
  // body is complete and still pair in order.
  size_t i = 0, j = 0;
  while (i < kRequests.size() || j < kResponses.size()) {
    if (i < kRequests.size()) h.req(std::string_view(kRequests).substr(i++, 1));
    if (j < kResponses.size() && (j + 100 < i || i == kRequests.size())) {
      h.resp(std::string_view(kResponses).substr(j++, 1));
    }
  }
  check_conversation(h.got);
}

// A writer's record can reach tlstap after the read record of its answer (Go's net/http
// writes and reads on different goroutines; a record is stamped when its call returns). Each
// direction stays in order: responses are fed first up to every byte, then requests up to
// every byte, then the rest: the pairs are those of the stream order, nothing skipped.
TEST(Http1Parser, ResponsesReadBeforeTheirRequestsPairInStreamOrder) {
  Harness whole;
  whole.req(kRequests);
  whole.resp(kResponses);
  std::vector<std::string> expected;
  for (const Exchange& e : whole.got.exchanges) expected.push_back(summary(e));
  ASSERT_EQ(expected.size(), 4u);
  for (size_t j = 0; j <= kResponses.size(); j++) {
    for (size_t i = 0; i <= kRequests.size(); i += (j % 7 == 0 ? 1 : 13)) {
      Harness h;
      h.resp(std::string_view(kResponses).substr(0, j));
      h.req(std::string_view(kRequests).substr(0, i));
      h.resp(std::string_view(kResponses).substr(j));
      h.req(std::string_view(kRequests).substr(i));
      std::vector<std::string> got;
      for (const Exchange& e : h.got.exchanges) got.push_back(summary(e));
      ASSERT_EQ(got, expected) << "responses first up to " << j << ", requests up to " << i;
      ASSERT_TRUE(h.got.skips.empty()) << j << " " << i;
      ASSERT_EQ(h.parser.held_response_bytes(), 0u);
    }
  }
}

// The trial that found it: a Go client's GET, GET, GET, POST on one keep-alive connection,
// each response read (record) before its request's write record.
TEST(Http1Parser, GoClientEachResponseBeforeItsRequest) {
  Harness h;
  const std::string big(200000, 'b');
  const std::string upload(3000, 'u');
  const std::vector<std::pair<std::string, std::string>> conversation = {
      {"GET /text.txt HTTP/1.1\r\nHost: h\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ntext1"},
      {"GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + big},
      {"GET /text.txt HTTP/1.1\r\nHost: h\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\ntext2"},
      {"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 3000\r\n\r\n" + upload,
       "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"},
  };
  uint64_t ts = 1;
  for (const auto& [request, response] : conversation) {
    h.resp(response, ts++);
    EXPECT_GT(h.parser.held_response_bytes(), 0u);
    h.req(request, ts++);
  }
  h.parser.end(ts);
  ASSERT_EQ(h.got.exchanges.size(), 4u);
  const char* paths[] = {"/text.txt", "/big.bin", "/text.txt", "/upload"};
  const char* bodies[] = {"text1", "", "text2", "ok"};
  for (size_t k = 0; k < 4; k++) {
    const Exchange& e = h.got.exchanges[k];
    EXPECT_EQ(e.path, paths[k]);
    EXPECT_EQ(e.note, "") << k;
    EXPECT_TRUE(e.request.complete && e.response.complete) << k;
    if (k != 1) {
      EXPECT_EQ(e.response.body.first_bytes, bodies[k]);
    }
  }
  EXPECT_EQ(h.got.exchanges[1].response.body.len, big.size());
  EXPECT_EQ(h.got.exchanges[3].request.body.len, upload.size());
  EXPECT_EQ(h.got.exchanges[3].status, 201);
  EXPECT_EQ(h.got.exchanges[0].response.first_ts_ns, 1u);  // its own record's time
  EXPECT_EQ(h.got.exchanges[0].request.first_ts_ns, 2u);
  EXPECT_TRUE(h.got.skips.empty());
}

TEST(Http1Parser, AResponseWhoseRequestNeverComesIsSkippedAtEnd) {
  Harness h;
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
  h.resp(response);
  EXPECT_TRUE(h.got.skips.empty());  // its request may still come
  h.parser.end(0);
  EXPECT_TRUE(h.got.exchanges.empty());
  ASSERT_EQ(h.got.skips.size(), 1u);
  EXPECT_EQ(h.got.skips[0].reason, "response without a request");
  EXPECT_EQ(h.got.skipped(false), response.size());
}

TEST(Http1Parser, AResponseOverTheHoldLimitLeavesItsRequestUnpaired) {
  Limits limits;
  limits.max_buffered_bytes = 64;
  Harness h(limits);
  const std::string first =
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a');
  h.resp(first);  // more than can be held: skipped; the next request read is its own
  EXPECT_EQ(h.parser.held_response_bytes(), 0u);
  h.req("GET /1 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].path, "/1");
  EXPECT_FALSE(h.got.exchanges[0].status);
  EXPECT_EQ(h.got.exchanges[0].note,
            "no response paired: its response was read before it, over the hold limit");
  EXPECT_EQ(h.got.skipped(false), first.size());
  // Held, then over the limit in a later record: what was held is skipped too.
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n");
  EXPECT_GT(h.parser.held_response_bytes(), 0u);
  h.resp(std::string(30, 'c'));
  h.req("GET /2 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[1].path, "/2");
  EXPECT_FALSE(h.got.exchanges[1].status);
  // Then pairing goes on, in order.
  h.resp("HTTP/1.1 204 No Content\r\n\r\n");
  h.req("GET /3 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  EXPECT_EQ(h.got.exchanges[2].path, "/3");
  EXPECT_EQ(h.got.exchanges[2].status, 204);
}

TEST(Http1Parser, AfterALossAResponseWithoutARequestIsNotHeld) {
  Harness h;
  h.req("GET /1 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1");
  h.parser.gap(Side::requests, 0);  // a whole request may be in here: order proves nothing
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2";
  h.resp(response);
  EXPECT_EQ(h.parser.held_response_bytes(), 0u);
  EXPECT_EQ(h.got.skipped(false), response.size());
}

TEST(Http1Parser, AHeldResponseIsSkippedWhenALossFollows) {
  Harness h;
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1";
  h.resp(response);
  h.parser.gap(Side::requests, 50);  // its request may have been in the lost bytes
  EXPECT_EQ(h.parser.held_response_bytes(), 0u);
  EXPECT_EQ(h.got.skipped(false), response.size());
  // /2 may be the request that response answered (or it was lost): not paired.
  h.req("GET /2 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_FALSE(h.got.exchanges[0].status);
  EXPECT_EQ(h.got.exchanges[0].note,
            "no response paired: its response was read before it, then bytes were lost");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");  // /2's: nobody awaits it
  h.req("GET /3 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3");
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[1].path, "/3");
  EXPECT_EQ(h.got.exchanges[1].response.body.first_bytes, "3");
}

// A response larger than the hold limit read before its request: its body beyond the bytes
// shown is counted, not held, so it still pairs (the Go client's GET of a large file).
TEST(Http1Parser, ALargeResponseReadBeforeItsRequestIsCountedNotHeld) {
  Harness h;
  const std::string body(3 << 20, 'z');
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 3145728\r\n\r\n";
  const std::string next = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
  for (size_t at = 0; at < body.size(); at += 16384) {
    h.resp((at == 0 ? head : "") + body.substr(at, 16384), 1);
    ASSERT_TRUE(h.got.skips.empty()) << at;
  }
  EXPECT_LE(h.parser.held_response_bytes(), head.size() + Limits{}.body_bytes);
  h.req("GET /big.bin HTTP/1.1\r\n\r\n", 2);
  h.resp(next, 3);  // /next's response, read before its request too
  h.req("GET /next HTTP/1.1\r\n\r\n", 4);
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[0].path, "/big.bin");
  EXPECT_EQ(h.got.exchanges[0].status, 200);
  EXPECT_EQ(h.got.exchanges[0].response.body.len, body.size());
  EXPECT_TRUE(h.got.exchanges[0].response.body.first_bytes == body.substr(0, Limits{}.body_bytes));
  EXPECT_TRUE(h.got.exchanges[0].response.complete);
  EXPECT_EQ(h.got.exchanges[0].note, "");
  EXPECT_EQ(h.got.exchanges[1].path, "/next");
  EXPECT_EQ(h.got.exchanges[1].status, 404);
  EXPECT_EQ(h.got.exchanges[1].response.body.first_bytes, "no");
  EXPECT_TRUE(h.got.skips.empty());
}

// What was held was framed as if the request were not HEAD. A HEAD's response has no body:
// the bytes counted as its body were the next response's, and are lost: said, never paired.
TEST(Http1Parser, AHeldResponseToHeadFramedAsABodyIsAGap) {
  Limits limits;
  limits.body_bytes = 4;
  Harness h(limits);
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n");         // HEAD's
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n12345678");  // the next one's
  h.req("HEAD /h HTTP/1.1\r\n\r\n");
  ASSERT_GE(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].path, "/h");
  EXPECT_EQ(h.got.exchanges[0].status, 200);
  EXPECT_EQ(h.got.exchanges[0].response.body.len, 0u);
  h.req("GET /g HTTP/1.1\r\n\r\n");
  h.parser.end(0);
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[1].path, "/g");
  EXPECT_FALSE(h.got.exchanges[1].status);  // its response was partly elided: not paired
  EXPECT_GT(h.got.skipped(false), 0u);
}

TEST(Http1Parser, MidstreamFirstRequestSaysTheJoinNotALoss) {
  Harness h;
  h.parser.joined_midstream();
  h.req("GET /1 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].note,
            "no response paired: the connection was joined midstream before it");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  h.req("GET /2 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[1].status, 201);
  h.parser.gap(Side::responses, 0);
  h.req("GET /3 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  EXPECT_EQ(h.got.exchanges[2].note,
            "no response paired: bytes were lost on the response side before it");
}

TEST(Http1Parser, PipelinedRequestsPairInOrder) {
  Harness h;
  h.req(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 "
      "HTTP/1.1\r\n\r\n");
  EXPECT_EQ(h.parser.pending_exchanges(), 3u);
  h.resp(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 404 Not Found\r\nContent-Length: "
      "1\r\n\r\n2");
  h.resp("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1\r\n\r\n3");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(h.got.exchanges[i].path, "/" + std::to_string(i + 1));
    EXPECT_EQ(h.got.exchanges[i].response.body.first_bytes, std::to_string(i + 1));
  }
  EXPECT_EQ(h.got.exchanges[1].status, 404);
  EXPECT_EQ(h.got.exchanges[2].reason, "Internal Server Error");
}

TEST(Http1Parser, ResponseEndingAtCloseIsCompleteAtEnd) {
  Harness h;
  h.req("GET /old HTTP/1.0\r\n\r\n", 1);
  h.resp("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst ", 2);
  h.resp("second", 3);
  EXPECT_TRUE(h.got.exchanges.empty());
  h.parser.end(4);
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  const Exchange& e = h.got.exchanges[0];
  EXPECT_EQ(e.version, "1.0");
  EXPECT_EQ(e.response.body.first_bytes, "first second");
  EXPECT_TRUE(e.response.complete);
  EXPECT_EQ(e.response.last_ts_ns, 3u);
  EXPECT_EQ(e.note, "");
}

TEST(Http1Parser, CloseBeforeTheResponseIsSaid) {
  Harness h;
  h.req("GET /x HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  h.parser.end(5);
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_FALSE(h.got.exchanges[0].response.complete);
  EXPECT_EQ(h.got.exchanges[0].response.body.first_bytes, "abc");
  EXPECT_NE(h.got.exchanges[0].note.find("closed"), std::string::npos);

  Harness none;
  none.req("GET /y HTTP/1.1\r\n\r\n");
  none.parser.end(5);
  ASSERT_EQ(none.got.exchanges.size(), 1u);
  EXPECT_FALSE(none.got.exchanges[0].status);
  EXPECT_NE(none.got.exchanges[0].note.find("closed"), std::string::npos);
}

TEST(Http1Parser, NotModifiedAndNoContentHaveNoBody) {
  Harness h;
  h.req("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n");
  h.resp(
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
      "HTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  EXPECT_EQ(h.got.exchanges[0].status, 304);
  EXPECT_EQ(h.got.exchanges[1].status, 204);
  EXPECT_EQ(h.got.exchanges[2].response.body.first_bytes, "ok");
}

TEST(Http1Parser, UpgradeStopsParsingAndSaysSo) {
  Harness h;
  h.req("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  h.req("\x81\x05hello");  // a websocket frame sent before the 101 arrived
  h.resp("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
  h.req("GET /not-http HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].status, 101);
  EXPECT_EQ(h.got.exchanges[0].note.rfind("upgrade", 0), 0u);
  h.parser.end(1);
  EXPECT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.skipped(true), 7u + 26u);
  EXPECT_EQ(h.got.skipped(false), 4u);
}

TEST(Http1Parser, ConnectTunnelStopsParsing) {
  Harness h;
  h.req("CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n");
  h.resp("HTTP/1.1 200 Connection Established\r\n\r\n");
  h.req("GET / HTTP/1.1\r\n\r\n");  // inside the tunnel: not this connection's HTTP
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].method, "CONNECT");
  EXPECT_EQ(h.got.exchanges[0].path, "db:5432");
  EXPECT_EQ(h.got.exchanges[0].note.rfind("connect", 0), 0u);
  h.parser.end(1);
  EXPECT_EQ(h.got.exchanges.size(), 1u);
}

TEST(Http1Parser, RefusedConnectGoesOnParsing) {
  Harness h;
  h.req("CONNECT db:5432 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
  h.req("GET /next HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[0].status, 407);
  EXPECT_EQ(h.got.exchanges[1].path, "/next");
  EXPECT_EQ(h.got.exchanges[1].status, 200);
}

TEST(Http1Parser, ConnectWhoseAnswerWasLostDoesNotStopTheRequestSide) {
  Harness h;
  h.req("CONNECT db:5432 HTTP/1.1\r\n\r\n");
  h.req("\x16\x03\x01 tunnel bytes?");
  h.parser.gap(Side::responses, 50);  // the answer is gone: tunnel or not, nobody knows
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_FALSE(h.got.exchanges[0].status);
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");  // unpaired: skipped
  h.req("GET /after HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[1].path, "/after");
  EXPECT_EQ(h.got.exchanges[1].response.body.first_bytes, "A");
}

TEST(Http1Parser, GarbageBeforeARequestIsSkippedAndCounted) {
  Harness h;
  std::string garbage = std::string("\x16\x03\x01\x02\x00junk", 9) + "\r\nmore junk\r\n";
  h.req(garbage + "GET /ok HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].path, "/ok");
  EXPECT_EQ(h.got.skipped(true), garbage.size());
}

TEST(Http1Parser, ARequestLineInsideALineIsNotABoundary) {
  Harness h;
  h.req("junk GET /no HTTP/1.1\r\nGET /yes HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].path, "/yes");
}

TEST(Http1Parser, ResponseGapDropsUnprovablePairing) {
  Harness h;
  h.req("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  h.parser.gap(Side::responses, 100);
  // Where /1's response ended and whether /2's began inside the lost bytes is unknown.
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[0].path, "/1");
  EXPECT_EQ(h.got.exchanges[0].status, 200);
  EXPECT_FALSE(h.got.exchanges[0].response.complete);
  EXPECT_NE(h.got.exchanges[0].note.find("lost"), std::string::npos);
  EXPECT_EQ(h.got.exchanges[1].path, "/2");
  EXPECT_FALSE(h.got.exchanges[1].status);
  EXPECT_NE(h.got.exchanges[1].note.find("lost"), std::string::npos);
  // The tail of a lost response, then a response nobody is waiting for: skipped.
  const std::string tail = "xyz\r\n";
  const std::string orphan = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n/2";
  h.resp(tail + orphan);
  EXPECT_EQ(h.got.exchanges.size(), 2u);
  h.req("GET /3 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n/3");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  EXPECT_EQ(h.got.exchanges[2].path, "/3");
  EXPECT_EQ(h.got.exchanges[2].status, 404);
  EXPECT_EQ(h.got.exchanges[2].response.body.first_bytes, "/3");
  EXPECT_EQ(h.got.skipped(false), tail.size() + orphan.size());
}

TEST(Http1Parser, RequestsDuringResponseResyncAreNotPaired) {
  Harness h;
  h.req("GET /1 HTTP/1.1\r\n\r\n");
  h.parser.gap(Side::responses, 0);
  h.req("GET /2 HTTP/1.1\r\n\r\n");  // the response side has not found its place yet
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_FALSE(h.got.exchanges[1].status);
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");  // /1's or /2's: cannot tell
  EXPECT_EQ(h.got.exchanges.size(), 2u);
  h.req("GET /3 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  EXPECT_EQ(h.got.exchanges[2].path, "/3");
  EXPECT_EQ(h.got.exchanges[2].status, 201);
}

TEST(Http1Parser, RequestGapResyncsAtTheNextRequestLine) {
  Harness h;
  h.req("POST /1 HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial");
  h.parser.gap(Side::requests, 93);
  h.req("GET /2 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB");
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[0].path, "/1");
  EXPECT_FALSE(h.got.exchanges[0].request.complete);
  EXPECT_EQ(h.got.exchanges[0].request.body.first_bytes, "partial");
  EXPECT_EQ(h.got.exchanges[0].response.body.first_bytes, "A");
  EXPECT_EQ(h.got.exchanges[1].path, "/2");
  EXPECT_EQ(h.got.exchanges[1].response.body.first_bytes, "B");
}

TEST(Http1Parser, RequestHeadLostInAGapLeavesItsResponseUnpaired) {
  Harness h;
  h.req("GET /lost HTTP/1.1\r\nHo");
  h.parser.gap(Side::requests, 0);
  h.req("st: x\r\n\r\n");  // the rest of the lost head: not a request line, skipped
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nL");
  EXPECT_TRUE(h.got.exchanges.empty());
  h.req("GET /next HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nN");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].path, "/next");
  EXPECT_EQ(h.got.exchanges[0].response.body.first_bytes, "N");
}

TEST(Http1Parser, BodyBytesLimitKeepsTheLengthExact) {
  Limits limits;
  limits.body_bytes = 10;
  Harness h(limits);
  std::string body(5000, 'x');
  body[0] = 'a';
  h.req("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + body);
  h.resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + std::string(4096, 'y') +
         "\r\n0\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].request.body.len, 5000u);
  EXPECT_EQ(h.got.exchanges[0].request.body.first_bytes, body.substr(0, 10));
  EXPECT_EQ(h.got.exchanges[0].response.body.len, 4096u);
  EXPECT_EQ(h.got.exchanges[0].response.body.first_bytes, std::string(10, 'y'));
}

TEST(Http1Parser, HugeHeaderBlockIsSkippedWithinTheLimit) {
  Limits limits;
  limits.max_header_bytes = 1024;
  Harness h(limits);
  h.req("GET /big HTTP/1.1\r\n");
  for (int i = 0; i < 100; i++) {
    h.req("X-Filler: " + std::string(100, 'f') + "\r\n");
    ASSERT_LE(h.parser.buffered_bytes(), 64u * 1024);
  }
  h.req("\r\nGET /small HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  // The big request's head was not kept, but it was a request: it gets its own response, and
  // /small the next one.
  ASSERT_EQ(h.got.exchanges.size(), 2u);
  EXPECT_EQ(h.got.exchanges[0].path, "/big");
  EXPECT_EQ(h.got.exchanges[0].status, 431);
  EXPECT_TRUE(h.got.exchanges[0].request.headers.empty());
  EXPECT_NE(h.got.exchanges[0].note.find("over the limit"), std::string::npos);
  EXPECT_EQ(h.got.exchanges[1].path, "/small");
  EXPECT_EQ(h.got.exchanges[1].status, 200);
  EXPECT_GT(h.got.skipped(true), 9000u);
}

TEST(Http1Parser, TooManyPendingRequestsAreReportedUnpaired) {
  Limits limits;
  limits.max_pending_exchanges = 2;
  Harness h(limits);
  h.req("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].path, "/3");
  EXPECT_FALSE(h.got.exchanges[0].status);
  h.resp(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  EXPECT_EQ(h.got.exchanges[1].response.body.first_bytes, "1");
  EXPECT_EQ(h.got.exchanges[2].response.body.first_bytes, "2");
  EXPECT_GT(h.got.skipped(false), 0u);  // /3's response: skipped, never paired with another
  EXPECT_EQ(h.parser.held_response_bytes(), 0u);
  // Not held for /4 either: /3's response was due.
  h.req("GET /4 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n4");
  ASSERT_EQ(h.got.exchanges.size(), 4u);
  EXPECT_EQ(h.got.exchanges[3].path, "/4");
  EXPECT_EQ(h.got.exchanges[3].response.body.first_bytes, "4");
}

TEST(Http1Parser, UnpairedRequestsResponseReadFirstIsNotGivenToTheNext) {
  Limits limits;
  limits.max_pending_exchanges = 1;
  Harness h(limits);
  h.req("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");  // /2: too many awaiting
  h.resp(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3");  // read before /3's record
  h.req("GET /3 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 3u);
  EXPECT_EQ(h.got.exchanges[1].response.body.first_bytes, "1");
  EXPECT_EQ(h.got.exchanges[2].path, "/3");
  EXPECT_EQ(h.got.exchanges[2].response.body.first_bytes, "3");
}

TEST(Http1Parser, MalformedFramingIsSaid) {
  Harness h;
  h.req("GET /1 HTTP/1.1\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_NE(h.got.exchanges[0].note.find("content-length"), std::string::npos);

  Harness c;
  c.req("GET /1 HTTP/1.1\r\n\r\n");
  c.resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  ASSERT_EQ(c.got.exchanges.size(), 1u);
  EXPECT_NE(c.got.exchanges[0].note.find("chunked"), std::string::npos);
}

TEST(Http1Parser, ObsoleteLineFoldingIsJoined) {
  Harness h;
  h.req("GET / HTTP/1.1\r\nX-Long: one\r\n  two\r\n\r\n");
  h.resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(h.got.exchanges.size(), 1u);
  EXPECT_EQ(h.got.exchanges[0].request.headers, headers({{"X-Long", "one two"}}));
}

TEST(ProtocolDetection, FirstBytes) {
  EXPECT_EQ(classify_first_bytes("GET / HTTP/1.1\r\n"), FirstBytes::http1_request);
  EXPECT_EQ(classify_first_bytes("GET / HTT"), FirstBytes::need_more);
  EXPECT_EQ(classify_first_bytes("HTTP/1.1 200 OK\r\n"), FirstBytes::http1_response);
  EXPECT_EQ(classify_first_bytes("HTTP/1.1 2"), FirstBytes::need_more);
  EXPECT_EQ(classify_first_bytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), FirstBytes::http2_preface);
  EXPECT_EQ(classify_first_bytes("PRI * HTTP/2.0\r\n"), FirstBytes::need_more);
  EXPECT_EQ(classify_first_bytes("SSH-2.0-OpenSSH\r\n"), FirstBytes::not_http);
  EXPECT_EQ(classify_first_bytes(std::string("\0\0\x12\x04", 4)), FirstBytes::not_http);
  EXPECT_EQ(classify_first_bytes("get / http/1.1\r\n"), FirstBytes::not_http);
  EXPECT_EQ(classify_first_bytes("EHLO mail\r\n"), FirstBytes::not_http);
}

}  // namespace
}  // namespace tlstap::http
