// A fake Gemini API (generativelanguage.googleapis.com, v1beta) for the end-to-end tests.
//
// POST /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse replay the
// recorded fixtures in shared/fixtures/gemini; `{model}` selects the behaviour (MODELS below).
// Auth: `x-goog-api-key` must be the configured key (missing -> 403 PERMISSION_DENIED, wrong ->
// 400 API_KEY_INVALID, as the real API answers). Streams are written byte-exact as recorded: each
// event followed by "\r\n\r\n", no [DONE]. streamGenerateContent WITHOUT alt=sse answers the way
// the real API does: one JSON array of the chunks (application/json), not SSE.

import { startRecordingServer, fx, fxText, recordedResponseHeaders, splitEvents } from './fake_common.mjs';

export const GEMINI_FAKE_KEY = 'AIzaFAKE-gemini-SECRET-91c4d2';

export const MODELS = ['fx-text', 'fx-tools', 'fx-usage', 'fx-429'];

/** The events of a recorded Gemini SSE body, each exactly as recorded (without the CRLF separator). */
export function geminiEvents(name) {
  return splitEvents(fxText('gemini', name), '\r\n\r\n');
}

/** The parsed JSON chunks of a recorded Gemini SSE body. */
export function geminiChunks(name) {
  return geminiEvents(name).map((e) => JSON.parse(e.replace(/^data: ?/, '')));
}

/**
 * Start the fake. options: {apiKey (default GEMINI_FAKE_KEY), eventDelayMs (default 3)}.
 * Returns {port, origin, baseUrl (for @google/genai httpOptions.baseUrl), apiKey, requests,
 * since(mark), find(model), close()}. Records add `model` and `method` ('generateContent'|...).
 */
export async function startFakeGemini(options = {}) {
  const apiKey = options.apiKey ?? GEMINI_FAKE_KEY;
  const delay = options.eventDelayMs ?? 3;

  const fixtures = {
    text: fx('gemini', 'generate-text.response.json'),
    textHeaders: recordedResponseHeaders('gemini', 'generate-text.meta.json'),
    tools: fx('gemini', 'generate-function-call.1.response.json'),
    streamText: geminiEvents('stream-text.response.sse'),
    streamTools: geminiEvents('stream-function-call-thought-signature.1.response.sse'),
    streamUsage: geminiEvents('stream-usage-mid-stream.response.sse'),
    streamHeaders: recordedResponseHeaders('gemini', 'stream-text.meta.json'),
    rateLimited: fx('gemini', 'error-429-resource-exhausted.json'),
  };

  function googleError(ctx, res, code, status, message, details) {
    ctx.sendJson(res, code, { error: { code, message, status, ...(details ? { details } : {}) } }, {
      'content-type': 'application/json; charset=UTF-8',
    });
  }

  async function sendStream(rec, res, ctx, events) {
    if (rec.query.get('alt') !== 'sse') {
      const arr = `[${events.map((e) => e.replace(/^data: ?/, '')).join(',\r\n')}]`;
      ctx.sendJson(res, 200, arr, { ...fixtures.textHeaders });
      return;
    }
    await ctx.stream(
      rec,
      res,
      200,
      { ...fixtures.streamHeaders, 'content-type': 'text/event-stream' },
      events.map((e) => `${e}\r\n\r\n`),
      delay,
    );
  }

  async function handle(rec, req, res, ctx) {
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(rec.path);
    if (req.method !== 'POST' || !m) {
      googleError(ctx, res, 404, 'NOT_FOUND', `The requested URL ${rec.path} was not found on this server.`);
      return;
    }
    rec.model = decodeURIComponent(m[1]);
    rec.geminiMethod = m[2];
    const key = rec.headers['x-goog-api-key'] ?? rec.query.get('key');
    if (!key) {
      googleError(
        ctx,
        res,
        403,
        'PERMISSION_DENIED',
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
      return;
    }
    if (key !== apiKey) {
      googleError(ctx, res, 400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
      ]);
      return;
    }
    const b = rec.body;
    if (b === null || typeof b !== 'object' || Array.isArray(b)) {
      googleError(ctx, res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
      return;
    }
    if (!Array.isArray(b.contents) || b.contents.length === 0) {
      googleError(ctx, res, 400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified\n');
      return;
    }
    for (const c of b.contents) {
      if (c?.role !== undefined && c.role !== 'user' && c.role !== 'model') {
        googleError(ctx, res, 400, 'INVALID_ARGUMENT', 'Please use a valid role: user, model.');
        return;
      }
      if (!Array.isArray(c?.parts) || c.parts.length === 0) {
        googleError(ctx, res, 400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents.parts must not be empty.\n');
        return;
      }
    }
    const streaming = rec.geminiMethod === 'streamGenerateContent';
    const okHeaders = { ...fixtures.textHeaders };
    switch (rec.model) {
      case 'fx-text':
        return streaming ? sendStream(rec, res, ctx, fixtures.streamText) : ctx.sendJson(res, 200, fixtures.text, okHeaders);
      case 'fx-tools':
        return streaming ? sendStream(rec, res, ctx, fixtures.streamTools) : ctx.sendJson(res, 200, fixtures.tools, okHeaders);
      case 'fx-usage':
        return streaming ? sendStream(rec, res, ctx, fixtures.streamUsage) : ctx.sendJson(res, 200, fixtures.text, okHeaders);
      case 'fx-429':
        ctx.sendJson(res, 429, fixtures.rateLimited, { 'content-type': 'application/json; charset=UTF-8' });
        return;
      default:
        googleError(
          ctx,
          res,
          404,
          'NOT_FOUND',
          `models/${rec.model} is not found for API version v1beta, or is not supported for ${rec.geminiMethod}. Call ListModels to see the list of available models and their supported methods.`,
        );
    }
  }

  const srv = await startRecordingServer('gemini', handle);
  return Object.assign(srv, {
    baseUrl: srv.origin,
    apiKey,
    find(model) {
      return srv.requests.filter((r) => r.model === model);
    },
  });
}
