// node TLS peers for the e2e tests (OpenSSL over memory BIOs, inside the node binary). Each
// mode writes what it sent/received and its ports to a JSON report, so the test can compare
// tlstap's records with the real sockets.
//   tls-connect PORT REPORT      writes a line from the connect callback (inside SSL_read's
//                                handshake callback), another 200 ms later, then ends
//   https-server PORT CERT KEY READY REPORT COUNT
//                                answers COUNT requests with a body that depends on the request;
//                                the report lists each request's client port, body and reply
//   fetch PORT BODY REPORT       fetch() POSTs BODY, then GETs /get, on new connections
//   http2-server PORT CERT KEY READY REPORT COUNT / http2-client PORT REPORT
//   http2-session PORT STARTED GO REPORT
//                                one HTTP/2 connection: GET /one, then (STARTED written) waits
//                                for the file GO, then GET /two and /three on it
//   grpc-server PORT CERT KEY READY REPORT / grpc-client PORT REPORT
//                                two gRPC-shaped calls on one HTTP/2 connection (no gRPC
//                                library: the http2 module with length-prefixed messages):
//                                /test.Echo/Say answers one message per request message and
//                                trailers with grpc-status 5 and a percent-encoded
//                                grpc-message; /test.Echo/Missing answers trailers-only
//                                (grpc-status 12). Each side reports what it sent and got.
'use strict';
const fs = require('fs');
const tls = require('tls');
const https = require('https');
const http2 = require('http2');

const [mode, ...args] = process.argv.slice(2);

// gRPC's length-prefixed message: a compressed flag (0) and a 4-byte big-endian length.
function grpcFrame(message) {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function grpcMessages(body) {
  const out = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

function replyFor(method, url, body) {
  const head = `${method} ${url} ${body.length}\n`;
  return Buffer.concat([Buffer.from(head), body, Buffer.from('\nend\n')]);
}

if (mode === 'tls-connect') {
  const [port, reportPath] = args;
  const sent = [];
  const socket = tls.connect({port: Number(port), host: '127.0.0.1', rejectUnauthorized: false},
                             () => {
    const lport = socket.localPort;
    sent.push('first line, written from the connect callback\n');
    socket.write(sent[0]);
    setTimeout(() => {
      sent.push('second line, written 200 ms later\n');
      socket.write(sent[1]);
      setTimeout(() => {
        fs.writeFileSync(reportPath, JSON.stringify({lport, sent}));
        socket.end();
        socket.destroy();
      }, 100);
    }, 200);
  });
  socket.on('data', () => {});
  socket.on('error', (e) => { console.error(e); process.exit(1); });
} else if (mode === 'https-server' || mode === 'http2-server') {
  const [port, cert, key, ready, reportPath, count] = args;
  const options = {cert: fs.readFileSync(cert), key: fs.readFileSync(key)};
  const report = [];
  const handler = (request, response) => {
    const chunks = [];
    request.on('data', (c) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const reply = replyFor(request.method, request.url, body);
      report.push({rport: request.socket.remotePort, lport: request.socket.localPort,
                   url: request.url, body: body.toString('base64'),
                   reply: reply.toString('base64')});
      response.setHeader('content-type', 'application/octet-stream');
      response.end(reply);
      if (report.length === Number(count)) {
        fs.writeFileSync(reportPath, JSON.stringify(report));
        setTimeout(() => process.exit(0), 300);
      }
    });
  };
  const server = mode === 'https-server' ? https.createServer(options, handler)
                                         : http2.createSecureServer(options, handler);
  server.listen(Number(port), '127.0.0.1', () => fs.writeFileSync(ready, String(process.pid)));
} else if (mode === 'fetch') {
  const [port, bodyPath, reportPath] = args;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const body = fs.readFileSync(bodyPath);
  (async () => {
    const base = `https://127.0.0.1:${port}`;
    const post = await fetch(`${base}/post`, {method: 'POST', body});
    const postReply = Buffer.from(await post.arrayBuffer());
    const get = await fetch(`${base}/get`);
    const getReply = Buffer.from(await get.arrayBuffer());
    fs.writeFileSync(reportPath, JSON.stringify({post: postReply.toString('base64'),
                                                 get: getReply.toString('base64')}));
    process.exit(0);
  })().catch((e) => { console.error(e); process.exit(1); });
} else if (mode === 'http2-client') {
  const [port, reportPath] = args;
  const session = http2.connect(`https://127.0.0.1:${port}`, {rejectUnauthorized: false});
  const replies = {};
  let done = 0;
  for (const path of ['/one', '/two']) {
    const stream = session.request({':path': path, ':method': 'GET'});
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      replies[path] = Buffer.concat(chunks).toString('base64');
      if (++done === 2) {
        fs.writeFileSync(reportPath, JSON.stringify({lport: session.socket.localPort, replies}));
        session.close();
      }
    });
    stream.end();
  }
} else if (mode === 'http2-session') {
  const [port, started, go, reportPath] = args;
  const session = http2.connect(`https://127.0.0.1:${port}`, {rejectUnauthorized: false});
  const replies = {};
  const get = (path, next) => {
    const stream = session.request({':path': path, ':method': 'GET'});
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      replies[path] = Buffer.concat(chunks).toString('base64');
      next();
    });
    stream.end();
  };
  get('/one', () => {
    fs.writeFileSync(started, String(session.socket.localPort));
    const wait = setInterval(() => {
      if (!fs.existsSync(go)) return;
      clearInterval(wait);
      get('/two', () => get('/three', () => {
        fs.writeFileSync(reportPath, JSON.stringify({lport: session.socket.localPort, replies}));
        session.close();
      }));
    }, 20);
  });
} else if (mode === 'grpc-server') {
  const [port, cert, key, ready, reportPath] = args;
  const server = http2.createSecureServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)});
  const report = [];
  server.on('stream', (stream, headers) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const call = {path: headers[':path'], request_headers: headers,
                    request_messages: grpcMessages(body).length};
      if (headers[':path'] === '/test.Echo/Missing') {
        call.response_headers = {':status': 200, 'content-type': 'application/grpc',
                                 'grpc-status': '12', 'grpc-message': 'no such method'};
        stream.respond(call.response_headers, {endStream: true});
      } else {
        call.response_headers = {':status': 200, 'content-type': 'application/grpc'};
        call.trailers = {'grpc-status': '5',
                         'grpc-message': encodeURIComponent('not found: caf\u00e9 100%')};
        const replies = grpcMessages(body).map((m) => grpcFrame(Buffer.concat([
          Buffer.from('echo:'), m])));
        call.response_messages = replies.length;
        call.reply = Buffer.concat(replies).toString('base64');
        stream.respond(call.response_headers, {waitForTrailers: true});
        stream.on('wantTrailers', () => stream.sendTrailers(call.trailers));
        for (const r of replies) stream.write(r);
        stream.end();
      }
      report.push(call);
      if (report.length === 2) {
        fs.writeFileSync(reportPath, JSON.stringify(report));
        setTimeout(() => process.exit(0), 300);
      }
    });
  });
  server.listen(Number(port), '127.0.0.1', () => fs.writeFileSync(ready, String(process.pid)));
} else if (mode === 'grpc-client') {
  const [port, reportPath] = args;
  const session = http2.connect(`https://127.0.0.1:${port}`, {rejectUnauthorized: false});
  const report = {};
  const call = (path, messages, next) => {
    const headers = {':method': 'POST', ':path': path, 'content-type': 'application/grpc',
                     'te': 'trailers', 'grpc-timeout': '5S'};
    const stream = session.request(headers);
    const result = {request_headers: headers, request_messages: messages.length, trailers: null};
    stream.on('response', (h) => { result.response_headers = h; });
    stream.on('trailers', (t) => { result.trailers = t; });
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      result.reply = Buffer.concat(chunks).toString('base64');
      report[path] = result;
      next();
    });
    // Each message in its own write, the second split in two: frames do not align with them.
    const bodies = messages.map(grpcFrame);
    stream.write(bodies[0]);
    if (bodies.length > 1) {
      stream.write(bodies[1].subarray(0, 3));
      setTimeout(() => { stream.write(bodies[1].subarray(3)); stream.end(); }, 50);
    } else {
      stream.end();
    }
  };
  call('/test.Echo/Say', [Buffer.from('hello'), Buffer.alloc(3000, 'x')], () => {
    call('/test.Echo/Missing', [Buffer.from('?')], () => {
      report.lport = session.socket.localPort;
      fs.writeFileSync(reportPath, JSON.stringify(report));
      session.close();
    });
  });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
