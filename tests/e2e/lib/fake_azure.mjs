// A fake Azure OpenAI resource for the end-to-end tests.
//
// POST /openai/deployments/{deployment}/chat/completions?api-version=... with header `api-key`
// (Azure's key header; `Authorization` is not looked at). Missing/wrong key -> 401 as Azure
// answers; missing api-version -> 400. The deployment selects the behaviour (MODELS below):
// non-streaming replays shared/fixtures/azure/azure-chat-basic.response.json byte-exact;
// streaming replays the OpenAI fixtures (no Azure stream was recorded) with the same
// include_usage rule as fake_upstream.mjs, preceded by the `choices: []` chunk carrying
// `prompt_filter_results` that Azure sends first (that chunk is SYNTHESIZED here in Azure's
// documented shape; turn it off with {promptFilterChunk: false}).

import { startRecordingServer, fx, recordedResponseHeaders } from './fake_common.mjs';
import { readFixture, splitSseEvents, withoutUsage, sseJsonChunks, assembleCompletion } from './fake_upstream.mjs';

export const AZURE_FAKE_KEY = 'azkey-upstream-SECRET-c0ffee42';
export const AZURE_API_VERSION = '2024-10-21';

export const MODELS = ['fx-chat', 'fx-stream-text', 'fx-stream-tools'];

export const PROMPT_FILTER_CHUNK =
  'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}';

/**
 * Start the fake. options: {apiKey (default AZURE_FAKE_KEY), eventDelayMs (default 3),
 * promptFilterChunk (default true)}.
 * Returns {port, origin, endpoint (for AzureOpenAI), apiKey, requests, since(mark),
 * find(deployment), close()}. Records add `deployment` and `apiVersion`.
 */
export async function startFakeAzure(options = {}) {
  const apiKey = options.apiKey ?? AZURE_FAKE_KEY;
  const delay = options.eventDelayMs ?? 3;
  const promptFilter = options.promptFilterChunk ?? true;

  const fixtures = {
    chat: fx('azure', 'azure-chat-basic.response.json'),
    chatHeaders: recordedResponseHeaders('azure', 'azure-chat-basic.meta.json'),
    streamText: splitSseEvents(readFixture('stream-text-include-usage.sse').toString('utf8')),
    streamTools: splitSseEvents(readFixture('stream-tool-call-single.sse').toString('utf8')),
  };

  const reqHeaders = () => ({ 'apim-request-id': crypto.randomUUID(), 'x-request-id': crypto.randomUUID(), 'x-ms-region': 'East US 2' });

  function azureError(ctx, res, status, code, message) {
    ctx.sendJson(res, status, { error: { code, message } }, reqHeaders());
  }

  async function replayStream(rec, res, ctx, events) {
    const includeUsage = rec.body?.stream_options?.include_usage === true;
    const evs = includeUsage ? events : withoutUsage(events);
    if (rec.body?.stream !== true) {
      // Non-streaming answers always carry usage (include_usage is a streaming option).
      const done = assembleCompletion(sseJsonChunks(events.join('\n\n')));
      done.prompt_filter_results = [{ prompt_index: 0, content_filter_results: {} }];
      ctx.sendJson(res, 200, done, reqHeaders());
      return;
    }
    const all = promptFilter ? [PROMPT_FILTER_CHUNK, ...evs] : evs;
    await ctx.stream(
      rec,
      res,
      200,
      { 'content-type': 'text/event-stream; charset=utf-8', ...reqHeaders() },
      all.map((e) => `${e}\n\n`),
      delay,
    );
  }

  async function handle(rec, req, res, ctx) {
    const m = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(rec.path);
    if (req.method !== 'POST' || !m) {
      azureError(ctx, res, 404, '404', 'Resource not found');
      return;
    }
    rec.deployment = decodeURIComponent(m[1]);
    rec.apiVersion = rec.query.get('api-version');
    const key = rec.headers['api-key'];
    if (!key || key !== apiKey) {
      azureError(
        ctx,
        res,
        401,
        '401',
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
      );
      return;
    }
    if (!rec.apiVersion) {
      azureError(ctx, res, 400, 'BadRequest', "Missing required query parameter 'api-version'.");
      return;
    }
    if (rec.body === null || typeof rec.body !== 'object' || !Array.isArray(rec.body.messages)) {
      ctx.sendJson(res, 400, { error: { message: "'messages' is a required property", type: 'invalid_request_error', param: null, code: null } }, reqHeaders());
      return;
    }
    switch (rec.deployment) {
      case 'fx-chat':
        ctx.sendJson(res, 200, fixtures.chat, { ...fixtures.chatHeaders, ...reqHeaders() });
        return;
      case 'fx-stream-text':
        await replayStream(rec, res, ctx, fixtures.streamText);
        return;
      case 'fx-stream-tools':
        await replayStream(rec, res, ctx, fixtures.streamTools);
        return;
      default:
        azureError(
          ctx,
          res,
          404,
          'DeploymentNotFound',
          'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
        );
    }
  }

  const srv = await startRecordingServer('azure', handle);
  return Object.assign(srv, {
    endpoint: srv.origin,
    apiKey,
    find(deployment) {
      return srv.requests.filter((r) => r.deployment === deployment);
    },
  });
}

