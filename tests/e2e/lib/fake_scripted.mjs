// A scripted OpenAI-compatible upstream for the routing tests (tests/e2e/routing.test.mjs).
//
// Unlike fake_upstream.mjs (which replays recorded fixtures), every model's behaviour here is set
// by the test: a persistent behaviour (`behave(model, b)`) plus an optional queue of one-shot
// behaviours consumed first (`queue(model, b1, b2, ...)`). Several instances can run at once and
// be configured as distinct providers; each one counts what it received per model.
//
//   const a = await startScriptedUpstream({ name: 'A' });
//   a.behave('m1', { status: 500 });                 // every request for m1 gets a 500
//   a.queue('m2', { status: 429, headers: { 'retry-after': '1' } });  // the next one gets a 429 ...
//   a.count('m2');                                    // ... how many requests for m2 arrived
//
// Behaviours (a model without one answers 'ok'):
//   'ok'                       200: a chat.completion, or an SSE stream when the request has stream: true
//   {status, body?, headers?}  that status with `body` (default: an OpenAI-shaped error) as JSON
//   'reset'                    destroy the socket as soon as the request has arrived: no byte is sent
//   'stall'                    never answer (the socket stays open until the peer closes it)
//   {resetAfterChunks: n}      stream: the head and n content chunks, then the socket is destroyed
//                              (without stream: the same as 'reset' after the head was sent)
//   {ok: true, delayMs}        'ok' after a delay
//
// Every request is recorded in `requests` as {model, behaviour (its label), method, url, headers,
// body, receivedAt, connectionId, chunksSent, resetAt, responseClosedAt}.

import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';

const label = (b) => (typeof b === 'string' ? b : JSON.stringify(b));

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed): connections are refused. */
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * @param {{name?: string, chunkDelayMs?: number}} options
 *   name: put into the answers' text ("hello from <name>/<model>") so a client can tell fakes apart.
 *   chunkDelayMs: delay between streamed chunks (default 2 ms).
 */
export async function startScriptedUpstream(options = {}) {
  const name = options.name ?? 'fake';
  const chunkDelayMs = options.chunkDelayMs ?? 2;
  const persistent = new Map(); // model -> behaviour
  const queues = new Map(); // model -> [behaviour, ...]
  const counts = new Map(); // model -> number of requests received
  const requests = [];
  const sockets = new Set();
  const timers = new Set();
  let connections = 0;
  let closing = false;

  const later = (ms) =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  function next(model) {
    const q = queues.get(model);
    if (q && q.length) return q.shift();
    return persistent.get(model) ?? 'ok';
  }

  function sendJson(res, status, body, headers = {}) {
    const buf = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-request-id': `req_${crypto.randomBytes(8).toString('hex')}`,
      ...headers,
      'content-length': buf.length,
    });
    res.end(buf);
  }

  function defaultErrorBody(status) {
    const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return { error: { message: `${name} scripted ${status}`, type, param: null, code: `scripted_${status}` } };
  }

  function text(model) {
    return `hello from ${name}/${model}`;
  }

  function completion(model) {
    const content = text(model);
    return {
      id: `chatcmpl-${crypto.randomBytes(6).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      system_fingerprint: null,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    };
  }

  function chunkObj(id, created, model, delta, finish = null, extra = {}) {
    return {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...extra,
    };
  }

  /** Stream the answer; stop (and destroy the socket) after `resetAfter` content chunks when given. */
  async function stream(rec, req, res, model, resetAfter) {
    const id = `chatcmpl-${crypto.randomBytes(6).toString('hex')}`;
    const created = Math.floor(Date.now() / 1000);
    const includeUsage = rec.body?.stream_options?.include_usage === true;
    const u = includeUsage ? { usage: null } : {};
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': `req_${crypto.randomBytes(8).toString('hex')}` });
    res.flushHeaders();
    const send = (obj) => {
      res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);
      rec.chunksSent += 1;
    };
    const words = text(model).split(/(?= )/);
    send(chunkObj(id, created, model, { role: 'assistant', content: '', refusal: null }, null, u));
    let sentContent = 0;
    for (const w of words) {
      if (resetAfter !== undefined && sentContent >= resetAfter) break;
      await later(chunkDelayMs);
      if (rec.responseClosedAt !== null || closing) return;
      send(chunkObj(id, created, model, { content: w }, null, u));
      sentContent += 1;
    }
    if (resetAfter !== undefined) {
      await later(20);
      rec.resetAt = Date.now();
      req.socket.destroy();
      return;
    }
    await later(chunkDelayMs);
    if (rec.responseClosedAt !== null || closing) return;
    send(chunkObj(id, created, model, {}, 'stop', u));
    if (includeUsage) {
      send({ ...chunkObj(id, created, model, {}), choices: [], usage: { prompt_tokens: 5, completion_tokens: words.length, total_tokens: 5 + words.length } });
    }
    send('[DONE]');
    res.end();
  }

  async function handleChat(rec, req, res) {
    if (rec.body === null || typeof rec.body !== 'object') {
      sendJson(res, 400, { error: { message: 'invalid JSON body', type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    const model = rec.model;
    const b = rec.behaviourValue;
    const streamWanted = rec.body.stream === true;
    if (b === 'ok' || (typeof b === 'object' && b.ok)) {
      if (typeof b === 'object' && b.delayMs) await later(b.delayMs);
      if (rec.responseClosedAt !== null || closing) return;
      if (streamWanted) await stream(rec, req, res, model, undefined);
      else sendJson(res, 200, completion(model));
      return;
    }
    if (b === 'reset') {
      rec.resetAt = Date.now();
      req.socket.destroy();
      return;
    }
    if (b === 'stall') return;
    if (typeof b === 'object' && typeof b.resetAfterChunks === 'number') {
      if (streamWanted) {
        await stream(rec, req, res, model, b.resetAfterChunks);
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
        res.flushHeaders();
        await later(20);
        rec.resetAt = Date.now();
        req.socket.destroy();
      }
      return;
    }
    if (typeof b === 'object' && typeof b.status === 'number') {
      sendJson(res, b.status, b.body ?? defaultErrorBody(b.status), b.headers ?? {});
      return;
    }
    throw new Error(`unknown behaviour ${label(b)}`);
  }

  const server = http.createServer();
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;

  server.on('connection', (socket) => {
    connections += 1;
    socket.__fakeId = connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  server.on('request', (req, res) => {
    const chunks = [];
    const rec = {
      model: null,
      behaviour: null,
      behaviourValue: null,
      method: req.method,
      url: req.url,
      headers: { ...req.headers },
      body: null,
      rawBody: '',
      receivedAt: Date.now(),
      connectionId: req.socket.__fakeId,
      chunksSent: 0,
      resetAt: null,
      responseClosedAt: null,
      handlerError: null,
    };
    res.once('close', () => {
      rec.responseClosedAt = Date.now();
    });
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      rec.rawBody = Buffer.concat(chunks).toString('utf8');
      try {
        rec.body = rec.rawBody ? JSON.parse(rec.rawBody) : null;
      } catch {
        rec.body = null;
      }
      const path = req.url.split('?')[0];
      if (!(req.method === 'POST' && path === '/v1/chat/completions')) {
        requests.push(rec);
        sendJson(res, 404, { error: { message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
        return;
      }
      rec.model = typeof rec.body?.model === 'string' ? rec.body.model : null;
      rec.behaviourValue = next(rec.model);
      rec.behaviour = label(rec.behaviourValue);
      counts.set(rec.model, (counts.get(rec.model) ?? 0) + 1);
      requests.push(rec);
      Promise.resolve()
        .then(() => handleChat(rec, req, res))
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
    name,
    port,
    origin: `http://127.0.0.1:${port}`,
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    get connections() {
      return connections;
    },
    /** Set the persistent behaviour of `model` (also clears its queue). */
    behave(model, behaviour) {
      persistent.set(model, behaviour);
      queues.delete(model);
    },
    /** Append one-shot behaviours for the next requests of `model` (before the persistent one). */
    queue(model, ...behaviours) {
      const q = queues.get(model) ?? [];
      q.push(...behaviours);
      queues.set(model, q);
    },
    /** Requests received for `model` so far (all models when omitted). */
    count(model) {
      if (model === undefined) return requests.filter((r) => r.model !== null).length;
      return counts.get(model) ?? 0;
    },
    /** The recorded requests for `model`. */
    find(model) {
      return requests.filter((r) => r.model === model);
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
