// Helpers for ledger.test.mjs: a load generator that remembers what every client saw, exact
// micro-dollar arithmetic (BigInt, never floats), the `switchyard report` CLI, the sqlite3 and
// psql command-line clients (to read request ids straight from usage_records), and a tiny
// RFC 4180 CSV parser for the FOCUS export.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gatewayBinary } from './gateway.mjs';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Money: decimal strings <-> integer micro-dollars (BigInt).

const MICROS = 1_000_000n;

/** "0.000123" -> 123n. Accepts an integer part and 0..6 decimals; anything else throws. */
export function usdToMicros(text) {
  const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(String(text));
  if (!m) throw new Error(`not a non-negative decimal with at most 6 places: ${JSON.stringify(text)}`);
  return BigInt(m[1]) * MICROS + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** 123n -> "0.000123" (the 6-decimal form of the header and the reports). */
export function microsToUsd(micros) {
  const v = BigInt(micros);
  if (v < 0n) throw new Error(`negative amount ${v}`);
  return `${v / MICROS}.${String(v % MICROS).padStart(6, '0')}`;
}

/**
 * A catalog price given as decimal strings per million tokens -> integer micro-dollars per
 * million tokens, with the documented defaults (cached_input and cache_write = input,
 * reasoning = output).
 */
export function priceMicros(price) {
  const input = usdToMicros(price.input);
  const output = usdToMicros(price.output);
  return {
    input,
    output,
    cached_input: price.cached_input !== undefined ? usdToMicros(price.cached_input) : input,
    cache_write: price.cache_write !== undefined ? usdToMicros(price.cache_write) : input,
    reasoning: price.reasoning !== undefined ? usdToMicros(price.reasoning) : output,
  };
}

/** round_half_even(n / d) for non-negative BigInts. */
function divHalfEven(n, d) {
  const q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d) return q + 1n;
  if (r2 === d) return q % 2n === 1n ? q + 1n : q;
  return q;
}

/**
 * The cost of one answer in micro-dollars, by the formula of docs/ledger.md#pricing, from the
 * OpenAI-shaped `usage` the client received. Returns null when the usage has no counts.
 */
export function costMicrosOf(usage, price) {
  if (!usage || !Number.isInteger(usage.prompt_tokens) || !Number.isInteger(usage.completion_tokens)) return null;
  const p = priceMicros(price);
  const input = BigInt(usage.prompt_tokens);
  const output = BigInt(usage.completion_tokens);
  const cached = BigInt(usage.prompt_tokens_details?.cached_tokens ?? 0);
  const cacheWrite = 0n; // the OpenAI usage shape has no cache-write count
  const reasoning = BigInt(usage.completion_tokens_details?.reasoning_tokens ?? 0);
  const sum =
    (input - cached - cacheWrite) * p.input +
    cached * p.cached_input +
    cacheWrite * p.cache_write +
    (output - reasoning) * p.output +
    reasoning * p.reasoning;
  return divHalfEven(sum, MICROS);
}

// ---------------------------------------------------------------------------------------------
// Load.

/** A user message of `words` words (the simulator bills ceil(characters / 4) prompt tokens). */
export function message(i) {
  const words = 1 + ((i * 7) % 23);
  const text = Array.from({ length: words }, (_, k) => `w${(i + k) % 97}`).join(' ');
  return [{ role: 'user', content: `req ${i}: ${text}` }];
}

/** The usage object of an SSE body (the include_usage chunk), or null. */
function streamUsage(text) {
  let usage = null;
  for (const block of text.split('\n\n')) {
    const line = block.trim();
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    try {
      const j = JSON.parse(line.slice(6));
      if (j.usage) usage = j.usage;
    } catch {
      /* a partial event at the end of a cut stream */
    }
  }
  return usage;
}

/**
 * Sends one chat completion with plain fetch and returns what the client saw:
 * {i, sentId, id (x-request-id), stream, status, ok (the whole answer arrived), usage,
 *  costHeader, provider, model, startedAt, completedAt, error}.
 */
export async function chatOnce(origin, { i, route = 'chat', stream = false, idPrefix = 'ld', signal } = {}) {
  const sentId = `${idPrefix}-${i}`;
  const out = {
    i,
    sentId,
    id: null,
    stream,
    status: 0,
    ok: false,
    usage: null,
    costHeader: null,
    provider: null,
    model: null,
    startedAt: Date.now(),
    completedAt: null,
    error: null,
  };
  const body = { model: route, messages: message(i) };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  try {
    const res = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client', 'x-request-id': sentId },
      body: JSON.stringify(body),
      signal,
    });
    out.status = res.status;
    out.id = res.headers.get('x-request-id');
    out.costHeader = res.headers.get('x-switchyard-cost-usd');
    out.provider = res.headers.get('x-switchyard-provider');
    out.model = res.headers.get('x-switchyard-model');
    const text = await res.text();
    if (stream) {
      out.usage = streamUsage(text);
      out.ok = res.status === 200 && text.trimEnd().endsWith('data: [DONE]') && out.usage !== null;
    } else {
      const j = JSON.parse(text);
      out.usage = j.usage ?? null;
      out.ok = res.status === 200 && Array.isArray(j.choices);
    }
    out.completedAt = Date.now();
  } catch (err) {
    out.error = err?.cause?.code ?? err?.code ?? err?.name ?? String(err);
  }
  return out;
}

/**
 * Runs `n` requests with `concurrency` in flight. `streamOf(i)` chooses streaming per request.
 * `onResult(r, results)` sees every result as it arrives; `stop()` returns true to stop issuing.
 */
export async function runLoad(origin, { n, concurrency = 16, route = 'chat', streamOf = () => false, idPrefix = 'ld', onResult, stop } = {}) {
  const results = [];
  let next = 0;
  async function lane() {
    for (;;) {
      if (stop?.()) return;
      const i = next++;
      if (i >= n) return;
      const r = await chatOnce(origin, { i, route, stream: streamOf(i), idPrefix });
      results.push(r);
      onResult?.(r, results);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Reports (the CLI).

/** `switchyard report <kind> --config <cfg> --format <format> ...args` -> {code, stdout, stderr}. */
export async function reportCli(configPath, kind, { format = 'json', args = [], env = {} } = {}) {
  const argv = ['report', kind, '--config', configPath, '--format', format, ...args];
  try {
    const { stdout, stderr } = await run(gatewayBinary(), argv, {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    return { code: err.code ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? String(err) };
  }
}

/** The JSON of a report, failing with the CLI's stderr when it did not exit 0. */
export async function reportJson(configPath, kind, args = [], env = {}) {
  const r = await reportCli(configPath, kind, { format: 'json', args, env });
  if (r.code !== 0) throw new Error(`switchyard report ${kind} exited ${r.code}: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`switchyard report ${kind} --format json printed no JSON:\n${r.stdout.slice(0, 2000)}\n${r.stderr}`);
  }
}

/** A report window that surely holds everything this test wrote: yesterday .. end of tomorrow (UTC). */
export function reportWindow() {
  const day = 86_400_000;
  const d = (ms) => new Date(ms).toISOString().slice(0, 10);
  return { since: d(Date.now() - day), until: d(Date.now() + day) };
}

// ---------------------------------------------------------------------------------------------
// Reading usage_records directly.

/** Rows of `sql` on an SQLite file (sqlite3 CLI, read-only, JSON mode). */
export async function sqliteRows(dbPath, sql) {
  const { stdout } = await run('sqlite3', ['-readonly', '-json', '-cmd', '.timeout 5000', dbPath, sql], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim() === '' ? [] : JSON.parse(stdout);
}

/** Rows of `sql` on PostgreSQL (psql), as parsed JSON objects. */
export async function pgRows(url, sql) {
  const wrapped = `SELECT coalesce(json_agg(t), '[]'::json) FROM (${sql}) t`;
  const { stdout } = await run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', wrapped], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim());
}

/** Runs one statement with psql (e.g. CREATE SCHEMA). */
export async function pgExec(url, sql) {
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
}

/** `url` with a libpq `options=-c search_path=<schema>` parameter added. */
export function withSearchPath(url, schema) {
  const opt = `options=-c%20search_path%3D${schema}`;
  return url + (url.includes('?') ? '&' : '?') + opt;
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180).

/** Parses CSV text into rows of fields (quoted fields, doubled quotes, CRLF or LF line ends). */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i += 1;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i += 1;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else {
      field += c;
      i += 1;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** CSV text -> {header, records: [{column: value}]}. */
export function csvObjects(text) {
  const [header, ...rest] = parseCsv(text);
  return {
    header: header ?? [],
    records: rest.map((r) => Object.fromEntries(header.map((h, k) => [h, r[k]]))),
  };
}
