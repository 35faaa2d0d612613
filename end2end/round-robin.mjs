// Two Switchboard replicas behind a round-robin load balancer of the browser tests' own
// (tests/replicas.spec.ts): the replicas are this script's child processes, so that a test can
// SIGKILL one mid-journey, as a crashed machine would go, and watch the other carry on.
//
// At start it makes a PostgreSQL database for the run (`CREATE DATABASE` through psql, on the
// cluster E2E_POSTGRES_URL names), starts replica `a` and waits until it answers and holds the
// inbox's and the notifier's leases, then starts replica `b`, and only then listens on
// E2E_PROXY_PORT. The replicas inherit this process's environment (the config sets their shared
// settings there) with their own listen address (E2E_REPLICA_PORTS, `a=<port>,b=<port>`), data
// directory (under E2E_RUN_DIR, with their logs) and the run's database.
//
// The balancer sends each request to the next replica in turn, streams bodies both ways as they
// come (an event stream included), adds the client to `X-Forwarded-For`, and skips a replica
// that refuses connections (a load balancer's health check would). A response cut by its
// replica's death is cut for the client too, as it would be behind a real one.
//
// Its own routes, which reach no replica:
// - `GET /__replicas`: `[{ "name": "a", "pid": 123, "up": true, "leases": ["inbox:default"],
//   "answered": 42 }]`: the leases each holds as it logged taking and losing them, and how many
//   requests it answered;
// - `POST /__kill/<name>`: SIGKILLs that replica and answers once it is gone.
// SIGTERM stops the replicas and drops the database.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { request as forward, createServer } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const proxyPort = Number(process.env.E2E_PROXY_PORT);
const binary = process.env.E2E_REPLICA_BIN;
const runDir = process.env.E2E_RUN_DIR;
const adminUrl = process.env.E2E_POSTGRES_URL;
const database = `switchboard_e2e_${process.pid}_${Date.now()}`;
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString();

function psql(sql) {
  execFileSync('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A replica: its child process, whether it is up, the leases it holds. */
class Replica {
  constructor(name, port) {
    this.name = name;
    this.port = port;
    this.up = false;
    this.leases = new Set();
    this.answered = 0;
  }

  start() {
    const dataDir = join(runDir, `replica-${this.name}`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.child = spawn(binary, [], {
      env: {
        ...process.env,
        SWITCHBOARD_LISTEN: `127.0.0.1:${this.port}`,
        SWITCHBOARD_DATA_DIR: dataDir,
        SWITCHBOARD_DATABASE_URL: databaseUrl,
        // One JSON object a line: the lease lines are read below.
        SWITCHBOARD_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.up = true;
    this.child.on('exit', () => {
      this.up = false;
      this.leases.clear();
    });
    const log = createWriteStream(join(runDir, `replica-${this.name}.log`));
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      log.write(`${line}\n`);
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.message === 'lease taken') this.leases.add(entry.lease);
      if (entry.message === 'lease lost') this.leases.delete(entry.lease);
    });
  }

  /** Waits until the replica answers and `until` holds of it. */
  async ready(until = () => true) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!this.up) throw new Error(`replica ${this.name} exited at start: see replica-${this.name}.log in ${runDir}`);
      const answered = await fetch(`http://127.0.0.1:${this.port}/healthz`).then(
        (response) => response.ok,
        () => false,
      );
      if (answered && until(this)) return;
      if (Date.now() > deadline) throw new Error(`replica ${this.name} was not ready within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  kill() {
    return new Promise((resolve) => {
      if (!this.up) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }

  describe() {
    const { name, up, answered } = this;
    return { name, pid: this.child.pid, up, leases: [...this.leases].sort(), answered };
  }
}

const replicas = process.env.E2E_REPLICA_PORTS.split(',').map((pair) => {
  const [name, port] = pair.split('=');
  return new Replica(name, Number(port));
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  for (const replica of replicas) if (replica.child) await replica.kill();
  try {
    psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

psql(`CREATE DATABASE ${database}`);
// The first replica takes the leases while it is alone: the test then knows which one to kill.
const [first, ...others] = replicas;
first.start();
await first.ready((r) => r.leases.has('inbox:default') && r.leases.has('notifier'));
for (const replica of others) {
  replica.start();
  await replica.ready();
}

let turn = 0;
// Headers of one connection, not of the message: node writes its own.
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te']);

function withoutHopByHop(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !hopByHop.has(name)));
}

/** Sends `request` to the replicas from `order`'s first on, past those that refuse it. */
function pass(request, response, order) {
  const [replica, ...rest] = order;
  if (!replica) {
    response.writeHead(502, { 'content-type': 'text/plain' }).end('no replica answers');
    return;
  }
  const client = request.socket.remoteAddress.replace(/^::ffff:/, '');
  const forwardedFor = request.headers['x-forwarded-for'];
  const upstream = forward({
    host: '127.0.0.1',
    port: replica.port,
    method: request.method,
    path: request.url,
    headers: {
      ...withoutHopByHop(request.headers),
      'x-forwarded-for': forwardedFor ? `${forwardedFor}, ${client}` : client,
    },
    // A connection per request: one that fails to connect has sent nothing, so the next replica
    // may be tried with the same body.
    agent: false,
  });
  let sent = false;
  upstream.on('socket', (socket) => {
    const send = () => {
      sent = true;
      request.pipe(upstream);
    };
    if (socket.connecting) socket.once('connect', send);
    else send();
  });
  upstream.on('response', (answer) => {
    replica.answered += 1;
    response.writeHead(answer.statusCode, answer.statusMessage, withoutHopByHop(answer.headers));
    // Event streams: the headers go now, each chunk as it comes.
    response.flushHeaders();
    answer.pipe(response);
    // The replica died mid-answer: the client's connection ends without a proper end, as it
    // would behind a real balancer.
    answer.on('aborted', () => response.destroy());
    answer.on('error', () => response.destroy());
  });
  upstream.on('error', (error) => {
    if (!sent && error.code === 'ECONNREFUSED') {
      pass(request, response, rest);
    } else if (!response.headersSent) {
      response.writeHead(502, { 'content-type': 'text/plain' }).end(`replica ${replica.name}: ${error.code}`);
    } else {
      response.destroy();
    }
  });
  // The client went away (a closed tab, an event stream closed): so does the upstream request.
  response.on('close', () => upstream.destroy());
}

function json(response, value) {
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

createServer((request, response) => {
  const kill = request.url.match(/^\/__kill\/(\w+)$/);
  if (request.method === 'POST' && kill) {
    const replica = replicas.find((r) => r.name === kill[1]);
    if (!replica) return response.writeHead(404).end();
    replica.kill().then(() => json(response, replica.describe()));
    return;
  }
  if (request.url === '/__replicas') {
    json(response, replicas.map((r) => r.describe()));
    return;
  }
  const up = replicas.filter((r) => r.up);
  const start = turn++ % Math.max(up.length, 1);
  pass(request, response, [...up.slice(start), ...up.slice(0, start)]);
}).listen(proxyPort, '127.0.0.1');
