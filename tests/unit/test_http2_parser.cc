// The HTTP/2 parser against connection bytes built frame by frame, with header blocks from
// nghttp2's HPACK encoder. Expected values are what the test's peers sent.
#include "protocols/http2/http2_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http2_frames.h"

namespace tlstap::http2 {
namespace {

using http::Side;
using test::Fields;

struct Collected {
  std::vector<http::Exchange> exchanges;
  std::vector<http::Skip> skips;
};

http::ParserEvents collect(Collected& c) {
  return {[&c](const http::Exchange& e) { c.exchanges.push_back(e); },
          [&c](const http::Skip& s) { c.skips.push_back(s); }};
}

// Headers as name/value pairs, to compare with what the test's peer encoded.
Fields fields(const http::Headers& headers) {
  Fields out;
  for (const http::Header& h : headers) out.push_back({h.name, h.value});
  return out;
}

// One connection's two byte streams, written as a client and a server would.
struct Conversation {
  test::HpackEncoder client_hpack;
  test::HpackEncoder server_hpack;
  std::string requests = std::string(test::kPreface) + test::settings();
  std::string responses = test::settings() + test::settings_ack();
  Conversation() { requests += test::settings_ack(); }
};

const Fields kGetRequest = {
    {":method", "GET"},       {":scheme", "https"},     {":authority", "example.com"},
    {":path", "/index.html"}, {"user-agent", "unit/1"}, {"accept", "*/*"}};
const Fields kOkResponse = {{":status", "200"},
                            {"content-type", "text/html"},
                            {"content-length", "11"},
                            {"set-cookie", "a=1"},
                            {"set-cookie", "b=2"}};

// A GET on stream 1 answered 200 with an 11-byte body in two DATA frames.
Conversation simple_get() {
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(kGetRequest));
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 1, c.server_hpack.encode(kOkResponse));
  c.responses += test::frame(test::DATA, 0, 1, "hello ");
  c.responses += test::frame(test::DATA, test::END_STREAM, 1, "world");
  return c;
}

void expect_simple_get(const http::Exchange& e) {
  EXPECT_EQ(e.version, "2");
  EXPECT_EQ(e.stream, 1u);
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.scheme, "https");
  EXPECT_EQ(e.authority, "example.com");
  EXPECT_EQ(e.path, "/index.html");
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(fields(e.request.headers), Fields({{"user-agent", "unit/1"}, {"accept", "*/*"}}));
  EXPECT_EQ(fields(e.response.headers), Fields({{"content-type", "text/html"},
                                                {"content-length", "11"},
                                                {"set-cookie", "a=1"},
                                                {"set-cookie", "b=2"}}));
  EXPECT_EQ(e.request.body.len, 0u);
  EXPECT_EQ(e.response.body.len, 11u);
  EXPECT_EQ(e.response.body.first_bytes, "hello world");
  EXPECT_TRUE(e.request.complete);
  EXPECT_TRUE(e.response.complete);
  EXPECT_EQ(e.note, "");
  EXPECT_FALSE(e.grpc);
}

TEST(Http2Parser, SimpleExchangeWithTimes) {
  Conversation c = simple_get();
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 100);
  EXPECT_TRUE(got.exchanges.empty());
  size_t split = c.responses.size() - 14;  // the last DATA frame comes later
  parser.feed(Side::responses, c.responses.substr(0, split), 200);
  EXPECT_TRUE(got.exchanges.empty());
  parser.feed(Side::responses, c.responses.substr(split), 300);
  ASSERT_EQ(got.exchanges.size(), 1u);
  expect_simple_get(got.exchanges[0]);
  EXPECT_EQ(got.exchanges[0].request.first_ts_ns, 100u);
  EXPECT_EQ(got.exchanges[0].request.last_ts_ns, 100u);
  EXPECT_EQ(got.exchanges[0].response.first_ts_ns, 200u);
  EXPECT_EQ(got.exchanges[0].response.last_ts_ns, 300u);
  EXPECT_TRUE(got.skips.empty());
  EXPECT_EQ(parser.open_streams(), 0u);
}

TEST(Http2Parser, SplitAtEveryByte) {
  Conversation c = simple_get();
  for (size_t at = 0; at <= c.requests.size() + c.responses.size(); ++at) {
    Collected got;
    Http2Parser parser({}, collect(got));
    if (at <= c.requests.size()) {
      parser.feed(Side::requests, c.requests.substr(0, at), 1);
      parser.feed(Side::requests, c.requests.substr(at), 2);
      parser.feed(Side::responses, c.responses, 3);
    } else {
      size_t r = at - c.requests.size();
      parser.feed(Side::requests, c.requests, 1);
      parser.feed(Side::responses, c.responses.substr(0, r), 2);
      parser.feed(Side::responses, c.responses.substr(r), 3);
    }
    ASSERT_EQ(got.exchanges.size(), 1u) << "split at " << at;
    expect_simple_get(got.exchanges[0]);
  }
  // And one byte per feed on both sides.
  Collected got;
  Http2Parser parser({}, collect(got));
  for (char b : c.requests) parser.feed(Side::requests, std::string_view(&b, 1), 1);
  for (char b : c.responses) parser.feed(Side::responses, std::string_view(&b, 1), 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  expect_simple_get(got.exchanges[0]);
}

// A request's record can reach tlstap after the read record of its response (Go writes and
// reads on different goroutines; a record is stamped when its call returns). Each direction
// stays in order: the responses fed first up to every byte, then the requests up to every
// byte, then the rest: the same exchange, nothing dropped.
TEST(Http2Parser, ResponseReadBeforeItsRequestIsKept) {
  Conversation c = simple_get();
  // The requests' preface and SETTINGS are long read before (sent at connection start).
  size_t opening = test::kPreface.size() + test::settings().size() + test::settings_ack().size();
  std::string_view requests = std::string_view(c.requests).substr(opening);
  for (size_t j = 0; j <= c.responses.size(); j++) {
    for (size_t i = 0; i <= requests.size(); i++) {
      Collected got;
      Http2Parser parser({}, collect(got));
      parser.feed(Side::requests, std::string_view(c.requests).substr(0, opening), 1);
      parser.feed(Side::responses, std::string_view(c.responses).substr(0, j), 2);
      parser.feed(Side::requests, requests.substr(0, i), 3);
      parser.feed(Side::responses, std::string_view(c.responses).substr(j), 4);
      parser.feed(Side::requests, requests.substr(i), 5);
      ASSERT_EQ(got.exchanges.size(), 1u) << j << " " << i;
      expect_simple_get(got.exchanges[0]);
      ASSERT_TRUE(got.skips.empty()) << j << " " << i;
      ASSERT_EQ(parser.open_streams(), 0u);
    }
  }
}

// The trial that found it: Go's client, stream 3's response HEADERS and DATA read before the
// write record of its request HEADERS.
TEST(Http2Parser, GoClientSecondStreamAnsweredBeforeItsRequestRecord) {
  Conversation c = simple_get();
  Fields big_request = kGetRequest;
  big_request[3].second = "/big.bin";
  std::string request3 = test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3,
                                     c.client_hpack.encode(big_request));
  std::string response3 =
      test::frame(test::HEADERS, test::END_HEADERS, 3,
                  c.server_hpack.encode({{":status", "200"}, {"content-length", "5"}})) +
      test::frame(test::DATA, test::END_STREAM, 3, "bytes");
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  parser.feed(Side::responses, response3, 3);
  EXPECT_EQ(parser.open_streams(), 1u);
  parser.feed(Side::requests, request3, 4);
  ASSERT_EQ(got.exchanges.size(), 2u);
  const http::Exchange& e = got.exchanges[1];
  EXPECT_EQ(e.stream, 3u);
  EXPECT_EQ(e.path, "/big.bin");
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(fields(e.response.headers), Fields({{"content-length", "5"}}));
  EXPECT_EQ(e.response.body.first_bytes, "bytes");
  EXPECT_EQ(e.request.first_ts_ns, 4u);
  EXPECT_EQ(e.response.first_ts_ns, 3u);
  EXPECT_EQ(e.note, "");
  EXPECT_TRUE(got.skips.empty());
}

TEST(Http2Parser, ResponseWhoseRequestNeverComesIsReportedWithANote) {
  Conversation c;
  c.responses += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 5,
                             c.server_hpack.encode({{":status", "204"}}));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  EXPECT_TRUE(got.exchanges.empty());  // the request may still come
  parser.end(3);
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].stream, 5u);
  EXPECT_EQ(got.exchanges[0].status, 204);
  EXPECT_TRUE(got.exchanges[0].method.empty());
  EXPECT_EQ(got.exchanges[0].note, "connection closed, request not seen");
}

TEST(Http2Parser, FramesForAStreamAlreadyReportedAreSaid) {
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(kGetRequest));
  c.requests += test::frame(test::RST_STREAM, 0, 1, test::be32(8));  // CANCEL
  std::string late =
      test::frame(test::HEADERS, test::END_HEADERS, 1, c.server_hpack.encode({{":status", "200"}}));
  std::string late_data = test::frame(test::DATA, test::END_STREAM, 1, "abc");
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses + late + late_data, 2);
  parser.end(3);
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].note, "stream reset");
  ASSERT_EQ(got.skips.size(), 2u);
  EXPECT_EQ(got.skips[0].reason, "headers for a stream already reported");
  EXPECT_EQ(got.skips[0].bytes, late.size() - 9);
  EXPECT_EQ(got.skips[1].reason, "data for a stream not open");
  EXPECT_EQ(got.skips[1].bytes, 3u);
}

TEST(Http2Parser, ContinuationFrames) {
  Conversation c;
  std::string block = c.client_hpack.encode(kGetRequest);
  ASSERT_GT(block.size(), 6u);
  c.requests += test::frame(test::HEADERS, test::END_STREAM, 1, block.substr(0, 3));
  c.requests += test::frame(test::CONTINUATION, 0, 1, block.substr(3, 2));
  c.requests += test::frame(test::CONTINUATION, test::END_HEADERS, 1, block.substr(5));
  std::string response = c.server_hpack.encode(kOkResponse);
  c.responses += test::frame(test::HEADERS, 0, 1, response.substr(0, 4));
  c.responses += test::frame(test::CONTINUATION, test::END_HEADERS, 1, response.substr(4));
  c.responses += test::frame(test::DATA, test::END_STREAM, 1, "hello world");
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  expect_simple_get(got.exchanges[0]);
}

TEST(Http2Parser, PaddingAndPriority) {
  Conversation c;
  // HEADERS with PADDED and PRIORITY: pad length, 5 bytes of priority, block, padding.
  std::string payload = std::string(1, '\x07') + test::be32(0) + std::string(1, '\x0f') +
                        c.client_hpack.encode(kGetRequest) + std::string(7, '\0');
  c.requests += test::frame(
      test::HEADERS, test::END_HEADERS | test::END_STREAM | test::PADDED | test::PRIORITY_FLAG, 1,
      payload);
  c.requests += test::frame(test::PRIORITY, 0, 1, test::be32(0) + "\x10");
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 1, c.server_hpack.encode(kOkResponse));
  c.responses += test::frame(test::DATA, test::PADDED, 1,
                             std::string(1, '\x03') + "hello " + std::string(3, '\0'));
  c.responses += test::frame(test::DATA, test::PADDED, 1, std::string(1, '\0') + "world");
  c.responses += test::frame(test::DATA, test::PADDED | test::END_STREAM, 1,
                             std::string(1, '\x02') + std::string(2, '\0'));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  for (char b : c.responses) parser.feed(Side::responses, std::string_view(&b, 1), 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  expect_simple_get(got.exchanges[0]);
}

TEST(Http2Parser, InterleavedStreamsAndDynamicTable) {
  Conversation c;
  Fields second = kGetRequest;
  second[3].second = "/style.css";
  // Both requests before any response; the second reuses the first's indexed fields.
  std::string b1 = c.client_hpack.encode(kGetRequest);
  std::string b3 = c.client_hpack.encode(second);
  EXPECT_LT(b3.size(), b1.size());  // the dynamic table is really used
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1, b1);
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3, b3);
  Fields css = {{":status", "200"}, {"content-type", "text/css"}};
  c.responses += test::frame(test::HEADERS, test::END_HEADERS, 3, c.server_hpack.encode(css));
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 1, c.server_hpack.encode(kOkResponse));
  c.responses += test::frame(test::DATA, 0, 1, "hello ");
  c.responses += test::frame(test::DATA, 0, 3, "body{}");
  c.responses += test::frame(test::DATA, test::END_STREAM, 1, "world");
  c.responses += test::frame(test::WINDOW_UPDATE, 0, 0, test::be32(1000));
  c.responses += test::frame(test::PING, 0, 0, std::string(8, 'p'));
  c.responses += test::frame(test::DATA, test::END_STREAM, 3, "");
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 2u);
  expect_simple_get(got.exchanges[0]);  // stream 1 ends first
  const http::Exchange& e3 = got.exchanges[1];
  EXPECT_EQ(e3.stream, 3u);
  EXPECT_EQ(e3.path, "/style.css");
  EXPECT_EQ(e3.authority, "example.com");
  EXPECT_EQ(fields(e3.request.headers), Fields({{"user-agent", "unit/1"}, {"accept", "*/*"}}));
  EXPECT_EQ(e3.status, 200);
  EXPECT_EQ(fields(e3.response.headers), Fields({{"content-type", "text/css"}}));
  EXPECT_EQ(e3.response.body.first_bytes, "body{}");
  EXPECT_EQ(e3.note, "");
}

TEST(Http2Parser, RstStreamReportsTheStream) {
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(kGetRequest));
  c.requests += test::frame(test::RST_STREAM, 0, 1, test::be32(8));  // CANCEL
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].path, "/index.html");
  EXPECT_FALSE(got.exchanges[0].status);
  EXPECT_FALSE(got.exchanges[0].response.complete);
  EXPECT_EQ(got.exchanges[0].note, "stream reset");
  EXPECT_EQ(parser.open_streams(), 0u);
}

TEST(Http2Parser, GoawayReportsStreamsNotProcessed) {
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(kGetRequest));
  Fields second = kGetRequest;
  second[3].second = "/late";
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3,
                            c.client_hpack.encode(second));
  c.responses += test::frame(test::GOAWAY, 0, 0, test::be32(1) + test::be32(0));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].path, "/late");
  EXPECT_EQ(got.exchanges[0].note, "goaway");
  // Stream 1 may still be answered; at the end it is reported as cut by the close.
  parser.end(3);
  ASSERT_EQ(got.exchanges.size(), 2u);
  EXPECT_EQ(got.exchanges[1].path, "/index.html");
  EXPECT_EQ(got.exchanges[1].note, "connection closed");
}

TEST(Http2Parser, GrpcWithTrailersAndMessagesSpanningFrames) {
  Conversation c;
  Fields request = {{":method", "POST"},
                    {":scheme", "https"},
                    {":path", "/helloworld.Greeter/SayHello"},
                    {":authority", "grpc.test:50051"},
                    {"content-type", "application/grpc+proto"},
                    {"te", "trailers"}};
  c.requests += test::frame(test::HEADERS, test::END_HEADERS, 1, c.client_hpack.encode(request));
  std::string messages = test::grpc_message("first") + test::grpc_message("") +
                         test::grpc_message(std::string(40, 'x'));
  // Split across DATA frames inside a prefix and inside a message.
  c.requests += test::frame(test::DATA, 0, 1, messages.substr(0, 3));
  c.requests += test::frame(test::DATA, 0, 1, messages.substr(3, 20));
  c.requests += test::frame(test::DATA, test::END_STREAM, 1, messages.substr(23));
  c.responses += test::frame(
      test::HEADERS, test::END_HEADERS, 1,
      c.server_hpack.encode({{":status", "200"}, {"content-type", "application/grpc"}}));
  c.responses += test::frame(test::DATA, 0, 1, test::grpc_message("reply"));
  c.responses += test::frame(
      test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
      c.server_hpack.encode({{"grpc-status", "3"}, {"grpc-message", "bad%20name%3A%20%E2%9C%93"}}));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  const http::Exchange& e = got.exchanges[0];
  ASSERT_TRUE(e.grpc);
  EXPECT_EQ(e.grpc->service, "helloworld.Greeter");
  EXPECT_EQ(e.grpc->method, "SayHello");
  EXPECT_EQ(e.grpc->status, 3);
  EXPECT_EQ(e.grpc->message, "bad name: \xE2\x9C\x93");
  EXPECT_EQ(e.grpc->request_messages, 3u);
  EXPECT_EQ(e.grpc->response_messages, 1u);
  EXPECT_EQ(e.request.body.len, messages.size());
  EXPECT_EQ(e.request.body.first_bytes, messages);
  EXPECT_EQ(fields(e.response.trailers),
            Fields({{"grpc-status", "3"}, {"grpc-message", "bad%20name%3A%20%E2%9C%93"}}));
  EXPECT_EQ(e.note, "");
}

TEST(Http2Parser, GrpcTrailersOnlyResponse) {
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS, 1,
                            c.client_hpack.encode({{":method", "POST"},
                                                   {":scheme", "http"},
                                                   {":path", "/pkg.Svc/Do"},
                                                   {"content-type", "application/grpc"}}));
  c.requests += test::frame(test::DATA, test::END_STREAM, 1, test::grpc_message("q"));
  c.responses += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                             c.server_hpack.encode({{":status", "200"},
                                                    {"content-type", "application/grpc"},
                                                    {"grpc-status", "12"},
                                                    {"grpc-message", "unimplemented"}}));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  const http::Exchange& e = got.exchanges[0];
  ASSERT_TRUE(e.grpc);
  EXPECT_EQ(e.grpc->service, "pkg.Svc");
  EXPECT_EQ(e.grpc->method, "Do");
  EXPECT_EQ(e.grpc->status, 12);
  EXPECT_EQ(e.grpc->message, "unimplemented");
  EXPECT_EQ(e.grpc->request_messages, 1u);
  EXPECT_EQ(e.grpc->response_messages, 0u);
  EXPECT_TRUE(e.response.trailers.empty());
}

TEST(Http2Parser, HeaderTableSizeSettings) {
  // The client allows a larger table; the server's encoder uses it once it read the SETTINGS,
  // and a smaller one after its ACK.
  test::HpackEncoder client_hpack;
  test::HpackEncoder server_hpack(65536);
  std::string requests = std::string(test::kPreface) + test::settings({{1, 65536}});
  std::string responses = test::settings() + test::settings_ack();
  server_hpack.change_table_size(65536);
  std::string big(3000, 'v');
  Fields response = {{":status", "200"}, {"x-big", big}, {"x-big2", big}};
  for (uint32_t id : {1u, 3u}) {
    requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, id,
                            client_hpack.encode(kGetRequest));
    responses += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, id,
                             server_hpack.encode(response));
  }
  requests += test::settings({{1, 128}});
  responses += test::settings_ack();
  server_hpack.change_table_size(128);
  requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 5,
                          client_hpack.encode(kGetRequest));
  responses += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 5,
                           server_hpack.encode(response));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, requests, 1);
  parser.feed(Side::responses, responses, 2);
  ASSERT_EQ(got.exchanges.size(), 3u);
  for (const http::Exchange& e : got.exchanges) {
    EXPECT_EQ(fields(e.response.headers), Fields({{"x-big", big}, {"x-big2", big}})) << *e.stream;
    EXPECT_EQ(e.note, "");
  }
}

TEST(Http2Parser, GapInsideDataKeepsFramingAndHpack) {
  Conversation c = simple_get();
  Fields second = kGetRequest;
  second[3].second = "/two";
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3,
                            c.client_hpack.encode(second));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  // Response: HEADERS, then "hello " DATA frame with 4 of its 6 payload bytes missing.
  size_t data1 = c.responses.find("hello ");
  parser.feed(Side::responses, c.responses.substr(0, data1 + 2), 2);
  parser.gap(Side::responses, 4);
  parser.feed(Side::responses, c.responses.substr(data1 + 6), 3);
  std::string more = test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3,
                                 c.server_hpack.encode({{":status", "404"}}));
  parser.feed(Side::responses, more, 4);
  ASSERT_EQ(got.exchanges.size(), 2u);
  const http::Exchange& e1 = got.exchanges[0];
  EXPECT_EQ(e1.status, 200);
  EXPECT_EQ(e1.response.body.len, 11u);
  EXPECT_EQ(e1.response.body.first_bytes, "he");  // stops at the hole
  EXPECT_EQ(e1.note, "data lost");
  EXPECT_EQ(got.exchanges[1].path, "/two");
  EXPECT_EQ(got.exchanges[1].status, 404);
  EXPECT_EQ(got.exchanges[1].note, "");
}

TEST(Http2Parser, GapInHeaderBlockMarksStreamsUndecodable) {
  Conversation c;
  Fields second = kGetRequest;
  second[3].second = "/two";
  std::string b1 = c.client_hpack.encode(kGetRequest);
  std::string b3 = c.client_hpack.encode(second);  // refers to b1's table entries
  std::string h1 = test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1, b1);
  std::string h3 = test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3, b3);
  c.responses += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                             c.server_hpack.encode({{":status", "204"}}));
  c.responses += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3,
                             c.server_hpack.encode({{":status", "200"}}));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::requests, h1.substr(0, 12), 2);  // the frame header and 3 block bytes
  parser.gap(Side::requests, h1.size() - 12);
  parser.feed(Side::requests, h3, 3);
  parser.feed(Side::responses, c.responses, 4);
  ASSERT_EQ(got.exchanges.size(), 2u);
  for (const http::Exchange& e : got.exchanges) {
    EXPECT_EQ(e.method, "") << *e.stream;  // never a guessed request line
    EXPECT_EQ(e.path, "");
    EXPECT_TRUE(e.request.headers.empty());
    EXPECT_EQ(e.note, "hpack state unknown");
  }
  EXPECT_EQ(got.exchanges[0].status, 204);  // the responses' HPACK is intact
  EXPECT_EQ(got.exchanges[1].status, 200);
  std::vector<uint32_t> undecodable;
  for (const http::Skip& s : got.skips) {
    EXPECT_TRUE(s.requests);
    EXPECT_EQ(s.reason, "hpack state unknown");
    undecodable.insert(undecodable.end(), s.streams.begin(), s.streams.end());
  }
  EXPECT_EQ(undecodable, (std::vector<uint32_t>{1, 3}));
}

TEST(Http2Parser, GapOfUnknownSizeThenResyncOnWholeFrames) {
  Conversation c;
  for (uint32_t id : {1u, 3u, 5u}) {
    Fields request = kGetRequest;
    request[3].second = "/" + std::to_string(id);
    c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, id,
                              c.client_hpack.encode(request));
  }
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 1, c.server_hpack.encode(kOkResponse));
  parser.feed(Side::responses, c.responses, 2);
  parser.gap(Side::responses, 0);
  ASSERT_EQ(got.skips.size(), 1u);
  EXPECT_FALSE(got.skips[0].requests);
  EXPECT_EQ(got.skips[0].reason, "data lost");
  // Every stream still awaiting its response may have lost frames in the gap.
  EXPECT_EQ(got.skips[0].streams, (std::vector<uint32_t>{1, 3, 5}));
  // A record that does not start at a frame: not parsed, even though frames follow in it.
  std::string tail = test::frame(test::DATA, test::END_STREAM, 1, "world").substr(3) +
                     test::frame(test::DATA, test::END_STREAM, 1, "");
  parser.feed(Side::responses, tail, 3);
  EXPECT_TRUE(got.exchanges.empty());
  // A record of whole frames: parsed again. Stream 3's response refers to content-type from
  // the (lost) dynamic table: not decoded. Stream 5's needs only the static table and a new
  // literal: decoded exactly.
  std::string whole =
      test::frame(test::HEADERS, test::END_HEADERS, 3,
                  c.server_hpack.encode({{":status", "200"}, {"content-type", "text/html"}})) +
      test::frame(test::DATA, test::END_STREAM, 3, "css");
  parser.feed(Side::responses, whole, 4);
  parser.feed(Side::responses,
              test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 5,
                          c.server_hpack.encode({{":status", "404"}, {"x-new", "fresh"}})),
              5);
  ASSERT_EQ(got.exchanges.size(), 2u);
  const http::Exchange& e3 = got.exchanges[0];
  EXPECT_EQ(e3.path, "/3");  // the request side is intact
  EXPECT_FALSE(e3.status);
  EXPECT_TRUE(e3.response.headers.empty());
  EXPECT_EQ(e3.response.body.first_bytes, "css");
  EXPECT_TRUE(e3.response.complete);
  EXPECT_EQ(e3.note, "hpack state unknown, data lost");
  const http::Exchange& e5 = got.exchanges[1];
  EXPECT_EQ(e5.path, "/5");
  EXPECT_EQ(e5.status, 404);
  EXPECT_EQ(fields(e5.response.headers), Fields({{"x-new", "fresh"}}));
  EXPECT_EQ(e5.note, "data lost");  // an earlier frame of it may have been in the gap
  ASSERT_EQ(got.skips.size(), 3u);
  EXPECT_EQ(got.skips[1].reason, "not parsed after data lost");
  EXPECT_EQ(got.skips[1].bytes, tail.size());
  EXPECT_EQ(got.skips[2].reason, "hpack state unknown");
  EXPECT_EQ(got.skips[2].streams, (std::vector<uint32_t>{3}));
  parser.end(6);
  ASSERT_EQ(got.exchanges.size(), 3u);
  EXPECT_EQ(got.exchanges[2].path, "/1");
  EXPECT_EQ(got.exchanges[2].status, 200);
  EXPECT_EQ(got.exchanges[2].note, "connection closed, data lost");
}

TEST(Http2Parser, GarbageIsNotResyncedFrom) {
  Conversation c;
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests + test::frame(test::PING, 0, 0, "short"), 1);
  // Whole frames after garbage: the direction stays unparsed (it was never HTTP/2 here).
  parser.feed(Side::requests,
              test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                          c.client_hpack.encode(kGetRequest)),
              2);
  parser.end(3);
  EXPECT_TRUE(got.exchanges.empty());
  ASSERT_EQ(got.skips.size(), 2u);
  EXPECT_EQ(got.skips[0].reason, "not http2");
  EXPECT_EQ(got.skips[1].reason, "not parsed after not http2");
}

TEST(Http2Parser, NotHttp2) {
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1);
  parser.feed(Side::responses, "HTTP/1.1 200 OK\r\n\r\n", 2);
  parser.end(3);
  EXPECT_TRUE(got.exchanges.empty());
  ASSERT_GE(got.skips.size(), 2u);
  EXPECT_EQ(got.skips[0].reason, "not http2");
  for (const http::Skip& s : got.skips) EXPECT_TRUE(s.streams.empty());
}

TEST(Http2Parser, MalformedFrameStopsParsing) {
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(kGetRequest));
  c.requests += test::frame(test::PING, 0, 0, std::string(7, 'x'));  // PING is 8 bytes
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests + "more garbage", 1);
  ASSERT_EQ(got.skips.size(), 1u);
  EXPECT_EQ(got.skips[0].reason, "not http2");
  // The response still completes the request that was read before the garbage.
  parser.feed(Side::responses,
              c.responses + test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                                        c.server_hpack.encode({{":status", "200"}})),
              2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].path, "/index.html");
  EXPECT_EQ(got.exchanges[0].status, 200);
}

TEST(Http2Parser, StreamLimitAndHeaderLimit) {
  http::Limits limits;
  limits.max_pending_exchanges = 2;
  limits.max_header_bytes = 300;  // RFC 7541 sizes: the pseudo-headers and two fields
  Conversation c;
  Fields big = kGetRequest;
  big.push_back({"x-large", std::string(200, 'L')});
  big.push_back({"x-after", "1"});
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(big));
  for (uint32_t id : {3u, 5u})
    c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, id,
                              c.client_hpack.encode(kGetRequest));
  Collected got;
  Http2Parser parser(limits, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  EXPECT_EQ(parser.open_streams(), 2u);
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].stream, 1u);
  EXPECT_EQ(got.exchanges[0].note, "too many open streams, headers over limit");
  EXPECT_EQ(got.exchanges[0].path, "/index.html");
  // The fields that fit are kept in order; the ones over the limit are dropped.
  EXPECT_EQ(fields(got.exchanges[0].request.headers),
            Fields({{"user-agent", "unit/1"}, {"accept", "*/*"}}));
  parser.end(2);
  ASSERT_EQ(got.exchanges.size(), 3u);
  EXPECT_EQ(got.exchanges[1].path, "/index.html");  // decoded with the table kept in step
  EXPECT_EQ(got.exchanges[1].note, "connection closed");
}

TEST(Http2Parser, ServerPush) {
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(kGetRequest));
  Fields pushed = {{":method", "GET"},
                   {":scheme", "https"},
                   {":authority", "example.com"},
                   {":path", "/pushed.css"}};
  c.responses += test::frame(test::PUSH_PROMISE, test::END_HEADERS, 1,
                             test::be32(2) + c.server_hpack.encode(pushed));
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 1, c.server_hpack.encode(kOkResponse));
  c.responses += test::frame(test::DATA, test::END_STREAM, 1, "hello world");
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 2, c.server_hpack.encode({{":status", "200"}}));
  c.responses += test::frame(test::DATA, test::END_STREAM, 2, "p{}");
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 2u);
  expect_simple_get(got.exchanges[0]);
  EXPECT_EQ(got.exchanges[1].stream, 2u);
  EXPECT_EQ(got.exchanges[1].path, "/pushed.css");
  EXPECT_EQ(got.exchanges[1].status, 200);
  EXPECT_EQ(got.exchanges[1].response.body.first_bytes, "p{}");
}

TEST(Http2Parser, ContentEncodingAndBodyLimit) {
  http::Limits limits;
  limits.body_bytes = 4;
  Conversation c;
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode(kGetRequest));
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 1,
                  c.server_hpack.encode({{":status", "200"}, {"content-encoding", "gzip"}}));
  c.responses +=
      test::frame(test::DATA, test::END_STREAM, 1, std::string("\x1f\x8b\x08\x00zzzz", 8));
  Collected got;
  Http2Parser parser(limits, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  EXPECT_EQ(got.exchanges[0].response.body.encoding, "gzip");
  EXPECT_EQ(got.exchanges[0].response.body.len, 8u);
  EXPECT_EQ(got.exchanges[0].response.body.first_bytes, std::string("\x1f\x8b\x08\x00", 4));
}

TEST(Http2Parser, InformationalResponsesAndRequestTrailers) {
  Conversation c;
  c.requests += test::frame(
      test::HEADERS, test::END_HEADERS, 1,
      c.client_hpack.encode({{":method", "POST"}, {":scheme", "https"}, {":path", "/up"}}));
  c.requests += test::frame(test::DATA, 0, 1, "part");
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                            c.client_hpack.encode({{"x-checksum", "abc"}}));
  c.responses +=
      test::frame(test::HEADERS, test::END_HEADERS, 1, c.server_hpack.encode({{":status", "100"}}));
  c.responses += test::frame(test::HEADERS, test::END_HEADERS, 1,
                             c.server_hpack.encode({{":status", "103"}, {"link", "</a.css>"}}));
  c.responses += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1,
                             c.server_hpack.encode({{":status", "201"}, {"location", "/up/1"}}));
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.feed(Side::responses, c.responses, 2);
  ASSERT_EQ(got.exchanges.size(), 1u);
  const http::Exchange& e = got.exchanges[0];
  EXPECT_EQ(e.informational, (std::vector<int>{100, 103}));
  EXPECT_EQ(e.status, 201);
  EXPECT_EQ(fields(e.response.headers), Fields({{"location", "/up/1"}}));
  EXPECT_EQ(e.request.body.first_bytes, "part");
  EXPECT_EQ(fields(e.request.trailers), Fields({{"x-checksum", "abc"}}));
  EXPECT_EQ(e.note, "");
}

TEST(Http2Parser, CorruptHpackIsNeverGuessed) {
  Conversation c;
  // Stream 1's block fills the encoder's table, then ends in an index beyond both tables;
  // stream 3's block refers to what stream 1's inserted.
  std::string b1 = c.client_hpack.encode(kGetRequest) + std::string("\xff\xff\xff\x0f", 4);
  std::string b3 = c.client_hpack.encode(kGetRequest);
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 1, b1);
  c.requests += test::frame(test::HEADERS, test::END_HEADERS | test::END_STREAM, 3, b3);
  Collected got;
  Http2Parser parser({}, collect(got));
  parser.feed(Side::requests, c.requests, 1);
  parser.end(2);
  ASSERT_EQ(got.exchanges.size(), 2u);
  for (const http::Exchange& e : got.exchanges) {
    EXPECT_EQ(e.method, "");
    EXPECT_EQ(e.path, "");
    EXPECT_TRUE(e.request.headers.empty());
    EXPECT_EQ(e.note, "connection closed, hpack state unknown");
  }
}

}  // namespace
}  // namespace tlstap::http2
