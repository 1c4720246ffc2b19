// Self-test of lib/fake_scripted.mjs (no gateway): the official openai SDK and raw sockets pointed
// straight at the scripted fake, so the routing tests can trust what it does and what it counts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import OpenAI from 'openai';

import { startScriptedUpstream, closedPort } from './lib/fake_scripted.mjs';
import { within } from './lib/util.mjs';

const T = { timeout: 10_000 };
const MSGS = [{ role: 'user', content: 'hi' }];

let fake;
let client;

before(async () => {
  fake = await startScriptedUpstream({ name: 'S' });
  client = new OpenAI({ apiKey: 'sk-x', baseURL: fake.baseURL, maxRetries: 0 });
});

after(async () => {
  await fake?.close();
});

/** One raw HTTP/1.1 request on a fresh socket: what bytes came back before the socket closed. */
function rawExchange(port, body, waitMs = 1500) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let how = 'timeout';
    const t = setTimeout(() => {
      sock.destroy();
      resolve({ bytes: got, how });
    }, waitMs);
    sock.on('connect', () => {
      const b = Buffer.from(JSON.stringify(body));
      sock.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n`);
      sock.write(b);
    });
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
    });
    sock.on('error', () => {
      how = 'error';
    });
    sock.on('close', () => {
      clearTimeout(t);
      if (how === 'timeout') how = 'closed';
      resolve({ bytes: got, how });
    });
  });
}

test('default behaviour is ok: completion and stream parse with the SDK; counts per model', T, async () => {
  const r = await client.chat.completions.create({ model: 'm-ok', messages: MSGS });
  assert.equal(r.choices[0].message.content, 'hello from S/m-ok');
  assert.equal(r.usage.total_tokens, 9);
  const s = await client.chat.completions.create({ model: 'm-ok', messages: MSGS, stream: true, stream_options: { include_usage: true } });
  let textOut = '';
  let usage;
  for await (const c of s) {
    textOut += c.choices[0]?.delta?.content ?? '';
    if (c.usage) usage = c.usage;
  }
  assert.equal(textOut, 'hello from S/m-ok');
  assert.ok(usage && usage.completion_tokens > 0);
  assert.equal(fake.count('m-ok'), 2);
  assert.equal(fake.count('never'), 0);
});

test('status behaviour: 500 / 429 with Retry-After / 400 with a custom body; queue before persistent', T, async () => {
  fake.behave('m-st', { status: 500 });
  fake.queue('m-st', { status: 429, headers: { 'retry-after': '1' } }, { status: 400, body: { error: { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'c' } } });
  const r1 = await fetch(`${fake.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm-st', messages: MSGS }) });
  assert.equal(r1.status, 429);
  assert.equal(r1.headers.get('retry-after'), '1');
  assert.equal((await r1.json()).error.type, 'rate_limit_error');
  const r2 = await fetch(`${fake.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm-st', messages: MSGS }) });
  assert.equal(r2.status, 400);
  assert.deepEqual(await r2.json(), { error: { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'c' } });
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${fake.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm-st', messages: MSGS }) });
    assert.equal(r.status, 500);
    await r.text();
  }
  assert.equal(fake.count('m-st'), 4);
  assert.deepEqual(
    fake.find('m-st').map((x) => x.behaviour),
    ['{"status":429,"headers":{"retry-after":"1"}}', '{"status":400,"body":{"error":{"message":"bad","type":"invalid_request_error","param":"x","code":"c"}}}', '{"status":500}', '{"status":500}'],
  );
  fake.behave('m-st', 'ok');
  const ok = await client.chat.completions.create({ model: 'm-st', messages: MSGS });
  assert.equal(ok.choices[0].message.content, 'hello from S/m-st');
});

test('reset: the socket closes with no byte sent', T, async () => {
  fake.behave('m-reset', 'reset');
  const { bytes, how } = await rawExchange(fake.port, { model: 'm-reset', messages: MSGS });
  assert.equal(bytes.length, 0, `no byte expected, got ${JSON.stringify(bytes.toString())}`);
  assert.notEqual(how, 'timeout', 'the socket was closed by the fake');
  assert.equal(fake.count('m-reset'), 1);
  assert.ok(fake.find('m-reset')[0].resetAt);
});

test('stall: nothing comes back while the peer waits; counted', T, async () => {
  fake.behave('m-stall', 'stall');
  const { bytes, how } = await rawExchange(fake.port, { model: 'm-stall', messages: MSGS }, 600);
  assert.equal(bytes.length, 0);
  assert.equal(how, 'timeout');
  assert.equal(fake.count('m-stall'), 1);
});

test('resetAfterChunks: the SDK stream gets the first chunk(s) and then an error', T, async () => {
  fake.behave('m-mid', { resetAfterChunks: 1 });
  const got = [];
  let err;
  await within(
    5000,
    (async () => {
      try {
        const s = await client.chat.completions.create({ model: 'm-mid', messages: MSGS, stream: true });
        for await (const c of s) got.push(c);
      } catch (e) {
        err = e;
      }
    })(),
    'stream over a reset fake',
  );
  assert.ok(err instanceof Error, `expected an error, got ${got.length} chunks and a clean end`);
  assert.equal(got.length, 2, 'role chunk + one content chunk');
  assert.equal(got[1].choices[0].delta.content, 'hello');
  assert.equal(fake.find('m-mid')[0].chunksSent, 2);
});

test('delayed ok answers after the delay', T, async () => {
  fake.behave('m-slow', { ok: true, delayMs: 200 });
  const t0 = Date.now();
  const r = await client.chat.completions.create({ model: 'm-slow', messages: MSGS });
  assert.ok(Date.now() - t0 >= 190);
  assert.equal(r.choices[0].message.content, 'hello from S/m-slow');
});

test('closedPort(): a connection to it is refused', T, async () => {
  const port = await closedPort();
  const err = await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(null);
    });
    s.on('error', resolve);
  });
  assert.equal(err?.code, 'ECONNREFUSED');
});
