// Issue #6 through the real gateway: budgets, data policy, redaction and the exposure target of
// tenants, driven by the official openai and @anthropic-ai/sdk SDKs with virtual keys.
//
//   budgets     a tenant past its daily budget is refused (429 budget_exceeded, no retry, until
//               UTC midnight), another tenant is not; a key budget refuses one key, not its
//               sibling; a stream in flight finishes; the state survives a restart (SQLite, and
//               PostgreSQL when SY_TEST_PG_URL is set); the SDK does not retry the refusal.
//   policy      an EU-only tenant never reaches the US provider, not even as fallback when the
//               EU target fails; 403 policy_denied (OpenAI and Anthropic envelopes) when no
//               target is permitted; deny_providers and a denied attribute.
//   redaction   what the scripted upstream received: placeholders for the tenant that asks,
//               the client's bytes for the one that does not; access log and usage_records count.
//   exposure    max_provider_share with enforce keeps a 9:1 route near 50 %; without enforce
//               it is only reported (admin API, `switchyard report exposure`); the shares are
//               primed from the ledger after a restart.
//
// Upstreams are built-in simulators (priced, so every answer costs a known amount) and scripted
// OpenAI-compatible fakes (lib/fake_scripted.mjs) that record every request body. Each test
// group has its own gateway and ledger; keys come from `switchyard keys create` (before start)
// and from the admin API.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

import { startGateway, killAllGateways, gatewayBinary } from './lib/gateway.mjs';
import { startScriptedUpstream } from './lib/fake_scripted.mjs';
import { waitFor, within, isOpenAiErrorShape, sanitizerReports } from './lib/util.mjs';
import { usdToMicros, reportJson, reportWindow, sqliteRows, pgRows, pgExec, withSearchPath } from './lib/ledger.mjs';

const run = promisify(execFile);
const ADMIN = 'adm-tenants-policy-0123456789';
const MSGS = [{ role: 'user', content: 'hi there' }];
const T = { timeout: 30_000 };

const tmpDirs = [];
const fakes = [];
const gateways = [];
function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-tenants-'));
  tmpDirs.push(dir);
  return dir;
}

after(async () => {
  await killAllGateways();
  await Promise.all(fakes.map((f) => f.close()));
  for (const gw of gateways) gw.cleanup();
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

async function gateway(yaml) {
  const gw = await startGateway({ yaml });
  gateways.push(gw);
  return gw;
}

async function scripted(name) {
  const f = await startScriptedUpstream({ name });
  fakes.push(f);
  return f;
}

/** Writes `yaml` to a file of its own (for the CLI, before the gateway starts). */
function configFile(yaml) {
  const file = path.join(tmpDir(), 'switchyard.yaml');
  fs.writeFileSync(file, yaml);
  return file;
}

/** `switchyard keys create --config F --tenant T`: the key is the only thing on stdout. */
async function createKey(configPath, tenant) {
  const { stdout } = await run(gatewayBinary(), ['keys', 'create', '--config', configPath, '--tenant', tenant], { timeout: 30_000 });
  const key = stdout.trim();
  assert.match(key, /^sk-sy-[A-Za-z0-9]{12}_[A-Za-z0-9]{32}$/, `keys create printed ${JSON.stringify(stdout)}`);
  return key;
}

async function admin(gw, method, p, body) {
  const headers = { authorization: `Bearer ${ADMIN}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(gw.origin + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** One chat completion with plain fetch and a virtual key: what the client saw, and when. */
async function chat(gw, key, { model = 'chat', stream = false, messages = MSGS } = {}) {
  const body = { model, messages };
  if (stream) body.stream = true;
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, at: Date.now() };
}

function diag(gw) {
  return `\n--- gateway stderr (tail) ---\n${gw.stderr().slice(-3000)}`;
}

async function stopClean(gw) {
  const code = await gw.stop('SIGTERM', 15_000);
  assert.equal(code, 0, `exit code after SIGTERM${diag(gw)}`);
  assert.deepEqual(sanitizerReports(gw.stderr()), [], 'sanitizer reports on stderr');
}

/**
 * `sqliteRows`, retried for up to 2 s: a read-only open of the WAL database has been seen to fail
 * once right after the gateway exited; the error (with the directory listing) is kept when it
 * does not go away.
 */
async function sqliteRowsRetried(file, sql) {
  let lastError;
  const rows = await waitFor(async () => {
    try {
      return await sqliteRows(file, sql);
    } catch (err) {
      lastError = err;
      return undefined;
    }
  }, 2000, 100);
  if (rows) return rows;
  const dir = path.dirname(file);
  const listing = fs.readdirSync(dir).map((f) => `${f} (${fs.statSync(path.join(dir, f)).size} bytes)`);
  throw new Error(`${lastError}\n${dir}: ${listing.join(', ')}`);
}

/** Reads usage_records of a SQLite file or a PostgreSQL schema (the ledger URL decides). */
function ledgerReader(ledger) {
  const rows = ledger.startsWith('sqlite:') ? (sql) => sqliteRowsRetried(ledger.slice('sqlite:'.length), sql) : (sql) => pgRows(ledger, sql);
  return {
    rows,
    /** Sum of cost_micros of the records matching `where` (BigInt). */
    async spent(where) {
      const [r] = await rows(`SELECT coalesce(sum(cost_micros), 0) AS s FROM usage_records WHERE ${where}`);
      return BigInt(r.s);
    },
    async count() {
      const [r] = await rows('SELECT count(*) AS n FROM usage_records');
      return Number(r.n);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Budgets.

const BUDGET_A = '0.05';
const KEY_BUDGET = '0.02';
const SLOW_TOKENS = 25;

// sim: 1000 USD per million tokens in and out, i.e. $0.001 per token: "hi there" (2 prompt
// tokens) + 5 answer tokens = $0.007 a request, so A's $0.05 lasts 8 requests and a K key's
// $0.02 lasts 3. `slow` streams 25 tokens 60 ms apart (1.5 s).
function budgetYaml(ledger) {
  return [
    'server: {listen: "127.0.0.1:0", workers: 2, drain_timeout: 10s}',
    `storage: {ledger: "${ledger}", flush_interval: 50ms}`,
    `admin: {token: "${ADMIN}"}`,
    'providers:',
    '  sim:  {type: simulator, ttft: 0ms, token_delay: 0ms, tokens: 5}',
    `  slow: {type: simulator, ttft: 0ms, token_delay: 60ms, tokens: ${SLOW_TOKENS}}`,
    'routes:',
    '  - {name: chat, target: sim/s}',
    '  - {name: slow, target: slow/s}',
    'catalog:',
    '  - {target: sim/s, price: {input: "1000", output: "1000"}}',
    '  - {target: slow/s, price: {input: "1000", output: "1000"}}',
    'tenants:',
    `  - {name: A, budget: {usd_per_day: "${BUDGET_A}"}}`,
    '  - {name: B, budget: {usd_per_day: "1000"}}',
    `  - {name: K, key_budget: {usd_per_day: "${KEY_BUDGET}"}}`,
    '',
  ].join('\n');
}

function nextUtcMidnight(ms) {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Checks a budget refusal (status, envelope, code, x-should-retry, retry-after = seconds to the
 * next UTC midnight, message naming the scope, the limit and the reset) and returns the spend
 * the message states, in micro-dollars.
 */
function assertBudgetRefusal(r, scope, limit) {
  assert.equal(r.status, 429, `budget refusal status: ${r.text}`);
  assert.ok(isOpenAiErrorShape(r.json), `OpenAI error envelope: ${r.text}`);
  assert.equal(r.json.error.code, 'budget_exceeded', r.text);
  assert.equal(r.json.error.type, 'rate_limit_error', r.text);
  assert.equal(r.headers.get('x-should-retry'), 'false', 'x-should-retry');
  const reset = nextUtcMidnight(r.at);
  const retryAfter = r.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^\d+$/, 'retry-after in whole seconds');
  const expected = (reset - r.at) / 1000;
  assert.ok(Math.abs(Number(retryAfter) - expected) <= 5, `retry-after ${retryAfter} s, expected about ${expected.toFixed(0)} s (to the next UTC midnight)`);
  const re = new RegExp(`^Budget exceeded: ${escapeRe(scope)} has spent \\$(\\d+\\.\\d+) of its \\$${escapeRe(limit)} daily budget; it resets at (\\S+)\\.$`);
  const m = re.exec(r.json.error.message);
  assert.ok(m, `message ${JSON.stringify(r.json.error.message)} does not match ${re}`);
  assert.equal(m[2], new Date(reset).toISOString().replace('.000Z', 'Z'), 'reset instant in the message');
  const spent = usdToMicros(m[1]);
  assert.ok(spent >= usdToMicros(limit), `spent ${m[1]} >= limit ${limit}`);
  return spent;
}

/**
 * Sends `chat` requests with `key` until one is refused; returns {costs (BigInt micros of the
 * 200s), refusal}. Each request waits for the previous one's access-log line: the gateway counts
 * a request's cost when it finishes, just after the client has the answer, so without the wait a
 * request on another connection may be admitted before the previous cost is counted (a budget
 * is a ceiling checked before each request, see src/policy/budget.h).
 */
async function spendUntilRefused(gw, key, max = 40) {
  const costs = [];
  for (let i = 0; i < max; i++) {
    const r = await chat(gw, key);
    if (r.status === 429) return { costs, refusal: r };
    assert.equal(r.status, 200, `request ${i} before the budget ran out: ${r.text}`);
    costs.push(usdToMicros(r.headers.get('x-switchyard-cost-usd')));
    const id = r.headers.get('x-request-id');
    assert.ok(await waitFor(() => gw.accessLog().some((l) => l.request_id === id), 2000), `access-log line of ${id}`);
  }
  assert.fail(`no refusal after ${max} requests (costs ${costs.join(', ')})`);
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0n);

async function budgetScenario(ledger) {
  // Daily budgets reset at UTC midnight: do not start a run that would straddle it.
  const midnight = nextUtcMidnight(Date.now());
  if (midnight - Date.now() < 20_000) {
    assert.ok(await waitFor(() => Date.now() > midnight + 500, 25_000, 200), 'waited for UTC midnight to pass');
  }
  const yaml = budgetYaml(ledger);
  const cfg = configFile(yaml);
  const keyA = await createKey(cfg, 'A');
  const keyB = await createKey(cfg, 'B');
  const reader = ledgerReader(ledger);
  let gw = await gateway(yaml);

  // Two keys of tenant K through the admin API (usable at once).
  const made = [];
  for (const name of ['k1', 'k2']) {
    const r = await admin(gw, 'POST', '/admin/v1/keys', { tenant: 'K', name });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.tenant, 'K');
    made.push(r.json);
  }
  const [k1, k2] = made;

  // A slow stream of A, admitted while A has budget left.
  const clientA = new OpenAI({ apiKey: keyA, baseURL: gw.baseURL });
  const slow = { firstAt: 0, doneAt: 0, text: '', id: null };
  const slowDone = (async () => {
    const { data: stream, response } = await clientA.chat.completions.create({ model: 'slow', stream: true, messages: MSGS }).withResponse();
    slow.id = response.headers.get('x-request-id');
    for await (const chunk of stream) {
      if (!slow.firstAt) slow.firstAt = Date.now();
      slow.text += chunk.choices[0]?.delta?.content ?? '';
    }
    slow.doneAt = Date.now();
  })().then(() => null, (err) => err);
  assert.ok(await waitFor(() => slow.firstAt, 5000), 'the slow stream started');

  // A spends past its budget: refused, while the stream is still in flight.
  const { costs, refusal } = await spendUntilRefused(gw, keyA);
  assert.equal(slow.doneAt, 0, 'the slow stream was still running when A ran out of budget');
  const spentAtRefusal = assertBudgetRefusal(refusal, 'tenant A', BUDGET_A);
  assert.equal(spentAtRefusal, sum(costs), "the stated spend is what A's answers cost");
  // Refused exactly once the counted spend reached the budget: not earlier, not later.
  assert.ok(sum(costs) >= usdToMicros(BUDGET_A) && sum(costs.slice(0, -1)) < usdToMicros(BUDGET_A), `A's answers cost ${costs.join(', ')} micro-dollars before the refusal (budget ${BUDGET_A})`);
  const again = await chat(gw, keyA, { stream: true });
  assertBudgetRefusal(again, 'tenant A', BUDGET_A);

  // B is not affected.
  for (let i = 0; i < 3; i++) {
    const b = await chat(gw, keyB);
    assert.equal(b.status, 200, `tenant B after A ran out: ${b.text}`);
  }

  // A key budget: k1 is refused, k2 of the same tenant is not.
  const byKey = await spendUntilRefused(gw, k1.key);
  assert.equal(byKey.costs.length, 3, 'k1 ($0.007 a request, $0.02 budget) is refused after 3 requests');
  assertBudgetRefusal(byKey.refusal, `key ${k1.key_id}`, KEY_BUDGET);
  const sibling = await chat(gw, k2.key);
  assert.equal(sibling.status, 200, `k2 (same tenant, own key budget): ${sibling.text}`);

  // The stream in flight finishes whole.
  assert.equal(await within(10_000, slowDone, 'slow stream'), null, 'the slow stream ended without error');
  const slowLine = await waitFor(() => gw.accessLog().find((l) => l.request_id === slow.id), 2000);
  assert.ok(slowLine, 'access-log line of the slow stream');
  assert.equal(slowLine.status, 200);
  assert.equal(slowLine.output_tokens, SLOW_TOKENS, 'every token of the slow stream was counted');
  assert.ok(slow.text.trim().length > 0, 'the slow stream carried text');
  assert.ok(slow.doneAt > refusal.at, 'the stream ended after the refusal');
  const slowCost = usdToMicros(slowLine.cost_usd);

  // The SDK does not retry the refusal (x-should-retry: false): one HTTP request and one
  // access-log line per call, streamed or not.
  let fetches = 0;
  const countingFetch = (url, init) => {
    fetches += 1;
    return fetch(url, init);
  };
  const sdk = new OpenAI({ apiKey: keyA, baseURL: gw.baseURL, fetch: countingFetch });
  const refusedLines = () => gw.accessLog().filter((l) => l.tenant === 'A' && l.status === 429).length;
  for (const stream of [false, true]) {
    const linesBefore = refusedLines();
    const fetchesBefore = fetches;
    await assert.rejects(sdk.chat.completions.create({ model: 'chat', messages: MSGS, stream }), (err) => {
      assert.ok(err instanceof OpenAI.APIError, `APIError, got ${err}`);
      assert.equal(err.status, 429);
      assert.equal(err.code, 'budget_exceeded');
      assert.equal(err.headers.get('x-should-retry'), 'false');
      return true;
    });
    assert.equal(fetches - fetchesBefore, 1, `SDK requests for one call (stream: ${stream})`);
    await waitFor(() => refusedLines() > linesBefore, 2000);
    assert.equal(refusedLines(), linesBefore + 1, `access-log lines for one SDK call (stream: ${stream})`);
  }

  // The same with @anthropic-ai/sdk on /v1/messages (it retries 429s unless told not to).
  let antFetches = 0;
  const ant = new Anthropic({
    apiKey: keyA,
    baseURL: gw.origin,
    fetch: (url, init) => {
      antFetches += 1;
      return fetch(url, init);
    },
  });
  await assert.rejects(ant.messages.create({ model: 'chat', max_tokens: 16, messages: MSGS }), (err) => {
    assert.ok(err instanceof Anthropic.RateLimitError, `Anthropic RateLimitError, got ${err}`);
    assert.equal(err.error?.error?.type, 'rate_limit_error', JSON.stringify(err.error));
    assert.match(err.error.error.message, /^Budget exceeded: tenant A has spent/);
    assert.equal(err.headers.get('x-should-retry'), 'false');
    return true;
  });
  assert.equal(antFetches, 1, 'Anthropic SDK requests for one call');

  // The admin API: A's spend counts every answer it got, the stream's included.
  const expectedA = sum(costs) + slowCost;
  const viewA = await admin(gw, 'GET', '/admin/v1/tenants/A');
  assert.equal(viewA.status, 200, viewA.text);
  assert.equal(usdToMicros(viewA.json.budget.day.limit_usd), usdToMicros(BUDGET_A));
  assert.equal(usdToMicros(viewA.json.budget.day.spent_usd), expectedA, 'admin: A spent = the costs of its answers');
  assert.ok(usdToMicros(viewA.json.budget.day.spent_usd) >= usdToMicros(viewA.json.budget.day.limit_usd), 'admin: spent >= limit');
  assert.equal(viewA.json.budget.day.resets_at, new Date(nextUtcMidnight(Date.now())).toISOString().replace('.000Z', 'Z'));

  // Restart on the same ledger: SIGTERM drains it, the new process reads the spend back.
  await stopClean(gw);
  assert.equal(await reader.spent(`tenant = 'A'`), expectedA, 'the ledger holds every cost of A');
  const ledgerK1 = await reader.spent(`key_id = '${k1.key_id}'`);
  assert.equal(ledgerK1, sum(byKey.costs), 'the ledger holds every cost of k1');
  gw = await gateway(yaml);
  const afterA = await chat(gw, keyA);
  assert.equal(assertBudgetRefusal(afterA, 'tenant A', BUDGET_A), expectedA, 'after the restart A is still refused, with the same spend');
  const afterB = await chat(gw, keyB);
  assert.equal(afterB.status, 200, `B after the restart: ${afterB.text}`);
  assert.equal(assertBudgetRefusal(await chat(gw, k1.key), `key ${k1.key_id}`, KEY_BUDGET), ledgerK1, 'k1 still refused');
  assert.equal((await chat(gw, k2.key)).status, 200, 'k2 still works');
  const viewA2 = await admin(gw, 'GET', '/admin/v1/tenants/A');
  assert.equal(viewA2.status, 200, viewA2.text);
  assert.equal(usdToMicros(viewA2.json.budget.day.spent_usd), expectedA, 'admin after the restart: spent read back from the ledger');
  const viewK = await admin(gw, 'GET', '/admin/v1/tenants/K');
  assert.equal(viewK.status, 200, viewK.text);
  const k1View = viewK.json.keys.find((k) => k.key_id === k1.key_id);
  assert.ok(k1View, `tenant K lists k1: ${viewK.text}`);
  assert.equal(usdToMicros(k1View.budget.day.spent_usd), ledgerK1, 'admin: k1 spent after the restart');
  assert.equal(usdToMicros(k1View.budget.day.limit_usd), usdToMicros(KEY_BUDGET));
  await stopClean(gw);
}

const BUDGET_TEST = 'budgets: A refused past its daily budget (429, no retry, resets at UTC midnight), B not; key budget; stream in flight finishes; survives a restart';

test(`${BUDGET_TEST} (SQLite)`, { timeout: 60_000 }, async () => {
  await budgetScenario(`sqlite:${path.join(tmpDir(), 'ledger.db')}`);
});

test(`${BUDGET_TEST} (PostgreSQL, SY_TEST_PG_URL)`, { timeout: 60_000 }, async (t) => {
  const base = process.env.SY_TEST_PG_URL;
  if (!base) {
    if (process.env.CI) assert.fail('SY_TEST_PG_URL is not set and CI is: the PostgreSQL budget test must run in CI (make test starts tools/pg-test-server.sh)');
    t.skip('SY_TEST_PG_URL is not set (start one with tools/pg-test-server.sh start, or run make test)');
    return;
  }
  const schema = `sy_e2e_tp_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await pgExec(base, `CREATE SCHEMA ${schema}`);
  try {
    await budgetScenario(withSearchPath(base, schema));
  } finally {
    await pgExec(base, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  }
});

// ---------------------------------------------------------------------------------------------
// Data policy.

describe('data policy: EU-only never reaches the US provider; 403 policy_denied', () => {
  let EU;
  let US;
  let gw;
  const keys = {};

  before(async () => {
    EU = await scripted('EU');
    US = await scripted('US');
    EU.behave('m-500', { status: 500 });
    EU.behave('m-reset', 'reset');
    const up = (name, fake, attrs) => `  ${name}: {type: openai-compatible, base_url: "${fake.baseURL}", api_key: "sk-${name}-upstream", attributes: ${attrs}}`;
    const yaml = [
      'server: {listen: "127.0.0.1:0", workers: 2, drain_timeout: 5s}',
      `storage: {ledger: "sqlite:${path.join(tmpDir(), 'ledger.db')}", flush_interval: 50ms}`,
      'providers:',
      up('eu', EU, '{region: eu}'),
      up('us', US, '{region: us}'),
      up('trainer', EU, '{region: eu, trains_on_data: "true"}'), // the EU fake again, other models
      'routes:',
      '  - {name: eu-500, core: [eu/m-500], fallback: [us/m-500-us], retries: 2}',
      '  - {name: eu-reset, core: [eu/m-reset], fallback: [us/m-reset-us], retries: 2}',
      '  - {name: us-only, target: us/m-us-only}',
      '  - {name: train-only, target: trainer/m-train}',
      '  - name: train-or-eu',
      '    core: [{target: trainer/m-toe-train, weight: 1000}, {target: eu/m-toe-eu, weight: 1}]',
      'tenants:',
      '  - {name: eu-only, policy: {allow: {region: [eu]}}}',
      '  - {name: anyone}',
      '  - {name: no-us, policy: {deny_providers: [us]}}',
      '  - {name: no-train, policy: {deny: {trains_on_data: ["true"]}}}',
      '',
    ].join('\n');
    const cfg = configFile(yaml);
    for (const t of ['eu-only', 'anyone', 'no-us', 'no-train']) keys[t] = await createKey(cfg, t);
    gw = await gateway(yaml);
  });

  for (const [route, euModel, usModel, what] of [
    ['eu-500', 'm-500', 'm-500-us', 'answers 500'],
    ['eu-reset', 'm-reset', 'm-reset-us', 'resets the connection'],
  ]) {
    test(`EU target ${what}: the EU-only tenant gets the upstream error, the US fallback gets nothing; another tenant fails over to it`, T, async () => {
      const usBefore = US.count();
      const euBefore = EU.count(euModel);
      const r = await chat(gw, keys['eu-only'], { model: route });
      assert.ok(r.status === 502 || r.status === 503, `EU-only tenant: 502/503 expected, got ${r.status}: ${r.text}`);
      assert.ok(isOpenAiErrorShape(r.json), `OpenAI error envelope: ${r.text}`);
      assert.equal(US.count(), usBefore, 'the US provider received nothing from the EU-only tenant');
      // 1 + retries attempts, all on eu (a reset on a pooled connection is also retried once by
      // the transport on a fresh one, so the fake may count more requests than attempts).
      assert.ok(EU.count(euModel) - euBefore >= 3, `the EU target was tried (${EU.count(euModel) - euBefore} requests)`);
      const line = await waitFor(() => gw.accessLog().find((l) => l.request_id === r.headers.get('x-request-id')), 2000);
      assert.ok(line, 'access-log line');
      assert.equal(line.tenant, 'eu-only');
      assert.equal(line.attempts, 3, JSON.stringify(line));
      assert.equal(line.attempt_details.length, 3, JSON.stringify(line));
      assert.deepEqual([...new Set(line.attempt_details.map((a) => a.provider))], ['eu'], 'every attempt went to eu');

      const other = await chat(gw, keys.anyone, { model: route });
      assert.equal(other.status, 200, `tenant without policy fails over: ${other.text}`);
      assert.equal(other.headers.get('x-switchyard-provider'), 'us');
      assert.equal(other.json.choices[0].message.content, `hello from US/${usModel}`);
      assert.equal(US.count(usModel), 1, 'the fallback served the tenant without policy');
    });
  }

  test('a route whose only target is US: 403 policy_denied for the EU-only tenant (OpenAI and Anthropic envelopes); nothing sent', T, async () => {
    const usBefore = US.count();
    const r = await chat(gw, keys['eu-only'], { model: 'us-only' });
    assert.equal(r.status, 403, r.text);
    assert.ok(isOpenAiErrorShape(r.json), r.text);
    assert.equal(r.json.error.code, 'policy_denied');
    assert.equal(r.json.error.type, 'permission_error');
    assert.match(r.json.error.message, /tenant `eu-only`/);
    assert.match(r.json.error.message, /attribute region of provider us is "us", not one of: eu/);

    const sdk = new OpenAI({ apiKey: keys['eu-only'], baseURL: gw.baseURL });
    await assert.rejects(sdk.chat.completions.create({ model: 'us-only', messages: MSGS }), (err) => {
      assert.ok(err instanceof OpenAI.PermissionDeniedError, `PermissionDeniedError, got ${err}`);
      assert.equal(err.code, 'policy_denied');
      return true;
    });

    const ant = new Anthropic({ apiKey: keys['eu-only'], baseURL: gw.origin });
    await assert.rejects(ant.messages.create({ model: 'us-only', max_tokens: 32, messages: MSGS }), (err) => {
      assert.ok(err instanceof Anthropic.PermissionDeniedError, `Anthropic PermissionDeniedError, got ${err}`);
      assert.equal(err.status, 403);
      assert.equal(err.error?.type, 'error', JSON.stringify(err.error));
      assert.equal(err.error?.error?.type, 'permission_error', JSON.stringify(err.error));
      assert.match(err.error.error.message, /tenant `eu-only`/);
      return true;
    });
    assert.equal(US.count(), usBefore, 'the US provider received nothing');

    const control = await chat(gw, keys.anyone, { model: 'us-only' });
    assert.equal(control.status, 200, `the route works for a tenant without policy: ${control.text}`);
  });

  test('deny_providers and a denied attribute', T, async () => {
    const usBefore = US.count();
    const r = await chat(gw, keys['no-us'], { model: 'us-only' });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, 'policy_denied');
    assert.match(r.json.error.message, /tenant `no-us`.*provider us is denied/);
    assert.equal(US.count(), usBefore);

    const d = await chat(gw, keys['no-train'], { model: 'train-only' });
    assert.equal(d.status, 403, d.text);
    assert.equal(d.json.error.code, 'policy_denied');
    assert.match(d.json.error.message, /tenant `no-train`.*attribute trains_on_data of provider trainer is "true", which is denied/);
    assert.equal(EU.count('m-train'), 0);

    // On a route that prefers the denied provider 1000:1, the tenant is served by the other one.
    for (let i = 0; i < 5; i++) {
      const ok = await chat(gw, keys['no-train'], { model: 'train-or-eu' });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.headers.get('x-switchyard-provider'), 'eu');
    }
    assert.equal(EU.count('m-toe-train'), 0, 'the denied provider received nothing');
    assert.equal(EU.count('m-toe-eu'), 5);
  });
});

// ---------------------------------------------------------------------------------------------
// Redaction.

const SYSTEM = 'You are the support assistant of alice@example.com.';
const USER = 'Reach me at alice@example.com or on +44 20 7946 0958. Card: 4111 1111 1111 1111. Cc bob@example.org, and again alice@example.com.';
const SYSTEM_REDACTED = 'You are the support assistant of [EMAIL_1].';
const USER_REDACTED = 'Reach me at [EMAIL_1] or on [PHONE_1]. Card: [CARD_1]. Cc [EMAIL_2], and again [EMAIL_1].';
const REDACTIONS = 6; // alice x3, bob, the phone, the card
const ORIGINALS = ['alice@example.com', 'bob@example.org', '+44 20 7946 0958', '7946 0958', '4111 1111 1111 1111', '4111111111111111', '4111'];
const OAI_MSGS = [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: USER },
];

/** The text of an OpenAI message content (a string or a list of text parts). */
function textOf(content) {
  if (typeof content === 'string') return content;
  return content.map((p) => p.text ?? '').join('');
}

describe('redaction: what the upstream receives', () => {
  let R;
  let gw;
  let dbFile;
  const keys = {};
  const ids = { red: [], plain: [] };

  before(async () => {
    R = await scripted('R');
    dbFile = path.join(tmpDir(), 'ledger.db');
    const yaml = [
      'server: {listen: "127.0.0.1:0", workers: 2, drain_timeout: 5s}',
      `storage: {ledger: "sqlite:${dbFile}", flush_interval: 50ms}`,
      'providers:',
      `  up: {type: openai-compatible, base_url: "${R.baseURL}", api_key: "sk-up-upstream"}`,
      'routes:',
      '  - {name: chat, target: up/m-red}',
      'tenants:',
      '  - {name: red, policy: {redact: [email, phone, card]}}',
      '  - {name: plain}',
      '',
    ].join('\n');
    const cfg = configFile(yaml);
    for (const t of ['red', 'plain']) keys[t] = await createKey(cfg, t);
    gw = await gateway(yaml);
  });

  /** Runs `call` and returns the one request the fake received meanwhile. */
  async function upstreamOf(call) {
    const mark = R.requests.length;
    const out = await call();
    assert.equal(R.requests.length - mark, 1, 'exactly one upstream request');
    return { out, up: R.requests[mark] };
  }

  function assertRedacted(up) {
    for (const v of ORIGINALS) assert.ok(!up.rawBody.includes(v), `${JSON.stringify(v)} reached the upstream: ${up.rawBody}`);
    const msgs = up.body.messages;
    assert.deepEqual(msgs.map((m) => m.role), ['system', 'user'], up.rawBody);
    assert.equal(textOf(msgs[0].content), SYSTEM_REDACTED, 'system text, redacted');
    assert.equal(textOf(msgs[1].content), USER_REDACTED, 'user text, redacted (the repeated email is [EMAIL_1] every time)');
  }

  test('openai SDK, non-streamed and streamed: the redacting tenant sends placeholders, the other one its bytes unchanged', T, async () => {
    for (const tenant of ['red', 'plain']) {
      const sent = [];
      const recordingFetch = (url, init) => {
        sent.push(init?.body);
        return fetch(url, init);
      };
      const sdk = new OpenAI({ apiKey: keys[tenant], baseURL: gw.baseURL, fetch: recordingFetch });

      const one = await upstreamOf(() => sdk.chat.completions.create({ model: 'chat', messages: OAI_MSGS }).withResponse());
      assert.equal(one.out.data.choices[0].message.content, 'hello from R/m-red', 'the SDK parsed the answer');
      ids[tenant].push(one.out.response.headers.get('x-request-id'));

      const streamed = await upstreamOf(async () => {
        const { data: stream, response } = await sdk.chat.completions.create({ model: 'chat', messages: OAI_MSGS, stream: true }).withResponse();
        let text = '';
        let usageChunks = 0;
        for await (const c of stream) {
          text += c.choices[0]?.delta?.content ?? '';
          if (c.usage) usageChunks += 1;
        }
        return { text, usageChunks, id: response.headers.get('x-request-id') };
      });
      assert.equal(streamed.out.text, 'hello from R/m-red', 'the SDK assembled the streamed answer');
      assert.equal(streamed.out.usageChunks, 0, 'no usage chunk for a client that did not ask for one');
      assert.equal(streamed.up.body.stream_options?.include_usage, true, 'usage asked upstream for the accounting');
      assert.equal(streamed.up.body.stream, true);
      ids[tenant].push(streamed.out.id);

      if (tenant === 'red') {
        assertRedacted(one.up);
        assertRedacted(streamed.up);
      } else {
        // The fast path: the client's bytes with only `model` patched.
        assert.equal(typeof sent[0], 'string');
        assert.equal(one.up.rawBody, sent[0].replace('"model":"chat"', '"model":"m-red"'), 'non-streamed body byte for byte');
        const msgsJson = `"messages":${JSON.stringify(OAI_MSGS)}`;
        assert.ok(sent[1].includes(msgsJson));
        assert.ok(streamed.up.rawBody.includes(msgsJson), `streamed body keeps the messages' bytes: ${streamed.up.rawBody}`);
      }
    }
  });

  test('@anthropic-ai/sdk (create and stream): redacted for the tenant that asks, unchanged for the other', T, async () => {
    for (const tenant of ['red', 'plain']) {
      const ant = new Anthropic({ apiKey: keys[tenant], baseURL: gw.origin });
      const params = { model: 'chat', max_tokens: 64, system: SYSTEM, messages: [{ role: 'user', content: USER }] };
      const created = await upstreamOf(() => ant.messages.create(params).withResponse());
      assert.equal(created.out.data.content[0].text, 'hello from R/m-red');
      ids[tenant].push(created.out.response.headers.get('x-request-id'));
      const streamed = await upstreamOf(async () => {
        const s = ant.messages.stream(params);
        const msg = await s.finalMessage();
        return { msg, id: (await s.withResponse()).response.headers.get('x-request-id') };
      });
      assert.equal(streamed.out.msg.content[0].text, 'hello from R/m-red');
      ids[tenant].push(streamed.out.id);
      for (const up of [created.up, streamed.up]) {
        if (tenant === 'red') {
          assertRedacted(up);
        } else {
          const msgs = up.body.messages;
          assert.equal(textOf(msgs[0].content), SYSTEM, 'system text unchanged');
          assert.equal(textOf(msgs[1].content), USER, 'user text unchanged');
        }
      }
    }
  });

  test('access log "redactions" and usage_records.redactions', T, async () => {
    assert.equal(ids.red.length, 4);
    assert.equal(ids.plain.length, 4);
    for (const id of [...ids.red, ...ids.plain]) assert.match(id ?? '', /\S/, 'request id');
    const lines = await waitFor(() => {
      const all = gw.accessLog();
      const found = [...ids.red, ...ids.plain].map((id) => all.find((l) => l.request_id === id));
      return found.every(Boolean) ? found : null;
    }, 2000);
    assert.ok(lines, 'an access-log line for every request');
    for (const l of lines.slice(0, 4)) assert.equal(l.redactions, REDACTIONS, `access log of ${l.request_id} (tenant red)`);
    for (const l of lines.slice(4)) assert.equal(l.redactions, undefined, `access log of ${l.request_id} (tenant plain)`);
    for (const l of lines) {
      assert.equal(l.status, 200, JSON.stringify(l));
      assert.ok(Number.isInteger(l.input_tokens) && Number.isInteger(l.output_tokens), `usage counted: ${JSON.stringify(l)}`);
    }

    const all = [...ids.red, ...ids.plain];
    const sql = `SELECT request_id, tenant, redactions FROM usage_records WHERE request_id IN (${all.map((id) => `'${id}'`).join(', ')})`;
    const rows = await waitFor(async () => {
      const r = await sqliteRowsRetried(dbFile, sql);
      return r.length === all.length ? r : null;
    }, 5000, 50);
    assert.ok(rows, 'a usage record for every request');
    for (const row of rows) {
      assert.equal(row.redactions, row.tenant === 'red' ? REDACTIONS : 0, `usage_records.redactions of ${row.request_id} (${row.tenant})`);
    }
  });

  test('an OpenAI client of the redacting tenant keeps every other member byte for byte (only messages change)', T, async () => {
    // Members the IR does not model (metadata, store, service_tier) and number spellings must
    // survive redaction: only the messages array is rewritten.
    const raw =
      '{"model":"chat","temperature":0.30,"metadata":{"team":"ops"},"store":false,' +
      `"service_tier":"default","user":"u-1","messages":${JSON.stringify(OAI_MSGS)}}`;
    const { out, up } = await upstreamOf(async () => {
      const res = await fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.red}` },
        body: raw,
      });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(out.status, 200, JSON.stringify(out.body));
    assertRedacted(up);
    const head = raw.slice(0, raw.indexOf('"messages":')).replace('"model":"chat"', '"model":"m-red"');
    assert.ok(up.rawBody.startsWith(head), `every member before messages keeps its bytes: ${up.rawBody}`);
    assert.ok(up.rawBody.endsWith('}'), up.rawBody);
  });
});

// ---------------------------------------------------------------------------------------------
// Exposure target.

describe('exposure: max_provider_share with enforce', () => {
  const N = 80;
  let PA;
  let PB;
  let gw;
  let dbFile;
  const keys = {};
  const seen = {};

  before(async () => {
    PA = await scripted('PA');
    PB = await scripted('PB');
    dbFile = path.join(tmpDir(), 'ledger.db');
    const yaml = [
      'server: {listen: "127.0.0.1:0", workers: 2, drain_timeout: 5s}',
      `storage: {ledger: "sqlite:${dbFile}", flush_interval: 50ms}`,
      `admin: {token: "${ADMIN}"}`,
      'providers:',
      `  pa: {type: openai-compatible, base_url: "${PA.baseURL}", api_key: "sk-pa-upstream"}`,
      `  pb: {type: openai-compatible, base_url: "${PB.baseURL}", api_key: "sk-pb-upstream"}`,
      'routes:',
      '  - name: mix',
      '    core: [{target: pa/m, weight: 9}, {target: pb/m, weight: 1}]',
      'tenants:',
      '  - {name: capped, policy: {max_provider_share: 0.5, enforce: true, share_window: 10m}}',
      '  - {name: watched, policy: {max_provider_share: 0.5, share_window: 10m}}',
      '',
    ].join('\n');
    const cfg = configFile(yaml);
    for (const t of ['capped', 'watched']) keys[t] = await createKey(cfg, t);
    gw = await gateway(yaml);
  });

  test(`${N} sequential requests on a 9:1 route: enforced tenant near 50 % on pa, the other near 90 %`, T, async () => {
    for (const tenant of ['capped', 'watched']) {
      const counts = { pa: 0, pb: 0 };
      for (let i = 0; i < N; i++) {
        const r = await chat(gw, keys[tenant], { model: 'mix' });
        assert.equal(r.status, 200, r.text);
        counts[r.headers.get('x-switchyard-provider')] += 1;
      }
      assert.equal(counts.pa + counts.pb, N, JSON.stringify(counts));
      seen[tenant] = counts;
    }
    const capped = seen.capped.pa / N;
    const watched = seen.watched.pa / N;
    assert.ok(capped <= 0.6 && capped >= 0.35, `enforced: pa share ${capped} (${JSON.stringify(seen.capped)}) should be about 0.5`);
    assert.ok(watched >= 0.75, `not enforced: pa share ${watched} (${JSON.stringify(seen.watched)}) should be about 0.9`);
  });

  test('admin /admin/v1/tenants/<name> shows policy.shares; report exposure (CLI and admin) shows the target and over_target', T, async () => {
    assert.ok(seen.capped && seen.watched, 'the previous test ran');
    for (const tenant of ['capped', 'watched']) {
      const v = await admin(gw, 'GET', `/admin/v1/tenants/${tenant}`);
      assert.equal(v.status, 200, v.text);
      const p = v.json.policy;
      assert.equal(p.max_provider_share, 0.5);
      assert.equal(p.enforce, tenant === 'capped');
      assert.equal(p.share_window_ms, 600_000);
      assert.ok(Math.abs(p.shares.pa - seen[tenant].pa / N) < 1e-9, `${tenant} admin share of pa ${p.shares.pa} vs ${seen[tenant].pa}/${N}: ${v.text}`);
      assert.ok(Math.abs(p.shares.pb - seen[tenant].pb / N) < 1e-9, `${tenant} admin share of pb: ${v.text}`);
    }

    const reader = ledgerReader(`sqlite:${dbFile}`);
    assert.ok(await waitFor(async () => (await reader.count()) >= 2 * N, 5000, 50), 'every request is in the ledger');
    const w = reportWindow();
    const cli = await reportJson(gw.configPath, 'exposure', ['--since', w.since, '--until', w.until]);
    for (const tenant of ['capped', 'watched']) {
      const te = cli.tenants.find((x) => x.tenant === tenant);
      assert.ok(te, `tenant ${tenant} in the exposure report: ${JSON.stringify(cli.tenants)}`);
      assert.equal(te.requests, N);
      assert.equal(te.max_provider_share, 0.5);
      const pa = te.providers.find((x) => x.provider === 'pa');
      assert.equal(pa.requests, seen[tenant].pa);
      assert.equal(te.over_target, te.requests_concentration.top_share > 0.5, `${tenant} over_target follows its top share`);
    }
    assert.equal(cli.tenants.find((x) => x.tenant === 'watched').over_target, true, 'the tenant without enforce is over its target');

    const res = await fetch(`${gw.origin}/admin/v1/reports/exposure?since=${w.since}&until=${w.until}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual(JSON.parse(text).tenants, cli.tenants, 'admin exposure report = the CLI');
  });

  test('the shares survive a restart (primed from the ledger)', T, async () => {
    assert.ok(seen.capped && seen.watched, 'the first test ran');
    const yaml = fs.readFileSync(gw.configPath, 'utf8');
    await stopClean(gw);
    gw = await gateway(yaml);
    for (const tenant of ['capped', 'watched']) {
      const v = await admin(gw, 'GET', `/admin/v1/tenants/${tenant}`);
      assert.equal(v.status, 200, v.text);
      const shares = v.json.policy.shares;
      assert.ok(Math.abs(shares.pa - seen[tenant].pa / N) < 1e-9 && Math.abs(shares.pb - seen[tenant].pb / N) < 1e-9, `${tenant}: ${JSON.stringify(shares)} vs ${JSON.stringify(seen[tenant])} of ${N}`);
    }
  });
});
