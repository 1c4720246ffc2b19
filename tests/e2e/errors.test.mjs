// Error paths through the real gateway: upstream errors passed through or mapped, upstream
// failures mid-stream, client aborts, timeouts, request validation, and secret hygiene.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { startFakeUpstream, readFixtureJson } from './lib/fake_upstream.mjs';
import { startGateway, killAllGateways } from './lib/gateway.mjs';
import {
  UPSTREAM_KEY,
  SECRET_MARKER,
  gatewayYaml,
  waitFor,
  within,
  rawRequest,
  isOpenAiErrorShape,
  headersText,
  sanitizerReports,
} from './lib/util.mjs';

const T = { timeout: 20_000 };
const MSGS = [{ role: 'user', content: 'Hello!' }];
const ROUTES = ['basic', 'stream-text', 'stream-tools', 'err400', 'err404', 'reset', 'stall', 'slow', 'auth401'];

let fake;
let gw;
let client;

before(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ yaml: gatewayYaml(fake.port) });
  client = new OpenAI({ apiKey: 'sk-client', baseURL: gw.baseURL, maxRetries: 0 });
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

function post(body, headers = {}) {
  return rawRequest(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('upstream 400 passes through: BadRequestError with the fixture message, code and param', T, async () => {
  const fx = readFixtureJson('chat-bad-request.response.json').error;
  const before = fake.requests.length;
  await assert.rejects(client.chat.completions.create({ model: 'err400', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, `got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, 400);
    assert.equal(err.error?.message, fx.message);
    assert.equal(err.code, fx.code);
    assert.equal(err.param, fx.param);
    assert.equal(err.type, fx.type);
    return true;
  });
  const recs = fake.requests.slice(before);
  assert.equal(recs.length, 1, 'a 400 is not retried');
  assert.equal(recs[0].body?.model, 'fx-error-400');
});

test('upstream 404 passes through: NotFoundError with the fixture message and code', T, async () => {
  const fx = readFixtureJson('chat-unknown-model.response.json').error;
  const before = fake.requests.length;
  await assert.rejects(client.chat.completions.create({ model: 'err404', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, 404);
    assert.equal(err.error?.message, fx.message);
    assert.equal(err.code, 'model_not_found');
    return true;
  });
  const recs = fake.requests.slice(before);
  assert.equal(recs.length, 1);
  assert.equal(recs[0].body?.model, 'fx-error-404');
});

test('upstream 401: client gets 502 upstream_auth_failed and never the echoed upstream key', T, async () => {
  const before = fake.requests.length;
  const res = await post({ model: 'auth401', messages: MSGS });
  assert.equal(res.status, 502, `status; body: ${res.text}`);
  assert.ok(isOpenAiErrorShape(res.json), `OpenAI error shape; body: ${res.text}`);
  assert.equal(res.json.error.code, 'upstream_auth_failed');
  assert.ok(!res.text.includes(SECRET_MARKER), `response body leaks the upstream key: ${res.text}`);
  assert.ok(!headersText(res.headers).includes(SECRET_MARKER), 'response headers leak the upstream key');
  // The fake really did echo the provider key, so the check above is meaningful.
  const rec = fake.requests.slice(before).find((r) => r.body?.model === 'fx-auth-401');
  assert.ok(rec, 'the request reached the fake');
  assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);

  await assert.rejects(client.chat.completions.create({ model: 'auth401', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 502);
    assert.equal(err.code, 'upstream_auth_failed');
    assert.ok(!JSON.stringify(err.error ?? {}).includes(SECRET_MARKER));
    assert.ok(!String(err.message).includes(SECRET_MARKER));
    return true;
  });
});

test('upstream reset mid-stream: the SDK stream throws within 5 s', T, async () => {
  const before = fake.requests.length;
  const started = Date.now();
  const got = [];
  let outcome = 'completed normally';
  await within(
    5000,
    (async () => {
      try {
        const stream = await client.chat.completions.create({ model: 'reset', messages: MSGS, stream: true });
        for await (const c of stream) got.push(c);
      } catch (err) {
        outcome = err;
      }
    })(),
    'stream over a reset upstream',
  );
  assert.ok(
    outcome instanceof Error,
    `the SDK must see an error when the upstream dies mid-stream; it ${outcome} after ${got.length} chunks ` +
      `(the gateway ended the client stream as if it were complete)`,
  );
  assert.ok(
    outcome instanceof OpenAI.APIError || /terminated|closed|reset|socket|network|fetch/i.test(String(outcome?.message) + String(outcome?.cause)),
    `an APIError or connection error, got ${outcome?.constructor?.name}: ${outcome?.message}`,
  );
  assert.ok(Date.now() - started < 5000);
  const rec = fake.requests.slice(before).find((r) => r.body?.model === 'fx-reset-mid-stream');
  assert.ok(rec?.resetAt, 'the fake reset the upstream connection');
  // The gateway is still healthy afterwards.
  const h = await rawRequest(`${gw.origin}/healthz`);
  assert.equal(h.status, 200);
});

test('client abort mid-stream closes the upstream connection within 1 s', T, async () => {
  const before = fake.requests.length;
  const ac = new AbortController();
  const { data: stream, response } = await client.chat.completions
    .create({ model: 'slow', messages: MSGS, stream: true }, { signal: ac.signal })
    .withResponse();
  let n = 0;
  let abortedAt;
  for await (const _ of stream) {
    n += 1;
    if (n === 2) {
      abortedAt = Date.now();
      ac.abort();
    }
  }
  assert.equal(n, 2);
  const rec = fake.requests.slice(before).find((r) => r.body?.model === 'fx-slow-stream');
  assert.ok(rec, 'the request reached the fake');
  const closedAt = await waitFor(() => rec.socketClosedAt, 3000);
  assert.ok(closedAt, `the gateway never closed the upstream socket (fake sent ${rec.eventsSent} events so far)`);
  assert.ok(
    closedAt - abortedAt <= 1000,
    `upstream socket closed ${closedAt - abortedAt} ms after the client abort (limit 1000 ms)`,
  );
  assert.equal(rec.responseFinished, false);
  const id = response.headers.get('x-request-id');
  const line = await waitFor(() => gw.accessLog().find((l) => l.request_id === id), 3000);
  assert.ok(line, `an access-log line for the aborted stream ${id}`);
});

test('upstream stall past first_byte timeout: 504 upstream_timeout within ~2 s', T, async () => {
  const before = fake.requests.length;
  const started = Date.now();
  const res = await within(5000, post({ model: 'stall', messages: MSGS }), 'stalled request');
  const elapsed = Date.now() - started;
  assert.equal(res.status, 504, `status; body: ${res.text}`);
  assert.ok(isOpenAiErrorShape(res.json), `OpenAI error shape; body: ${res.text}`);
  assert.equal(res.json.error.code, 'upstream_timeout');
  assert.ok(elapsed >= 450, `answered after ${elapsed} ms, before the 500 ms first_byte timeout`);
  assert.ok(elapsed <= 2000, `answered after ${elapsed} ms`);
  const rec = fake.requests.slice(before).find((r) => r.body?.model === 'fx-stall');
  assert.ok(rec, 'the request reached the fake');
  const closedAt = await waitFor(() => rec.socketClosedAt, 2000);
  assert.ok(closedAt, 'the gateway abandons (closes) the stalled upstream connection');
});

test('413: a body larger than max_body_bytes (64 KiB) gets an OpenAI-shaped 413', T, async () => {
  const before = fake.requests.length;
  const big = { model: 'basic', messages: [{ role: 'user', content: 'a'.repeat(70 * 1024) }] };
  const res = await post(big);
  assert.equal(res.status, 413, `status; body: ${res.text.slice(0, 300)}`);
  assert.ok(isOpenAiErrorShape(res.json), `OpenAI error shape; body: ${res.text.slice(0, 300)}`);
  assert.equal(res.json.error.code, 'payload_too_large');
  assert.equal(fake.requests.length, before, 'nothing sent upstream');
});

test('malformed JSON -> 400 invalid_json', T, async () => {
  const before = fake.requests.length;
  const res = await post('{"model":');
  assert.equal(res.status, 400, `status; body: ${res.text}`);
  assert.ok(isOpenAiErrorShape(res.json), `OpenAI error shape; body: ${res.text}`);
  assert.equal(res.json.error.code, 'invalid_json');
  assert.equal(fake.requests.length, before, 'nothing sent upstream');
});

test('missing messages -> 400 with param "messages"', T, async () => {
  const before = fake.requests.length;
  const res = await post({ model: 'basic' });
  assert.equal(res.status, 400, `status; body: ${res.text}`);
  assert.ok(isOpenAiErrorShape(res.json), `OpenAI error shape; body: ${res.text}`);
  assert.equal(res.json.error.param, 'messages');
  assert.equal(fake.requests.length, before, 'nothing sent upstream');
});

test('unknown model -> 404 model_not_found (SDK NotFoundError), nothing sent upstream', T, async () => {
  const before = fake.requests.length;
  await assert.rejects(client.chat.completions.create({ model: 'no-such-route', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError, `got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    return true;
  });
  assert.equal(fake.requests.length, before);
});

test('GET /v1/models lists the route names', T, async () => {
  const page = await client.models.list();
  const ids = page.data.map((m) => m.id);
  for (const r of ROUTES) assert.ok(ids.includes(r), `route ${r} listed in ${JSON.stringify(ids)}`);
  for (const m of page.data) assert.equal(m.object, 'model');
});

test('GET /healthz and /readyz -> 200', T, async () => {
  const h = await rawRequest(`${gw.origin}/healthz`);
  assert.equal(h.status, 200, `healthz body: ${h.text}`);
  const r = await rawRequest(`${gw.origin}/readyz`);
  assert.equal(r.status, 200, `readyz body: ${r.text}`);
});

test('no upstream secret in anything the gateway wrote to stdout/stderr during this file', T, async () => {
  assert.ok(gw.running, `gateway still running (exit ${gw.exitCode ?? gw.exitSignal})\n${gw.stderr().slice(-3000)}`);
  const outLines = gw.stdout().split('\n').filter((l) => l.includes(SECRET_MARKER));
  const errLines = gw.stderr().split('\n').filter((l) => l.includes(SECRET_MARKER));
  assert.deepEqual(outLines, [], 'stdout lines containing the upstream key');
  assert.deepEqual(errLines, [], 'stderr lines containing the upstream key');
  assert.deepEqual(sanitizerReports(gw.stderr()), [], 'sanitizer reports on stderr');
});
