// A mail server of the browser tests' own that keeps every message and sends none on, so that a
// test can read the email of waiting calls the replicas send (tests/replicas.spec.ts). It speaks
// enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, QUIT; no TLS) on E2E_SMTP_PORT.
//
// On E2E_SMTP_HTTP_PORT, `GET /messages` answers what it took, oldest first:
// `[{ "to": ["name@example.com"], "data": "<headers and body, as sent>" }]`; `GET /__health`
// answers 200, for Playwright's start-up check.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createSmtpServer } from 'node:net';

const smtpPort = Number(process.env.E2E_SMTP_PORT);
const httpPort = Number(process.env.E2E_SMTP_HTTP_PORT);
const messages = [];

createSmtpServer((socket) => {
  socket.setEncoding('utf8');
  socket.write('220 sink ready\r\n');
  let pending = '';
  let to = [];
  // Between DATA and the line with a lone dot: the message's lines.
  let data = null;
  socket.on('data', (chunk) => {
    pending += chunk;
    let end;
    while ((end = pending.indexOf('\r\n')) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      if (data !== null) {
        if (line === '.') {
          messages.push({ to, data: data.join('\r\n') });
          to = [];
          data = null;
          socket.write('250 kept\r\n');
        } else {
          // A leading dot is doubled on the wire (dot-stuffing).
          data.push(line.startsWith('..') ? line.slice(1) : line);
        }
        continue;
      }
      const verb = line.split(' ')[0].toUpperCase();
      if (verb === 'RCPT') {
        to.push(line.replace(/^[^<]*<([^>]*)>.*$/, '$1'));
        socket.write('250 ok\r\n');
      } else if (verb === 'DATA') {
        data = [];
        socket.write('354 go on\r\n');
      } else if (verb === 'QUIT') {
        socket.end('221 bye\r\n');
      } else if (verb === 'EHLO' || verb === 'HELO') {
        socket.write('250 sink\r\n');
      } else {
        socket.write('250 ok\r\n');
      }
    }
  });
  // A sender that hangs up mid-way is no concern of the tests.
  socket.on('error', () => {});
}).listen(smtpPort, '127.0.0.1');

createHttpServer((request, response) => {
  if (request.url === '/messages') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(messages));
  } else if (request.url === '/__health') {
    response.writeHead(200).end('ok');
  } else {
    response.writeHead(404).end();
  }
}).listen(httpPort, '127.0.0.1');
