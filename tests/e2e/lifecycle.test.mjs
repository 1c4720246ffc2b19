// Process lifecycle of the real gateway: graceful drain on SIGTERM with streams in flight.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import OpenAI from 'openai';

import { startFakeUpstream, readFixture, sseJsonChunks } from './lib/fake_upstream.mjs';
import { startGateway, killAllGateways } from './lib/gateway.mjs';
import { SECRET_MARKER, gatewayYaml, tappingFetch, waitFor, within, sanitizerReports } from './lib/util.mjs';

const MSGS = [{ role: 'user', content: 'Hello!' }];
const STREAM_CONTENT = sseJsonChunks(readFixture('stream-text-include-usage.sse').toString('utf8'))
  .map((c) => c.choices[0]?.delta?.content ?? '')
  .join('');

let fake;

before(async () => {
  // fx-stream-text-slow replays stream-text-include-usage.sse with 50 ms between events (~1.7 s).
  fake = await startFakeUpstream({ slowEventDelayMs: 50 });
});

after(async () => {
  await killAllGateways();
  await fake?.close();
});

/** 'refused' | 'accepted' | other error code, for one fresh TCP connection attempt. */
function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('accepted');
    });
    s.once('error', (err) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : err.code ?? String(err)));
  });
}

test('SIGTERM drains in-flight streams, refuses new connections, exits 0', { timeout: 30_000 }, async () => {
  const gw = await startGateway({
    yaml: gatewayYaml(fake.port, ['  - {name: stream-text-slow, target: up/fx-stream-text-slow}']),
  });
  try {
    const N = 3;
    const firstChunk = [];
    const streams = [];
    const taps = [];
    for (let i = 0; i < N; i++) {
      const tap = tappingFetch();
      taps.push(tap);
      const client = new OpenAI({ apiKey: 'sk-client', baseURL: gw.baseURL, maxRetries: 0, fetch: tap.fetch });
      let markFirst;
      firstChunk.push(new Promise((r) => (markFirst = r)));
      streams.push(
        (async () => {
          const stream = await client.chat.completions.create({ model: 'stream-text-slow', messages: MSGS, stream: true });
          let text = '';
          let chunks = 0;
          let finish = null;
          for await (const c of stream) {
            chunks += 1;
            if (chunks === 1) markFirst();
            text += c.choices[0]?.delta?.content ?? '';
            finish = c.choices[0]?.finish_reason ?? finish;
          }
          const raw = await tap.responses[0].text;
          return { text, chunks, finish, raw, endedAt: Date.now() };
        })(),
      );
    }
    // Surface a stream failure instead of waiting forever for its first chunk.
    await within(
      10_000,
      Promise.race([Promise.all(firstChunk), Promise.all(streams).then(() => {})]),
      'first chunk of every stream',
    );
    assert.ok(gw.running, 'gateway running before SIGTERM');
    const inFlight = fake.find('fx-stream-text-slow').filter((r) => r.responseClosedAt === null).length;
    assert.equal(inFlight, N, `${N} upstream streams in flight when SIGTERM is sent`);

    const sigtermAt = Date.now();
    const exitP = gw.stop('SIGTERM', 20_000);

    // New connections must be refused while the old streams drain.
    const refusedAt = await waitFor(async () => ((await tryConnect(gw.port)) === 'refused' ? Date.now() : 0), 1000, 25);

    const results = await within(10_000, Promise.allSettled(streams), 'draining streams');
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 'fulfilled', `stream ${i} failed during drain: ${r.reason?.stack ?? r.reason}`);
      assert.equal(r.value.text, STREAM_CONTENT, `stream ${i} full text`);
      assert.equal(r.value.finish, 'stop', `stream ${i} finish_reason`);
      assert.ok(r.value.raw.trimEnd().endsWith('data: [DONE]'), `stream ${i} received [DONE]`);
    }
    const lastEnd = Math.max(...results.map((r) => r.value.endedAt));
    assert.ok(refusedAt, 'a new connection after SIGTERM was still accepted (listener not closed on SIGTERM)');
    assert.ok(refusedAt < lastEnd, 'new connections were refused while streams were still in flight');

    const code = await exitP;
    assert.equal(code, 0, `exit code after SIGTERM; stderr tail:\n${gw.stderr().slice(-3000)}`);
    assert.ok(Date.now() - sigtermAt < 12_000, 'exited within drain_timeout');

    // Nothing lost: every drained stream has its access-log line.
    const lines = gw.accessLog().filter((l) => l.route === 'stream-text-slow');
    assert.equal(lines.length, N, `access-log lines for the drained streams:\n${gw.stdout()}`);
    for (const l of lines) assert.equal(l.status, 200);
    assert.ok(!gw.stdout().includes(SECRET_MARKER) && !gw.stderr().includes(SECRET_MARKER), 'no secret in output');
    assert.deepEqual(sanitizerReports(gw.stderr()), [], 'sanitizer reports on stderr');
  } finally {
    await gw.kill();
    gw.cleanup();
  }
});

test('SIGTERM when idle: exits 0 promptly', { timeout: 20_000 }, async () => {
  const gw = await startGateway({ yaml: gatewayYaml(fake.port) });
  try {
    const h = await fetch(`${gw.origin}/healthz`);
    assert.equal(h.status, 200);
    await h.arrayBuffer();
    const t0 = Date.now();
    const code = await gw.stop('SIGTERM', 15_000);
    assert.equal(code, 0, `exit code; stderr tail:\n${gw.stderr().slice(-3000)}`);
    assert.ok(Date.now() - t0 < 3000, `idle shutdown took ${Date.now() - t0} ms`);
    assert.deepEqual(sanitizerReports(gw.stderr()), [], 'sanitizer reports on stderr');
  } finally {
    await gw.kill();
    gw.cleanup();
  }
});
