// A stand-in for Anthropic's API that fails on purpose, for the browser tests of upstream error
// states (tests/upstream-errors.spec.ts). A second Switchboard runs in Anthropic mode against it.
//
// `POST /__fail/<mode>` chooses how every other request is answered until the next change:
//   401, 429 (retry-after: 30, longer than Switchboard waits), 529 (overloaded): the API's error
//   body with a request id; `down`: the connection is dropped without an answer.
// `GET /__health` answers 200, for Playwright's start-up check.
import { createServer } from 'node:http';

const port = Number(process.env.E2E_FAKE_UPSTREAM_PORT ?? 3919);
const errors = {
  401: 'authentication_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};
let mode = '529';

createServer((request, response) => {
  const control = request.url.match(/^\/__fail\/(\w+)$/);
  if (request.method === 'POST' && control) {
    mode = control[1];
    response.writeHead(204).end();
    return;
  }
  if (request.url === '/__health') {
    response.writeHead(200).end('ok');
    return;
  }
  if (mode === 'down') {
    request.socket.destroy();
    return;
  }
  const status = Number(mode);
  const headers = { 'content-type': 'application/json', 'request-id': 'req_e2e_fake' };
  if (status === 429) headers['retry-after'] = '30';
  response.writeHead(status, headers).end(
    JSON.stringify({
      type: 'error',
      error: { type: errors[status] ?? 'api_error', message: 'The fake upstream says no.' },
      request_id: 'req_e2e_fake',
    }),
  );
}).listen(port, '127.0.0.1');
