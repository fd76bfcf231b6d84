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
'use strict';
const fs = require('fs');
const tls = require('tls');
const https = require('https');
const http2 = require('http2');

const [mode, ...args] = process.argv.slice(2);

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
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
