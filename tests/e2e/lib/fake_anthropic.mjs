// A fake api.anthropic.com (Messages API) for the end-to-end tests.
//
// POST /v1/messages (also ?beta=true) replays the recorded fixtures in shared/fixtures/anthropic.
// The request body's `model` selects the behaviour (MODELS below, tests/e2e/README.md). Auth is
// what the real API wants from an API key: `x-api-key: <key>` (anything else -> 401
// authentication_error) and an `anthropic-version` header (missing -> 400). Bodies are checked the
// way the real API does for the mistakes a translating gateway can make: `max_tokens` required,
// `messages` a non-empty list of user/assistant turns (a "system" role is a 400).

import { startRecordingServer, fx, fxJson, fxText, randomHex, splitEvents } from './fake_common.mjs';

export const ANTHROPIC_FAKE_KEY = 'sk-ant-upstream-SECRET-anthropic-7f3a';

export const MODELS = ['fx-text', 'fx-text-cached', 'fx-tools', 'fx-thinking', 'fx-overloaded', 'fx-error-mid-stream'];

/**
 * The usage fx-text-cached reports: msg-text / stream-basic-text with prompt-cache counts EDITED in
 * (no recorded response has non-zero cache counts), to check the "all input, cached included" rule.
 */
export const CACHED_USAGE = { cache_read_input_tokens: 1200, cache_creation_input_tokens: 300 };

/** The events of an SSE fixture, each as its exact text (no separator). */
function sseEvents(name) {
  return splitEvents(fxText('anthropic', name), '\n\n');
}

/** The JSON payload of each event of an Anthropic SSE fixture ({event, data}). */
export function anthropicSse(name) {
  return sseEvents(name).map((ev) => {
    const lines = ev.split('\n');
    const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? null;
    const data = lines
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5))
      .join('\n');
    return { event, data: JSON.parse(data) };
  });
}

/**
 * A stream for a recorded non-streaming message that has no recorded stream (fx-thinking):
 * SYNTHESIZED here from the message in the event grammar of the real API (message_start,
 * content_block_start/delta/stop per block, thinking_delta + one signature_delta, message_delta
 * with the final usage, message_stop). Not a capture.
 */
function synthesizeStream(msg) {
  const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}`;
  const pieces = (s, n) => {
    const out = [];
    const step = Math.max(1, Math.ceil(s.length / n));
    for (let i = 0; i < s.length; i += step) out.push(s.slice(i, i + step));
    return out.length ? out : [''];
  };
  const startUsage = { ...msg.usage, output_tokens: 1 };
  const out = [
    ev('message_start', {
      message: { ...msg, content: [], stop_reason: null, stop_sequence: null, usage: startUsage },
    }),
  ];
  msg.content.forEach((block, index) => {
    if (block.type === 'thinking') {
      out.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
      for (const p of pieces(block.thinking, 3)) {
        out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: p } }));
      }
      out.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } }));
    } else if (block.type === 'text') {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      if (index === 0) out.push('event: ping\ndata: {"type": "ping"}');
      for (const p of pieces(block.text, 4)) {
        out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: p } }));
      }
    } else if (block.type === 'tool_use') {
      out.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }));
      for (const p of pieces(JSON.stringify(block.input), 3)) {
        out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: p } }));
      }
    }
    out.push(ev('content_block_stop', { index }));
  });
  out.push(
    ev('message_delta', {
      delta: { stop_reason: msg.stop_reason, stop_sequence: msg.stop_sequence ?? null },
      usage: { output_tokens: msg.usage.output_tokens },
    }),
  );
  out.push(ev('message_stop', {}));
  return out;
}

function requestId() {
  return `req_011C${randomHex(10)}`;
}

/**
 * Start the fake. options: {apiKey (default ANTHROPIC_FAKE_KEY), eventDelayMs (default 3)}.
 * Returns {port, origin, baseURL (for the Anthropic SDK: no /v1), apiKey, requests, since(mark),
 * find(model), close()}.
 */
export async function startFakeAnthropic(options = {}) {
  const apiKey = options.apiKey ?? ANTHROPIC_FAKE_KEY;
  const delay = options.eventDelayMs ?? 3;

  const fixtures = {
    text: fx('anthropic', 'msg-text.response.json'),
    tools: fx('anthropic', 'msg-tool-use.1.response.json'),
    thinking: fx('anthropic', 'msg-thinking.1.response.json'),
    streamText: sseEvents('stream-basic-text.sse'),
    streamTools: sseEvents('stream-tool-use-long-json.sse'),
    streamThinking: synthesizeStream(fxJson('anthropic', 'msg-thinking.1.response.json')),
  };
  {
    const msg = fxJson('anthropic', 'msg-text.response.json');
    Object.assign(msg.usage, CACHED_USAGE);
    fixtures.textCached = Buffer.from(JSON.stringify(msg));
    const [first, ...rest] = fixtures.streamText;
    const start = JSON.parse(first.slice(first.indexOf('data: ') + 6));
    Object.assign(start.message.usage, CACHED_USAGE);
    fixtures.streamTextCached = [`event: message_start\ndata: ${JSON.stringify(start)}`, ...rest];
  }

  function error(ctx, res, status, type, message, extraHeaders = {}) {
    const id = requestId();
    ctx.sendJson(res, status, { type: 'error', error: { type, message }, request_id: id }, { 'request-id': id, ...extraHeaders });
  }

  function sendMessage(ctx, res, buf) {
    ctx.sendJson(res, 200, buf, { 'request-id': requestId(), 'anthropic-organization-id': 'org-fake' });
  }

  async function sendStream(rec, res, ctx, events) {
    // "\n\n" after every event, also after the last one (the SDK fixtures were recorded without it).
    await ctx.stream(
      rec,
      res,
      200,
      { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': requestId() },
      events.map((e) => `${e}\n\n`),
      delay,
    );
  }

  function validate(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'There was an error parsing the body of your request.';
    if (typeof body.model !== 'string') return 'model: Field required';
    if (!Number.isInteger(body.max_tokens)) return 'max_tokens: Field required';
    if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: Field required';
    for (let i = 0; i < body.messages.length; i++) {
      const role = body.messages[i]?.role;
      if (role !== 'user' && role !== 'assistant') {
        return `messages.${i}.role: Input should be 'user' or 'assistant'`;
      }
    }
    if (body.tools !== undefined && !Array.isArray(body.tools)) return 'tools: Input should be a valid list';
    for (const [i, t] of (body.tools ?? []).entries()) {
      if (typeof t?.name !== 'string' || (t.type === undefined && typeof t.input_schema !== 'object')) {
        return `tools.${i}.custom.input_schema: Field required`;
      }
    }
    return null;
  }

  async function handle(rec, req, res, ctx) {
    if (req.method !== 'POST' || rec.path !== '/v1/messages') {
      error(ctx, res, 404, 'not_found_error', 'Not Found');
      return;
    }
    const h = rec.headers;
    if (!h['x-api-key']) {
      error(ctx, res, 401, 'authentication_error', 'x-api-key header is required');
      return;
    }
    if (h['x-api-key'] !== apiKey) {
      error(ctx, res, 401, 'authentication_error', 'invalid x-api-key');
      return;
    }
    if (!h['anthropic-version']) {
      error(ctx, res, 400, 'invalid_request_error', 'anthropic-version: header is required');
      return;
    }
    const problem = validate(rec.body);
    if (problem) {
      error(ctx, res, 400, 'invalid_request_error', problem);
      return;
    }
    const stream = rec.body.stream === true;
    switch (rec.body.model) {
      case 'fx-text':
        return stream ? sendStream(rec, res, ctx, fixtures.streamText) : sendMessage(ctx, res, fixtures.text);
      case 'fx-text-cached':
        return stream ? sendStream(rec, res, ctx, fixtures.streamTextCached) : sendMessage(ctx, res, fixtures.textCached);
      case 'fx-tools':
        return stream ? sendStream(rec, res, ctx, fixtures.streamTools) : sendMessage(ctx, res, fixtures.tools);
      case 'fx-thinking':
        return stream ? sendStream(rec, res, ctx, fixtures.streamThinking) : sendMessage(ctx, res, fixtures.thinking);
      case 'fx-overloaded':
        // No authentic 529 body was captured; this is the documented envelope and type.
        error(ctx, res, 529, 'overloaded_error', 'Overloaded');
        return;
      case 'fx-error-mid-stream':
        if (!stream) {
          error(ctx, res, 500, 'api_error', 'Internal server error');
          return;
        }
        // message_start of the recorded text stream, then the recorded mid-stream error event
        // (README: `event: error` with {"type":"error","error":{"type":"api_error","message":"Overloaded"}}).
        await sendStream(rec, res, ctx, [
          fixtures.streamText[0],
          'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"Overloaded"}}',
        ]);
        return;
      default:
        error(ctx, res, 404, 'not_found_error', `model: ${rec.body.model}`);
    }
  }

  const srv = await startRecordingServer('anthropic', handle);
  return Object.assign(srv, {
    baseURL: srv.origin,
    apiKey,
    find(model) {
      return srv.requests.filter((r) => r.body?.model === model);
    },
  });
}
