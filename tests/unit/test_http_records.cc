// The http and http_skip records as the JSON and text sinks encode them (README "Protocol
// views"): exact field names and values, JSON always valid, text terminal-safe.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "conn/connection.h"
#include "output/output_stream.h"
#include "output/sinks.h"
#include "test_support.h"

namespace tlstap {
namespace {

using nlohmann::json;

std::string encode(OutputFormat format, const std::function<void(RecordSink&)>& write) {
  test::TempDir dir;
  std::string path = dir.file("out");
  auto opened = OutputStream::create_private_file(path);
  EXPECT_TRUE(opened);
  std::unique_ptr<RecordSink> sink = make_sink(format, *opened);
  write(*sink);
  opened->sync();
  return test::read_file(path);
}

Connection client_connection() {
  Connection c;
  c.id = "812-411752-5-0";
  c.fd = 5;
  c.laddr = "127.0.0.1";
  c.lport = 39692;
  c.raddr = "127.0.0.1";
  c.rport = 8443;
  c.role = Role::client;
  return c;
}

http::Exchange order_exchange() {
  http::Exchange e;
  e.version = "1.1";
  e.method = "POST";
  e.authority = "shop.example";
  e.path = "/api/orders";
  e.status = 201;
  e.reason = "Created";
  e.informational = {100};
  e.request.headers = {{"Host", "shop.example"}, {"X-Tag", "a"}, {"X-Tag", "b\"\n"}};
  e.request.body.len = 5000;
  e.request.body.first_bytes = std::string("\x00\x01{\"item\"", 9);
  e.request.first_ts_ns = 1764050000000000000ull;
  e.request.last_ts_ns = 1764050000000100000ull;
  e.request.complete = true;
  e.response.headers = {{"Content-Encoding", "gzip"}};
  e.response.trailers = {{"X-Sum", "7"}};
  e.response.body.len = 3;
  e.response.body.first_bytes = "\x1f\x8b\x08";
  e.response.body.encoding = "gzip";
  e.response.first_ts_ns = 1764050000012400000ull;
  e.response.last_ts_ns = 1764050000012500000ull;
  e.response.complete = true;
  return e;
}

TEST(HttpRecords, JsonExchangeHasExactlyTheDocumentedFields) {
  Connection connection = client_connection();
  http::Exchange e = order_exchange();
  std::string out = encode(OutputFormat::json, [&](RecordSink& sink) {
    sink.http(HttpRecord{&e, e.response.last_ts_ns, 812, "curl", &connection});
  });
  json object = json::parse(out);
  EXPECT_EQ(object, json::parse(R"({"type":"http","ts_ns":1764050000012500000,"pid":812,
      "comm":"curl","conn":"812-411752-5-0","fd":5,"laddr":"127.0.0.1","lport":39692,
      "raddr":"127.0.0.1","rport":8443,"role":"client","version":"1.1","method":"POST",
      "authority":"shop.example","path":"/api/orders","status":201,"reason":"Created",
      "informational":[100],
      "req_headers":[["Host","shop.example"],["X-Tag","a"],["X-Tag","b\"\n"]],
      "req_body_len":5000,"req_body":"AAF7Iml0ZW0i",
      "resp_headers":[["Content-Encoding","gzip"]],"resp_trailers":[["X-Sum","7"]],
      "resp_body_len":3,"resp_body":"H4sI","resp_body_encoding":"gzip",
      "req_ts_ns":1764050000000000000,"resp_ts_ns":1764050000012500000,
      "latency_ns":12400000})"))
      << out;
}

TEST(HttpRecords, JsonExchangeWithoutResponseOmitsWhatIsNotKnown) {
  Connection connection = client_connection();
  http::Exchange e;
  e.version = "1.0";
  e.method = "GET";
  e.path = "/";
  e.request.first_ts_ns = 5;
  e.request.complete = true;
  e.note = "no response: the connection closed first";
  std::string out = encode(OutputFormat::json, [&](RecordSink& sink) {
    sink.http(HttpRecord{&e, 6, 812, "curl", &connection});
  });
  json object = json::parse(out);
  for (const char* absent : {"status", "reason", "resp_headers", "resp_ts_ns", "latency_ns",
                             "authority", "stream", "scheme", "grpc_status"}) {
    EXPECT_FALSE(object.contains(absent)) << absent;
  }
  EXPECT_EQ(object.at("note"), e.note);
  EXPECT_EQ(object.at("req_body_len"), 0);
  EXPECT_FALSE(object.contains("req_body"));
}

TEST(HttpRecords, JsonGrpcAndStreamFields) {
  Connection connection = client_connection();
  http::Exchange e;
  e.version = "2";
  e.stream = 3;
  e.method = "POST";
  e.scheme = "https";
  e.path = "/pkg.Greeter/SayHello";
  e.status = 200;
  e.grpc = http::Grpc{"pkg.Greeter", "SayHello", 5, "not found", 1, 0};
  std::string out = encode(OutputFormat::json, [&](RecordSink& sink) {
    sink.http(HttpRecord{&e, 6, 812, "client", &connection});
  });
  json object = json::parse(out);
  EXPECT_EQ(object.at("stream"), 3);
  EXPECT_EQ(object.at("scheme"), "https");
  EXPECT_EQ(object.at("grpc_service"), "pkg.Greeter");
  EXPECT_EQ(object.at("grpc_method"), "SayHello");
  EXPECT_EQ(object.at("grpc_status"), 5);
  EXPECT_EQ(object.at("grpc_message"), "not found");
  EXPECT_EQ(object.at("grpc_req_messages"), 1);
  EXPECT_EQ(object.at("grpc_resp_messages"), 0);
}

// --body-bytes 0: the body's size is said, nothing about bytes shown; HTTP/2's :authority
// is shown with the request (HTTP/1's Host is a header field).
TEST(HttpRecords, TextBodyBytesZeroAndHttp2Authority) {
  Connection connection = client_connection();
  http::Exchange e;
  e.version = "2";
  e.stream = 1;
  e.method = "GET";
  e.authority = "example.org:8443";
  e.path = "/text.txt";
  e.status = 200;
  e.request.headers = {{"accept", "*/*"}};
  e.response.body.len = 12;
  std::string out = encode(OutputFormat::text, [&](RecordSink& sink) {
    sink.http(HttpRecord{&e, 6, 812, "curl", &connection});
  });
  std::istringstream in(out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 5u) << out;
  EXPECT_EQ(lines[1], "  > :authority: example.org:8443");
  EXPECT_EQ(lines[2], "  > accept: */*");
  EXPECT_EQ(lines[3], "  request body: 0 bytes");
  EXPECT_EQ(lines[4], "  response body: 12 bytes");
}

TEST(HttpRecords, JsonSkip) {
  Connection connection = client_connection();
  http::Skip skip{false, 42, "response without a request", {}};
  std::string out = encode(OutputFormat::json, [&](RecordSink& sink) {
    sink.http_skip(HttpSkipRecord{&skip, 7, 812, "curl", &connection, Direction::read});
  });
  EXPECT_EQ(json::parse(out), json::parse(R"({"type":"http_skip","ts_ns":7,"pid":812,
      "comm":"curl","conn":"812-411752-5-0","fd":5,"laddr":"127.0.0.1","lport":39692,
      "raddr":"127.0.0.1","rport":8443,"role":"client","dir":"read","side":"responses",
      "bytes":42,"reason":"response without a request"})"));
}

TEST(HttpRecords, TextBlockIsReadableAndTerminalSafe) {
  Connection connection = client_connection();
  http::Exchange e = order_exchange();
  e.request.headers.push_back({"X-Evil", "\x1b[2J"});
  std::string out = encode(OutputFormat::text, [&](RecordSink& sink) {
    sink.http(HttpRecord{&e, e.response.last_ts_ns, 812, "curl", &connection});
  });
  std::istringstream in(out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_GE(lines.size(), 10u) << out;
  // The clock is local time: the rest of the line is exact.
  EXPECT_EQ(lines[0].substr(15),
            " curl[812] 127.0.0.1:39692 -> 127.0.0.1:8443 client HTTP/1.1 POST /api/orders -> "
            "201 Created 12.400 ms")
      << out;
  EXPECT_EQ(lines[1], "  > Host: shop.example");
  EXPECT_EQ(lines[3], "  > X-Tag: b\"\\n");
  EXPECT_EQ(lines[4], "  > X-Evil: \\x1b[2J");
  EXPECT_EQ(lines[5], "  request body: 5000 bytes, first 9 shown:");
  EXPECT_EQ(lines[6], "\\x00\\x01{\"item\"");
  EXPECT_EQ(lines[7], "  < 100");  // the 100 Continue answers the request's head
  EXPECT_EQ(lines[8], "  < Content-Encoding: gzip");
  EXPECT_EQ(lines[9], "  response body: 3 bytes, gzip-encoded, shown as is:");
  EXPECT_EQ(lines[10], "\\x1f\\x8b\\x08");
  EXPECT_EQ(lines[11], "  < (trailer) X-Sum: 7");
  for (char c : out) EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f));
}

}  // namespace
}  // namespace tlstap
