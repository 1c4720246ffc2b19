// A fake api.openai.com for the end-to-end tests.
//
// It replays the recorded OpenAI fixtures (shared/fixtures/openai) for POST /v1/chat/completions and
// records every request it receives, so a test can assert both what the client saw and what the
// gateway actually sent upstream. The request's `model` selects the behaviour (see MODELS below and
// tests/e2e/README.md).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Fixture root: $SY_FIXTURES_DIR, else <repo>/../shared/fixtures (this file is <repo>/tests/e2e/lib). */
export function fixturesDir() {
  if (process.env.SY_FIXTURES_DIR) return path.resolve(process.env.SY_FIXTURES_DIR);
  return path.resolve(here, '..', '..', '..', '..', 'shared', 'fixtures');
}

export function fixturePath(name) {
  return path.join(fixturesDir(), 'openai', name);
}

export function readFixture(name) {
  return fs.readFileSync(fixturePath(name));
}

export function readFixtureJson(name) {
  return JSON.parse(readFixture(name).toString('utf8'));
}

/** Split a recorded SSE body into its events (the text of each event, without the blank line). */
export function splitSseEvents(text) {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n\n')
    .filter((e) => e.trim() !== '');
}

/** The JSON payloads of the data events of a recorded SSE body ([DONE] excluded). */
export function sseJsonChunks(text) {
  const out = [];
  for (const ev of splitSseEvents(text)) {
    const data = ev
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data === '' || data === '[DONE]') continue;
    out.push(JSON.parse(data));
  }
  return out;
}

function dataOf(event) {
  const line = event.split('\n').find((l) => l.startsWith('data:'));
  return line === undefined ? null : line.slice(5).replace(/^ /, '');
}

/**
 * What OpenAI sends when the request did NOT ask for stream_options.include_usage: the usage chunk
 * (choices: []) is absent and no chunk carries a `usage` field. Events without usage stay byte-exact.
 */
export function withoutUsage(events) {
  const out = [];
  for (const ev of events) {
    const data = dataOf(ev);
    if (data === null || data === '[DONE]' || !data.includes('"usage"')) {
      out.push(ev);
      continue;
    }
    const obj = JSON.parse(data);
    if (Array.isArray(obj.choices) && obj.choices.length === 0 && 'usage' in obj) continue;
    delete obj.usage;
    out.push(`data: ${JSON.stringify(obj)}`);
  }
  return out;
}

/** Response headers as recorded in a meta file, minus the ones that describe the recorded transfer. */
function recordedHeaders(metaName) {
  const skip = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'date', 'connection']);
  const meta = readFixtureJson(metaName);
  const out = {};
  for (const [k, v] of Object.entries(meta.response_headers ?? {})) {
    if (skip.has(k.toLowerCase())) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

function freshRequestId() {
  return `req_${crypto.randomBytes(16).toString('hex')}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Assemble a non-streaming chat.completion from stream chunks (for stream fixtures asked without stream). */
export function assembleCompletion(chunks) {
  const first = chunks[0] ?? {};
  const msg = { role: 'assistant', content: null, refusal: null };
  let finish = null;
  let usage;
  const calls = [];
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices ?? []) {
      const d = ch.delta ?? {};
      if (typeof d.content === 'string') msg.content = (msg.content ?? '') + d.content;
      for (const tc of d.tool_calls ?? []) {
        const slot = (calls[tc.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
        if (tc.id) slot.id = tc.id;
        if (tc.function?.name) slot.function.name = tc.function.name;
        if (tc.function?.arguments) slot.function.arguments += tc.function.arguments;
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  if (calls.length) msg.tool_calls = calls.filter(Boolean);
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    system_fingerprint: first.system_fingerprint ?? null,
    choices: [{ index: 0, message: msg, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  };
}

export const MODELS = [
  'fx-basic',
  'fx-basic-cached',
  'fx-stream-text',
  'fx-stream-text-slow',
  'fx-stream-tools',
  'fx-error-400',
  'fx-error-404',
  'fx-reset-mid-stream',
  'fx-stall',
  'fx-slow-stream',
  'fx-auth-401',
];

/**
 * Start the fake upstream on 127.0.0.1:<random port>.
 * options.eventDelayMs: delay between SSE events of the replayed fixtures (default 2 ms).
 * options.slowEventDelayMs: delay between events for fx-stream-text-slow (default 50 ms).
 * options.slowStreamIntervalMs / slowStreamMaxMs: fx-slow-stream cadence (100 ms, 30 s).
 * Returns {port, baseURL, requests, connections, close(), closeIdleConnections(), find(model)}.
 */
export async function startFakeUpstream(options = {}) {
  const eventDelayMs = options.eventDelayMs ?? 2;
  const slowEventDelayMs = options.slowEventDelayMs ?? 50;
  const slowIntervalMs = options.slowStreamIntervalMs ?? 100;
  const slowMaxMs = options.slowStreamMaxMs ?? 30_000;

  const fixtures = {
    basic: readFixture('chat-basic.response.json'),
    basicHeaders: recordedHeaders('chat-basic.meta.json'),
    badRequest: readFixture('chat-bad-request.response.json'),
    badRequestHeaders: recordedHeaders('chat-bad-request.meta.json'),
    unknownModel: readFixture('chat-unknown-model.response.json'),
    unknownModelHeaders: recordedHeaders('chat-unknown-model.meta.json'),
    streamHeaders: recordedHeaders('chat-streaming.meta.json'),
    streamText: splitSseEvents(readFixture('stream-text-include-usage.sse').toString('utf8')),
    streamTools: splitSseEvents(readFixture('stream-tool-call-single.sse').toString('utf8')),
  };

  const requests = [];
  const sockets = new Set();
  const timers = new Set();
  let connectionCount = 0;
  let closing = false;

  const server = http.createServer();
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0; // fx-stall must be able to hang for as long as the peer keeps the socket

  server.on('connection', (socket) => {
    connectionCount += 1;
    socket.__fakeId = connectionCount;
    socket.__openedAt = Date.now();
    socket.__recs = [];
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      const now = Date.now();
      for (const rec of socket.__recs) rec.socketClosedAt = now;
    });
  });

  const later = (ms) =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function sendJson(res, status, bodyBuf, headers = {}) {
    const buf = Buffer.isBuffer(bodyBuf) ? bodyBuf : Buffer.from(JSON.stringify(bodyBuf));
    res.writeHead(status, {
      ...headers,
      'Content-Type': headers['Content-Type'] ?? 'application/json',
      'Content-Length': buf.length,
      'X-Request-Id': freshRequestId(),
    });
    res.end(buf);
  }

  function openAiError(res, status, message, type, param, code) {
    sendJson(res, status, { error: { message, type, param, code } });
  }

  async function writeEvents(rec, res, events, delayMs) {
    res.writeHead(200, {
      ...fixtures.streamHeaders,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'X-Request-Id': freshRequestId(),
    });
    res.flushHeaders();
    for (const ev of events) {
      if (rec.responseClosedAt !== null || closing) return false;
      res.write(`${ev}\n\n`);
      rec.eventsSent += 1;
      await later(delayMs);
    }
    return true;
  }

  async function replayStream(rec, res, events, delayMs) {
    const includeUsage = rec.body?.stream_options?.include_usage === true;
    const evs = includeUsage ? events : withoutUsage(events);
    if (rec.body?.stream !== true) {
      // A non-streaming OpenAI response always carries usage (include_usage is a streaming option).
      const chunks = sseJsonChunks(events.join('\n\n'));
      sendJson(res, 200, assembleCompletion(chunks), fixtures.basicHeaders);
      return;
    }
    if (await writeEvents(rec, res, evs, delayMs)) res.end();
  }

  function chunk(id, created, delta, finish = null, extra = {}) {
    return {
      id,
      object: 'chat.completion.chunk',
      created,
      model: 'gpt-4o-2024-08-06',
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra,
    };
  }

  async function slowStream(rec, res) {
    const id = `chatcmpl-slow${crypto.randomBytes(6).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const includeUsage = rec.body?.stream_options?.include_usage === true;
    const usageNull = includeUsage ? { usage: null } : {};
    res.writeHead(200, {
      ...fixtures.streamHeaders,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'X-Request-Id': freshRequestId(),
    });
    res.flushHeaders();
    const send = (obj) => {
      res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);
      rec.eventsSent += 1;
    };
    send(chunk(id, created, { role: 'assistant', content: '', refusal: null }, null, usageNull));
    const started = Date.now();
    let n = 0;
    while (Date.now() - started < slowMaxMs) {
      await later(slowIntervalMs);
      if (rec.responseClosedAt !== null || closing) return;
      n += 1;
      send(chunk(id, created, { content: `tick ${n} ` }, null, usageNull));
    }
    send(chunk(id, created, {}, 'stop', usageNull));
    if (includeUsage) {
      send({ ...chunk(id, created, {}), choices: [], usage: { prompt_tokens: 5, completion_tokens: n * 3, total_tokens: 5 + n * 3 } });
    }
    send('[DONE]');
    res.end();
  }

  async function handleChat(rec, req, res) {
    if (!req.headers.authorization) {
      openAiError(
        res,
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error',
        null,
        null,
      );
      return;
    }
    if (rec.body === null) {
      openAiError(
        res,
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        'invalid_request_error',
        null,
        null,
      );
      return;
    }
    const model = rec.body.model;
    switch (model) {
      case 'fx-basic':
        sendJson(res, 200, fixtures.basic, fixtures.basicHeaders);
        return;
      case 'fx-basic-cached': {
        // chat-basic with prompt_tokens_details.cached_tokens EDITED to 6 (of prompt_tokens 8):
        // no recorded response has a non-zero cached count.
        const obj = JSON.parse(fixtures.basic.toString('utf8'));
        obj.usage.prompt_tokens_details.cached_tokens = 6;
        sendJson(res, 200, Buffer.from(JSON.stringify(obj)), fixtures.basicHeaders);
        return;
      }
      case 'fx-stream-text':
        await replayStream(rec, res, fixtures.streamText, eventDelayMs);
        return;
      case 'fx-stream-text-slow':
        await replayStream(rec, res, fixtures.streamText, slowEventDelayMs);
        return;
      case 'fx-stream-tools':
        await replayStream(rec, res, fixtures.streamTools, eventDelayMs);
        return;
      case 'fx-error-400':
        sendJson(res, 400, fixtures.badRequest, fixtures.badRequestHeaders);
        return;
      case 'fx-error-404':
        sendJson(res, 404, fixtures.unknownModel, fixtures.unknownModelHeaders);
        return;
      case 'fx-reset-mid-stream': {
        const events = withoutUsage(fixtures.streamText).slice(0, 2);
        await writeEvents(rec, res, events, eventDelayMs);
        await later(20);
        rec.resetAt = Date.now();
        req.socket.destroy();
        return;
      }
      case 'fx-stall':
        // Accept the request and never answer; the socket stays open until the peer gives up.
        return;
      case 'fx-slow-stream':
        await slowStream(rec, res);
        return;
      case 'fx-auth-401':
        openAiError(
          res,
          401,
          `Incorrect API key provided: ${req.headers.authorization}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          'invalid_request_error',
          null,
          'invalid_api_key',
        );
        return;
      default:
        sendJson(
          res,
          404,
          {
            error: {
              message: `The model \`${model}\` does not exist or you do not have access to it.`,
              type: 'invalid_request_error',
              param: null,
              code: 'model_not_found',
            },
          },
          { 'Content-Type': 'application/json; charset=utf-8' },
        );
    }
  }

  server.on('request', (req, res) => {
    const chunks = [];
    const rec = {
      method: req.method,
      url: req.url,
      headers: { ...req.headers },
      rawHeaders: [...req.rawHeaders],
      httpVersion: req.httpVersion,
      rawBody: '',
      body: null,
      connectionId: req.socket.__fakeId,
      receivedAt: Date.now(),
      bodyCompleteAt: null,
      eventsSent: 0,
      resetAt: null,
      responseClosedAt: null, // response stream closed (finished or aborted)
      responseFinished: false, // true when the whole response was written
      socketClosedAt: null, // the TCP connection that carried this request closed
    };
    requests.push(rec);
    req.socket.__recs?.push(rec);
    res.once('close', () => {
      rec.responseClosedAt = Date.now();
      rec.responseFinished = res.writableFinished;
    });
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      rec.bodyCompleteAt = Date.now();
      const raw = Buffer.concat(chunks);
      rec.rawBody = raw.toString('utf8');
      try {
        rec.body = raw.length ? JSON.parse(rec.rawBody) : null;
      } catch {
        rec.body = null;
      }
      const url = new URL(req.url, 'http://fake');
      let work;
      if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
        work = handleChat(rec, req, res);
      } else if (req.method === 'GET' && url.pathname === '/v1/models') {
        sendJson(res, 200, {
          object: 'list',
          data: MODELS.map((id) => ({ id, object: 'model', created: 1727346168, owned_by: 'switchyard-fake' })),
        });
      } else {
        sendJson(res, 404, {
          error: {
            message: `Invalid URL (${req.method} ${url.pathname})`,
            type: 'invalid_request_error',
            param: null,
            code: null,
          },
        });
      }
      Promise.resolve(work).catch((err) => {
        rec.handlerError = String(err?.stack ?? err);
        if (!res.headersSent) {
          res.writeHead(500);
          res.end();
        } else {
          res.destroy();
        }
      });
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  return {
    port,
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    /** Number of TCP connections accepted so far. */
    get connections() {
      return connectionCount;
    },
    /** Currently open TCP connections. */
    get openConnections() {
      return sockets.size;
    },
    /** Requests whose body.model equals `model`. */
    find(model) {
      return requests.filter((r) => r.body?.model === model);
    },
    /** Close keep-alive connections that are idle right now (simulates an upstream idle timeout). */
    closeIdleConnections() {
      server.closeIdleConnections();
    },
    async close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

export { sleep };
