// node https client for the e2e tests: POSTs the file argv[3] to https://127.0.0.1:argv[2]/
// and writes the whole response (status line, headers, body as node saw them) to argv[4].
// OpenSSL is linked into the node binary itself: tlstap must find it there.
'use strict';
const fs = require('fs');
const https = require('https');

const [port, sendPath, receivedPath] = process.argv.slice(2);
const payload = fs.readFileSync(sendPath);
const request = https.request({
  host: '127.0.0.1', port: Number(port), path: '/upload', method: 'POST',
  rejectUnauthorized: false, agent: false,
  headers: {'Content-Length': payload.length, 'Connection': 'close'},
}, (response) => {
  const chunks = [];
  response.on('data', (c) => chunks.push(c));
  response.on('end', () => {
    fs.writeFileSync(receivedPath, Buffer.concat(chunks));
  });
});
request.on('error', (e) => { console.error(e); process.exit(1); });
request.end(payload);
