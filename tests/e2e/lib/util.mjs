// Small helpers shared by the e2e test files.

export const UPSTREAM_KEY = 'sk-upstream-SECRET-0123456789';
export const SECRET_MARKER = 'SECRET-0123456789';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `pred` until it returns a truthy value (which is returned) or `timeoutMs` passes (returns undefined). */
export async function waitFor(pred, timeoutMs = 2000, stepMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(stepMs);
  }
}

/** Reject with a clear message if `promise` does not settle within `ms`. */
export function within(ms, promise, what = 'operation') {
  let t;
  const timeout = new Promise((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

/** The gateway config the tests use (server + provider `up` pointing at the fake + one route per behaviour). */
export function gatewayYaml(fakePort, extraRoutes = []) {
  const routes = [
    '  - {name: basic, target: up/fx-basic}',
    '  - {name: stream-text, target: up/fx-stream-text}',
    '  - {name: stream-tools, target: up/fx-stream-tools}',
    '  - {name: err400, target: up/fx-error-400}',
    '  - {name: err404, target: up/fx-error-404}',
    '  - {name: reset, target: up/fx-reset-mid-stream}',
    '  - {name: stall, target: up/fx-stall, timeouts: {first_byte: 500ms}}',
    '  - {name: slow, target: up/fx-slow-stream}',
    '  - {name: auth401, target: up/fx-auth-401}',
    ...extraRoutes,
  ];
  return [
    'server: {listen: "127.0.0.1:0", workers: 2, max_body_bytes: 64KiB, drain_timeout: 10s}',
    'storage: {ledger: "off"}',
    'providers:',
    `  up: {type: openai-compatible, base_url: "http://127.0.0.1:${fakePort}/v1", api_key: "${UPSTREAM_KEY}"}`,
    'routes:',
    ...routes,
    '',
  ].join('\n');
}

/**
 * A fetch for `new OpenAI({fetch})` that keeps a copy of every response body as raw text, so a test
 * can see the exact SSE bytes the SDK parsed (e.g. whether `data: [DONE]` arrived).
 * Returns {fetch, responses}: responses[i] = {url, status, headers, text: Promise<string>, rawSoFar()}.
 */
export function tappingFetch() {
  const responses = [];
  async function tapFetch(url, init) {
    const res = await fetch(url, init);
    const entry = { url: String(url), status: res.status, headers: res.headers, raw: '', error: null };
    responses.push(entry);
    if (!res.body) {
      entry.text = Promise.resolve('');
      return res;
    }
    const [forSdk, forTap] = res.body.tee();
    entry.text = (async () => {
      const dec = new TextDecoder();
      try {
        for await (const piece of forTap) entry.raw += dec.decode(piece, { stream: true });
      } catch (err) {
        entry.error = err;
      }
      return entry.raw;
    })();
    entry.rawSoFar = () => entry.raw;
    return new Response(forSdk, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
  return { fetch: tapFetch, responses };
}

/** Raw HTTP request against the gateway with fetch; returns {status, headers, text, json}. */
export async function rawRequest(url, { method = 'GET', headers = {}, body } = {}) {
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Assert-friendly check of the OpenAI error envelope {"error":{message,type,param,code}}. */
export function isOpenAiErrorShape(json) {
  return (
    json !== null &&
    typeof json === 'object' &&
    typeof json.error === 'object' &&
    json.error !== null &&
    typeof json.error.message === 'string' &&
    typeof json.error.type === 'string' &&
    'code' in json.error
  );
}

/** Sanitizer (ASan/UBSan/LSan) reports in a process's stderr, one string per report line. */
export function sanitizerReports(stderr) {
  return stderr
    .split('\n')
    .filter((l) => /ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/.test(l));
}

/** Headers (a Headers object) flattened to one string, for secret scans. */
export function headersText(headers) {
  const parts = [];
  headers.forEach((v, k) => parts.push(`${k}: ${v}`));
  return parts.join('\n');
}

/** A copy of `obj` without the listed top-level keys. */
export function omit(obj, ...keys) {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}
