// Tenancy through the real gateway (issue #6): virtual keys and rate limits.
//
// One multi-tenant gateway (workers: 2, a temp SQLite ledger that also holds the keys, keys
// refreshed every 200 ms, the admin API on its own listener) serves every test of the first
// block; each rate-limit test has a tenant (or route) of its own, so no test drains a bucket
// another one counts on. The upstreams are the built-in simulator: `sim` answers at once,
// `slow` after 800 ms (to hold requests in flight).
//
//   keys      created with the CLI before start and with the admin API while running, used by the
//             OpenAI SDK (Bearer), @anthropic-ai/sdk 1.12.0 (its apiKey goes out as Bearer too) and
//             @anthropic-ai/sdk 0.137.0 (apiKey -> x-api-key); refused (401 in the caller's
//             protocol) when absent, malformed, unknown, wrong, revoked or expired; never stored
//             or logged in clear; tenant and key id in the access log and the ledger. (One test
//             fails on purpose until a known bug is fixed outside this file's reach: revoking by
//             a pasted full key puts the secret into the access log's `path`.)
//   limits    rpm / tpm / concurrency of a tenant under load from many keep-alive connections
//             (spread over both workers by the kernel: a per-worker limiter would admit about
//             twice the limit), within 1% of what the bucket allows, every 429 with Retry-After
//             and x-ratelimit-*; per-key and per-route scopes; a max_tokens that can never fit.
//   admin     tenant usage (rpm remaining, concurrency in flight), the separate admin listener.
//
// A second block runs a gateway without tenants (open mode) and `check-config`.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import Anthropic0137 from 'anthropic-sdk-0.137';

import { startGateway, killAllGateways, gatewayBinary } from './lib/gateway.mjs';
import { waitFor, isOpenAiErrorShape, sanitizerReports } from './lib/util.mjs';
import { sqliteRows } from './lib/ledger.mjs';

const run = promisify(execFile);

const ADMIN_TOKEN = 'adm-e2e-tenants-token';
const KEY_RE = /^sk-sy-([A-Za-z0-9]{12})_([A-Za-z0-9]{32})$/;
const REFRESH_MS = 200;
const SLOW_TTFT_MS = 800;
const LIMITS = {
  rpm: 300, // tenant rpm-t
  tpm: 300_000, // tenant tpm-t
  concurrency: 5, // tenant conc-t
  keyRpm: 10, // key_limits of tenant keyed
  routeRpm: 5, // route limited
  watchRpm: 100, // tenant watch (admin usage)
  watchConcurrency: 10,
  mixedRpm: 50, // tenant mixed (route limit refuses, tenant bucket untouched)
};

const tmpDirs = [];
function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-tenkeys-'));
  tmpDirs.push(dir);
  return dir;
}

after(async () => {
  await killAllGateways();
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** `switchyard <args>` -> {code, stdout, stderr}. */
async function cli(args) {
  try {
    const { stdout, stderr } = await run(gatewayBinary(), args, { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(err) };
  }
}

/**
 * One HTTP request with node:http (so a test chooses its connections: pass a keep-alive Agent to
 * share them, `agent: false` for a fresh one). Resolves with what the client saw, including the
 * local port of the connection it went over and when it started and ended.
 */
function request(origin, urlPath, { method = 'POST', key, headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h = { ...headers };
    if (data !== undefined) {
      h['content-type'] = 'application/json';
      h['content-length'] = Buffer.byteLength(data);
    }
    if (key !== undefined) h.authorization = `Bearer ${key}`;
    const startedAt = Date.now();
    let localPort = null;
    const req = http.request(new URL(urlPath, origin), { method, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json, startedAt, endedAt: Date.now(), localPort });
      });
    });
    req.on('socket', (s) => {
      const note = () => {
        localPort = s.localPort;
      };
      if (s.localPort) note();
      else s.once('connect', note);
    });
    req.on('error', reject);
    req.end(data);
  });
}

const chatBody = (model = 'chat', content = 'hi', extra = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });

/** A fetch for the SDKs that records the request headers each call sent. */
function recordingFetch() {
  const sent = [];
  const f = async (url, init = {}) => {
    sent.push({ url: String(url), headers: Object.fromEntries(new Headers(init.headers ?? {})) });
    return fetch(url, init);
  };
  return { fetch: f, sent };
}

/** Runs `n` calls of `one(i)` on `lanes` concurrent lanes; returns the results in call order. */
async function lanes(n, laneCount, one) {
  const out = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: laneCount }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

/** The error thrown by `fn` (fails when it does not throw). */
async function thrown(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to throw');
}

const countBy = (xs, f) => xs.reduce((m, x) => m.set(f(x), (m.get(f(x)) ?? 0) + 1), new Map());

// =============================================================================================
describe('multi-tenant gateway', () => {
  let dir;
  let dbPath;
  let cfgPath; // the same YAML as the gateway's, for the CLI
  let gw;
  let main; // origin of the main listener
  let admin; // origin of the admin listener
  let cliKey; // created with the CLI before start
  const allKeys = []; // every full key this file created (for the secret scans)
  const refusedSecrets = []; // secrets of well-formed keys that were presented and refused

  const diag = () => `\n--- gateway stderr (tail) ---\n${gw?.stderr().slice(-3000)}`;

  async function adminCall(method, urlPath, body, { origin = admin, token = ADMIN_TOKEN } = {}) {
    return request(origin, urlPath, { method, body, headers: token ? { authorization: `Bearer ${token}` } : {} });
  }

  async function createKey(tenant, extra = {}) {
    const r = await adminCall('POST', '/admin/v1/keys', { tenant, ...extra });
    assert.equal(r.status, 201, `POST /admin/v1/keys for ${tenant}: ${r.text}${diag()}`);
    const m = KEY_RE.exec(r.json.key);
    assert.ok(m, `key format: ${r.json.key}`);
    assert.equal(r.json.key_id, m[1], 'key_id is the id part of the key');
    assert.equal(r.json.tenant, tenant);
    allKeys.push(r.json.key);
    return r.json;
  }

  async function cliCreateKey(tenant, args = []) {
    const r = await cli(['keys', 'create', '--config', cfgPath, '--tenant', tenant, ...args]);
    assert.equal(r.code, 0, `keys create: ${r.stderr}`);
    const key = r.stdout.trim();
    assert.match(key, KEY_RE, 'keys create prints just the key on stdout');
    assert.match(r.stderr, /only time the key is shown/, 'the warning goes to stderr');
    allKeys.push(key);
    return key;
  }

  before(async () => {
    dir = tmpDir();
    dbPath = path.join(dir, 'ledger.db');
    const yaml = [
      'server: {listen: "127.0.0.1:0", workers: 2, drain_timeout: 5s}',
      `storage: {ledger: "sqlite:${dbPath}", flush_interval: 50ms}`,
      `keys: {refresh_interval: ${REFRESH_MS}ms}`,
      `admin: {token: "${ADMIN_TOKEN}", listen: "127.0.0.1:0"}`,
      'providers:',
      '  sim: {type: simulator, ttft: 0ms, tokens: 5}',
      `  slow: {type: simulator, ttft: ${SLOW_TTFT_MS}ms, tokens: 5}`,
      'routes:',
      '  - {name: chat, target: sim/sim-1}',
      '  - {name: slow, target: slow/slow-1}',
      `  - {name: limited, target: sim/sim-1, limits: {rpm: ${LIMITS.routeRpm}}}`,
      'tenants:',
      '  - {name: acme}',
      '  - {name: other}',
      `  - {name: rpm-t, limits: {rpm: ${LIMITS.rpm}}}`,
      `  - {name: tpm-t, limits: {tpm: ${LIMITS.tpm}}}`,
      `  - {name: conc-t, limits: {concurrency: ${LIMITS.concurrency}}}`,
      `  - {name: keyed, key_limits: {rpm: ${LIMITS.keyRpm}}}`,
      `  - {name: watch, limits: {rpm: ${LIMITS.watchRpm}, concurrency: ${LIMITS.watchConcurrency}}}`,
      `  - {name: mixed, limits: {rpm: ${LIMITS.mixedRpm}}}`,
      '',
    ].join('\n');
    cfgPath = path.join(dir, 'switchyard.yaml');
    fs.writeFileSync(cfgPath, yaml);
    // A key made before the gateway exists: loaded from the database at start.
    cliKey = await cliCreateKey('acme', ['--name', 'before start', '--expires', '1d']);
    gw = await startGateway({ yaml });
    // startGateway() takes the first "listening on" line; with admin.listen that is the admin
    // API's. Read both addresses from stderr.
    const found = await waitFor(() => {
      const s = gw.stderr();
      const m = /(?<!admin API )listening on ([0-9.]+):(\d+) \(workers/.exec(s);
      const a = /admin API listening on ([0-9.]+):(\d+)/.exec(s);
      return m && a ? { main: `http://${m[1]}:${m[2]}`, admin: `http://${a[1]}:${a[2]}` } : null;
    }, 5000);
    assert.ok(found, `both listeners logged${diag()}`);
    ({ main, admin } = found);
    assert.notEqual(main, admin);
  });

  after(async () => {
    if (!gw) return;
    const code = await gw.stop('SIGTERM', 10_000);
    gw.cleanup();
    assert.equal(code, 0, `exit code after SIGTERM${diag()}`);
    assert.deepEqual(sanitizerReports(gw.stderr()), [], 'sanitizer reports on stderr');
  });

  // -------------------------------------------------------------------------------------------
  test('keys: a CLI key (made before start) and an admin-API key work with the OpenAI and Anthropic SDKs', async () => {
    const made = await createKey('acme', { name: 'while running' });
    assert.equal(made.status, 'active');
    assert.equal(made.expires_at, null);
    assert.match(made.warning, /only time/);

    for (const key of [cliKey, made.key]) {
      // OpenAI SDK: apiKey -> Authorization: Bearer.
      const rec = recordingFetch();
      const oai = new OpenAI({ apiKey: key, baseURL: `${main}/v1`, maxRetries: 0, fetch: rec.fetch });
      const c = await oai.chat.completions.create(chatBody());
      assert.equal(c.object, 'chat.completion');
      assert.ok(c.choices[0].message.content.length > 0);
      const models = await oai.models.list();
      assert.ok(models.data.some((m) => m.id === 'chat'), '/v1/models lists the routes for a key holder');
      assert.equal(rec.sent[0].headers.authorization, `Bearer ${key}`);

      // @anthropic-ai/sdk 0.137.0: apiKey -> x-api-key.
      const recA = recordingFetch();
      const antX = new Anthropic0137({ apiKey: key, baseURL: main, maxRetries: 0, fetch: recA.fetch });
      const m1 = await antX.messages.create({ model: 'chat', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(m1.type, 'message');
      assert.equal(m1.role, 'assistant');
      assert.equal(recA.sent[0].headers['x-api-key'], key, '0.137 sends the key as x-api-key');
      assert.equal(recA.sent[0].headers.authorization, undefined);

      // @anthropic-ai/sdk 1.12.0: apiKey -> Authorization: Bearer (this version's choice).
      const recB = recordingFetch();
      const antB = new Anthropic({ apiKey: key, baseURL: main, maxRetries: 0, fetch: recB.fetch });
      const m2 = await antB.messages.create({ model: 'chat', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(m2.type, 'message');
      assert.equal(recB.sent[0].headers.authorization, `Bearer ${key}`);
      assert.equal(recB.sent[0].headers['x-api-key'], undefined);
    }

    // The CLI key's expiry (--expires 1d) is listed, and both keys are active.
    const list = await adminCall('GET', '/admin/v1/keys?tenant=acme');
    assert.equal(list.status, 200);
    const cliId = KEY_RE.exec(cliKey)[1];
    const cliRec = list.json.data.find((k) => k.key_id === cliId);
    assert.ok(cliRec, 'the CLI key is listed');
    assert.equal(cliRec.name, 'before start');
    assert.equal(cliRec.status, 'active');
    const expiresIn = Date.parse(cliRec.expires_at) - Date.now();
    assert.ok(expiresIn > 86_400_000 - 120_000 && expiresIn <= 86_400_000, `--expires 1d: expires_at ${cliRec.expires_at}`);
    assert.ok(list.json.data.every((k) => k.tenant === 'acme'), '?tenant= filters');
  });

  test('keys: none, malformed, unknown or wrong secret -> 401 in the caller\'s protocol; /v1/models too', async () => {
    const good = await createKey('acme', { name: 'for wrong-secret' });
    const id = good.key_id;
    const b62 = (n) => Array.from(crypto.randomBytes(n), (x) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[x % 62]).join('');
    let wrongSecret = `sk-sy-${id}_${b62(32)}`;
    while (wrongSecret === good.key) wrongSecret = `sk-sy-${id}_${b62(32)}`;
    const cases = [
      ['no key', null],
      ['malformed', 'sk-sy-short'],
      ['provider-style key', 'sk-proj-0123456789abcdefghijklmnopqrstuvwxyz'],
      ['unknown key', `sk-sy-${b62(12)}_${b62(32)}`],
      ['wrong secret', wrongSecret],
    ];
    refusedSecrets.push(KEY_RE.exec(cases[3][1])[2], KEY_RE.exec(wrongSecret)[2]);
    const messages = new Set();
    for (const [what, key] of cases) {
      // OpenAI SDK (no key: the Authorization header explicitly omitted).
      const rec = recordingFetch();
      const oai = new OpenAI({
        apiKey: key ?? 'unused',
        baseURL: `${main}/v1`,
        maxRetries: 0,
        fetch: rec.fetch,
        ...(key === null ? { defaultHeaders: { Authorization: null } } : {}),
      });
      const err = await thrown(() => oai.chat.completions.create(chatBody()));
      assert.ok(err instanceof OpenAI.AuthenticationError, `${what}: got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 401);
      assert.equal(rec.sent[0].headers.authorization, key === null ? undefined : `Bearer ${key}`);
      assert.equal(typeof err.error.message, 'string');
      assert.equal(err.error.type, 'authentication_error', `${what}: ${JSON.stringify(err.error)}`);
      assert.equal(err.code, key === null ? 'missing_api_key' : 'invalid_api_key', `${what}: ${JSON.stringify(err.error)}`);
      if (key !== null) messages.add(err.error.message);

      // Anthropic SDK (x-api-key; no key: both auth headers explicitly omitted).
      const recA = recordingFetch();
      const ant = new Anthropic0137({
        apiKey: key,
        authToken: null,
        baseURL: main,
        maxRetries: 0,
        fetch: recA.fetch,
        ...(key === null ? { defaultHeaders: { Authorization: null, 'x-api-key': null } } : {}),
      });
      const aerr = await thrown(() => ant.messages.create({ model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
      assert.ok(aerr instanceof Anthropic0137.AuthenticationError, `${what}: got ${aerr?.constructor?.name}: ${aerr?.message}`);
      assert.equal(aerr.status, 401);
      assert.equal(recA.sent[0].headers['x-api-key'], key ?? undefined);
      assert.equal(aerr.error.type, 'error', `${what}: ${JSON.stringify(aerr.error)}`);
      assert.equal(aerr.error.error.type, 'authentication_error');
      assert.equal(typeof aerr.error.error.message, 'string');

      // /v1/models needs a key too, answered in the caller's protocol.
      const hdr = key === null ? {} : { authorization: `Bearer ${key}` };
      const mo = await request(main, '/v1/models', { method: 'GET', headers: hdr });
      assert.equal(mo.status, 401, `${what}: GET /v1/models`);
      assert.ok(isOpenAiErrorShape(mo.json), mo.text);
      const ma = await request(main, '/v1/models', { method: 'GET', headers: { ...hdr, 'anthropic-version': '2023-06-01' } });
      assert.equal(ma.status, 401);
      assert.equal(ma.json?.type, 'error', ma.text);
      assert.equal(ma.json.error.type, 'authentication_error');
    }
    // Every bad key gets the same answer: a caller cannot tell unknown from wrong secret.
    assert.deepEqual([...messages], ['Invalid API key.']);
    const ok = await request(main, '/v1/models', { method: 'GET', key: good.key });
    assert.equal(ok.status, 200);
    assert.ok(ok.json.data.some((m) => m.id === 'chat'));
  });

  let revokedByApi;
  test('keys: revoked through the admin API -> refused at once; through the CLI -> within a few refresh intervals', async () => {
    // Admin API.
    const k = await createKey('acme', { name: 'revoke via api' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(main, '/v1/chat/completions', { key: k.key, body: chatBody(), agent });
      assert.equal(first.status, 200, first.text);
      const del = await adminCall('DELETE', `/admin/v1/keys/${k.key_id}`);
      assert.equal(del.status, 200, del.text);
      assert.deepEqual(del.json, { key_id: k.key_id, revoked: true, already_revoked: false });
      // At once: on the connection that used it, and on fresh connections (either worker).
      const same = await request(main, '/v1/chat/completions', { key: k.key, body: chatBody(), agent });
      assert.equal(same.localPort, first.localPort, 'same keep-alive connection');
      assert.equal(same.status, 401, same.text);
      const fresh = await Promise.all(
        Array.from({ length: 8 }, () => request(main, '/v1/chat/completions', { key: k.key, body: chatBody(), agent: false })),
      );
      assert.deepEqual(fresh.map((r) => r.status), Array(8).fill(401));
      assert.equal(fresh[0].json.error.code, 'invalid_api_key');
    } finally {
      agent.destroy();
    }
    const again = await adminCall('DELETE', `/admin/v1/keys/${k.key_id}`);
    assert.equal(again.status, 200);
    assert.equal(again.json.already_revoked, true);
    assert.equal((await adminCall('DELETE', '/admin/v1/keys/AAAAAAAAAAAA')).status, 404);
    // Revoked again later: a refresh from the database never brings a revoked key back.
    revokedByApi = k.key;
    const listed = (await adminCall('GET', '/admin/v1/keys?tenant=acme')).json.data.find((x) => x.key_id === k.key_id);
    assert.equal(listed.status, 'revoked');
    assert.ok(listed.revoked_at);

    // CLI, in another process while the gateway runs: the gateway learns of the new key and of
    // its revocation by the periodic refresh (every 200 ms).
    const key = await cliCreateKey('acme', ['--name', 'revoke via cli']);
    const keyId = KEY_RE.exec(key)[1];
    const agent2 = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const t0 = Date.now();
      const usable = await waitFor(async () => (await request(main, '/v1/chat/completions', { key, body: chatBody(), agent: agent2 })).status === 200, 10 * REFRESH_MS, 20);
      assert.ok(usable, `a key created by the CLI is accepted within 10 refresh intervals${diag()}`);
      const learned = Date.now() - t0;
      assert.ok(learned <= 5 * REFRESH_MS, `new CLI key accepted after ${learned} ms (refresh ${REFRESH_MS} ms)`);

      const rv = await cli(['keys', 'revoke', '--config', cfgPath, keyId]);
      assert.equal(rv.code, 0, rv.stderr);
      const t1 = Date.now();
      const refused = await waitFor(async () => {
        const r = await request(main, '/v1/chat/completions', { key, body: chatBody(), agent: agent2 });
        assert.ok(r.status === 200 || r.status === 401, `status ${r.status}: ${r.text}`);
        return r.status === 401;
      }, 10 * REFRESH_MS, 20);
      const took = Date.now() - t1;
      assert.ok(refused, `a key revoked by the CLI is refused within 10 refresh intervals${diag()}`);
      assert.ok(took <= 5 * REFRESH_MS, `CLI revocation took effect after ${took} ms (refresh ${REFRESH_MS} ms)`);
      // And stays refused, on every worker.
      const fresh = await Promise.all(
        Array.from({ length: 6 }, () => request(main, '/v1/chat/completions', { key, body: chatBody(), agent: false })),
      );
      assert.deepEqual(fresh.map((r) => r.status), Array(6).fill(401));
    } finally {
      agent2.destroy();
    }
    // Several refreshes later, the key revoked through the admin API is still refused.
    const still = await request(main, '/v1/chat/completions', { key: revokedByApi, body: chatBody(), agent: false });
    assert.equal(still.status, 401);
  });

  test('keys: a key with an expiry works before it and is refused from it on', async () => {
    // Bad expiries are refused by the admin API.
    const past = await adminCall('POST', '/admin/v1/keys', { tenant: 'acme', expires: '2020-01-01T00:00:00Z' });
    assert.equal(past.status, 400, past.text);
    assert.match(past.json.error.message, /`expires` must be in the future/);
    assert.equal(past.json.error.param, 'expires');
    const garbled = await adminCall('POST', '/admin/v1/keys', { tenant: 'acme', expires: 'tomorrow' });
    assert.equal(garbled.status, 400, garbled.text);
    assert.equal(garbled.json.error.param, 'expires');
    assert.match(garbled.json.error.message, /^`expires`: "tomorrow" is not a duration/, 'names the JSON field, not the CLI flag');
    const unknownTenant = await adminCall('POST', '/admin/v1/keys', { tenant: 'nobody' });
    assert.equal(unknownTenant.status, 400, unknownTenant.text);

    const expiresMs = Math.ceil((Date.now() + 2000) / 1000) * 1000; // whole seconds, 2-3 s ahead
    const iso = new Date(expiresMs).toISOString().replace('.000Z', 'Z');
    const k = await createKey('acme', { name: 'expiring', expires: iso });
    assert.equal(k.expires_at, iso);
    assert.equal(k.status, 'active');

    const seen = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const done = await waitFor(async () => {
        const r = await request(main, '/v1/chat/completions', { key: k.key, body: chatBody(), agent });
        seen.push(r);
        assert.ok(r.status === 200 || r.status === 401, `status ${r.status}: ${r.text}`);
        return r.status === 401;
      }, expiresMs - Date.now() + 3000, 50);
      assert.ok(done, 'the key was refused after its expiry');
    } finally {
      agent.destroy();
    }
    const oks = seen.filter((r) => r.status === 200);
    const firstRefusal = seen.find((r) => r.status === 401);
    assert.ok(oks.length >= 5, `the key worked before its expiry (${oks.length} requests)`);
    // Every accepted request was checked before the expiry, so it started before it; the
    // refusal was checked at or after it, so it ended after it, and promptly.
    assert.ok(oks.every((r) => r.startedAt < expiresMs), 'no request was accepted after the expiry');
    assert.ok(seen.indexOf(firstRefusal) === seen.length - 1 && seen.slice(0, -1).every((r) => r.status === 200), 'accepted, then refused');
    assert.ok(firstRefusal.endedAt >= expiresMs, `refused at ${firstRefusal.endedAt}, before the expiry ${expiresMs}`);
    assert.ok(firstRefusal.startedAt <= expiresMs + 500, `refused ${firstRefusal.startedAt - expiresMs} ms after the expiry`);
    assert.equal(firstRefusal.json.error.code, 'invalid_api_key');
    const listed = (await adminCall('GET', '/admin/v1/keys?tenant=acme')).json.data.find((x) => x.key_id === k.key_id);
    assert.equal(listed.status, 'expired');
  });

  test('keys: access log and ledger carry tenant and key id; refused requests reach no provider', async () => {
    const k = await createKey('other', { name: 'audit' });
    const ids = { oai: `tk-oai-${Date.now()}`, ant: `tk-ant-${Date.now()}`, bad: `tk-bad-${Date.now()}` };
    const r1 = await request(main, '/v1/chat/completions', { key: k.key, headers: { 'x-request-id': ids.oai }, body: chatBody() });
    assert.equal(r1.status, 200, r1.text);
    const r2 = await request(main, '/v1/messages', {
      headers: { 'x-api-key': k.key, 'anthropic-version': '2023-06-01', 'x-request-id': ids.ant },
      body: { model: 'chat', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(r2.status, 200, r2.text);
    const wrong = k.key.slice(0, -1) + (k.key.endsWith('a') ? 'b' : 'a');
    const r3 = await request(main, '/v1/chat/completions', { key: wrong, headers: { 'x-request-id': ids.bad }, body: chatBody() });
    assert.equal(r3.status, 401);
    refusedSecrets.push(KEY_RE.exec(wrong)[2]);

    const logged = await waitFor(() => {
      const lines = gw.accessLog().filter((l) => Object.values(ids).includes(l.request_id));
      return lines.length === 3 ? lines : null;
    }, 3000);
    assert.ok(logged, 'three access-log lines');
    const byId = Object.fromEntries(logged.map((l) => [l.request_id, l]));
    for (const id of [ids.oai, ids.ant]) {
      assert.equal(byId[id].tenant, 'other', JSON.stringify(byId[id]));
      assert.equal(byId[id].key_id, k.key_id);
      assert.equal(byId[id].status, 200);
    }
    assert.equal(byId[ids.ant].inbound, 'anthropic-messages');
    assert.equal(byId[ids.bad].status, 401);
    assert.equal(byId[ids.bad].error, 'invalid_api_key');
    assert.equal(byId[ids.bad].attempts, 0);

    // The ledger: one record per request that reached a provider, with tenant and key id.
    let rows;
    await waitFor(async () => {
      rows = await sqliteRows(dbPath, `SELECT request_id, tenant, key_id, inbound, status FROM usage_records WHERE request_id IN ('${ids.oai}','${ids.ant}','${ids.bad}') ORDER BY id`);
      return rows.length >= 2;
    }, 5000, 50);
    assert.deepEqual(rows, [
      { request_id: ids.oai, tenant: 'other', key_id: k.key_id, inbound: 'openai-chat', status: 200 },
      { request_id: ids.ant, tenant: 'other', key_id: k.key_id, inbound: 'anthropic-messages', status: 200 },
    ]);
    // Everything else in the ledger so far also names a configured tenant and a real key.
    const others = await sqliteRows(dbPath, "SELECT DISTINCT tenant, key_id FROM usage_records");
    const keyIds = new Set(allKeys.map((x) => KEY_RE.exec(x)[1]));
    for (const row of others) {
      assert.ok(keyIds.has(row.key_id), `ledger key_id ${row.key_id} is one of the keys made here`);
      assert.notEqual(row.tenant, 'default');
    }
  });

  test('keys: neither the database nor the logs contain any secret; only HMAC-SHA256(salt, secret) is stored', async () => {
    assert.ok(allKeys.length >= 6, `keys made so far: ${allKeys.length}`);
    const rows = await sqliteRows(dbPath, 'SELECT * FROM virtual_keys');
    const byId = new Map(rows.map((r) => [r.key_id, r]));
    for (const key of allKeys) {
      const [, id, secret] = KEY_RE.exec(key);
      const row = byId.get(id);
      assert.ok(row, `key ${id} is stored`);
      assert.match(row.salt, /^[0-9a-f]{32}$/);
      assert.match(row.hash, /^[0-9a-f]{64}$/);
      const expected = crypto.createHmac('sha256', Buffer.from(row.salt, 'hex')).update(secret).digest('hex');
      assert.equal(row.hash, expected, `the stored hash of ${id} is HMAC-SHA256(salt, secret)`);
    }
    // Every byte of the database (main file, WAL, shared memory) and its SQL dump.
    const files = fs.readdirSync(dir).filter((f) => f.startsWith('ledger.db'));
    const blobs = files.map((f) => [f, fs.readFileSync(path.join(dir, f))]);
    const dump = (await run('sqlite3', ['-readonly', dbPath, '.dump'], { maxBuffer: 64 << 20 })).stdout;
    assert.match(dump, /CREATE TABLE virtual_keys/);
    const logs = gw.stdout() + gw.stderr();
    for (const key of allKeys) {
      const secret = KEY_RE.exec(key)[2];
      for (const [f, bytes] of blobs) {
        assert.equal(bytes.indexOf(secret), -1, `the secret of a key is in ${f}`);
        assert.equal(bytes.indexOf(secret.toLowerCase()), -1, `the lower-cased secret is in ${f}`);
        assert.equal(bytes.indexOf(Buffer.from(secret).toString('hex')), -1, `the hex secret is in ${f}`);
      }
      assert.ok(!dump.includes(secret), 'a secret is in the SQL dump');
      assert.ok(!logs.includes(secret), 'a secret is in the gateway\'s stdout/stderr');
    }
    assert.equal(refusedSecrets.length, 3);
    for (const secret of refusedSecrets) {
      assert.ok(!logs.includes(secret), 'the secret of a refused key is in the gateway\'s stdout/stderr');
    }
    // The listings never show a secret, a salt or a hash.
    const list = await adminCall('GET', '/admin/v1/keys');
    const cliList = await cli(['keys', 'list', '--config', cfgPath]);
    assert.equal(cliList.code, 0, cliList.stderr);
    for (const key of allKeys) {
      const [, id, secret] = KEY_RE.exec(key);
      assert.ok(list.json.data.some((k) => k.key_id === id));
      assert.ok(cliList.stdout.includes(id), `keys list names ${id}`);
      assert.ok(!list.text.includes(secret) && !cliList.stdout.includes(secret), 'a listing shows a secret');
      const row = byId.get(id);
      assert.ok(!list.text.includes(row.hash) && !list.text.includes(row.salt), 'a listing shows a hash or salt');
      assert.ok(!cliList.stdout.includes(row.hash) && !cliList.stdout.includes(row.salt));
    }
    for (const k of list.json.data) {
      assert.deepEqual(Object.keys(k).sort(), ['created_at', 'expires_at', 'key_id', 'name', 'revoked_at', 'status', 'tenant']);
    }
  });

  test('keys: revoking by a pasted full key (as `keys revoke` allows) works and keeps the secret out of the logs', async () => {
    const k = await createKey('other', { name: 'revoke by full key' });
    assert.equal((await request(main, '/v1/chat/completions', { key: k.key, body: chatBody() })).status, 200);
    const del = await adminCall('DELETE', `/admin/v1/keys/${k.key}`);
    assert.equal(del.status, 200, `DELETE /admin/v1/keys/<full key>: ${del.text}`);
    assert.deepEqual(del.json, { key_id: k.key_id, revoked: true, already_revoked: false }, 'reduced to its id, never echoed');
    assert.equal((await request(main, '/v1/chat/completions', { key: k.key, body: chatBody() })).status, 401);
    // The gateway writes the request path into its access log: the key's secret must not be there.
    const secret = KEY_RE.exec(k.key)[2];
    const line = await waitFor(() => gw.accessLog().find((l) => l.method === 'DELETE' && l.path.startsWith('/admin/v1/keys/') && l.path.includes(k.key_id)), 3000);
    assert.ok(line, 'the DELETE is access-logged');
    assert.ok(
      !(gw.stdout() + gw.stderr()).includes(secret),
      `BUG (src/server/endpoints.cc / access_log.cc, not fixed here): the access log's "path" of ` +
        `DELETE /admin/v1/keys/{key} holds the full key, secret included: ${line.path.replace(secret, '<SECRET>')}`,
    );
  });

  // -------------------------------------------------------------------------------------------
  test('rpm: a tenant\'s requests per minute hold within 1% under 24 keep-alive connections', async (t) => {
    const k = await createKey('rpm-t');
    const limit = LIMITS.rpm;
    const N = 450;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 24 });
    let results;
    const t0 = Date.now();
    try {
      results = await lanes(N, 24, () => request(main, '/v1/chat/completions', { key: k.key, body: chatBody(), agent }));
    } finally {
      agent.destroy();
    }
    const elapsed = Date.now() - t0;
    const statuses = countBy(results, (r) => r.status);
    const ok = statuses.get(200) ?? 0;
    const refused = statuses.get(429) ?? 0;
    assert.equal(ok + refused, N, `only 200 and 429: ${JSON.stringify([...statuses])}`);
    const refill = Math.floor((limit * elapsed) / 60_000);
    t.diagnostic(`rpm ${limit}: ${ok} admitted, ${refused} refused of ${N} in ${elapsed} ms (refill ${refill})`);
    assert.ok(ok >= Math.ceil(limit * 0.99), `admitted ${ok} of ${N} (limit ${limit})`);
    assert.ok(ok <= limit + refill + 1, `admitted ${ok}, at most ${limit} + ${refill} refilled in ${elapsed} ms`);
    assert.ok(new Set(results.map((r) => r.localPort)).size >= 24, 'the load used at least 24 connections');

    for (const r of results) {
      assert.equal(r.headers['x-ratelimit-limit-requests'], String(limit), `status ${r.status}`);
      assert.match(r.headers['x-ratelimit-reset-requests'] ?? '', /^(\d+ms|[\dhm.]+s)$/);
      if (r.status === 200) {
        const rem = Number(r.headers['x-ratelimit-remaining-requests']);
        assert.ok(Number.isInteger(rem) && rem >= 0 && rem < limit, `remaining ${rem}`);
      } else {
        const ra = r.headers['retry-after'];
        // One request comes back every 60/300 s = 200 ms: rounded up to whole seconds, 1.
        assert.equal(ra, '1', 'Retry-After in whole seconds, rounded up');
        assert.equal(r.headers['x-ratelimit-remaining-requests'], '0');
        assert.ok(isOpenAiErrorShape(r.json), r.text);
        assert.equal(r.json.error.code, 'rate_limit_exceeded');
        assert.equal(r.json.error.type, 'rate_limit_error');
        assert.match(r.json.error.message, /tenant rpm-t: requests per minute/);
      }
    }
    const oks = results.filter((r) => r.status === 200).map((r) => Number(r.headers['x-ratelimit-remaining-requests']));
    assert.equal(Math.max(...oks), limit - 1, 'the first admitted request left limit - 1');
    assert.equal(Math.min(...oks), 0, 'the bucket was drained to 0');

    // Every 429 is in the access log with the tenant and the key.
    const logged = await waitFor(() => {
      const n = gw.accessLog().filter((l) => l.key_id === k.key_id && l.status === 429).length;
      return n === refused ? n : null;
    }, 3000);
    assert.equal(logged, refused, 'one access-log line per 429');
    const line = gw.accessLog().find((l) => l.key_id === k.key_id && l.status === 429);
    assert.equal(line.tenant, 'rpm-t');
    assert.equal(line.error, 'rate_limit_exceeded');

    // The OpenAI SDK surfaces the 429 as RateLimitError with the headers. (The bucket refills one
    // request every 200 ms, so a call may still pass; the next one right after it cannot.)
    const oai = new OpenAI({ apiKey: k.key, baseURL: `${main}/v1`, maxRetries: 0 });
    let err;
    for (let i = 0; i < 5 && !err; i++) {
      try {
        await oai.chat.completions.create(chatBody());
      } catch (e) {
        err = e;
      }
    }
    assert.ok(err instanceof OpenAI.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.equal(err.headers.get('retry-after'), '1');
    assert.equal(err.headers.get('x-ratelimit-limit-requests'), String(limit));
    assert.equal(err.headers.get('x-ratelimit-remaining-requests'), '0');
    // Retry-After is a promise: after waiting that long, the call goes through. (The wait is
    // what is under test, so it is a fixed one.)
    await new Promise((r) => setTimeout(r, Number(err.headers.get('retry-after')) * 1000));
    const c = await oai.chat.completions.create(chatBody());
    assert.equal(c.object, 'chat.completion');
  });

  test('tpm: a tenant\'s tokens per minute (reserved before, settled with the usage after) hold within 1%', async (t) => {
    const k = await createKey('tpm-t');
    const T = LIMITS.tpm;
    const maxTokens = 5; // = the simulator's answer length, so usage = prompt + 5
    const content = 'abcd'.repeat(1000); // 4,000 characters: the simulator bills 1,000 prompt tokens
    const body = JSON.stringify(chatBody('chat', content, { max_tokens: maxTokens }));
    const bytes = Buffer.byteLength(body);
    const reserved = Math.ceil(bytes / 4) + maxTokens; // the gateway's estimate
    const used = Math.ceil(content.length / 4) + maxTokens; // what the simulator reports
    const C = 24;
    const N = 450;
    const agent = new http.Agent({ keepAlive: true, maxSockets: C });
    let results;
    const t0 = Date.now();
    try {
      results = await lanes(N, C, () => request(main, '/v1/chat/completions', { key: k.key, body, agent }));
    } finally {
      agent.destroy();
    }
    const elapsed = Date.now() - t0;
    const statuses = countBy(results, (r) => r.status);
    const ok = statuses.get(200) ?? 0;
    assert.equal(ok + (statuses.get(429) ?? 0), N, `only 200 and 429: ${JSON.stringify([...statuses])}`);
    for (const r of results.filter((x) => x.status === 200)) {
      assert.equal(r.json.usage.total_tokens, used, 'the simulator\'s usage is what the test assumes');
    }
    // What the bucket allows. Each admission needs `reserved` free tokens; a settled request holds
    // `used`, one in flight `reserved` (at most C at once). So the last admission found
    //   (ok - 1) * used + reserved <= T + refill,
    // and the first refusal found at most ok * used + C * (reserved - used) + reserved > T.
    const refill = (T * elapsed) / 60_000;
    const upper = Math.floor((T + refill - reserved) / used) + 1;
    const lower = Math.floor((T - reserved - C * (reserved - used)) / used) + 1;
    const nominal = T / used;
    t.diagnostic(`tpm ${T}: ${ok} admitted of ${N} in ${elapsed} ms; reserved ${reserved}, used ${used}; bounds [${lower}, ${upper}]`);
    assert.ok(lower >= nominal * 0.99, `test design: lower bound ${lower} within 1% of ${nominal.toFixed(1)}`);
    assert.ok(ok >= lower, `admitted ${ok}, at least ${lower} (T ${T}, reserved ${reserved}, used ${used})`);
    assert.ok(ok <= upper, `admitted ${ok}, at most ${upper} (refill ${refill.toFixed(0)} in ${elapsed} ms)`);
    assert.ok(ok >= Math.floor(nominal * 0.99) && ok <= (T + refill) / used * 1.01, `admitted ${ok} within 1% of ${nominal.toFixed(1)} + refill`);

    for (const r of results) {
      assert.equal(r.headers['x-ratelimit-limit-tokens'], String(T));
      assert.equal(r.headers['x-ratelimit-limit-requests'], undefined, 'no rpm limit, no request headers');
      assert.match(r.headers['x-ratelimit-reset-tokens'] ?? '', /^(\d+ms|[\dhm.]+s)$/);
      if (r.status === 429) {
        assert.ok(Number(r.headers['x-ratelimit-remaining-tokens']) < reserved, 'refused only when the reservation does not fit');
        assert.ok(Number(r.headers['retry-after']) >= 1);
        assert.equal(r.json.error.code, 'rate_limit_exceeded');
        assert.match(r.json.error.message, /tenant tpm-t: tokens per minute/);
      } else {
        assert.ok(Number(r.headers['x-ratelimit-remaining-tokens']) <= T - reserved);
      }
    }

    // After settling, the admin API shows the bucket charged with the real usage, not the estimate.
    // (A request is settled just after its response is written: poll until the last ones are.)
    let charged;
    const settled = await waitFor(async () => {
      const view = (await adminCall('GET', '/admin/v1/tenants/tpm-t')).json;
      charged = view.usage.tokens.limit - view.usage.tokens.remaining;
      return charged <= ok * used;
    }, 2000, 20);
    assert.ok(settled, `charged ${charged} tokens, more than the ${ok * used} used`);
    const sinceStart = (T * (Date.now() - t0)) / 60_000;
    assert.ok(charged >= ok * used - sinceStart - 1, `charged ${charged}, settled usage ${ok * used}, refill ${sinceStart.toFixed(0)}`);

    // A request whose estimate can never fit is refused for good, however large max_tokens is
    // (INT64_MAX must not wrap the estimate around to a small number), in either protocol.
    for (const maxTok of [String(T + 1), '9223372036854775807']) {
      const huge = `{"model":"chat","max_tokens":${maxTok},"messages":[{"role":"user","content":"hi"}]}`;
      const r = await request(main, '/v1/chat/completions', { key: k.key, body: huge });
      assert.equal(r.status, 429, `max_tokens ${maxTok}: ${r.status} ${r.text}`);
      assert.match(r.json.error.message, /can never fit/);
      assert.equal(r.headers['x-should-retry'], 'false');
      const a = await request(main, '/v1/messages', {
        headers: { 'x-api-key': k.key, 'anthropic-version': '2023-06-01' },
        body: `{"model":"chat","max_tokens":${maxTok},"messages":[{"role":"user","content":"hi"}]}`,
      });
      assert.equal(a.status, 429, `anthropic max_tokens ${maxTok}: ${a.status} ${a.text}`);
      assert.equal(a.json.error.type, 'rate_limit_error');
    }
  });

  test('concurrency: 30 simultaneous requests, 5 slots: 5 served, 25 refused at once; slots come back', async () => {
    const k = await createKey('conc-t');
    const limit = LIMITS.concurrency;
    const wave = await Promise.all(
      Array.from({ length: 30 }, () => request(main, '/v1/chat/completions', { key: k.key, body: chatBody('slow'), agent: false })),
    );
    const ok = wave.filter((r) => r.status === 200);
    const refused = wave.filter((r) => r.status === 429);
    assert.equal(ok.length + refused.length, 30, JSON.stringify(wave.map((r) => r.status)));
    // Every refusal came back while the first five were still in flight (the first wave).
    const firstDone = Math.min(...ok.map((r) => r.endedAt));
    assert.ok(refused.every((r) => r.endedAt <= firstDone), 'the 429s were answered before any admitted request ended');
    assert.equal(ok.length, limit, `admitted ${ok.length} of 30 at once with ${limit} slots`);
    for (const r of ok) assert.ok(r.endedAt - r.startedAt >= SLOW_TTFT_MS - 5, 'admitted requests waited for the slow upstream');
    for (const r of refused) {
      assert.equal(r.headers['retry-after'], '1');
      assert.equal(r.json.error.code, 'rate_limit_exceeded');
      assert.match(r.json.error.message, /tenant conc-t: concurrent requests/);
      assert.ok(r.endedAt - r.startedAt < SLOW_TTFT_MS, 'a refusal does not wait');
    }
    // Slots are released when requests end: the next wave of 5 is served in full.
    const freed = await waitFor(async () => (await adminCall('GET', '/admin/v1/tenants/conc-t')).json.usage.concurrency.in_flight === 0, 2000, 20);
    assert.ok(freed, 'every slot released once the requests ended');
    const again = await Promise.all(
      Array.from({ length: limit }, () => request(main, '/v1/chat/completions', { key: k.key, body: chatBody('slow'), agent: false })),
    );
    assert.deepEqual(again.map((r) => r.status), Array(limit).fill(200));

    // Clients that hang up while their request waits upstream give their slots back too.
    const hung = Array.from({ length: limit }, () => {
      const req = http.request(new URL('/v1/chat/completions', main), {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${k.key}` },
      });
      req.on('error', () => {});
      req.end(JSON.stringify(chatBody('slow')));
      return req;
    });
    const full = await waitFor(async () => (await adminCall('GET', '/admin/v1/tenants/conc-t')).json.usage.concurrency.in_flight === limit, SLOW_TTFT_MS - 200, 10);
    assert.ok(full, 'the hung-up requests held every slot');
    const blocked = await request(main, '/v1/chat/completions', { key: k.key, body: chatBody(), agent: false });
    assert.equal(blocked.status, 429, 'no slot left while they wait');
    for (const req of hung) req.destroy();
    const back = await waitFor(async () => (await adminCall('GET', '/admin/v1/tenants/conc-t')).json.usage.concurrency.in_flight === 0, 3000, 20);
    assert.ok(back, `slots released after the clients hung up${diag()}`);
    const after = await request(main, '/v1/chat/completions', { key: k.key, body: chatBody(), agent: false });
    assert.equal(after.status, 200, after.text);
  });

  test('per-key limits: one key\'s 429 names the key scope; another key of the tenant is not affected', async () => {
    const a = await createKey('keyed', { name: 'a' });
    const b = await createKey('keyed', { name: 'b' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const rems = [];
      const firstAt = Date.now();
      for (let i = 0; i < LIMITS.keyRpm; i++) {
        const r = await request(main, '/v1/chat/completions', { key: a.key, body: chatBody(), agent });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers['x-ratelimit-limit-requests'], String(LIMITS.keyRpm));
        rems.push(Number(r.headers['x-ratelimit-remaining-requests']));
      }
      assert.deepEqual(rems, Array.from({ length: LIMITS.keyRpm }, (_, i) => LIMITS.keyRpm - 1 - i));
      const over = await request(main, '/v1/chat/completions', { key: a.key, body: chatBody(), agent });
      assert.equal(over.status, 429, over.text);
      assert.equal(over.json.error.code, 'rate_limit_exceeded');
      assert.match(over.json.error.message, new RegExp(`key ${a.key_id}: requests per minute`));
      // The next request frees 6 s after the first one (10 per minute), rounded up.
      const wait = Math.ceil((6000 - (Date.now() - firstAt)) / 1000);
      assert.ok([wait, wait + 1].includes(Number(over.headers['retry-after'])), `Retry-After ${over.headers['retry-after']}, expected about ${wait}`);
      assert.equal(over.headers['x-ratelimit-remaining-requests'], '0');

      const other = await request(main, '/v1/chat/completions', { key: b.key, body: chatBody(), agent });
      assert.equal(other.status, 200, 'another key of the same tenant has its own bucket');
      assert.equal(other.headers['x-ratelimit-remaining-requests'], String(LIMITS.keyRpm - 1));
      // The admin API shows each key's own bucket.
      const t = (await adminCall('GET', '/admin/v1/tenants/keyed')).json;
      const usage = Object.fromEntries(t.keys.map((x) => [x.key_id, x.usage.requests]));
      assert.equal(usage[a.key_id].remaining, 0);
      assert.equal(usage[b.key_id].remaining, LIMITS.keyRpm - 1);
      assert.equal(t.usage, null, 'the tenant itself has no limits');
    } finally {
      agent.destroy();
    }
    // The Anthropic protocol gets its own 429 shape.
    const ant = new Anthropic0137({ apiKey: a.key, baseURL: main, maxRetries: 0 });
    const err = await thrown(() => ant.messages.create({ model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    assert.ok(err instanceof Anthropic0137.RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.error.type, 'error');
    assert.equal(err.error.error.type, 'rate_limit_error');
    assert.ok(Number(err.headers.get('retry-after')) >= 1);
    assert.equal(err.headers.get('x-ratelimit-limit-requests'), String(LIMITS.keyRpm));
  });

  test('route limits: a route\'s 429 names the route scope, holds across tenants, and other routes are not affected', async () => {
    const acme = await createKey('acme', { name: 'route test' });
    const other = await createKey('other', { name: 'route test' });
    const mixed = await createKey('mixed', { name: 'route test' });
    const firstAt = Date.now();
    for (let i = 0; i < LIMITS.routeRpm; i++) {
      const r = await request(main, '/v1/chat/completions', { key: acme.key, body: chatBody('limited') });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-ratelimit-limit-requests'], String(LIMITS.routeRpm));
    }
    const over = await request(main, '/v1/chat/completions', { key: acme.key, body: chatBody('limited') });
    assert.equal(over.status, 429, over.text);
    assert.match(over.json.error.message, /route limited: requests per minute/);
    const wait = Math.ceil((12_000 - (Date.now() - firstAt)) / 1000); // 5 per minute: one per 12 s
    assert.ok([wait, wait + 1].includes(Number(over.headers['retry-after'])), `Retry-After ${over.headers['retry-after']}, expected about ${wait}`);
    // The route's limit is for everyone on it: another tenant is refused there too ...
    const otherTenant = await request(main, '/v1/chat/completions', { key: other.key, body: chatBody('limited') });
    assert.equal(otherTenant.status, 429);
    assert.match(otherTenant.json.error.message, /route limited/);
    // All or nothing: a tenant with its own rpm refused by the route is not charged for it.
    for (let i = 0; i < 3; i++) {
      const r = await request(main, '/v1/chat/completions', { key: mixed.key, body: chatBody('limited') });
      assert.equal(r.status, 429);
      assert.match(r.json.error.message, /route limited/);
    }
    const m = (await adminCall('GET', '/admin/v1/tenants/mixed')).json;
    assert.equal(m.usage.requests.remaining, LIMITS.mixedRpm, 'refused requests left the tenant bucket untouched');
    // ... while the same key is served on another route, without rate-limit headers.
    const elsewhere = await request(main, '/v1/chat/completions', { key: acme.key, body: chatBody('chat') });
    assert.equal(elsewhere.status, 200);
    assert.equal(elsewhere.headers['x-ratelimit-limit-requests'], undefined);
  });

  // -------------------------------------------------------------------------------------------
  test('admin: tenant usage shows rpm remaining going down and concurrency in flight', async () => {
    const k = await createKey('watch');
    const get = async () => {
      const r = await adminCall('GET', '/admin/v1/tenants/watch');
      assert.equal(r.status, 200, r.text);
      return r.json;
    };
    const t0 = await get();
    assert.deepEqual(t0.limits, { rpm: LIMITS.watchRpm, tpm: null, concurrency: LIMITS.watchConcurrency });
    assert.equal(t0.usage.requests.limit, LIMITS.watchRpm);
    assert.equal(t0.usage.requests.remaining, LIMITS.watchRpm);
    assert.equal(t0.usage.concurrency.in_flight, 0);
    assert.ok(t0.keys.some((x) => x.key_id === k.key_id && x.status === 'active'));

    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      assert.equal((await request(main, '/v1/chat/completions', { key: k.key, body: chatBody() })).status, 200);
    }
    const t1 = await get();
    const refilled = Math.floor((LIMITS.watchRpm * (Date.now() - started)) / 60_000);
    assert.ok(t1.usage.requests.remaining <= LIMITS.watchRpm - 3 + refilled && t1.usage.requests.remaining >= LIMITS.watchRpm - 3,
      `remaining ${t1.usage.requests.remaining} after 3 requests`);

    // Three slow requests in flight show as three; none once they are done.
    const slow = Array.from({ length: 3 }, () => request(main, '/v1/chat/completions', { key: k.key, body: chatBody('slow'), agent: false }));
    const seen = await waitFor(async () => ((await get()).usage.concurrency.in_flight === 3 ? true : null), SLOW_TTFT_MS - 200, 10);
    assert.ok(seen, 'in_flight reached 3 while the slow requests ran');
    const t2 = await get();
    assert.ok(t2.usage.requests.remaining < t1.usage.requests.remaining, 'remaining went down again');
    const done = await Promise.all(slow);
    assert.deepEqual(done.map((r) => r.status), [200, 200, 200]);
    const idle = await waitFor(async () => ((await get()).usage.concurrency.in_flight === 0 ? true : null), 2000, 20);
    assert.ok(idle, 'in_flight back to 0');

    const all = await adminCall('GET', '/admin/v1/tenants');
    assert.equal(all.status, 200);
    assert.equal(all.json.open_mode, false);
    assert.deepEqual(all.json.data.map((t) => t.name), ['acme', 'other', 'rpm-t', 'tpm-t', 'conc-t', 'keyed', 'watch', 'mixed']);
    assert.equal((await adminCall('GET', '/admin/v1/tenants/nobody')).status, 404);
  });

  test('admin: a separate listener serves /admin/v1/keys; the main listener answers 404 for /admin/*', async () => {
    const onAdmin = await adminCall('GET', '/admin/v1/keys');
    assert.equal(onAdmin.status, 200, onAdmin.text);
    assert.ok(Array.isArray(onAdmin.json.data) && onAdmin.json.data.length >= allKeys.length);
    for (const p of ['/admin/v1/keys', '/admin/v1/tenants', '/metrics']) {
      const r = await adminCall('GET', p, undefined, { origin: main });
      assert.equal(r.status, 404, `main listener ${p}: ${r.text}`);
      assert.equal(r.json.error.code, 'unknown_url');
    }
    const post = await adminCall('POST', '/admin/v1/keys', { tenant: 'acme' }, { origin: main });
    assert.equal(post.status, 404, 'no key can be made through the main listener');
    // The admin listener serves only the admin API (and probes), and wants the token.
    const chat = await request(admin, '/v1/chat/completions', { key: allKeys[0], body: chatBody() });
    assert.equal(chat.status, 404);
    assert.equal((await request(admin, '/healthz', { method: 'GET' })).status, 200);
    assert.equal((await adminCall('GET', '/admin/v1/keys', undefined, { token: null })).status, 401);
    assert.equal((await adminCall('GET', '/admin/v1/keys', undefined, { token: 'wrong-token-of-same-size' })).status, 401);
  });
});

// =============================================================================================
describe('open mode (no tenants)', () => {
  test('without tenants the gateway answers without any key and warns that it runs open', async () => {
    const gw = await startGateway({
      yaml: [
        'server: {listen: "127.0.0.1:0", workers: 2}',
        'storage: {ledger: "off"}',
        'providers:',
        '  sim: {type: simulator, ttft: 0ms, tokens: 5}',
        'routes:',
        '  - {name: chat, target: sim/sim-1}',
        '',
      ].join('\n'),
    });
    try {
      assert.match(gw.stderr(), /no tenants configured: running open/);
      const r = await request(gw.origin, '/v1/chat/completions', { body: chatBody(), headers: { 'x-request-id': 'open-1' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.object, 'chat.completion');
      assert.equal(r.headers['x-ratelimit-limit-requests'], undefined);
      // Any key is ignored, even a malformed one.
      assert.equal((await request(gw.origin, '/v1/chat/completions', { key: 'whatever', body: chatBody() })).status, 200);
      assert.equal((await request(gw.origin, '/v1/models', { method: 'GET' })).status, 200);
      const line = await waitFor(() => gw.accessLog().find((l) => l.request_id === 'open-1'), 3000);
      assert.ok(line, 'access-log line');
      assert.equal(line.tenant, 'default');
      assert.equal(line.key_id, undefined);
      assert.equal(await gw.stop(), 0);
    } finally {
      await gw.kill();
      gw.cleanup();
    }
  });

  test('check-config: 0.0.0.0 without tenants fails with the loopback message; with tenants it passes', async () => {
    const d = tmpDir();
    const base = [
      'providers:',
      '  sim: {type: simulator}',
      'routes:',
      '  - {name: chat, target: sim/sim-1}',
    ];
    const open = path.join(d, 'open.yaml');
    fs.writeFileSync(open, ['server: {listen: "0.0.0.0:8080"}', 'storage: {ledger: "off"}', ...base, ''].join('\n'));
    const r = await cli(['check-config', open]);
    assert.notEqual(r.code, 0, `check-config exit code; stdout: ${r.stdout}`);
    const out = r.stdout + r.stderr;
    assert.match(out, /server\.listen/);
    assert.match(out, /is not a loopback address; without tenants the gateway runs open/);

    const withTenants = path.join(d, 'tenants.yaml');
    fs.writeFileSync(withTenants, [
      'server: {listen: "0.0.0.0:8080"}',
      `storage: {ledger: "sqlite:${path.join(d, 'l.db')}"}`,
      ...base,
      'tenants:',
      '  - {name: acme}',
      '',
    ].join('\n'));
    const ok = await cli(['check-config', withTenants]);
    assert.equal(ok.code, 0, `with tenants: ${ok.stdout}${ok.stderr}`);

    const loopback = path.join(d, 'loopback.yaml');
    fs.writeFileSync(loopback, ['server: {listen: "127.0.0.1:8080"}', 'storage: {ledger: "off"}', ...base, ''].join('\n'));
    assert.equal((await cli(['check-config', loopback])).code, 0, 'loopback without tenants is valid');
  });
});
