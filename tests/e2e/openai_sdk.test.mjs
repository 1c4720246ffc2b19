// The happy path through the real gateway with the official openai SDK: non-streaming, streaming
// text (with and without include_usage), streaming tool calls, headers, access log, keep-alive.
// Each test checks what the client saw AND what the fake upstream received.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { startFakeUpstream, readFixture, readFixtureJson, sseJsonChunks } from './lib/fake_upstream.mjs';
import { startGateway, killAllGateways } from './lib/gateway.mjs';
import {
  UPSTREAM_KEY,
  SECRET_MARKER,
  gatewayYaml,
  tappingFetch,
  waitFor,
  omit,
  sleep,
  sanitizerReports,
} from './lib/util.mjs';

const T = { timeout: 20_000 };
const MSGS = [{ role: 'user', content: 'Hello!' }];
const STREAM_TEXT = readFixture('stream-text-include-usage.sse').toString('utf8');
const STREAM_CHUNKS = sseJsonChunks(STREAM_TEXT);
const STREAM_CONTENT = STREAM_CHUNKS.map((c) => c.choices[0]?.delta?.content ?? '').join('');
const STREAM_USAGE = STREAM_CHUNKS.at(-1).usage;
const BASIC = readFixtureJson('chat-basic.response.json');
const SANE_ID = /^[A-Za-z0-9._:\-]{8,128}$/;

let fake;
let gw;
let client;
let tap;

before(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ yaml: gatewayYaml(fake.port) });
  tap = tappingFetch();
  client = new OpenAI({ apiKey: 'sk-client', baseURL: gw.baseURL, maxRetries: 0, fetch: tap.fetch });
});

after(async () => {
  // Graceful stop first so a sanitizer build can report leaks at exit; SIGKILL whatever is left.
  await gw?.stop('SIGTERM', 5000).catch(() => {});
  await killAllGateways();
  await fake?.close();
  gw?.cleanup();
  const reports = gw ? sanitizerReports(gw.stderr()) : [];
  if (reports.length) throw new Error(`sanitizer reports from the gateway:\n${reports.join('\n')}`);
});

const lastTap = () => tap.responses[tap.responses.length - 1];

/** The access-log line for `requestId`, waiting a little for it to be written. */
async function logLine(requestId, ms = 3000) {
  return waitFor(() => gw.accessLog().find((l) => l.request_id === requestId), ms);
}

function diag() {
  return `\n--- gateway stderr (tail) ---\n${gw.stderr().slice(-3000)}`;
}

test('non-streaming: SDK gets the fixture; upstream gets the provider key and the client body', T, async () => {
  const sent = {
    model: 'basic',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hello! \u00e9\u00e8 \u{1F600} "quoted" \\ back' },
    ],
    temperature: 0.25,
    max_completion_tokens: 512,
    user: 'e2e-user',
    seed: 7,
    metadata: { purpose: 'e2e' },
  };
  const before = fake.requests.length;
  const { data, response } = await client.chat.completions
    .create(sent, { headers: { 'x-request-id': 'e2e-req-0001' } })
    .withResponse();

  // What the client saw.
  assert.equal(data.choices[0].message.content, BASIC.choices[0].message.content);
  assert.equal(data.choices[0].finish_reason, 'stop');
  assert.deepEqual(data.usage, BASIC.usage);
  assert.equal(data.id, BASIC.id);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-request-id'), 'e2e-req-0001', 'client x-request-id echoed');
  assert.equal(response.headers.get('x-switchyard-provider'), 'up');
  assert.equal(response.headers.get('x-switchyard-model'), 'fx-basic');
  assert.equal(response.headers.get('x-switchyard-attempts'), '1');

  // What the fake received.
  const recs = fake.requests.slice(before);
  assert.equal(recs.length, 1, 'exactly one upstream request');
  const rec = recs[0];
  assert.equal(rec.method, 'POST');
  assert.equal(rec.url, '/v1/chat/completions');
  assert.equal(rec.body?.model, 'fx-basic', `upstream body: ${rec.rawBody}`);
  assert.deepEqual(omit(rec.body, 'model'), omit(sent, 'model'), 'every other field as the client sent it');
  assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
  assert.ok(!rec.rawHeaders.join('\n').includes('sk-client'), 'client key never forwarded upstream');

  // The access log.
  const line = await logLine('e2e-req-0001');
  assert.ok(line, `access-log line with request_id e2e-req-0001; stdout:\n${gw.stdout()}`);
  assert.equal(line.route, 'basic');
  assert.equal(line.provider, 'up');
  assert.equal(line.model, 'fx-basic');
  assert.equal(line.status, 200);
  assert.equal(line.stream, false);
  assert.equal(line.input_tokens, BASIC.usage.prompt_tokens);
  assert.equal(line.output_tokens, BASIC.usage.completion_tokens);
  assert.equal(line.cached_input_tokens, 0);
  assert.equal(typeof line.latency_ms, 'number');
});

test('non-streaming without x-request-id: the gateway generates one and logs it', T, async () => {
  const { response } = await client.chat.completions.create({ model: 'basic', messages: MSGS }).withResponse();
  const id = response.headers.get('x-request-id');
  assert.ok(id, 'x-request-id present');
  assert.match(id, SANE_ID);
  assert.equal(response.headers.get('x-switchyard-provider'), 'up');
  assert.equal(response.headers.get('x-switchyard-model'), 'fx-basic');
  assert.equal(response.headers.get('x-switchyard-attempts'), '1');
  const line = await logLine(id);
  assert.ok(line, `access-log line with the generated request_id ${id}; stdout:\n${gw.stdout()}`);
  assert.equal(line.route, 'basic');
});

test('non-streaming: an insane client x-request-id is not echoed verbatim', T, async () => {
  const evil = `<script>alert(1)</script> ${'x'.repeat(300)}`;
  const { response } = await client.chat.completions
    .create({ model: 'basic', messages: MSGS }, { headers: { 'x-request-id': evil } })
    .withResponse();
  const id = response.headers.get('x-request-id');
  assert.ok(id && id !== evil, 'an over-long request id is replaced');
  assert.match(id, SANE_ID);
});

test('streaming text with include_usage: deltas and the usage chunk reach the SDK', T, async () => {
  const before = fake.requests.length;
  const sent = {
    model: 'stream-text',
    messages: MSGS,
    stream: true,
    stream_options: { include_usage: true },
    temperature: 0,
  };
  const { data: stream, response } = await client.chat.completions.create(sent).withResponse();
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, STREAM_CONTENT);
  const usageChunks = chunks.filter((c) => c.choices.length === 0);
  assert.equal(usageChunks.length, 1, 'exactly one usage chunk');
  assert.deepEqual(usageChunks[0].usage, STREAM_USAGE);
  assert.equal(chunks.at(-1), usageChunks[0], 'usage chunk is the last chunk');
  assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'stop');
  const raw = await lastTap().text;
  assert.ok(raw.trimEnd().endsWith('data: [DONE]'), `stream ends with [DONE]; tail: ${JSON.stringify(raw.slice(-80))}`);

  const rec = fake.requests.slice(before).find((r) => r.body?.model === 'fx-stream-text');
  assert.ok(rec, 'upstream request with model fx-stream-text');
  assert.equal(rec.body.stream, true);
  assert.equal(rec.body.stream_options?.include_usage, true);
  assert.deepEqual(omit(rec.body, 'model'), omit(sent, 'model'));
  assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);

  const line = await logLine(response.headers.get('x-request-id'));
  assert.ok(line, 'access-log line for the stream');
  assert.equal(line.stream, true);
  assert.equal(line.input_tokens, STREAM_USAGE.prompt_tokens);
  assert.equal(line.output_tokens, STREAM_USAGE.completion_tokens);
});

test('streaming text WITHOUT include_usage: no usage chunk for the SDK, but usage asked upstream and logged', T, async () => {
  const before = fake.requests.length;
  const sent = { model: 'stream-text', messages: MSGS, stream: true };
  const { data: stream, response } = await client.chat.completions.create(sent).withResponse();
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, STREAM_CONTENT);
  const emptyChoice = chunks.filter((c) => !c.choices || c.choices.length === 0);
  assert.equal(emptyChoice.length, 0, `no choices:[] chunk expected, got ${JSON.stringify(emptyChoice)}`);
  const withUsage = chunks.filter((c) => c.usage !== undefined && c.usage !== null);
  assert.equal(withUsage.length, 0, `no chunk may carry usage, got ${JSON.stringify(withUsage)}`);
  const raw = await lastTap().text;
  assert.ok(!/"usage"\s*:\s*\{/.test(raw), 'no usage object anywhere in the SSE the client received');
  assert.ok(raw.trimEnd().endsWith('data: [DONE]'), 'stream ends with [DONE]');

  const rec = fake.requests.slice(before).find((r) => r.body?.model === 'fx-stream-text');
  assert.ok(rec, 'upstream request with model fx-stream-text');
  assert.equal(rec.body.stream_options?.include_usage, true, `gateway must ask upstream for usage; sent ${rec.rawBody}`);
  assert.deepEqual(omit(rec.body, 'model', 'stream_options'), omit(sent, 'model'));

  const id = response.headers.get('x-request-id');
  const line = await logLine(id);
  assert.ok(line, `access-log line for ${id}`);
  assert.equal(line.stream, true);
  assert.equal(line.status, 200);
  assert.equal(line.input_tokens, STREAM_USAGE.prompt_tokens, 'token counts logged even though the client did not ask');
  assert.equal(line.output_tokens, STREAM_USAGE.completion_tokens);
  assert.equal(typeof line.ttft_ms, 'number');
});

test('streaming tool call: the stream helper reassembles the arguments', T, async () => {
  const before = fake.requests.length;
  const tools = [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    },
  ];
  const runner = client.chat.completions.stream({
    model: 'stream-tools',
    messages: [{ role: 'user', content: 'What is the weather in New York City?' }],
    tools,
  });
  const final = await runner.finalChatCompletion();
  const choice = final.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  const call = choice.message.tool_calls?.[0];
  assert.ok(call, 'one tool call');
  assert.equal(call.id, 'call_4XzlGBLtUe9dy3GVNV4jhq7h');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(call.function.arguments, '{"city":"New York City"}');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'New York City' });

  const rec = fake.requests.slice(before).find((r) => r.body?.model === 'fx-stream-tools');
  assert.ok(rec, 'upstream request with model fx-stream-tools');
  assert.deepEqual(rec.body.tools, tools);
  assert.equal(rec.body.stream, true);
});

test('keep-alive: 20 sequential requests from one client use far fewer than 20 upstream connections', T, async () => {
  const connsBefore = fake.connections;
  const reqsBefore = fake.requests.length;
  for (let i = 0; i < 20; i++) {
    const r = await client.chat.completions.create({ model: 'basic', messages: MSGS });
    assert.equal(r.id, BASIC.id);
  }
  assert.equal(fake.requests.length - reqsBefore, 20, 'fake received all 20 requests');
  const opened = fake.connections - connsBefore;
  assert.ok(opened <= 4, `gateway opened ${opened} upstream connections for 20 sequential requests`);
  const conns = new Set(fake.requests.slice(reqsBefore).map((r) => r.connectionId));
  assert.ok(conns.size <= 4, `requests spread over ${conns.size} upstream connections`);
});

test('keep-alive: a pooled connection the upstream closed while idle is not reused blindly', T, async () => {
  await client.chat.completions.create({ model: 'basic', messages: MSGS });
  fake.closeIdleConnections(); // like an upstream keep-alive timeout
  await sleep(100);
  const { data, response } = await client.chat.completions.create({ model: 'basic', messages: MSGS }).withResponse();
  assert.equal(response.status, 200);
  assert.equal(data.id, BASIC.id);
});

test('no upstream secret in anything the gateway wrote to stdout/stderr', T, async () => {
  assert.ok(gw.running, `gateway still running (exit ${gw.exitCode ?? gw.exitSignal})${diag()}`);
  assert.ok(!gw.stdout().includes(SECRET_MARKER), 'stdout leaks the upstream key');
  assert.ok(!gw.stderr().includes(SECRET_MARKER), 'stderr leaks the upstream key');
  assert.deepEqual(sanitizerReports(gw.stderr()), [], 'sanitizer reports on stderr');
});
