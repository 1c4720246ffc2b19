// Issue #4 through the real gateway: tiers, weights, canaries, failover before the first byte,
// Retry-After cooldowns, outlier ejection with half-open trials, drills (admin API), capability
// filtering and /metrics. Every test asserts what the client saw AND where the requests went:
// the scripted fakes' per-model request counts (lib/fake_scripted.mjs) and the access log's
// attempt_details.
//
// Fakes: A, B, C are scripted OpenAI-compatible upstreams (providers a, b, c; provider `drp`
// points at A too, for the drill); `dead` points at a closed port; the sim_* providers are
// built-in simulators (ttft 0, 1 token) for the 1,000-request distribution tests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { startScriptedUpstream, closedPort } from './lib/fake_scripted.mjs';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startGateway, killAllGateways, gatewayBinary } from './lib/gateway.mjs';
import { sleep, waitFor, within, rawRequest, sanitizerReports } from './lib/util.mjs';

const T = { timeout: 20_000 };
const MSGS = [{ role: 'user', content: 'Hello!' }];
const ADMIN_TOKEN = 'adm-routing-0123456789';
const TOOLS = [
  {
    type: 'function',
    function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
  },
];
// The 400 body the core target answers, with its own spacing so "returned as is" is byte-checkable.
const BAD_BODY = '{"error": {"message": "scripted: messages[0].content is too long", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}';

let A;
let B;
let C;
let gw;
let client;
// Shared between tests (the metrics test checks its counters against them).
const seen = { canaries: null, ejectionHealth: null };

/**
 * `storage: {ledger: "off"}` when the binary knows it (these tests need no usage records, and the
 * default ledger would write var/switchyard.db into the working directory); else nothing.
 */
function storageLine() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-rt-'));
  const probe = path.join(dir, 'probe.yaml');
  fs.writeFileSync(probe, 'storage: {ledger: "off"}\nproviders:\n  s: {type: simulator}\nroutes:\n  - {name: x, target: s/m}\n');
  const r = spawnSync(gatewayBinary(), ['check-config', probe], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return r.status === 0 ? ['storage: {ledger: "off"}'] : [];
}

function yaml(deadPort) {
  const up = (name, fake) => `  ${name}: {type: openai-compatible, base_url: "${fake.baseURL}", api_key: "sk-${name}-upstream"}`;
  const sim = (name) => `  ${name}: {type: simulator, ttft: 0, token_delay: 0, tokens: 1}`;
  return [
    'server: {listen: "127.0.0.1:0", workers: 2, drain_timeout: 5s}',
    ...storageLine(),
    `admin: {token: "${ADMIN_TOKEN}"}`,
    'providers:',
    up('a', A),
    up('b', B),
    up('c', C),
    up('drp', A),
    `  dead: {type: openai-compatible, base_url: "http://127.0.0.1:${deadPort}/v1"}`,
    sim('sim_core'),
    sim('sim_sec'),
    sim('sim_fb'),
    sim('sim_w3'),
    sim('sim_w1'),
    'routes:',
    '  - {name: fo500, core: [a/fo500], secondary: [b/fo500-sec], retries: 2}',
    '  - {name: fo429, core: [a/fo429], secondary: [b/fo429-sec], retries: 2}',
    '  - {name: fo529, core: [a/fo529], fallback: [c/fo529-fb], retries: 2}',
    '  - {name: fo-within, core: [{target: a/fow-bad, weight: 1000000}, {target: b/fow-good, weight: 1}], retries: 2}',
    '  - {name: ra, core: [a/ra-core], secondary: [b/ra-sec], retries: 2}',
    '  - {name: ra-single, core: [a/ras-core], retries: 1}',
    '  - {name: refused, core: [dead/refused-core], secondary: [b/refused-sec], retries: 2, timeouts: {connect: 1s}}',
    '  - {name: reset, core: [a/reset-core], secondary: [b/reset-sec], retries: 2}',
    '  - {name: stall, core: [a/stall-core], secondary: [b/stall-sec], retries: 2, timeouts: {first_byte: 300ms}}',
    '  - {name: midreset, core: [a/mid-core], fallback: [c/mid-fb], retries: 2}',
    '  - {name: bad, core: [a/bad-core], secondary: [b/bad-sec], retries: 2}',
    '  - {name: eject, core: [a/ej-core], secondary: [b/ej-sec], retries: 1, health: {consecutive_failures: 3, base_ejection: 1s}}',
    '  - {name: canary, core: [sim_core/c-core], secondary: [sim_sec/c-sec], fallback: [sim_fb/c-fb], canary: 0.1}',
    '  - {name: weights, core: [{target: sim_w3/w-heavy, weight: 3}, {target: sim_w1/w-light, weight: 1}]}',
    '  - {name: drill, core: [drp/d-core], secondary: [b/d-sec], retries: 1}',
    '  - {name: drill2, core: [drp/d2-core], fallback: [c/d2-fb], retries: 1}',
    '  - {name: tools, core: [a/tools-none], secondary: [b/tools-yes], retries: 1}',
    '  - {name: tools-nowhere, core: [a/tn-core], fallback: [b/tn-fb]}',
    'catalog:',
    '  - {target: a/tools-none, capabilities: []}',
    '  - {target: a/tn-core, capabilities: []}',
    '  - {target: b/tn-fb, capabilities: []}',
    '',
  ].join('\n');
}

before(async () => {
  A = await startScriptedUpstream({ name: 'A' });
  B = await startScriptedUpstream({ name: 'B' });
  C = await startScriptedUpstream({ name: 'C' });
  A.behave('fo500', { status: 500 });
  A.behave('fo429', { status: 429 });
  A.behave('fo529', { status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
  A.behave('fow-bad', { status: 503 });
  A.behave('reset-core', 'reset');
  A.behave('stall-core', 'stall');
  A.behave('mid-core', { resetAfterChunks: 1 });
  A.behave('bad-core', { status: 400, body: BAD_BODY });
  gw = await startGateway({ yaml: yaml(await closedPort()) });
  client = new OpenAI({ apiKey: 'sk-client', baseURL: gw.baseURL, maxRetries: 0 });
});

after(async () => {
  await gw?.stop('SIGTERM', 5000).catch(() => {});
  await killAllGateways();
  await Promise.all([A?.close(), B?.close(), C?.close()]);
  gw?.cleanup();
  const reports = gw ? sanitizerReports(gw.stderr()) : [];
  if (reports.length) throw new Error(`sanitizer reports from the gateway:\n${reports.join('\n')}`);
});

// ---------------------------------------------------------------------------------------------
// helpers

let reqSeq = 0;

/** POST a chat request (raw fetch). Returns {status, headers, text, json, id, tier, attempts, provider, model}. */
async function chat(route, { tools, stream = false, id } = {}) {
  const rid = id ?? `rt-${route}-${++reqSeq}`;
  const body = { model: route, messages: MSGS, ...(tools ? { tools } : {}), ...(stream ? { stream: true } : {}) };
  const r = await rawRequest(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client', 'x-request-id': rid },
    body: JSON.stringify(body),
  });
  return {
    ...r,
    id: rid,
    tier: r.headers.get('x-switchyard-tier'),
    attempts: r.headers.get('x-switchyard-attempts'),
    provider: r.headers.get('x-switchyard-provider'),
    model: r.headers.get('x-switchyard-model'),
  };
}

/** "status tier provider/model attempts=N" of a chat() result, for assertion messages. */
const brief = (r) => `${r.status} tier=${r.tier} ${r.provider}/${r.model} attempts=${r.attempts} body=${r.text.slice(0, 200)}`;

/** The access-log line of request `id` (waits up to 2 s for it to be written). */
async function logFor(id) {
  const line = await waitFor(() => gw.accessLog().find((l) => l.request_id === id), 2000);
  assert.ok(line, `no access-log line for request ${id}`);
  return line;
}

/** attempt_details reduced to what the tests compare. */
const attemptsOf = (line) => (line.attempt_details ?? []).map((a) => `${a.provider}/${a.model}@${a.tier}:${a.status}`);

/** Run `fn(i)` for i in [0, n) with at most `conc` in flight. */
async function pool(n, conc, fn) {
  let next = 0;
  const out = new Array(n);
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

/** A light chat request for the distribution tests: only the headers matter. */
async function quick(route, i) {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': `rt-${route}-q${i}` },
    body: JSON.stringify({ model: route, messages: MSGS, max_tokens: 1 }),
  });
  await res.arrayBuffer();
  return {
    status: res.status,
    tier: res.headers.get('x-switchyard-tier'),
    provider: res.headers.get('x-switchyard-provider'),
    model: res.headers.get('x-switchyard-model'),
    attempts: res.headers.get('x-switchyard-attempts'),
  };
}

function admin(method, path, { body, token = ADMIN_TOKEN } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return rawRequest(`${gw.origin}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** A timestamp from the admin API (epoch ms or s as a number, or an ISO/HTTP date string) in epoch ms. */
function toMs(v) {
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string') {
    if (/^\d+(\.\d+)?$/.test(v)) return toMs(Number(v));
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  return NaN;
}

// ---------------------------------------------------------------------------------------------
// failover before the first byte

for (const [route, status, fake, nextModel, nextTier] of [
  ['fo500', 500, () => B, 'fo500-sec', 'secondary'],
  ['fo429', 429, () => B, 'fo429-sec', 'secondary'],
  ['fo529', 529, () => C, 'fo529-fb', 'fallback'],
]) {
  test(`core answers ${status}: the request succeeds on the next tier (${nextTier}), attempts 2`, T, async () => {
    const nextFake = fake();
    const a0 = A.count(route);
    const n0 = nextFake.count(nextModel);
    const r = await chat(route);
    assert.equal(r.status, 200, brief(r));
    assert.equal(r.json?.choices?.[0]?.message?.content, `hello from ${nextFake.name}/${nextModel}`, brief(r));
    assert.equal(r.tier, nextTier, brief(r));
    assert.equal(r.attempts, '2', brief(r));
    assert.equal(r.provider, nextTier === 'fallback' ? 'c' : 'b', brief(r));
    assert.equal(r.model, nextModel, brief(r));
    assert.equal(A.count(route) - a0, 1, `core (A/${route}) got exactly one request`);
    assert.equal(nextFake.count(nextModel) - n0, 1, `${nextTier} got exactly one request`);
    // The same through the official SDK: the client never notices.
    const { data, response } = await client.chat.completions.create({ model: route, messages: MSGS }).withResponse();
    assert.equal(data.choices[0].message.content, `hello from ${nextFake.name}/${nextModel}`);
    assert.equal(response.headers.get('x-switchyard-tier'), nextTier);
    assert.equal(response.headers.get('x-switchyard-attempts'), '2');

    const line = await logFor(r.id);
    assert.equal(line.tier, nextTier);
    assert.equal(line.attempts, 2);
    assert.deepEqual(attemptsOf(line), [`a/${route}@core:${status}`, `${r.provider}/${nextModel}@${nextTier}:200`]);
    assert.ok(line.attempt_details[0].error, `the failed attempt names its error: ${JSON.stringify(line.attempt_details[0])}`);
    assert.ok(!line.attempt_details[1].error, 'the successful attempt has no error');
    assert.ok(line.attempt_details.every((d) => typeof d.latency_ms === 'number'));
  });
}

test('core target fails (503): the next core target serves, tier core, attempts 2', T, async () => {
  const r = await chat('fo-within');
  assert.equal(r.status, 200, brief(r));
  assert.equal(r.tier, 'core', brief(r));
  assert.equal(r.attempts, '2', brief(r));
  assert.equal(r.provider, 'b', brief(r));
  assert.equal(A.count('fow-bad'), 1);
  assert.equal(B.count('fow-good'), 1);
  const line = await logFor(r.id);
  assert.deepEqual(attemptsOf(line), ['a/fow-bad@core:503', 'b/fow-good@core:200']);
});

test('429 with Retry-After: 1 -> failover; every request skips the core for that second, then it is used again', T, async () => {
  A.queue('ra-core', { status: 429, headers: { 'retry-after': '1' } });
  const r1 = await chat('ra');
  assert.equal(r1.status, 200, brief(r1));
  assert.equal(r1.tier, 'secondary', brief(r1));
  assert.equal(r1.attempts, '2', brief(r1));
  assert.equal(A.count('ra-core'), 1);
  const t429 = A.find('ra-core')[0].receivedAt;

  // Within the second: the core receives nothing, the secondary serves at the first attempt.
  const during = [];
  while (Date.now() < t429 + 700) {
    during.push(await chat('ra'));
    await sleep(40);
  }
  assert.ok(during.length >= 3, `only ${during.length} requests fitted in the cooldown window`);
  for (const r of during) {
    assert.equal(r.status, 200, brief(r));
    assert.equal(r.tier, 'secondary', `during Retry-After: ${brief(r)}`);
    assert.equal(r.attempts, '1', `during Retry-After the core is skipped, not tried: ${brief(r)}`);
  }
  assert.equal(A.count('ra-core'), 1, 'the core target received nothing while its Retry-After lasted');
  for (const r of during.slice(0, 2)) assert.deepEqual(attemptsOf(await logFor(r.id)), ['b/ra-sec@secondary:200']);

  // After it: the core is used again.
  await sleep(Math.max(0, t429 + 1250 - Date.now()));
  const r2 = await chat('ra');
  assert.equal(r2.status, 200, brief(r2));
  assert.equal(r2.tier, 'core', `after Retry-After: ${brief(r2)}`);
  assert.equal(r2.attempts, '1', brief(r2));
  assert.equal(A.count('ra-core'), 2);
  assert.deepEqual(attemptsOf(await logFor(r1.id)), ['a/ra-core@core:429', 'b/ra-sec@secondary:200']);
});

test('429 with Retry-After: 1 on the only target: the same target is retried only after the second', T, async () => {
  A.queue('ras-core', { status: 429, headers: { 'retry-after': '1' } });
  const t0 = Date.now();
  const r = await chat('ra-single');
  assert.equal(r.status, 200, brief(r));
  assert.equal(r.attempts, '2', brief(r));
  assert.equal(r.tier, 'core', brief(r));
  const recs = A.find('ras-core');
  assert.equal(recs.length, 2);
  const gap = recs[1].receivedAt - recs[0].receivedAt;
  assert.ok(gap >= 950, `the retry came ${gap} ms after the 429 with Retry-After: 1`);
  assert.ok(Date.now() - t0 < 4000);
});

test('connection refused: failover to the secondary', T, async () => {
  const r = await chat('refused');
  assert.equal(r.status, 200, brief(r));
  assert.equal(r.tier, 'secondary', brief(r));
  assert.equal(r.attempts, '2', brief(r));
  assert.equal(B.count('refused-sec'), 1);
  const line = await logFor(r.id);
  assert.deepEqual(attemptsOf(line), ['dead/refused-core@core:0', 'b/refused-sec@secondary:200']);
  assert.ok(line.attempt_details[0].error, JSON.stringify(line.attempt_details[0]));
});

test('reset before the first byte: failover to the secondary', T, async () => {
  const r = await chat('reset');
  assert.equal(r.status, 200, brief(r));
  assert.equal(r.tier, 'secondary', brief(r));
  assert.equal(r.attempts, '2', brief(r));
  const n = A.count('reset-core');
  assert.ok(n >= 1 && n <= 2, `the core got ${n} requests (1, or 2 if the transport retried a possibly stale connection once)`);
  assert.equal(B.count('reset-sec'), 1);
  const line = await logFor(r.id);
  assert.deepEqual(attemptsOf(line), ['a/reset-core@core:0', 'b/reset-sec@secondary:200']);
});

test('first byte later than timeouts.first_byte (300ms): failover to the secondary', T, async () => {
  const t0 = Date.now();
  const r = await chat('stall');
  const took = Date.now() - t0;
  assert.equal(r.status, 200, brief(r));
  assert.equal(r.tier, 'secondary', brief(r));
  assert.equal(r.attempts, '2', brief(r));
  assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
  assert.equal(A.count('stall-core'), 1);
  assert.equal(B.count('stall-sec'), 1);
  const line = await logFor(r.id);
  assert.deepEqual(attemptsOf(line), ['a/stall-core@core:0', 'b/stall-sec@secondary:200']);
  assert.match(String(line.attempt_details[0].error), /timeout/, JSON.stringify(line.attempt_details[0]));
  assert.ok(line.attempt_details[0].latency_ms >= 290, JSON.stringify(line.attempt_details[0]));
});

test('reset after the first streamed chunk: no failover, the SDK stream raises an error', T, async () => {
  const got = [];
  let outcome = 'completed normally';
  let headers;
  await within(
    8000,
    (async () => {
      try {
        const { data: stream, response } = await client.chat.completions
          .create({ model: 'midreset', messages: MSGS, stream: true }, { headers: { 'x-request-id': 'rt-midreset-sdk' } })
          .withResponse();
        headers = response.headers;
        for await (const c of stream) got.push(c);
      } catch (err) {
        outcome = err;
      }
    })(),
    'stream over a reset core',
  );
  assert.ok(outcome instanceof Error, `the SDK must raise; the stream ${outcome} after ${got.length} chunks`);
  const textGot = got.map((c) => c.choices?.[0]?.delta?.content ?? '').join('');
  assert.equal(textGot, 'hello', 'the client got the first chunk from the core before the error');
  assert.equal(headers?.get('x-switchyard-tier'), 'core');
  assert.equal(headers?.get('x-switchyard-attempts'), '1');
  assert.equal(A.count('mid-core'), 1);
  assert.ok(A.find('mid-core')[0].resetAt, 'the fake did reset');
  await sleep(300);
  assert.equal(C.count('mid-fb'), 0, 'the fallback received nothing');
  const line = await logFor('rt-midreset-sdk');
  assert.equal(line.attempts, 1);
  assert.deepEqual(attemptsOf(line), ['a/mid-core@core:200']);
});

test('a 400 from the core is returned as is (status and body), never retried', T, async () => {
  const r = await chat('bad');
  assert.equal(r.status, 400, brief(r));
  assert.equal(r.text, BAD_BODY, 'the upstream body byte for byte');
  assert.equal(r.attempts, '1', brief(r));
  assert.equal(r.tier, 'core', brief(r));
  assert.equal(A.count('bad-core'), 1);
  assert.equal(B.count('bad-sec'), 0, 'the secondary received nothing');
  const line = await logFor(r.id);
  assert.deepEqual(attemptsOf(line), ['a/bad-core@core:400']);
  await assert.rejects(client.chat.completions.create({ model: 'bad', messages: MSGS }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.code, 'context_length_exceeded');
    return true;
  });
  assert.equal(B.count('bad-sec'), 0);
});

// ---------------------------------------------------------------------------------------------
// outlier ejection and half-open

test('3 consecutive failures eject the core for 1 s; one half-open trial; the target comes back when it recovers', T, async () => {
  A.behave('ej-core', { status: 500 });
  // Three requests: each fails on the core and is served by the secondary.
  for (let i = 0; i < 3; i++) {
    const r = await chat('eject');
    assert.equal(r.status, 200, brief(r));
    assert.equal(r.tier, 'secondary', brief(r));
    assert.equal(r.attempts, '2', `request ${i + 1} tried the core first: ${brief(r)}`);
  }
  const tEject = Date.now();
  assert.equal(A.count('ej-core'), 3);
  const health = await admin('GET', '/admin/v1/health').catch((e) => ({ error: e }));
  seen.ejectionHealth = health;

  // Ejected: the next requests skip it (its count stops growing).
  const skipped = [];
  while (Date.now() < tEject + 600) {
    skipped.push(await chat('eject'));
    await sleep(30);
  }
  assert.ok(skipped.length >= 3);
  for (const r of skipped) {
    assert.equal(r.status, 200, brief(r));
    assert.equal(r.tier, 'secondary', brief(r));
    assert.equal(r.attempts, '1', `ejected core must be skipped: ${brief(r)}`);
  }
  assert.equal(A.count('ej-core'), 3, 'the ejected core received nothing');
  assert.deepEqual(attemptsOf(await logFor(skipped[0].id)), ['b/ej-sec@secondary:200']);

  // After ~1 s: exactly one half-open trial reaches it (4 concurrent requests); it fails again.
  await sleep(Math.max(0, tEject + 1150 - Date.now()));
  const trial = await Promise.all([0, 1, 2, 3].map(() => chat('eject')));
  const tTrial = Date.now();
  assert.equal(A.count('ej-core'), 4, `exactly one trial; responses: ${trial.map(brief).join(' | ')}`);
  for (const r of trial) assert.equal(r.status, 200, brief(r));
  assert.equal(trial.filter((r) => r.attempts === '2').length, 1, trial.map(brief).join(' | '));

  // The failed trial ejects it again (for 2 s): the fake recovers, but nothing reaches it yet.
  A.behave('ej-core', 'ok');
  for (let i = 0; i < 3; i++) {
    const r = await chat('eject');
    assert.equal(r.tier, 'secondary', `re-ejected after the failed trial: ${brief(r)}`);
  }
  assert.equal(A.count('ej-core'), 4);

  // After the second ejection: the trial succeeds and the target is back for good.
  await sleep(Math.max(0, tTrial + 2250 - Date.now()));
  const back = [];
  for (let i = 0; i < 4; i++) back.push(await chat('eject'));
  for (const r of back) {
    assert.equal(r.status, 200, brief(r));
    assert.equal(r.tier, 'core', `recovered core serves again: ${brief(r)}`);
    assert.equal(r.attempts, '1', brief(r));
  }
  assert.equal(A.count('ej-core'), 8);
});

test('GET /admin/v1/health: the ejection was visible, and the recovered target is healthy', T, async () => {
  const h = seen.ejectionHealth;
  assert.ok(h && !h.error, `GET /admin/v1/health during the ejection failed: ${h?.error}`);
  assert.equal(h.status, 200, `during the ejection: ${h.status} ${h.text?.slice(0, 300)}`);
  const during = h.json?.routes?.find((r) => r.route === 'eject')?.targets?.find((t) => t.target === 'a/ej-core');
  assert.ok(during, `route eject / target a/ej-core in ${h.text?.slice(0, 500)}`);
  assert.equal(during.ejected, true, JSON.stringify(during));
  assert.equal(during.healthy, false, JSON.stringify(during));
  assert.ok(during.ejections >= 1, JSON.stringify(during));
  assert.equal(during.tier, 'core');

  const now = await admin('GET', '/admin/v1/health');
  assert.equal(now.status, 200, now.text);
  const route = now.json.routes.find((r) => r.route === 'eject');
  const core = route.targets.find((t) => t.target === 'a/ej-core');
  const sec = route.targets.find((t) => t.target === 'b/ej-sec');
  assert.ok(core && sec, JSON.stringify(route));
  assert.equal(core.healthy, true, JSON.stringify(core));
  assert.equal(core.ejected, false, JSON.stringify(core));
  assert.ok(core.ejections >= 2, `ejected twice (first time and after the failed trial): ${JSON.stringify(core)}`);
  assert.ok(core.last_success && core.last_failure, JSON.stringify(core));
  assert.ok(Math.abs(toMs(core.last_success) - Date.now()) < 60_000, `last_success ${core.last_success}`);
  assert.equal(sec.tier, 'secondary');

  for (const token of [null, 'wrong-token']) {
    const u = await admin('GET', '/admin/v1/health', { token });
    assert.equal(u.status, 401, `token ${token}: ${u.status} ${u.text.slice(0, 200)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// distributions (simulator targets: instant answers)

test('canary 0.1 over 1,000 requests: 10% ± 3% first go to the lower tiers, split across secondary and fallback', T, async () => {
  const t0 = Date.now();
  const rs = await pool(1000, 16, (i) => quick('canary', i));
  const took = Date.now() - t0;
  const bad = rs.filter((r) => r.status !== 200 || r.attempts !== '1');
  assert.equal(bad.length, 0, `non-200 or retried: ${JSON.stringify(bad.slice(0, 3))}`);
  const by = { core: 0, secondary: 0, fallback: 0 };
  for (const r of rs) by[r.tier] = (by[r.tier] ?? 0) + 1;
  const lower = by.secondary + by.fallback;
  assert.ok(lower >= 70 && lower <= 130, `lower tiers got ${lower}/1000 (${JSON.stringify(by)}) in ${took} ms`);
  assert.ok(by.secondary >= 20 && by.fallback >= 20, `canaries split 1:1 across secondary and fallback: ${JSON.stringify(by)}`);
  assert.equal(by.core + lower, 1000, JSON.stringify(by));
  for (const r of rs) {
    const want = { core: 'sim_core', secondary: 'sim_sec', fallback: 'sim_fb' }[r.tier];
    assert.equal(r.provider, want, JSON.stringify(r));
  }
  // The access log marks exactly these requests as canaries.
  const lines = await waitFor(() => {
    const ls = gw.accessLog().filter((l) => typeof l.request_id === 'string' && l.request_id.startsWith('rt-canary-q'));
    return ls.length >= 1000 ? ls : undefined;
  }, 5000);
  assert.ok(lines, 'all 1,000 access-log lines');
  const canaryLines = lines.filter((l) => l.canary === true);
  assert.equal(canaryLines.length, lower, 'access-log canary flags = requests served by a lower tier');
  for (const l of canaryLines) {
    assert.notEqual(l.tier, 'core', JSON.stringify(l));
    assert.equal(l.attempt_details?.[0]?.canary, true, JSON.stringify(l));
  }
  for (const l of lines.filter((x) => x.canary !== true)) assert.equal(l.tier, 'core', JSON.stringify(l));
  seen.canaries = { total: lower, secondary: by.secondary, fallback: by.fallback };
  console.log(`canary: ${JSON.stringify(by)} in ${took} ms`);
});

test('weights 3:1 over 1,000 requests: the heavy target gets 75% ± 5%', T, async () => {
  const t0 = Date.now();
  const rs = await pool(1000, 16, (i) => quick('weights', i));
  const took = Date.now() - t0;
  const bad = rs.filter((r) => r.status !== 200 || r.attempts !== '1' || r.tier !== 'core');
  assert.equal(bad.length, 0, `unexpected: ${JSON.stringify(bad.slice(0, 3))}`);
  const heavy = rs.filter((r) => r.provider === 'sim_w3' && r.model === 'w-heavy').length;
  const light = rs.filter((r) => r.provider === 'sim_w1' && r.model === 'w-light').length;
  assert.equal(heavy + light, 1000);
  assert.ok(heavy >= 700 && heavy <= 800, `heavy got ${heavy}/1000 (light ${light}) in ${took} ms`);
  console.log(`weights: heavy ${heavy}, light ${light} in ${took} ms`);
});

// ---------------------------------------------------------------------------------------------
// drills (admin API)

test('drills need the admin token: 401 without it or with a wrong one; nothing is drilled', T, async () => {
  for (const token of [null, 'wrong-token']) {
    const p = await admin('POST', '/admin/v1/drills', { token, body: { provider: 'drp', duration_ms: 60_000 } });
    assert.equal(p.status, 401, `POST with token ${token}: ${p.status} ${p.text.slice(0, 200)}`);
    const g = await admin('GET', '/admin/v1/drills', { token });
    assert.equal(g.status, 401, `GET with token ${token}: ${g.status}`);
    const d = await admin('DELETE', '/admin/v1/drills/whatever', { token });
    assert.equal(d.status, 401, `DELETE with token ${token}: ${d.status}`);
  }
  const r = await chat('drill');
  assert.equal(r.status, 200, brief(r));
  assert.equal(r.provider, 'drp', `no drill was created: ${brief(r)}`);
  assert.equal(r.tier, 'core');
});

test('a 1.5 s drill moves all traffic off the provider and ends on time', T, async () => {
  const before0 = A.count('d-core');
  const r0 = await chat('drill');
  assert.equal(r0.provider, 'drp', brief(r0));
  assert.equal(A.count('d-core'), before0 + 1);

  const tPost = Date.now();
  const p = await admin('POST', '/admin/v1/drills', { body: { provider: 'drp', duration_ms: 1500 } });
  assert.equal(p.status, 201, `${p.status} ${p.text}`);
  const drill = p.json?.drill;
  assert.ok(drill && typeof drill.id === 'string' && drill.id.length > 0, p.text);
  assert.equal(drill.provider, 'drp');
  const len = toMs(drill.ends_at) - toMs(drill.starts_at);
  assert.ok(Math.abs(len - 1500) <= 50, `ends_at - starts_at = ${len} (${drill.starts_at} .. ${drill.ends_at})`);
  assert.ok(Math.abs(toMs(drill.starts_at) - tPost) < 2000, `starts_at ${drill.starts_at} is now`);
  const affected = p.json.affected_routes;
  assert.ok(Array.isArray(affected), p.text);
  const ar = affected.find((x) => x.route === 'drill');
  assert.ok(ar, `affected_routes names route drill: ${p.text}`);
  assert.equal(ar.served_by, 'b/d-sec', p.text);
  assert.equal(ar.tier, 'secondary', p.text);
  assert.ok(!affected.some((x) => x.route === 'fo500'), `routes without drp are not affected: ${p.text}`);

  const list = await admin('GET', '/admin/v1/drills');
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json?.drills?.some((d) => d.id === drill.id && d.provider === 'drp'), list.text);

  const countAtStart = A.count('d-core');
  const during = [];
  while (Date.now() < tPost + 1300) {
    during.push(await chat('drill'));
    await sleep(40);
  }
  assert.ok(during.length >= 5, `${during.length} requests during the drill`);
  for (const r of during) {
    assert.equal(r.status, 200, brief(r));
    assert.equal(r.provider, 'b', `during the drill: ${brief(r)}`);
    assert.equal(r.tier, 'secondary', brief(r));
    assert.equal(r.attempts, '1', brief(r));
  }
  assert.equal(A.count('d-core'), countAtStart, 'the drilled provider received nothing');
  assert.deepEqual(attemptsOf(await logFor(during[0].id)), ['b/d-sec@secondary:200']);

  // It ends on time: traffic returns.
  const endMs = Number.isFinite(toMs(drill.ends_at)) ? toMs(drill.ends_at) : tPost + 1500;
  await sleep(Math.max(0, endMs + 150 - Date.now()));
  const after1 = await chat('drill');
  assert.equal(after1.provider, 'drp', `after the drill (${Date.now() - tPost} ms after POST): ${brief(after1)}`);
  assert.equal(after1.tier, 'core', brief(after1));
  assert.equal(A.count('d-core'), countAtStart + 1);
  const list2 = await admin('GET', '/admin/v1/drills');
  assert.equal(list2.status, 200);
  assert.ok(!list2.json?.drills?.some((d) => d.id === drill.id), `an ended drill is no longer listed: ${list2.text}`);
});

test('DELETE /admin/v1/drills/{id} ends a drill early (200), then 404; duration "10s" accepted', T, async () => {
  const p = await admin('POST', '/admin/v1/drills', { body: { provider: 'drp', duration: '10s' } });
  assert.equal(p.status, 201, `${p.status} ${p.text}`);
  const { id, starts_at, ends_at } = p.json.drill;
  assert.ok(Math.abs(toMs(ends_at) - toMs(starts_at) - 10_000) <= 50, `${starts_at} .. ${ends_at}`);
  const c0 = A.count('d-core');
  const r1 = await chat('drill');
  assert.equal(r1.provider, 'b', brief(r1));
  assert.equal(A.count('d-core'), c0);
  const d = await admin('DELETE', `/admin/v1/drills/${encodeURIComponent(id)}`);
  assert.equal(d.status, 200, `${d.status} ${d.text}`);
  const r2 = await chat('drill');
  assert.equal(r2.provider, 'drp', `after DELETE: ${brief(r2)}`);
  assert.equal(A.count('d-core'), c0 + 1);
  const d2 = await admin('DELETE', `/admin/v1/drills/${encodeURIComponent(id)}`);
  assert.equal(d2.status, 404, `${d2.status} ${d2.text}`);
  const list = await admin('GET', '/admin/v1/drills');
  assert.ok(!list.json?.drills?.some((x) => x.id === id), list.text);
});

test('a drill scoped to one route ("route": "drill2") leaves the provider serving the other routes', T, async () => {
  const p = await admin('POST', '/admin/v1/drills', { body: { provider: 'drp', route: 'drill2', duration_ms: 5000 } });
  assert.equal(p.status, 201, `${p.status} ${p.text}`);
  assert.equal(p.json.drill.route, 'drill2', p.text);
  assert.deepEqual(
    p.json.affected_routes.map((x) => `${x.route}:${x.served_by}@${x.tier}`),
    ['drill2:c/d2-fb@fallback'],
    `only route drill2 is affected: ${p.text}`,
  );
  try {
    const c1 = A.count('d-core');
    const c2 = A.count('d2-core');
    const other = await chat('drill');
    assert.equal(other.provider, 'drp', `route drill is not drilled: ${brief(other)}`);
    const scoped = await chat('drill2');
    assert.equal(scoped.provider, 'c', `route drill2 is drilled: ${brief(scoped)}`);
    assert.equal(scoped.tier, 'fallback', brief(scoped));
    assert.equal(scoped.attempts, '1', brief(scoped));
    assert.equal(A.count('d-core'), c1 + 1);
    assert.equal(A.count('d2-core'), c2, 'the drilled route sent nothing to drp');
    assert.equal(C.count('d2-fb'), 1);
  } finally {
    const d = await admin('DELETE', `/admin/v1/drills/${encodeURIComponent(p.json.drill.id)}`);
    assert.equal(d.status, 200, d.text);
  }
  const back = await chat('drill2');
  assert.equal(back.provider, 'drp', `after DELETE: ${brief(back)}`);
});

// ---------------------------------------------------------------------------------------------
// capabilities

test('a request with tools skips the core target without tools and is served by the next', T, async () => {
  const r = await chat('tools', { tools: TOOLS });
  assert.equal(r.status, 200, brief(r));
  assert.equal(r.provider, 'b', brief(r));
  assert.equal(r.model, 'tools-yes', brief(r));
  assert.equal(r.tier, 'secondary', brief(r));
  assert.equal(r.attempts, '1', `the tool-less target is skipped, not tried: ${brief(r)}`);
  assert.equal(A.count('tools-none'), 0, 'nothing sent to the target without tools');
  assert.equal(B.count('tools-yes'), 1);
  assert.equal(B.find('tools-yes')[0].body?.tools?.[0]?.function?.name, 'get_weather', 'the tools went upstream');
  assert.deepEqual(attemptsOf(await logFor(r.id)), ['b/tools-yes@secondary:200']);
  // Without tools the core serves as usual.
  const plain = await chat('tools');
  assert.equal(plain.provider, 'a', brief(plain));
  assert.equal(plain.tier, 'core', brief(plain));
  assert.equal(A.count('tools-none'), 1);
});

test('tools on a route where no target has them: 400 naming tools, nothing sent upstream', T, async () => {
  const a0 = A.requests.length;
  const b0 = B.requests.length;
  const r = await chat('tools-nowhere', { tools: TOOLS });
  assert.equal(r.status, 400, brief(r));
  assert.ok(r.json?.error, r.text);
  assert.ok(r.json.error.param === 'tools' || /\btools\b/.test(r.json.error.message), `names tools: ${r.text}`);
  assert.equal(A.requests.length, a0, 'nothing sent to A');
  assert.equal(B.requests.length, b0, 'nothing sent to B');
  assert.equal(A.count('tn-core') + B.count('tn-fb'), 0);
});

// ---------------------------------------------------------------------------------------------
// metrics (last: checks the counters the tests above produced)

/** Parse Prometheus text: [{name, labels: {..}, value}] plus {types: {family: type}}. */
function parseProm(text) {
  const samples = [];
  const types = {};
  const badLines = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types[m[1]] = m[2];
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) {
      badLines.push(line);
      continue;
    }
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let lm;
      while ((lm = re.exec(m[2]))) labels[lm[1]] = lm[2];
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types, badLines };
}

function sum(samples, name, match = {}) {
  let s = 0;
  let n = 0;
  for (const x of samples) {
    if (x.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => x.labels[k] === v)) {
      s += x.value;
      n += 1;
    }
  }
  return n === 0 ? undefined : s;
}

test('GET /metrics: request, attempt, failover, canary, ejection counters and the GenAI histograms', T, async () => {
  // A model that is not a route: its name must not become a label value.
  await chat('no-such-route-xyz');
  await sleep(200);
  const m = await admin('GET', '/metrics');
  assert.equal(m.status, 200, `${m.status} ${m.text.slice(0, 300)}`);
  assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
  const { samples, types, badLines } = parseProm(m.text);
  assert.deepEqual(badLines.slice(0, 5), [], 'every sample line parses');
  const show = (name, match = {}) =>
    samples
      .filter((x) => x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v))
      .slice(0, 12)
      .map((x) => `  ${JSON.stringify(x.labels)} ${x.value}`)
      .join('\n') || '  (no such series)';
  const problems = [];
  const check = (cond, msg) => {
    if (!cond) problems.push(msg);
  };

  for (const [fam, type] of [
    ['switchyard_requests_total', 'counter'],
    ['switchyard_upstream_attempts_total', 'counter'],
    ['switchyard_failovers_total', 'counter'],
    ['switchyard_canary_requests_total', 'counter'],
    ['switchyard_target_ejections_total', 'counter'],
    ['switchyard_target_healthy', 'gauge'],
    ['gen_ai_client_token_usage', 'histogram'],
    ['gen_ai_client_operation_duration_seconds', 'histogram'],
  ]) {
    check(types[fam] === type, `# TYPE ${fam} ${type} (got ${types[fam]})`);
  }

  check(sum(samples, 'switchyard_failovers_total', { route: 'fo500', from_tier: 'core', to_tier: 'secondary' }) >= 1,
    `failovers fo500 core->secondary >= 1:\n${show('switchyard_failovers_total', { route: 'fo500' })}`);
  check(sum(samples, 'switchyard_failovers_total', { route: 'fo529', from_tier: 'core', to_tier: 'fallback' }) >= 1,
    `failovers fo529 core->fallback >= 1:\n${show('switchyard_failovers_total', { route: 'fo529' })}`);
  check((sum(samples, 'switchyard_failovers_total', { route: 'fo-within' }) ?? 0) === 0,
    `core->core (fo-within) is not a tier failover ("moved from one tier to a lower one"):\n${show('switchyard_failovers_total', { route: 'fo-within' })}`);

  const weights200 = sum(samples, 'switchyard_requests_total', { route: 'weights', status: '200' });
  check(weights200 === 1000, `requests_total{route=weights,status=200} = 1000, got ${weights200}`);
  check(sum(samples, 'switchyard_requests_total', { route: 'bad', status: '400' }) >= 2, `requests_total{route=bad,status=400} >= 2:\n${show('switchyard_requests_total', { route: 'bad' })}`);
  check(sum(samples, 'switchyard_requests_total', { route: 'canary', inbound: 'openai-chat' }) === 1000, `requests_total{route=canary} = 1000`);

  check(sum(samples, 'switchyard_upstream_attempts_total', { route: 'fo500', provider: 'a', model: 'fo500', tier: 'core' }) >= 2,
    `attempts fo500 a core >= 2:\n${show('switchyard_upstream_attempts_total', { route: 'fo500' })}`);
  check((sum(samples, 'switchyard_upstream_attempts_total', { route: 'fo500', provider: 'a', outcome: 'success' }) ?? 0) === 0,
    'no success recorded for the failing core of fo500');
  check(sum(samples, 'switchyard_upstream_attempts_total', { route: 'fo500', provider: 'b', tier: 'secondary', outcome: 'success' }) >= 2,
    'attempts fo500 b secondary success >= 2');
  check(sum(samples, 'switchyard_upstream_attempts_total', { route: 'fo429', provider: 'a', outcome: 'rate_limited' }) >= 1,
    `attempts fo429 outcome rate_limited >= 1:\n${show('switchyard_upstream_attempts_total', { route: 'fo429' })}`);
  check(sum(samples, 'switchyard_upstream_attempts_total', { route: 'stall', provider: 'a', outcome: 'timeout' }) >= 1,
    `attempts stall outcome timeout >= 1:\n${show('switchyard_upstream_attempts_total', { route: 'stall' })}`);
  check(sum(samples, 'switchyard_upstream_attempts_total', { route: 'weights' }) === 1000, 'attempts on weights = 1000');

  if (seen.canaries) {
    const c = sum(samples, 'switchyard_canary_requests_total', { route: 'canary' });
    check(c === seen.canaries.total, `canary_requests_total{route=canary} = ${seen.canaries.total} (counted by the client), got ${c}`);
    check(sum(samples, 'switchyard_canary_requests_total', { route: 'canary', provider: 'sim_sec', model: 'c-sec' }) === seen.canaries.secondary, 'canaries to sim_sec');
  }
  check(sum(samples, 'switchyard_target_ejections_total', { target: 'a/ej-core' }) >= 2, `ejections a/ej-core >= 2:\n${show('switchyard_target_ejections_total')}`);
  check(sum(samples, 'switchyard_target_healthy', { target: 'b/ej-sec' }) === 1, `healthy b/ej-sec = 1:\n${show('switchyard_target_healthy', { target: 'b/ej-sec' })}`);
  const lastOk = sum(samples, 'switchyard_target_last_success_timestamp_seconds', { target: 'b/fo500-sec' });
  check(lastOk !== undefined && Math.abs(lastOk - Date.now() / 1000) < 300, `last_success b/fo500-sec is recent: ${lastOk}`);

  for (const tt of ['input', 'output']) {
    check(samples.some((s) => s.name === 'gen_ai_client_token_usage_bucket' && s.labels.gen_ai_token_type === tt && s.labels.le === '+Inf' && s.value > 0),
      `gen_ai_client_token_usage_bucket{gen_ai_token_type=${tt},le=+Inf} > 0`);
  }
  check(samples.some((s) => s.name === 'gen_ai_client_token_usage_count'), 'gen_ai_client_token_usage_count');
  check(samples.some((s) => s.name === 'gen_ai_client_token_usage_sum'), 'gen_ai_client_token_usage_sum');
  check(sum(samples, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_request_model: 'weights' }) >= 1000,
    'operation duration counted for the 1,000 weights requests');
  check(samples.some((s) => s.name === 'switchyard_inflight_requests'), 'switchyard_inflight_requests present');
  check(!m.text.includes('no-such-route-xyz'), 'an unknown model name never becomes a label value');

  if (problems.length) console.log(`metrics problems:\n${problems.join('\n')}`);
  assert.equal(problems.length, 0, `metrics problems:\n${problems.join('\n')}`);
});

test('/metrics is part of the admin API (docs/configuration.md#admin): 401 without the token or with a wrong one', T, async () => {
  const got = {};
  for (const token of [null, 'wrong-token']) got[String(token)] = (await admin('GET', '/metrics', { token })).status;
  assert.deepEqual(got, { null: 401, 'wrong-token': 401 });
});

test('without an admin token configured, the admin API and /metrics are 404', T, async () => {
  const plain = await startGateway({
    yaml: [
      'server: {listen: "127.0.0.1:0", workers: 1}',
      ...storageLine(),
      'providers:',
      '  s: {type: simulator, ttft: 0, tokens: 1}',
      'routes:',
      '  - {name: x, target: s/m}',
      '',
    ].join('\n'),
  });
  try {
    const req = (method, p, body) =>
      rawRequest(`${plain.origin}${p}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      });
    const got = {
      metrics: (await req('GET', '/metrics')).status,
      health: (await req('GET', '/admin/v1/health')).status,
      drillsGet: (await req('GET', '/admin/v1/drills')).status,
      drillsPost: (await req('POST', '/admin/v1/drills', { provider: 's', duration_ms: 1000 })).status,
      drillsDelete: (await req('DELETE', '/admin/v1/drills/x')).status,
    };
    assert.deepEqual(got, { metrics: 404, health: 404, drillsGet: 404, drillsPost: 404, drillsDelete: 404 });
    const ok = await rawRequest(`${plain.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: MSGS }),
    });
    assert.equal(ok.status, 200, 'the drill POST did nothing');
  } finally {
    await plain.stop('SIGTERM', 5000).catch(() => {});
    plain.cleanup();
    const reports = sanitizerReports(plain.stderr());
    assert.deepEqual(reports, [], 'sanitizer reports from the admin-less gateway');
  }
});
