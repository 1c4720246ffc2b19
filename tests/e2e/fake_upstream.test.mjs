// Self-test of the fake upstream: the official SDK, pointed straight at the fake (no gateway), must
// parse every replayed fixture, and the fake must apply OpenAI's include_usage rule. This runs
// without SWITCHYARD_BIN, so the fake can be trusted before the gateway tests rely on it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import {
  startFakeUpstream,
  readFixture,
  readFixtureJson,
  sseJsonChunks,
  splitSseEvents,
  withoutUsage,
} from './lib/fake_upstream.mjs';
import { tappingFetch, waitFor, within, sleep } from './lib/util.mjs';

const MSGS = [{ role: 'user', content: 'Hello!' }];
let fake;
let client;
let tap;

before(async () => {
  fake = await startFakeUpstream();
  tap = tappingFetch();
  client = new OpenAI({ apiKey: 'sk-direct', baseURL: fake.baseURL, maxRetries: 0, fetch: tap.fetch });
});

after(async () => {
  await fake?.close();
});

const lastTap = () => tap.responses[tap.responses.length - 1];

test('fx-basic replays chat-basic.response.json with the recorded headers', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'fx-basic', messages: MSGS })
    .withResponse();
  assert.deepEqual(data, readFixtureJson('chat-basic.response.json'));
  assert.equal(await lastTap().text, readFixture('chat-basic.response.json').toString('utf8'));
  assert.match(response.headers.get('x-request-id'), /^req_[0-9a-f]{32}$/);
  assert.equal(response.headers.get('openai-version'), '2020-10-01');
  assert.equal(response.headers.get('x-ratelimit-limit-requests'), '500');
  assert.match(response.headers.get('content-type'), /^application\/json/);

  const rec = fake.requests.at(-1);
  assert.equal(rec.method, 'POST');
  assert.equal(rec.url, '/v1/chat/completions');
  assert.equal(rec.headers.authorization, 'Bearer sk-direct');
  assert.deepEqual(rec.body, { model: 'fx-basic', messages: MSGS });
  assert.equal(JSON.parse(rec.rawBody).model, 'fx-basic');
});

test('fx-stream-text with include_usage replays the fixture byte-exact', async () => {
  const stream = await client.chat.completions.create({
    model: 'fx-stream-text',
    messages: MSGS,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  const raw = await lastTap().text;
  const fixture = readFixture('stream-text-include-usage.sse').toString('utf8');
  assert.equal(raw, fixture);
  const expected = sseJsonChunks(fixture);
  assert.deepEqual(chunks, expected);
  const usage = chunks.at(-1);
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.prompt_tokens, 14);
  assert.equal(usage.usage.completion_tokens, 30);
  assert.equal(lastTap().headers.get('content-type'), 'text/event-stream; charset=utf-8');
});

test('fx-stream-text without include_usage sends no usage chunk and no usage fields', async () => {
  const stream = await client.chat.completions.create({ model: 'fx-stream-text', messages: MSGS, stream: true });
  let text = '';
  const chunks = [];
  for await (const c of stream) {
    chunks.push(c);
    text += c.choices[0]?.delta?.content ?? '';
  }
  const raw = await lastTap().text;
  assert.ok(!raw.includes('"usage"'), 'no usage field without include_usage');
  assert.ok(raw.endsWith('data: [DONE]\n\n'));
  assert.ok(chunks.every((c) => c.choices.length === 1));
  const fixtureChunks = sseJsonChunks(readFixture('stream-text-include-usage.sse').toString('utf8'));
  const fixtureText = fixtureChunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.equal(text, fixtureText);
  assert.equal(chunks.length, fixtureChunks.length - 1);
  // Every chunk except the dropped usage chunk is byte-identical to the recording.
  const evs = splitSseEvents(readFixture('stream-text-include-usage.sse').toString('utf8'));
  assert.equal(raw, withoutUsage(evs).map((e) => `${e}\n\n`).join(''));
  assert.equal(withoutUsage(evs).length, evs.length - 1);
});

test('fx-stream-text really streams (events arrive spread over time)', async () => {
  const stream = await client.chat.completions.create({ model: 'fx-stream-text', messages: MSGS, stream: true });
  const times = [];
  for await (const _ of stream) times.push(Date.now());
  assert.ok(times.length > 20);
  assert.ok(times.at(-1) - times[0] >= 20, `stream took ${times.at(-1) - times[0]} ms`);
});

test('fx-stream-tools: the stream helper reassembles the tool call', async () => {
  const runner = client.chat.completions.stream({
    model: 'fx-stream-tools',
    messages: [{ role: 'user', content: 'weather in NYC?' }],
    stream_options: { include_usage: true },
  });
  const final = await runner.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.id, 'call_4XzlGBLtUe9dy3GVNV4jhq7h');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(call.function.arguments, '{"city":"New York City"}');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'New York City' });
  assert.deepEqual(final.usage, { prompt_tokens: 44, completion_tokens: 16, total_tokens: 60, completion_tokens_details: { reasoning_tokens: 0 } });
  assert.equal(await lastTap().text, readFixture('stream-tool-call-single.sse').toString('utf8'));
});

test('fx-stream-text asked without stream returns an assembled chat.completion', async () => {
  const r = await client.chat.completions.create({ model: 'fx-stream-text', messages: MSGS });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.choices[0].message.content, /^I'm unable to provide real-time weather/);
  assert.equal(r.choices[0].finish_reason, 'stop');
  // Non-streaming answers always carry usage (include_usage only concerns streams).
  assert.deepEqual(r.usage, sseJsonChunks(readFixture('stream-text-include-usage.sse').toString('utf8')).at(-1).usage);
});

test('fx-error-400 and fx-error-404 replay the error fixtures', async () => {
  const bad = readFixtureJson('chat-bad-request.response.json').error;
  await assert.rejects(client.chat.completions.create({ model: 'fx-error-400', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.status, 400);
    assert.equal(err.error.message, bad.message);
    assert.equal(err.code, 'unsupported_parameter');
    assert.equal(err.param, 'max_tokens');
    return true;
  });
  const nf = readFixtureJson('chat-unknown-model.response.json').error;
  await assert.rejects(client.chat.completions.create({ model: 'fx-error-404', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError);
    assert.equal(err.status, 404);
    assert.equal(err.error.message, nf.message);
    assert.equal(err.code, 'model_not_found');
    return true;
  });
});

test('fx-auth-401 echoes the Authorization header it received', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'fx-auth-401', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.AuthenticationError);
    assert.equal(err.code, 'invalid_api_key');
    assert.ok(err.error.message.includes('Bearer sk-direct'), err.error.message);
    return true;
  });
});

test('fx-reset-mid-stream: 2 events then the socket is destroyed; the SDK throws', async () => {
  const stream = await client.chat.completions.create({ model: 'fx-reset-mid-stream', messages: MSGS, stream: true });
  const got = [];
  await within(
    5000,
    assert.rejects(async () => {
      for await (const c of stream) got.push(c);
    }),
    'reset stream',
  );
  assert.equal(got.length, 2);
  const rec = fake.find('fx-reset-mid-stream').at(-1);
  assert.equal(rec.eventsSent, 2);
  assert.ok(rec.resetAt);
});

test('fx-stall never answers; the fake records when the client gave up', async () => {
  const ac = new AbortController();
  const p = client.chat.completions.create({ model: 'fx-stall', messages: MSGS }, { signal: ac.signal });
  const rec = await waitFor(() => fake.find('fx-stall').at(-1), 2000);
  assert.ok(rec, 'stall request reached the fake');
  await sleep(200);
  assert.equal(rec.eventsSent, 0);
  assert.equal(rec.socketClosedAt, null);
  const abortedAt = Date.now();
  ac.abort();
  await assert.rejects(p, (err) => err instanceof OpenAI.APIUserAbortError);
  const closed = await waitFor(() => rec.socketClosedAt, 1000);
  assert.ok(closed, 'socket close recorded');
  assert.ok(closed - abortedAt < 1000);
});

test('fx-slow-stream: one chunk per ~100 ms until the client aborts', async () => {
  const ac = new AbortController();
  const stream = await client.chat.completions.create(
    { model: 'fx-slow-stream', messages: MSGS, stream: true },
    { signal: ac.signal },
  );
  const times = [];
  let abortedAt;
  for await (const c of stream) {
    times.push(Date.now());
    if (times.length === 3) {
      abortedAt = Date.now();
      ac.abort();
    }
  }
  assert.equal(times.length, 3);
  assert.ok(times[2] - times[1] >= 80, `interval ${times[2] - times[1]} ms`);
  const rec = fake.find('fx-slow-stream').at(-1);
  const closed = await waitFor(() => rec.socketClosedAt, 1000);
  assert.ok(closed && closed - abortedAt < 1000, 'fake saw the socket close within 1 s');
  assert.equal(rec.responseFinished, false);
});

test('GET /v1/models lists the fake models; unknown paths get a 404 JSON error', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  assert.ok(ids.includes('fx-basic') && ids.includes('fx-slow-stream'));
  const res = await fetch(`${fake.baseURL}/nope`);
  assert.equal(res.status, 404);
  const body = await res.json();
  assert.equal(body.error.type, 'invalid_request_error');
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-does-not-exist', messages: MSGS }),
    (err) => err instanceof OpenAI.NotFoundError && err.code === 'model_not_found',
  );
});

test('keep-alive: sequential SDK requests reuse one connection at the fake', async () => {
  const before = fake.connections;
  for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'fx-basic', messages: MSGS });
  assert.ok(fake.connections - before <= 1, `${fake.connections - before} new connections`);
});
