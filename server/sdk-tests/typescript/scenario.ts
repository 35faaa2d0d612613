// The official TypeScript SDK against Switchboard's own Managed Agents API, with a person's
// personal access token and nothing changed but the base URL and the key: the same scenario as
// test_gateway.py (a session streamed to its end, a custom tool answered, a file down and up, a
// list paged). Compiled with `tsc --strict`; each answer's fields are checked at run time too, so
// that an answer the SDK's types promise but the server does not give fails here. Run by
// ../test_typescript_sdk.py, which starts Switchboard and makes the token.

import Anthropic, { toFile } from '@anthropic-ai/sdk';
import type { BetaManagedAgentsStreamSessionEvents } from '@anthropic-ai/sdk/resources/beta/sessions/events';

const baseURL = process.env.SWITCHBOARD_URL;
const apiKey = process.env.SWITCHBOARD_TOKEN;
if (!baseURL || !apiKey) throw new Error('SWITCHBOARD_URL and SWITCHBOARD_TOKEN must be set');
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

const REPORT = 'report-bytes\n';
const BASH = "mkdir -p /mnt/session/outputs && printf 'report-bytes\\n' > /mnt/session/outputs/report.txt && echo written";
const TURNS = [
  [
    { text: 'Let me write the report first.' },
    { tool: 'bash', input: { command: BASH } },
    { custom_tool: 'lookup_order', input: { order: 'A-17' } },
    { text: 'Your order A-17 has shipped.' },
  ],
];

type Kind = 'string' | 'number' | 'boolean' | 'object';

/** Fails unless each field of `value` named in `fields` is there with its kind at run time. */
function fields(what: string, value: unknown, expected: Record<string, Kind>): void {
  if (typeof value !== 'object' || value === null) throw new Error(`${what}: not an object: ${JSON.stringify(value)}`);
  for (const [name, kind] of Object.entries(expected)) {
    const field = (value as Record<string, unknown>)[name];
    if (typeof field !== kind || field === null) {
      throw new Error(`${what}.${name} is ${JSON.stringify(field)}, not a ${kind}: ${JSON.stringify(value)}`);
    }
  }
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

const unique = (prefix: string) => `${prefix}-${Math.random().toString(16).slice(2, 12)}`;

async function main(): Promise<void> {
  const environment = await client.beta.environments.create({
    name: unique('ts-env'),
    config: { type: 'cloud', networking: { type: 'unrestricted' } },
  });
  fields('environment', environment, { id: 'string', name: 'string', created_at: 'string' });
  const agent = await client.beta.agents.create({
    name: unique('ts-agent'),
    model: 'scripted',
    system: JSON.stringify({ turns: TURNS }),
    tools: [
      { type: 'agent_toolset_20260401', default_config: { enabled: true, permission_policy: { type: 'always_allow' } } },
      {
        type: 'custom',
        name: 'lookup_order',
        description: 'Look up an order by its number.',
        input_schema: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] },
      },
    ],
  });
  fields('agent', agent, { id: 'string', version: 'number', type: 'string', model: 'object' });
  const session = await client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
  fields('session', session, { id: 'string', status: 'string', agent: 'object' });

  // The stream, read in the background from before the first message.
  const events: BetaManagedAgentsStreamSessionEvents[] = [];
  const stream = await client.beta.sessions.events.stream(session.id, { event_deltas: ['agent.message'] });
  const reading = (async () => {
    for await (const event of stream) {
      fields(`streamed ${event.type}`, event, { type: 'string' });
      events.push(event);
    }
  })();
  const idleAfter = async (start: number): Promise<number> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const at = events.findIndex((e, i) => i >= start && e.type === 'session.status_idle');
      if (at >= 0) return at;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no session.status_idle within 60 s: ${events.map((e) => e.type).join(' ')}`);
  };

  const sent = await client.beta.sessions.events.send(session.id, {
    events: [{ type: 'user.message', content: [{ type: 'text', text: 'Report on order A-17, please.' }] }],
  });
  fields('echo', sent.data?.[0], { id: 'string', type: 'string' });
  const first = await idleAfter(0);
  const idle = events[first];
  check(idle?.type === 'session.status_idle' && idle.stop_reason.type === 'requires_action', 'the turn waits for the tool');
  const custom = events.slice(0, first).find((e) => e.type === 'agent.custom_tool_use');
  check(custom?.type === 'agent.custom_tool_use' && custom.name === 'lookup_order', 'the custom tool was called');
  if (custom?.type !== 'agent.custom_tool_use') return;
  fields('agent.custom_tool_use', custom, { id: 'string', name: 'string', input: 'object', processed_at: 'string' });

  const answered = await client.beta.sessions.events.send(session.id, {
    events: [
      {
        type: 'user.custom_tool_result',
        custom_tool_use_id: custom.id,
        content: [{ type: 'text', text: 'A-17 shipped on 2026-11-20' }],
      },
    ],
  });
  const echo = answered.data?.[0];
  check(echo?.type === 'user.custom_tool_result' && echo.custom_tool_use_id === custom.id, 'the answer is echoed');
  const second = await idleAfter(first + 1);
  const end = events[second];
  check(end?.type === 'session.status_idle' && end.stop_reason.type === 'end_turn', 'the turn ended');
  const said = events.slice(first, second).flatMap((e) => (e.type === 'agent.message' ? e.content.map((b) => (b.type === 'text' ? b.text : '')) : []));
  check(JSON.stringify(said) === JSON.stringify(['Your order A-17 has shipped.']), `the agent said ${JSON.stringify(said)}`);
  // Previews of the messages, as asked for (their deltas are best effort: a short message's final
  // event may come before any, through the hub as from the API).
  const previewed = new Set(events.flatMap((e) => (e.type === 'event_start' ? [e.event.id] : [])));
  const messages = events.filter((e) => e.type === 'agent.message');
  check(messages.length === 2 && messages.every((m) => previewed.has(m.id)), 'each message was previewed');
  stream.controller.abort();
  await reading.catch(() => undefined);

  // The file the agent wrote comes down as it was; an upload goes up.
  const files = [];
  for await (const file of client.beta.files.list({ scope_id: session.id })) {
    fields('file', file, { id: 'string', filename: 'string', size_bytes: 'number', created_at: 'string' });
    files.push(file);
  }
  const report = files.find((f) => f.filename === 'report.txt');
  check(report !== undefined, `the report is listed: ${JSON.stringify(files)}`);
  const download = await client.beta.files.download(report!.id);
  check((await download.text()) === REPORT, 'the report comes down as it was written');
  const uploaded = await client.beta.files.upload({ file: await toFile(Buffer.from('notes\n'), 'notes.txt', { type: 'text/plain' }) });
  fields('uploaded', uploaded, { id: 'string', filename: 'string', size_bytes: 'number' });
  check(uploaded.size_bytes === 6, 'the upload kept its size');

  // A list, paged one by one.
  const page_script = JSON.stringify({ turns: [[{ text: 'A page.' }]] });
  for (let i = 0; i < 2; i++) await client.beta.agents.create({ name: unique('ts-page'), model: 'scripted', system: page_script });
  let page = await client.beta.agents.list({ limit: 1 });
  let pages = 1;
  while (page.hasNextPage()) {
    page = await page.getNextPage();
    for (const listed of page.data) fields('listed agent', listed, { id: 'string', name: 'string' });
    pages++;
  }
  check(pages >= 3, `the agents came in ${pages} pages of one`);

  // Refused: the SDK's own typed error, with the request-id.
  try {
    await client.beta.agents.archive(agent.id);
    throw new Error('a token without the admin role archived an agent');
  } catch (error) {
    check(error instanceof Anthropic.PermissionDeniedError, `archiving was refused as ${String(error)}`);
    check(typeof (error as InstanceType<typeof Anthropic.PermissionDeniedError>).requestID === 'string', 'the refusal has its request-id');
  }
  console.log('typescript scenario: ok');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
