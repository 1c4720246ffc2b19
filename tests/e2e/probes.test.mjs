// Active health probes (issue #4): a route with `probe.interval` sends each target a small real
// request on that interval, without any client traffic; the outcomes drive the same health
// tracker as real requests (a failing target is ejected by probes alone).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';

import { startScriptedUpstream } from './lib/fake_scripted.mjs';
import { startGateway, killAllGateways } from './lib/gateway.mjs';
import { waitFor } from './lib/util.mjs';

after(killAllGateways);

test('probes reach every target on their interval and eject a failing one without client traffic', async () => {
  const a = await startScriptedUpstream({ name: 'A' });
  try {
    a.behave('probe-good', 'ok');
    a.behave('probe-bad', { status: 500 });
    const gw = await startGateway({
      yaml: [
        'server: {listen: "127.0.0.1:0", workers: 2}',
        'storage: {ledger: "off"}',
        'admin: {token: "adm-probe"}',
        'providers:',
        `  a: {type: openai-compatible, base_url: "http://127.0.0.1:${a.port}/v1", api_key: "sk-probe"}`,
        'routes:',
        '  - name: probed',
        '    core: [a/probe-bad]',
        '    fallback: [a/probe-good]',
        '    probe: {interval: 100ms}',
        '    health: {consecutive_failures: 3, base_ejection: 10s}',
      ].join('\n'),
    });
    // No client request at all: within ~1 s both targets were probed several times.
    await waitFor(() => a.count('probe-good') >= 3 && a.count('probe-bad') >= 3, 5000);
    const probe = a.requests.find((r) => r.model === 'probe-good');
    assert.equal(probe.body.max_tokens, 1, 'a probe is a minimal real request');
    assert.equal(probe.body.messages[0].content, 'ping');
    assert.equal(probe.headers.authorization, 'Bearer sk-probe');

    // Three failed probes eject the bad target; the good one has a recent success.
    let health;
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${gw.port}/admin/v1/health`, {
        headers: { authorization: 'Bearer adm-probe' },
      });
      health = await res.json();
      const bad = health.routes[0].targets.find((t) => t.target === 'a/probe-bad');
      return bad.ejected === true;
    }, 5000);
    const targets = Object.fromEntries(health.routes[0].targets.map((t) => [t.target, t]));
    assert.equal(targets['a/probe-bad'].ejected, true);
    assert.ok(targets['a/probe-bad'].last_failure, 'the failing target has a last failure time');
    assert.equal(targets['a/probe-good'].ejected, false);
    assert.ok(targets['a/probe-good'].last_success, 'the fallback is proven by probes alone');

    // The ejected core is skipped by the first real request: it goes straight to the fallback.
    const before = a.count('probe-bad');
    const res = await fetch(`http://127.0.0.1:${gw.port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'probed', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-switchyard-tier'), 'fallback');
    assert.equal(res.headers.get('x-switchyard-attempts'), '1');
    assert.equal(a.count('probe-bad'), before, 'the ejected target got no client request');
    assert.equal(await gw.stop(), 0);
  } finally {
    await a.close();
  }
});
