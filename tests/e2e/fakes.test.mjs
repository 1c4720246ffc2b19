// Self-test of the provider fakes (lib/fake_{anthropic,bedrock,gemini,azure}.mjs) with the
// OFFICIAL client SDKs pointed straight at them: if the real clients accept what the fakes send and
// the fakes accept (and verify) what the real clients send, the fakes are faithful enough to judge
// the gateway by. No gateway involved.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import Anthropic from '@anthropic-ai/sdk';
import Anthropic0137 from 'anthropic-sdk-0.137';
import OpenAI, { AzureOpenAI } from 'openai';
import { GoogleGenAI, ApiError as GenAiApiError } from '@google/genai';

import { fixturesDir, sseJsonChunks, readFixture } from './lib/fake_upstream.mjs';
import { fxJson } from './lib/fake_common.mjs';
import { startFakeAnthropic, anthropicSse } from './lib/fake_anthropic.mjs';
import { startFakeBedrock, splitFrames, decodeFrame, codec, exceptionFrame } from './lib/fake_bedrock.mjs';
import { startFakeGemini, geminiChunks } from './lib/fake_gemini.mjs';
import { startFakeAzure, AZURE_API_VERSION } from './lib/fake_azure.mjs';

const require = createRequire(import.meta.url);
const {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} = require('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');
const { HttpRequest } = require('@smithy/protocol-http');

const T = { timeout: 15_000 };

// ------------------------------------------------------------------------------------------------
describe('fake Anthropic with @anthropic-ai/sdk', () => {
  let fake;
  let ant; // 0.137.0: apiKey -> x-api-key
  let ant112; // 1.12.0 (Bearer for apiKey), given the x-api-key header explicitly
  const MSGS = [{ role: 'user', content: 'What is the capital of France?' }];

  before(async () => {
    fake = await startFakeAnthropic();
    ant = new Anthropic0137({ apiKey: fake.apiKey, baseURL: fake.baseURL, maxRetries: 0 });
    ant112 = new Anthropic({
      apiKey: null,
      baseURL: fake.baseURL,
      maxRetries: 0,
      defaultHeaders: { 'x-api-key': fake.apiKey },
    });
  });
  after(() => fake?.close());

  test('messages.create fx-text: the recorded message, x-api-key and anthropic-version received', T, async () => {
    const mark = fake.requests.length;
    const msg = await ant.messages.create({ model: 'fx-text', max_tokens: 64, messages: MSGS });
    assert.deepEqual(msg, fxJson('anthropic', 'msg-text.response.json'));
    const [rec] = fake.since(mark);
    assert.equal(rec.url, '/v1/messages');
    assert.equal(rec.headers['x-api-key'], fake.apiKey);
    assert.equal(rec.headers['anthropic-version'], '2023-06-01');
    assert.equal(rec.status, 200);
  });

  test('SDK 1.12.0: anthropic-version 2026-10-21 accepted; its Bearer apiKey is refused like the real API', T, async () => {
    const mark = fake.requests.length;
    const msg = await ant112.messages.create({ model: 'fx-text', max_tokens: 64, messages: MSGS });
    assert.equal(msg.content[0].text, 'The capital of France is Paris.');
    assert.equal(fake.since(mark)[0].headers['anthropic-version'], '2026-10-21');

    const bearer = new Anthropic({ apiKey: fake.apiKey, baseURL: fake.baseURL, maxRetries: 0 });
    await assert.rejects(bearer.messages.create({ model: 'fx-text', max_tokens: 64, messages: MSGS }), (err) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.error?.error?.type, 'authentication_error');
      return true;
    });
  });

  test('beta client (?beta=true) is accepted', T, async () => {
    const mark = fake.requests.length;
    const msg = await ant.beta.messages.create({ model: 'fx-text', max_tokens: 64, messages: MSGS });
    assert.equal(msg.content[0].text, 'The capital of France is Paris.');
    assert.equal(fake.since(mark)[0].url, '/v1/messages?beta=true');
  });

  test('stream fx-text: finalMessage() assembles the recorded stream (+"\\n\\n" after the last event)', T, async () => {
    const stream = ant112.messages.stream({ model: 'fx-text', max_tokens: 64, messages: MSGS });
    const msg = await stream.finalMessage();
    const evs = anthropicSse('stream-basic-text.sse');
    assert.equal(msg.content[0].text, 'Hello there!');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.input_tokens, evs[0].data.message.usage.input_tokens);
    assert.equal(msg.usage.output_tokens, evs.at(-2).data.usage.output_tokens);
  });

  test('stream fx-tools: tool_use block from input_json_delta fragments, stop_reason max_tokens', T, async () => {
    const stream = ant.messages.stream({
      model: 'fx-tools',
      max_tokens: 64,
      messages: MSGS,
      tools: [{ name: 'make_file', input_schema: { type: 'object' } }],
    });
    const msg = await stream.finalMessage();
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.content[1].type, 'tool_use');
    assert.equal(msg.content[1].name, 'make_file');
    assert.equal(msg.content[1].input.filename, 'taxes.txt');
    assert.equal(msg.usage.output_tokens, 124);
  });

  test('fx-thinking: recorded message; the synthesized stream assembles to the same content', T, async () => {
    const want = fxJson('anthropic', 'msg-thinking.1.response.json');
    const body = { model: 'fx-thinking', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: MSGS };
    assert.deepEqual(await ant.messages.create(body), want);
    const msg = await ant.messages.stream(body).finalMessage();
    assert.deepEqual(msg.content, want.content);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.output_tokens, want.usage.output_tokens);
  });

  test('fx-text-cached: msg-text with the cache counts edited in, also in the stream', T, async () => {
    const msg = await ant.messages.create({ model: 'fx-text-cached', max_tokens: 64, messages: MSGS });
    assert.equal(msg.usage.cache_read_input_tokens, 1200);
    assert.equal(msg.usage.cache_creation_input_tokens, 300);
    assert.equal(msg.usage.input_tokens, 20);
    const fin = await ant.messages.stream({ model: 'fx-text-cached', max_tokens: 64, messages: MSGS }).finalMessage();
    assert.equal(fin.usage.cache_read_input_tokens, 1200);
    assert.equal(fin.content[0].text, 'Hello there!');
  });

  test('fx-overloaded: 529 overloaded_error envelope', T, async () => {
    await assert.rejects(ant.messages.create({ model: 'fx-overloaded', max_tokens: 8, messages: MSGS }), (err) => {
      assert.ok(err instanceof Anthropic0137.APIError, String(err));
      assert.equal(err.status, 529);
      assert.equal(err.error?.type, 'error');
      assert.equal(err.error?.error?.type, 'overloaded_error');
      return true;
    });
  });

  test('fx-error-mid-stream: message_start then event: error -> the SDK stream throws', T, async () => {
    const stream = ant.messages.stream({ model: 'fx-error-mid-stream', max_tokens: 8, messages: MSGS });
    await assert.rejects(stream.finalMessage(), (err) => {
      assert.match(String(err?.message ?? err), /Overloaded/);
      return true;
    });
  });

  test('unknown model -> NotFoundError; missing max_tokens / system role -> 400', T, async () => {
    await assert.rejects(ant.messages.create({ model: 'claude-nope', max_tokens: 8, messages: MSGS }), (err) => {
      assert.ok(err instanceof Anthropic0137.NotFoundError, String(err));
      assert.equal(err.error?.error?.message, 'model: claude-nope');
      return true;
    });
    await assert.rejects(ant.messages.create({ model: 'fx-text', messages: MSGS }), (err) => {
      assert.ok(err instanceof Anthropic0137.BadRequestError, String(err));
      assert.match(err.error?.error?.message, /max_tokens/);
      return true;
    });
    await assert.rejects(
      ant.messages.create({ model: 'fx-text', max_tokens: 8, messages: [{ role: 'system', content: 'x' }, ...MSGS] }),
      (err) => err instanceof Anthropic0137.BadRequestError,
    );
  });

  test('missing anthropic-version -> 400', T, async () => {
    const res = await fetch(`${fake.origin}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': fake.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fx-text', max_tokens: 8, messages: MSGS }),
    });
    assert.equal(res.status, 400);
    assert.match((await res.json()).error.message, /anthropic-version/);
  });
});

// ------------------------------------------------------------------------------------------------
describe('fake Bedrock with @aws-sdk/client-bedrock-runtime', () => {
  let fake;
  let br;
  const MSGS = [{ role: 'user', content: [{ text: 'hi' }] }];

  const client = (over = {}) =>
    new BedrockRuntimeClient({
      region: fake.region,
      endpoint: fake.endpoint,
      maxAttempts: 1,
      credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: fake.secretAccessKey },
      requestHandler: new NodeHttpHandler(),
      ...over,
    });

  before(async () => {
    fake = await startFakeBedrock();
    br = client();
  });
  after(() => {
    br?.destroy();
    return fake?.close();
  });

  test('re-encoding the recorded frames is byte-identical; the exception frame equals the generated one', () => {
    for (const name of [
      'converse-stream-text.response.eventstream',
      'converse-stream-tool-use-server-tool.response.eventstream',
      'converse-stream-empty-delta.response.eventstream',
    ]) {
      const raw = fs.readFileSync(path.join(fixturesDir(), 'bedrock', name));
      const again = Buffer.concat(splitFrames(raw).map((f) => Buffer.from(codec.encode(codec.decode(f)))));
      assert.ok(again.equals(raw), name);
      const frames = JSON.parse(fs.readFileSync(path.join(fixturesDir(), 'bedrock', name.replace('.eventstream', '.frames.json'))));
      assert.deepEqual(splitFrames(raw).map(decodeFrame).map((f) => f.payload), frames.map((f) => f.payload));
    }
    const gen = fs.readFileSync(path.join(fixturesDir(), 'bedrock', 'generated', 'throttlingException.eventstream'));
    assert.ok(exceptionFrame('throttlingException', 'Too many requests, please wait before trying again.').equals(gen));
  });

  test('Converse (SigV4 verified): the recorded response; %3A in the path as received', T, async () => {
    const mark = fake.requests.length;
    const out = await br.send(new ConverseCommand({ modelId: 'fx.text-v1:0', messages: MSGS, inferenceConfig: { maxTokens: 64 } }));
    const want = fxJson('bedrock', 'converse-text.response.json');
    assert.deepEqual(out.output, want.output);
    assert.equal(out.stopReason, want.stopReason);
    assert.deepEqual(out.usage, want.usage);
    const [rec] = fake.since(mark);
    assert.equal(rec.url, '/model/fx.text-v1%3A0/converse');
    assert.equal(rec.auth, 'sigv4');
    assert.equal(rec.authError, undefined);
    assert.equal(rec.expectedAuthorization, rec.headers.authorization);
  });

  test('ConverseStream fx.text-v1:0: the recorded frames reach the SDK (split writes)', T, async () => {
    const r = await br.send(new ConverseStreamCommand({ modelId: 'fx.text-v1:0', messages: MSGS }));
    const frames = fxJson('bedrock', 'converse-stream-text.response.frames.json');
    let text = '';
    const kinds = [];
    let usage;
    for await (const ev of r.stream) {
      const k = Object.keys(ev)[0];
      kinds.push(k);
      if (k === 'contentBlockDelta') text += ev.contentBlockDelta.delta.text;
      if (k === 'metadata') usage = ev.metadata.usage;
    }
    assert.deepEqual(kinds, frames.map((f) => f.headers[':event-type']));
    assert.equal(text, frames.filter((f) => f.payload.delta?.text !== undefined).map((f) => f.payload.delta.text).join(''));
    const { inputTokens, outputTokens, totalTokens } = frames.at(-1).payload.usage;
    assert.deepEqual(usage, { inputTokens, outputTokens, totalTokens });
  });

  test('ConverseStream fx.tools-v1:0: toolUse blocks with string input fragments, stopReason tool_use', T, async () => {
    const r = await br.send(new ConverseStreamCommand({ modelId: 'fx.tools-v1:0', messages: MSGS }));
    const tools = {};
    let stop;
    for await (const ev of r.stream) {
      if (ev.contentBlockStart?.start?.toolUse) tools[ev.contentBlockStart.contentBlockIndex] = { ...ev.contentBlockStart.start.toolUse, input: '' };
      if (ev.contentBlockDelta?.delta?.toolUse) tools[ev.contentBlockDelta.contentBlockIndex].input += ev.contentBlockDelta.delta.toolUse.input;
      if (ev.messageStop) stop = ev.messageStop.stopReason;
    }
    assert.equal(stop, 'tool_use');
    assert.equal(tools[2].name, 'final_result');
    assert.deepEqual(JSON.parse(tools[2].input), { result: 7006652 });
  });

  test('Converse fx.cached-v1:0: converse-text with cache counts edited in', T, async () => {
    const out = await br.send(new ConverseCommand({ modelId: 'fx.cached-v1:0', messages: MSGS }));
    assert.equal(out.usage.cacheReadInputTokens, 100);
    assert.equal(out.usage.cacheWriteInputTokens, 20);
    assert.equal(out.output.message.content[0].text, fxJson('bedrock', 'converse-text.response.json').output.message.content[0].text);
  });

  test('Bedrock API key (Bearer) accepted; a wrong one refused', T, async () => {
    const mark = fake.requests.length;
    const bearer = client({ credentials: undefined, token: { token: fake.apiKey }, authSchemePreference: ['httpBearerAuth'] });
    const out = await bearer.send(new ConverseCommand({ modelId: 'fx.tools-v1:0', messages: MSGS }));
    assert.equal(out.stopReason, 'tool_use');
    assert.deepEqual(out.output.message.content[0].toolUse.input, { city: 'London', date: '2022-01-01' });
    const [rec] = fake.since(mark);
    assert.equal(rec.auth, 'bearer');
    assert.equal(rec.headers['x-amz-date'], undefined);
    const wrong = client({ credentials: undefined, token: { token: 'ABSKwrong' }, authSchemePreference: ['httpBearerAuth'] });
    await assert.rejects(wrong.send(new ConverseCommand({ modelId: 'fx.text-v1:0', messages: MSGS })), (err) => {
      assert.equal(err.name, 'AccessDeniedException', String(err));
      assert.equal(err.$metadata.httpStatusCode, 403);
      return true;
    });
  });

  test('SigV4 with a wrong secret -> 403 InvalidSignatureException (SignatureDoesNotMatch message)', T, async () => {
    const bad = client({ credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: 'not-the-secret' } });
    await assert.rejects(bad.send(new ConverseCommand({ modelId: 'fx.text-v1:0', messages: MSGS })), (err) => {
      assert.equal(err.name, 'InvalidSignatureException', String(err));
      assert.equal(err.$metadata.httpStatusCode, 403);
      assert.match(err.message, /The request signature we calculated does not match/);
      return true;
    });
  });

  test('a signature over the single-encoded path (canonical URI not double-encoded) is refused', T, async () => {
    const body = JSON.stringify({ messages: MSGS });
    const url = new URL(fake.endpoint);
    const reqToSign = new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/model/fx.text-v1%3A0/converse',
      headers: { host: url.host, 'content-type': 'application/json' },
      body,
    });
    const mk = (uriEscapePath) =>
      new SignatureV4({
        service: 'bedrock',
        region: fake.region,
        sha256: Sha256,
        uriEscapePath,
        credentials: { accessKeyId: fake.accessKeyId, secretAccessKey: fake.secretAccessKey },
      });
    const send = async (signed) => {
      const h = { ...signed.headers };
      delete h.host;
      return fetch(`${fake.endpoint}${signed.path}`, { method: 'POST', headers: h, body });
    };
    assert.equal((await send(await mk(true).sign(reqToSign))).status, 200, 'correctly signed raw request');
    const res = await send(await mk(false).sign(reqToSign));
    assert.equal(res.status, 403);
    assert.match((await res.json()).message, /signature we calculated does not match/);
  });

  test('ConverseStream fx.throttle-v1:0: messageStart, then the SDK throws ThrottlingException', T, async () => {
    const r = await br.send(new ConverseStreamCommand({ modelId: 'fx.throttle-v1:0', messages: MSGS }));
    const seen = [];
    await assert.rejects(
      (async () => {
        for await (const ev of r.stream) seen.push(Object.keys(ev)[0]);
      })(),
      (err) => {
        assert.equal(err.name, 'ThrottlingException', String(err));
        return true;
      },
    );
    assert.deepEqual(seen, ['messageStart']);
  });

  test('fx.badmodel-v1:0: the recorded 400 -> ValidationException (Converse and ConverseStream)', T, async () => {
    for (const Cmd of [ConverseCommand, ConverseStreamCommand]) {
      await assert.rejects(br.send(new Cmd({ modelId: 'fx.badmodel-v1:0', messages: MSGS })), (err) => {
        assert.equal(err.name, 'ValidationException', String(err));
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.equal(err.message, 'The provided model identifier is invalid.');
        return true;
      });
    }
  });
});

// ------------------------------------------------------------------------------------------------
describe('fake Gemini with @google/genai', () => {
  let fake;
  let gg;

  before(async () => {
    fake = await startFakeGemini();
    gg = new GoogleGenAI({ apiKey: fake.apiKey, httpOptions: { baseUrl: fake.baseUrl } });
  });
  after(() => fake?.close());

  test('generateContent fx-text: the recorded response; x-goog-api-key received', T, async () => {
    const mark = fake.requests.length;
    const r = await gg.models.generateContent({ model: 'fx-text', contents: 'What is the capital of France?' });
    assert.equal(r.text, 'The capital of France is Paris.\n');
    assert.deepEqual(r.usageMetadata, fxJson('gemini', 'generate-text.response.json').usageMetadata);
    const [rec] = fake.since(mark);
    assert.equal(rec.url, '/v1beta/models/fx-text:generateContent');
    assert.equal(rec.headers['x-goog-api-key'], fake.apiKey);
  });

  test('generateContentStream fx-text: CRLF-separated SSE parsed chunk by chunk', T, async () => {
    const mark = fake.requests.length;
    const chunks = [];
    for await (const c of await gg.models.generateContentStream({ model: 'fx-text', contents: 'hi' })) chunks.push(c);
    const want = geminiChunks('stream-text.response.sse');
    assert.equal(chunks.length, want.length);
    assert.equal(chunks.map((c) => c.text).join(''), 'The capital of France is Paris.\n');
    assert.deepEqual(chunks.at(-1).usageMetadata, want.at(-1).usageMetadata);
    assert.equal(fake.since(mark)[0].url, '/v1beta/models/fx-text:streamGenerateContent?alt=sse');
  });

  test('generateContent / stream fx-tools: functionCall parts', T, async () => {
    const config = { tools: [{ functionDeclarations: [{ name: 'get_country', parametersJsonSchema: { type: 'object' } }] }] };
    const r = await gg.models.generateContent({ model: 'fx-tools', contents: 'hi', config });
    assert.deepEqual(r.functionCalls.map((f) => [f.name, f.args]), [['get_user_country', {}]]);
    const calls = [];
    for await (const c of await gg.models.generateContentStream({ model: 'fx-tools', contents: 'hi', config })) {
      calls.push(...(c.functionCalls ?? []));
    }
    assert.deepEqual(calls.map((f) => [f.name, f.args]), [['get_country', {}]]);
  });

  test('streamGenerateContent without alt=sse answers one JSON array (as the real API does)', T, async () => {
    const res = await fetch(`${fake.origin}/v1beta/models/fx-usage:streamGenerateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': fake.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), geminiChunks('stream-usage-mid-stream.response.sse'));
  });

  test('fx-429 -> ApiError 429 with the recorded body; wrong key -> 400', T, async () => {
    await assert.rejects(gg.models.generateContent({ model: 'fx-429', contents: 'hi' }), (err) => {
      assert.ok(err instanceof GenAiApiError, String(err));
      assert.equal(err.status, 429);
      assert.match(err.message, /RESOURCE_EXHAUSTED/);
      return true;
    });
    const bad = new GoogleGenAI({ apiKey: 'AIza-wrong', httpOptions: { baseUrl: fake.baseUrl } });
    await assert.rejects(bad.models.generateContent({ model: 'fx-text', contents: 'hi' }), (err) => err.status === 400);
  });
});

// ------------------------------------------------------------------------------------------------
describe('fake Azure OpenAI with openai AzureOpenAI', () => {
  let fake;
  let az;
  const MSGS = [{ role: 'user', content: 'hi' }];
  const mk = (deployment, apiKey = fake.apiKey) =>
    new AzureOpenAI({ apiKey, endpoint: fake.endpoint, apiVersion: AZURE_API_VERSION, deployment, maxRetries: 0 });

  before(async () => {
    fake = await startFakeAzure();
    az = mk('fx-chat');
  });
  after(() => fake?.close());

  test('chat.completions.create: the recorded Azure response; api-key + api-version received', T, async () => {
    const mark = fake.requests.length;
    const r = await az.chat.completions.create({ model: 'gpt-4o', messages: MSGS });
    assert.deepEqual(r, fxJson('azure', 'azure-chat-basic.response.json'));
    const [rec] = fake.since(mark);
    assert.equal(rec.url, `/openai/deployments/fx-chat/chat/completions?api-version=${AZURE_API_VERSION}`);
    assert.equal(rec.headers['api-key'], fake.apiKey);
    assert.equal(rec.headers.authorization, undefined);
  });

  test('streaming text with include_usage (prompt_filter_results chunk first) and tools', T, async () => {
    const chunks = [];
    const s = await mk('fx-stream-text').chat.completions.create({
      model: 'gpt-4o',
      messages: MSGS,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const c of s) chunks.push(c);
    const want = sseJsonChunks(readFixture('stream-text-include-usage.sse').toString('utf8'));
    assert.equal(chunks.length, want.length + 1);
    assert.deepEqual(chunks[0].choices, []);
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), want.map((c) => c.choices[0]?.delta?.content ?? '').join(''));
    assert.deepEqual(chunks.at(-1).usage, want.at(-1).usage);

    let args = '';
    for await (const c of await mk('fx-stream-tools').chat.completions.create({ model: 'gpt-4o', messages: MSGS, stream: true })) {
      args += c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '';
      assert.equal(c.usage, undefined);
    }
    assert.deepEqual(JSON.parse(args), { city: 'New York City' });
  });

  test('wrong api-key -> AuthenticationError; unknown deployment -> NotFoundError', T, async () => {
    await assert.rejects(mk('fx-chat', 'nope').chat.completions.create({ model: 'x', messages: MSGS }), (err) => err instanceof OpenAI.AuthenticationError);
    await assert.rejects(mk('fx-nope').chat.completions.create({ model: 'x', messages: MSGS }), (err) => err instanceof OpenAI.NotFoundError);
  });
});
