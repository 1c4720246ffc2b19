// Shared plumbing for the provider fakes (fake_anthropic, fake_bedrock, fake_gemini, fake_azure):
// a node:http server on 127.0.0.1:<random port> that records every request exactly as received
// and hands it to a per-provider handler, plus small helpers to read fixtures and to write
// responses (JSON, or streamed pieces spaced a few ms apart).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

import { fixturesDir } from './fake_upstream.mjs';

/** A file of the shared fixtures, e.g. fx('anthropic', 'msg-text.response.json'), as a Buffer. */
export function fx(provider, name) {
  return fs.readFileSync(path.join(fixturesDir(), provider, name));
}

export function fxJson(provider, name) {
  return JSON.parse(fx(provider, name).toString('utf8'));
}

export function fxText(provider, name) {
  return fx(provider, name).toString('utf8');
}

export const randomHex = (bytes) => crypto.randomBytes(bytes).toString('hex');

/**
 * Response headers recorded in a meta file, minus the ones that describe the recorded transfer
 * (length, encoding, date, connection): those are the fake's own business.
 */
export function recordedResponseHeaders(provider, metaName) {
  const skip = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'date', 'connection']);
  const meta = fxJson(provider, metaName);
  const out = {};
  for (const [k, v] of Object.entries(meta.response_headers ?? {})) {
    if (skip.has(k.toLowerCase())) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/**
 * Start a recording HTTP server.
 *   handler(rec, req, res, ctx) is called once the whole request body has arrived;
 *   ctx = {sendJson(res, status, body, headers), stream(rec, res, status, headers, pieces, delayMs), later(ms)}.
 * Every request is recorded in `requests` as
 *   {method, url (raw, exactly as received, e.g. still %3A-encoded), path (raw, without query),
 *    query (URLSearchParams), headers (lower-cased), rawHeaders, httpVersion, rawBodyBytes (Buffer),
 *    rawBody (utf8), body (parsed JSON or null), receivedAt, status, piecesSent, responseClosedAt,
 *    responseFinished, handlerError}.
 */
export async function startRecordingServer(name, handler) {
  const requests = [];
  const sockets = new Set();
  const timers = new Set();
  let closing = false;
  let connections = 0;

  const later = (ms) =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function sendJson(res, status, body, headers = {}) {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const h = { 'content-type': 'application/json', ...headers, 'content-length': buf.length };
    res.writeHead(status, h);
    res.end(buf);
  }

  /** Write `pieces` (strings or Buffers) one `write` each, `delayMs` apart; false if the peer went away. */
  async function stream(rec, res, status, headers, pieces, delayMs) {
    res.writeHead(status, headers);
    res.flushHeaders();
    for (const p of pieces) {
      if (rec.responseClosedAt !== null || closing) return false;
      res.write(p);
      rec.piecesSent += 1;
      await later(delayMs);
    }
    if (rec.responseClosedAt !== null || closing) return false;
    res.end();
    return true;
  }

  const server = http.createServer();
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;

  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  server.on('request', (req, res) => {
    const q = req.url.indexOf('?');
    const rec = {
      method: req.method,
      url: req.url,
      path: q < 0 ? req.url : req.url.slice(0, q),
      query: new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1)),
      headers: { ...req.headers },
      rawHeaders: [...req.rawHeaders],
      httpVersion: req.httpVersion,
      rawBodyBytes: Buffer.alloc(0),
      rawBody: '',
      body: null,
      receivedAt: Date.now(),
      status: null,
      piecesSent: 0,
      responseClosedAt: null,
      responseFinished: false,
      handlerError: null,
    };
    requests.push(rec);
    const origWriteHead = res.writeHead.bind(res);
    res.writeHead = (status, ...rest) => {
      rec.status = status;
      return origWriteHead(status, ...rest);
    };
    res.once('close', () => {
      rec.responseClosedAt = Date.now();
      rec.responseFinished = res.writableFinished;
    });
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      rec.rawBodyBytes = Buffer.concat(chunks);
      rec.rawBody = rec.rawBodyBytes.toString('utf8');
      try {
        rec.body = rec.rawBodyBytes.length ? JSON.parse(rec.rawBody) : null;
      } catch {
        rec.body = null;
      }
      Promise.resolve()
        .then(() => handler(rec, req, res, { sendJson, stream, later }))
        .catch((err) => {
          rec.handlerError = String(err?.stack ?? err);
          if (!res.headersSent) {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(`${name} fake: handler error`);
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
    origin: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    /** Requests received since `mark` (a previous requests.length). */
    since(mark) {
      return requests.slice(mark);
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

/** Split an SSE body into events keeping each event's bytes (separator: `sep`), without empties. */
export function splitEvents(text, sep) {
  return text.split(sep).filter((e) => e.trim() !== '');
}
