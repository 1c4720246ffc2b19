// Translation through the real gateway (issue #3): an OpenAI-SDK client (POST /v1/chat/completions)
// or an Anthropic-SDK client (POST /v1/messages) routed to providers that speak another protocol:
// the fake Anthropic, Bedrock (SigV4 verified by the fake), Gemini and Azure upstreams
// (lib/fake_*.mjs) and the OpenAI fake (lib/fake_upstream.mjs). Every test checks what the
// client's SDK saw AND what the fake upstream received. Expected values come from the recorded
// fixtures; usage is converted by the rule "prompt_tokens / input counts all input, cached
// included" (Anthropic input_tokens and Bedrock inputTokens exclude cache reads/writes; OpenAI
// prompt_tokens and Gemini promptTokenCount include them; output includes reasoning/thinking).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import Anthropic0137 from 'anthropic-sdk-0.137';

import { startFakeUpstream, readFixture, readFixtureJson, sseJsonChunks } from './lib/fake_upstream.mjs';
import { fxJson } from './lib/fake_common.mjs';
import { startFakeAnthropic, anthropicSse, CACHED_USAGE as ANT_CACHED } from './lib/fake_anthropic.mjs';
import { startFakeBedrock, CACHED_USAGE as BR_CACHED } from './lib/fake_bedrock.mjs';
import { startFakeGemini, geminiChunks } from './lib/fake_gemini.mjs';
import { startFakeAzure, AZURE_API_VERSION } from './lib/fake_azure.mjs';
import { startGateway, killAllGateways } from './lib/gateway.mjs';
import { UPSTREAM_KEY, tappingFetch, sanitizerReports, headersText } from './lib/util.mjs';

const T = { timeout: 20_000 };
const CLIENT_KEY = 'sk-client-translation';
const WRONG_SECRET = 'wrong-SECRET-aws-secret-key-0000';

// ---- expected values, from the fixtures --------------------------------------------------------
const ANT_TEXT = fxJson('anthropic', 'msg-text.response.json');
const ANT_TOOLS = fxJson('anthropic', 'msg-tool-use.1.response.json');
const ANT_THINKING = fxJson('anthropic', 'msg-thinking.1.response.json');
const ANT_STREAM_TEXT = anthropicSse('stream-basic-text.sse');
const ANT_STREAM_TOOLS = anthropicSse('stream-tool-use-long-json.sse');
const BR_TEXT = fxJson('bedrock', 'converse-text.response.json');
const BR_TOOLS = fxJson('bedrock', 'converse-tool-use.1.response.json');
const BR_STREAM_TEXT = fxJson('bedrock', 'converse-stream-text.response.frames.json').map((f) => f.payload);
const BR_STREAM_TOOLS = fxJson('bedrock', 'converse-stream-tool-use-server-tool.response.frames.json').map((f) => f.payload);
const GEM_TEXT = fxJson('gemini', 'generate-text.response.json');
const GEM_TOOLS = fxJson('gemini', 'generate-function-call.1.response.json');
const GEM_STREAM_TEXT = geminiChunks('stream-text.response.sse');
const GEM_STREAM_TOOLS = geminiChunks('stream-function-call-thought-signature.1.response.sse');
const AZ_CHAT = fxJson('azure', 'azure-chat-basic.response.json');
const OAI_BASIC = readFixtureJson('chat-basic.response.json');
const OAI_STREAM_TEXT = sseJsonChunks(readFixture('stream-text-include-usage.sse').toString('utf8'));
const OAI_STREAM_TOOLS = sseJsonChunks(readFixture('stream-tool-call-single.sse').toString('utf8'));

const openaiUsage = (prompt, completion) => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
/** Anthropic usage -> OpenAI numbers: all input = input + cache reads + cache writes. */
const fromAnthropic = (u) =>
  openaiUsage(u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0), u.output_tokens);
/** Bedrock usage -> OpenAI numbers: inputTokens excludes cache reads/writes. */
const fromBedrock = (u) => openaiUsage(u.inputTokens + (u.cacheReadInputTokens ?? 0) + (u.cacheWriteInputTokens ?? 0), u.outputTokens);
/** Gemini usageMetadata -> OpenAI numbers: output = candidates + thoughts. */
const fromGemini = (m) =>
  openaiUsage(m.promptTokenCount + (m.toolUsePromptTokenCount ?? 0), (m.candidatesTokenCount ?? 0) + (m.thoughtsTokenCount ?? 0));
const pickUsage = (u) => u && { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };

const WEATHER_TOOL = {
  type: 'function',
  function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const ANT_WEATHER_TOOL = { name: 'get_weather', description: 'weather', input_schema: WEATHER_TOOL.function.parameters };
const MSGS = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is the capital of France?' },
];
const ANT_MSGS = [{ role: 'user', content: 'What is the capital of France?' }];

// ---- fakes, gateway, clients ---------------------------------------------------------------------
let oaiFake;
let antFake;
let brFake;
let gemFake;
let azFake;
let gw;
let oai; // openai SDK -> gateway
let ant; // @anthropic-ai/sdk 0.137.0, apiKey -> x-api-key
let antBearer; // @anthropic-ai/sdk 1.12.0, apiKey -> Authorization: Bearer
let antToken; // @anthropic-ai/sdk 0.137.0, authToken -> Authorization: Bearer
const taps = [];

function gatewayYaml() {
  const q = (s) => JSON.stringify(s);
  return [
    'server: {listen: "127.0.0.1:0", workers: 2, max_body_bytes: 1MiB, drain_timeout: 5s}',
    'storage: {ledger: "off"}',
    'providers:',
    `  up: {type: openai-compatible, base_url: ${q(`http://127.0.0.1:${oaiFake.port}/v1`)}, api_key: ${q(UPSTREAM_KEY)}}`,
    `  claude: {type: anthropic, base_url: ${q(antFake.origin)}, api_key: ${q(antFake.apiKey)}}`,
    `  br: {type: bedrock, region: ${brFake.region}, base_url: ${q(brFake.endpoint)}, aws_access_key_id: ${q(brFake.accessKeyId)}, aws_secret_access_key: ${q(brFake.secretAccessKey)}}`,
    `  brbad: {type: bedrock, region: ${brFake.region}, base_url: ${q(brFake.endpoint)}, aws_access_key_id: ${q(brFake.accessKeyId)}, aws_secret_access_key: ${q(WRONG_SECRET)}}`,
    `  brkey: {type: bedrock, region: ${brFake.region}, base_url: ${q(brFake.endpoint)}, api_key: ${q(brFake.apiKey)}}`,
    `  gem: {type: gemini, base_url: ${q(gemFake.origin)}, api_key: ${q(gemFake.apiKey)}}`,
    `  az: {type: azure-openai, base_url: ${q(azFake.endpoint)}, api_key: ${q(azFake.apiKey)}, api_version: ${q(AZURE_API_VERSION)}}`,
    'catalog:',
    '  - {target: claude/fx-text-notools, capabilities: []}',
    '  - {target: "br/fx.text-notools-v1:0", capabilities: [vision]}',
    'routes:',
    '  - {name: claude-text, target: claude/fx-text}',
    '  - {name: claude-cached, target: claude/fx-text-cached}',
    '  - {name: claude-tools, target: claude/fx-tools}',
    '  - {name: claude-thinking, target: claude/fx-thinking}',
    '  - {name: claude-overloaded, target: claude/fx-overloaded}',
    '  - {name: claude-midstream, target: claude/fx-error-mid-stream}',
    '  - {name: claude-notools, target: claude/fx-text-notools}',
    '  - {name: br-text, target: "br/fx.text-v1:0"}',
    '  - {name: br-cached, target: "br/fx.cached-v1:0"}',
    '  - {name: br-tools, target: "br/fx.tools-v1:0"}',
    '  - {name: br-throttle, target: "br/fx.throttle-v1:0"}',
    '  - {name: br-bad, target: "br/fx.badmodel-v1:0"}',
    '  - {name: br-notools, target: "br/fx.text-notools-v1:0"}',
    '  - {name: brkey-text, target: "brkey/fx.text-v1:0"}',
    '  - {name: brbad-text, target: "brbad/fx.text-v1:0"}',
    '  - {name: gem-text, target: gem/fx-text}',
    '  - {name: gem-tools, target: gem/fx-tools}',
    '  - {name: gem-429, target: gem/fx-429}',
    '  - {name: az-chat, target: az/fx-chat}',
    '  - {name: az-stream-text, target: az/fx-stream-text}',
    '  - {name: az-stream-tools, target: az/fx-stream-tools}',
    '  - {name: oai-basic, target: up/fx-basic}',
    '  - {name: oai-basic-cached, target: up/fx-basic-cached}',
    '  - {name: oai-stream-text, target: up/fx-stream-text}',
    '  - {name: oai-stream-tools, target: up/fx-stream-tools}',
    '',
  ].join('\n');
}

/** Every upstream credential the gateway holds: none may reach a client or the gateway's output. */
function secrets() {
  return [WRONG_SECRET, UPSTREAM_KEY, antFake.apiKey, brFake.secretAccessKey, brFake.apiKey, gemFake.apiKey, azFake.apiKey];
}

before(async () => {
  [oaiFake, antFake, brFake, gemFake, azFake] = await Promise.all([
    startFakeUpstream(),
    startFakeAnthropic(),
    startFakeBedrock(),
    startFakeGemini(),
    startFakeAzure(),
  ]);
  gw = await startGateway({ yaml: gatewayYaml() });
  const tap = () => {
    const t = tappingFetch();
    taps.push(t);
    return t.fetch;
  };
  oai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: gw.baseURL, maxRetries: 0, fetch: tap() });
  ant = new Anthropic0137({ apiKey: CLIENT_KEY, baseURL: gw.origin, maxRetries: 0, fetch: tap() });
  antBearer = new Anthropic({ apiKey: CLIENT_KEY, baseURL: gw.origin, maxRetries: 0, fetch: tap() });
  antToken = new Anthropic0137({ authToken: CLIENT_KEY, baseURL: gw.origin, maxRetries: 0, fetch: tap() });
});

after(async () => {
  await gw?.stop('SIGTERM', 5000).catch(() => {});
  await killAllGateways();
  await Promise.all([oaiFake, antFake, brFake, gemFake, azFake].map((f) => f?.close()));
  gw?.cleanup();
  const reports = gw ? sanitizerReports(gw.stderr()) : [];
  if (reports.length) throw new Error(`sanitizer reports from the gateway:\n${reports.join('\n')}`);
});

const diag = () => `\n--- gateway stderr (tail) ---\n${gw.stderr().slice(-2000)}`;
const upstreamCount = () => [oaiFake, antFake, brFake, gemFake, azFake].reduce((n, f) => n + f.requests.length, 0);

/** The one request `fake` received since `mark` (asserting there was exactly one). */
function oneRequest(fake, mark, what) {
  const recs = fake.requests.slice(mark);
  assert.equal(recs.length, 1, `${what}: exactly one upstream request, got ${recs.length}${diag()}`);
  return recs[0];
}

/** Drain an openai SDK chat stream: content, reasoning, tool calls by index, finish reason, usage chunk. */
async function drainOpenAi(stream) {
  const out = { chunks: [], content: '', toolCalls: [], finish: null, usageChunks: [], finishIndex: -1 };
  for await (const c of stream) {
    out.chunks.push(c);
    for (const ch of c.choices ?? []) {
      const d = ch.delta ?? {};
      if (typeof d.content === 'string') out.content += d.content;
      for (const tc of d.tool_calls ?? []) {
        const slot = (out.toolCalls[tc.index] ??= { id: null, name: '', arguments: '' });
        if (tc.id) slot.id = tc.id;
        if (tc.function?.name) slot.name += tc.function.name;
        if (tc.function?.arguments) slot.arguments += tc.function.arguments;
      }
      if (ch.finish_reason) {
        out.finish = ch.finish_reason;
        out.finishIndex = out.chunks.length - 1;
      }
    }
    if (c.usage) out.usageChunks.push({ index: out.chunks.length - 1, chunk: c });
  }
  out.toolCalls = out.toolCalls.filter(Boolean);
  return out;
}

/** Assert the include_usage contract: one usage chunk, choices [], after the finish chunk, equal to `want`. */
function assertUsageChunk(s, want, what) {
  assert.equal(s.usageChunks.length, 1, `${what}: exactly one chunk with usage (got ${s.usageChunks.length})`);
  const { index, chunk } = s.usageChunks[0];
  assert.deepEqual(chunk.choices, [], `${what}: the usage chunk has choices: []`);
  assert.ok(index > s.finishIndex, `${what}: the usage chunk comes after the finish_reason chunk`);
  assert.deepEqual(pickUsage(chunk.usage), want, `${what}: usage numbers`);
}

function assertNoUsage(s, what) {
  assert.equal(s.usageChunks.length, 0, `${what}: no usage without stream_options.include_usage`);
}

// ================================================================================================
describe('openai SDK -> gateway -> Anthropic', () => {
  test('non-streaming text: content, finish_reason, usage; upstream got x-api-key, anthropic-version, max_tokens', T, async () => {
    const mark = antFake.requests.length;
    const { data, response } = await oai.chat.completions.create({ model: 'claude-text', messages: MSGS, temperature: 0.2 }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0].message.role, 'assistant');
    assert.equal(data.choices[0].message.content, ANT_TEXT.content[0].text);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(pickUsage(data.usage), fromAnthropic(ANT_TEXT.usage));
    assert.equal(response.headers.get('x-switchyard-provider'), 'claude');
    assert.equal(response.headers.get('x-switchyard-model'), 'fx-text');

    const rec = oneRequest(antFake, mark, 'claude-text');
    assert.equal(rec.status, 200, `the fake accepted the translated request: ${rec.rawBody}`);
    assert.match(rec.url, /^\/v1\/messages(\?beta=true)?$/);
    assert.equal(rec.headers['x-api-key'], antFake.apiKey);
    assert.equal(rec.headers['anthropic-version'], '2023-06-01');
    assert.equal(rec.headers.authorization, undefined, 'no Authorization header upstream');
    assert.ok(!rec.rawHeaders.join('\n').includes(CLIENT_KEY), 'client key not forwarded');
    assert.equal(rec.body.model, 'fx-text');
    assert.ok(Number.isInteger(rec.body.max_tokens) && rec.body.max_tokens > 0, 'max_tokens filled in (required by Anthropic)');
    assert.equal(rec.body.temperature, 0.2);
    const sys = typeof rec.body.system === 'string' ? rec.body.system : rec.body.system?.map((b) => b.text).join('');
    assert.equal(sys, 'You are a helpful assistant.', 'system message -> top-level system');
    assert.deepEqual(rec.body.messages.map((m) => m.role), ['user']);
    const userText = typeof rec.body.messages[0].content === 'string' ? rec.body.messages[0].content : rec.body.messages[0].content.map((b) => b.text).join('');
    assert.equal(userText, 'What is the capital of France?');
  });

  test('streaming text with include_usage: deltas, finish_reason stop, the usage chunk', T, async () => {
    const mark = antFake.requests.length;
    const s = await drainOpenAi(
      await oai.chat.completions.create({ model: 'claude-text', messages: MSGS, stream: true, stream_options: { include_usage: true } }),
    );
    const want = ANT_STREAM_TEXT.filter((e) => e.data.delta?.type === 'text_delta').map((e) => e.data.delta.text).join('');
    assert.equal(s.content, want);
    assert.equal(s.finish, 'stop');
    const usage = { ...ANT_STREAM_TEXT[0].data.message.usage, output_tokens: ANT_STREAM_TEXT.at(-2).data.usage.output_tokens };
    assertUsageChunk(s, fromAnthropic(usage), 'claude-text stream');
    for (const c of s.chunks) assert.equal(c.object, 'chat.completion.chunk');
    const rec = oneRequest(antFake, mark, 'claude-text stream');
    assert.equal(rec.body.stream, true);
    assert.equal(rec.status, 200);
  });

  test('streaming text without include_usage: no usage chunk', T, async () => {
    const s = await drainOpenAi(await oai.chat.completions.create({ model: 'claude-text', messages: MSGS, stream: true }));
    assert.equal(s.content, 'Hello there!');
    assert.equal(s.finish, 'stop');
    assertNoUsage(s, 'claude-text stream');
  });

  test('streaming tool call: id, name, arguments = the concatenated input_json_delta fragments, finish length', T, async () => {
    // The recorded tool stream stops at max_tokens in the middle of the tool input, so the
    // arguments are the exact concatenation of the fragments (not parseable JSON) and the finish
    // reason is "length".
    const mark = antFake.requests.length;
    const s = await drainOpenAi(
      await oai.chat.completions.create({
        model: 'claude-tools',
        messages: MSGS,
        tools: [WEATHER_TOOL],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const start = ANT_STREAM_TOOLS.find((e) => e.data.content_block?.type === 'tool_use').data.content_block;
    const frags = ANT_STREAM_TOOLS.filter((e) => e.data.delta?.type === 'input_json_delta').map((e) => e.data.delta.partial_json).join('');
    const text = ANT_STREAM_TOOLS.filter((e) => e.data.delta?.type === 'text_delta').map((e) => e.data.delta.text).join('');
    assert.equal(s.content, text);
    assert.equal(s.toolCalls.length, 1, JSON.stringify(s.toolCalls));
    assert.equal(s.toolCalls[0].id, start.id);
    assert.equal(s.toolCalls[0].name, start.name);
    assert.equal(s.toolCalls[0].arguments, frags);
    assert.equal(s.finish, 'length');
    const usage = { ...ANT_STREAM_TOOLS[0].data.message.usage, output_tokens: ANT_STREAM_TOOLS.at(-2).data.usage.output_tokens };
    assertUsageChunk(s, fromAnthropic(usage), 'claude-tools stream');

    const rec = oneRequest(antFake, mark, 'claude-tools stream');
    assert.equal(rec.status, 200, rec.rawBody);
    assert.deepEqual(rec.body.tools, [{ name: 'get_weather', description: 'weather', input_schema: WEATHER_TOOL.function.parameters }]);
  });

  test('non-streaming tool call: tool_calls with parsed arguments equal to the fixture input, finish tool_calls', T, async () => {
    const data = await oai.chat.completions.create({ model: 'claude-tools', messages: MSGS, tools: [WEATHER_TOOL], tool_choice: 'required' });
    const block = ANT_TOOLS.content.find((b) => b.type === 'tool_use');
    const calls = data.choices[0].message.tool_calls;
    assert.equal(calls?.length, 1, JSON.stringify(data.choices[0].message));
    assert.equal(calls[0].id, block.id);
    assert.equal(calls[0].type, 'function');
    assert.equal(calls[0].function.name, block.name);
    assert.deepEqual(JSON.parse(calls[0].function.arguments), block.input);
    assert.equal(data.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(pickUsage(data.usage), fromAnthropic(ANT_TOOLS.usage));
    const rec = antFake.find('fx-tools').at(-1);
    assert.deepEqual(rec.body.tool_choice, { type: 'any' }, 'tool_choice required -> {type: any}');
  });

  test('prompt caching: prompt_tokens = input + cache reads + cache writes, cached_tokens = cache reads', T, async () => {
    // fx-text-cached: msg-text / stream-basic-text with cache counts edited in (none was recorded).
    const data = await oai.chat.completions.create({ model: 'claude-cached', messages: MSGS });
    const u = { ...ANT_TEXT.usage, ...ANT_CACHED };
    assert.deepEqual(pickUsage(data.usage), fromAnthropic(u));
    assert.equal(data.usage.prompt_tokens_details?.cached_tokens, ANT_CACHED.cache_read_input_tokens);
    const s = await drainOpenAi(
      await oai.chat.completions.create({ model: 'claude-cached', messages: MSGS, stream: true, stream_options: { include_usage: true } }),
    );
    const su = { ...ANT_STREAM_TEXT[0].data.message.usage, ...ANT_CACHED, output_tokens: ANT_STREAM_TEXT.at(-2).data.usage.output_tokens };
    assertUsageChunk(s, fromAnthropic(su), 'claude-cached stream');
    assert.equal(s.usageChunks[0].chunk.usage.prompt_tokens_details?.cached_tokens, ANT_CACHED.cache_read_input_tokens);
  });

  test('thinking: the text block is the content; output tokens include the thinking', T, async () => {
    const data = await oai.chat.completions.create({ model: 'claude-thinking', messages: MSGS });
    assert.equal(data.choices[0].message.content, ANT_THINKING.content.find((b) => b.type === 'text').text);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(pickUsage(data.usage), fromAnthropic(ANT_THINKING.usage));
  });
});

// ================================================================================================
describe('openai SDK -> gateway -> Bedrock (SigV4 verified by the fake)', () => {
  test('non-streaming text: content, usage; upstream path %3A-encoded, SigV4 valid', T, async () => {
    const mark = brFake.requests.length;
    const { data, response } = await oai.chat.completions.create({ model: 'br-text', messages: MSGS, max_tokens: 100 }).withResponse();
    assert.equal(data.choices[0].message.content, BR_TEXT.output.message.content[0].text);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(pickUsage(data.usage), fromBedrock(BR_TEXT.usage));
    assert.equal(response.headers.get('x-switchyard-provider'), 'br');

    const rec = oneRequest(brFake, mark, 'br-text');
    assert.equal(rec.authError, undefined, `SigV4 rejected by the fake: ${rec.authError}\nauthorization: ${rec.headers.authorization}\nexpected:      ${rec.expectedAuthorization}`);
    assert.equal(rec.auth, 'sigv4');
    assert.equal(rec.status, 200, rec.rawBody);
    assert.equal(rec.url, '/model/fx.text-v1%3A0/converse');
    assert.equal(rec.body.inferenceConfig?.maxTokens, 100);
    assert.deepEqual(rec.body.system, [{ text: 'You are a helpful assistant.' }]);
    assert.deepEqual(rec.body.messages, [{ role: 'user', content: [{ text: 'What is the capital of France?' }] }]);
    assert.ok(!rec.rawHeaders.join('\n').includes(CLIENT_KEY), 'client key not forwarded');
  });

  test('streaming text with include_usage: deltas, finish stop, usage from the metadata frame', T, async () => {
    const mark = brFake.requests.length;
    const s = await drainOpenAi(await oai.chat.completions.create({ model: 'br-text', messages: MSGS, stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.content, BR_STREAM_TEXT.filter((p) => p.delta?.text !== undefined).map((p) => p.delta.text).join(''));
    assert.equal(s.finish, 'stop');
    assertUsageChunk(s, fromBedrock(BR_STREAM_TEXT.at(-1).usage), 'br-text stream');
    const rec = oneRequest(brFake, mark, 'br-text stream');
    assert.equal(rec.authError, undefined, `SigV4 rejected: ${rec.authError}`);
    assert.equal(rec.url, '/model/fx.text-v1%3A0/converse-stream');
    assert.equal(rec.status, 200);
  });

  test('streaming tool call: final_result with the fixture input (parsed), finish tool_calls, usage', T, async () => {
    const mark = brFake.requests.length;
    const s = await drainOpenAi(
      await oai.chat.completions.create({ model: 'br-tools', messages: MSGS, tools: [WEATHER_TOOL], stream: true, stream_options: { include_usage: true } }),
    );
    const startFrame = BR_STREAM_TOOLS.find((p) => p.start?.toolUse?.name === 'final_result');
    const input = BR_STREAM_TOOLS.filter((p) => p.contentBlockIndex === startFrame.contentBlockIndex && p.delta?.toolUse).map((p) => p.delta.toolUse.input).join('');
    const call = s.toolCalls.find((c) => c.name === 'final_result');
    assert.ok(call, `a final_result tool call; got ${JSON.stringify(s.toolCalls)}`);
    assert.equal(call.id, startFrame.start.toolUse.toolUseId);
    assert.deepEqual(JSON.parse(call.arguments), JSON.parse(input));
    assert.equal(s.finish, 'tool_calls');
    assertUsageChunk(s, fromBedrock(BR_STREAM_TOOLS.at(-1).usage), 'br-tools stream');
    const rec = oneRequest(brFake, mark, 'br-tools stream');
    assert.equal(rec.authError, undefined, `SigV4 rejected: ${rec.authError}`);
    assert.deepEqual(rec.body.toolConfig?.tools?.[0]?.toolSpec?.name, 'get_weather');
    assert.deepEqual(rec.body.toolConfig.tools[0].toolSpec.inputSchema, { json: WEATHER_TOOL.function.parameters });
  });

  test('streaming tool call: the server-side tool (nova_code_interpreter, already run by Bedrock) is not handed to the client as a tool call', T, async () => {
    const s = await drainOpenAi(await oai.chat.completions.create({ model: 'br-tools', messages: MSGS, tools: [WEATHER_TOOL], stream: true }));
    assert.deepEqual(s.toolCalls.map((c) => c.name), ['final_result']);
  });

  test('non-streaming tool call: parsed arguments equal the fixture toolUse.input', T, async () => {
    const data = await oai.chat.completions.create({ model: 'br-tools', messages: MSGS, tools: [WEATHER_TOOL] });
    const tu = BR_TOOLS.output.message.content[0].toolUse;
    const calls = data.choices[0].message.tool_calls;
    assert.equal(calls?.length, 1, JSON.stringify(data.choices[0].message));
    assert.equal(calls[0].id, tu.toolUseId);
    assert.equal(calls[0].function.name, tu.name);
    assert.deepEqual(JSON.parse(calls[0].function.arguments), tu.input);
    assert.equal(data.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(pickUsage(data.usage), fromBedrock(BR_TOOLS.usage));
  });

  test('negative control: a gateway provider with the wrong secret is refused by the fake (403) -> 502 upstream_auth_failed', T, async () => {
    const mark = brFake.requests.length;
    await assert.rejects(oai.chat.completions.create({ model: 'brbad-text', messages: MSGS }), (err) => {
      assert.ok(err instanceof OpenAI.APIError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 502);
      assert.equal(err.code, 'upstream_auth_failed');
      return true;
    });
    const rec = oneRequest(brFake, mark, 'brbad-text');
    assert.equal(rec.status, 403);
    assert.match(rec.authError ?? '', /signature we calculated does not match/);
  });

  test('prompt caching: prompt_tokens = inputTokens + cacheRead + cacheWrite, cached_tokens = cacheRead', T, async () => {
    // fx.cached-v1:0: converse-text with cache counts edited in (none was recorded).
    const data = await oai.chat.completions.create({ model: 'br-cached', messages: MSGS });
    assert.deepEqual(pickUsage(data.usage), fromBedrock(BR_CACHED));
    assert.equal(data.usage.prompt_tokens_details?.cached_tokens, BR_CACHED.cacheReadInputTokens);
  });

  test('Bedrock answers carry no model id: the OpenAI response and chunks still name a model (non-empty)', T, async () => {
    const data = await oai.chat.completions.create({ model: 'br-text', messages: MSGS });
    assert.ok(typeof data.model === 'string' && data.model.length > 0, `chat.completion.model = ${JSON.stringify(data.model)}`);
    const s = await drainOpenAi(await oai.chat.completions.create({ model: 'br-text', messages: MSGS, stream: true }));
    const models = [...new Set(s.chunks.map((c) => c.model))];
    assert.ok(models.every((m) => typeof m === 'string' && m.length > 0), `chunk models: ${JSON.stringify(models)}`);
  });

  test('Bedrock API key provider: Authorization: Bearer, no SigV4 headers', T, async () => {
    const mark = brFake.requests.length;
    const data = await oai.chat.completions.create({ model: 'brkey-text', messages: MSGS });
    assert.equal(data.choices[0].message.content, BR_TEXT.output.message.content[0].text);
    const rec = oneRequest(brFake, mark, 'brkey-text');
    assert.equal(rec.auth, 'bearer');
    assert.equal(rec.headers.authorization, `Bearer ${brFake.apiKey}`);
    assert.equal(rec.headers['x-amz-date'], undefined);
  });
});

// ================================================================================================
describe('openai SDK -> gateway -> Gemini', () => {
  test('non-streaming text: content, usage; upstream got x-goog-api-key and contents/systemInstruction', T, async () => {
    const mark = gemFake.requests.length;
    const data = await oai.chat.completions.create({ model: 'gem-text', messages: MSGS, max_tokens: 50 });
    assert.equal(data.choices[0].message.content, GEM_TEXT.candidates[0].content.parts[0].text);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(pickUsage(data.usage), fromGemini(GEM_TEXT.usageMetadata));
    const rec = oneRequest(gemFake, mark, 'gem-text');
    assert.equal(rec.status, 200, rec.rawBody);
    assert.equal(rec.url, '/v1beta/models/fx-text:generateContent');
    assert.equal(rec.headers['x-goog-api-key'], gemFake.apiKey);
    assert.equal(rec.query.get('key'), null, 'the key is not put in the URL');
    assert.deepEqual(rec.body.contents, [{ role: 'user', parts: [{ text: 'What is the capital of France?' }] }]);
    assert.deepEqual(rec.body.systemInstruction?.parts, [{ text: 'You are a helpful assistant.' }]);
    assert.equal(rec.body.generationConfig?.maxOutputTokens, 50);
  });

  test('streaming text with include_usage: CRLF SSE decoded, usage from the last usageMetadata', T, async () => {
    const mark = gemFake.requests.length;
    const s = await drainOpenAi(await oai.chat.completions.create({ model: 'gem-text', messages: MSGS, stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.content, GEM_STREAM_TEXT.map((c) => c.candidates[0].content.parts.map((p) => p.text ?? '').join('')).join(''));
    assert.equal(s.finish, 'stop');
    assertUsageChunk(s, fromGemini(GEM_STREAM_TEXT.at(-1).usageMetadata), 'gem-text stream');
    const rec = oneRequest(gemFake, mark, 'gem-text stream');
    assert.equal(rec.url, '/v1beta/models/fx-text:streamGenerateContent?alt=sse');
  });

  test('streaming tool call: whole functionCall -> one tool call with an id, parsed args, finish tool_calls, thoughts in output', T, async () => {
    const s = await drainOpenAi(
      await oai.chat.completions.create({ model: 'gem-tools', messages: MSGS, tools: [WEATHER_TOOL], stream: true, stream_options: { include_usage: true } }),
    );
    const fc = GEM_STREAM_TOOLS[0].candidates[0].content.parts[0].functionCall;
    assert.equal(s.toolCalls.length, 1, JSON.stringify(s.toolCalls));
    assert.equal(s.toolCalls[0].name, fc.name);
    assert.ok(typeof s.toolCalls[0].id === 'string' && s.toolCalls[0].id.length > 0, 'the gateway invents a tool call id');
    assert.deepEqual(JSON.parse(s.toolCalls[0].arguments), fc.args);
    assert.equal(s.finish, 'tool_calls');
    assertUsageChunk(s, fromGemini(GEM_STREAM_TOOLS.at(-1).usageMetadata), 'gem-tools stream');
    const rec = gemFake.find('fx-tools').at(-1);
    const decl = rec.body.tools?.[0]?.functionDeclarations?.[0];
    assert.equal(decl?.name, 'get_weather', rec.rawBody);
  });

  test('non-streaming tool call: parsed args equal the fixture functionCall.args', T, async () => {
    const data = await oai.chat.completions.create({ model: 'gem-tools', messages: MSGS, tools: [WEATHER_TOOL] });
    const fc = GEM_TOOLS.candidates[0].content.parts[0].functionCall;
    const calls = data.choices[0].message.tool_calls;
    assert.equal(calls?.length, 1, JSON.stringify(data.choices[0].message));
    assert.equal(calls[0].function.name, fc.name);
    assert.deepEqual(JSON.parse(calls[0].function.arguments), fc.args);
    assert.equal(data.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(pickUsage(data.usage), fromGemini(GEM_TOOLS.usageMetadata));
  });
});

// ================================================================================================
describe('openai SDK -> gateway -> Azure OpenAI', () => {
  test('non-streaming: the Azure response; upstream got api-key, api-version, deployment path', T, async () => {
    const mark = azFake.requests.length;
    const data = await oai.chat.completions.create({ model: 'az-chat', messages: MSGS });
    assert.equal(data.choices[0].message.content, AZ_CHAT.choices[0].message.content);
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.deepEqual(pickUsage(data.usage), pickUsage(AZ_CHAT.usage));
    const rec = oneRequest(azFake, mark, 'az-chat');
    assert.equal(rec.status, 200, rec.rawBody);
    assert.equal(rec.url, `/openai/deployments/fx-chat/chat/completions?api-version=${AZURE_API_VERSION}`);
    assert.equal(rec.headers['api-key'], azFake.apiKey);
    assert.equal(rec.headers.authorization, undefined, 'no Authorization header to Azure');
    assert.deepEqual(rec.body.messages, MSGS);
  });

  test('streaming text with include_usage, and tools with parsed arguments', T, async () => {
    const s = await drainOpenAi(await oai.chat.completions.create({ model: 'az-stream-text', messages: MSGS, stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.content, OAI_STREAM_TEXT.map((c) => c.choices[0]?.delta?.content ?? '').join(''));
    assert.equal(s.finish, 'stop');
    assertUsageChunk(s, pickUsage(OAI_STREAM_TEXT.at(-1).usage), 'az-stream-text');

    const t = await drainOpenAi(
      await oai.chat.completions.create({ model: 'az-stream-tools', messages: MSGS, tools: [WEATHER_TOOL], stream: true, stream_options: { include_usage: true } }),
    );
    const first = OAI_STREAM_TOOLS[0].choices[0].delta.tool_calls[0];
    const args = OAI_STREAM_TOOLS.map((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '').join('');
    assert.equal(t.toolCalls.length, 1);
    assert.equal(t.toolCalls[0].id, first.id);
    assert.equal(t.toolCalls[0].name, first.function.name);
    assert.deepEqual(JSON.parse(t.toolCalls[0].arguments), JSON.parse(args));
    assert.equal(t.finish, 'tool_calls');
    assertUsageChunk(t, pickUsage(OAI_STREAM_TOOLS.at(-1).usage), 'az-stream-tools');
  });
});

// ================================================================================================
describe('@anthropic-ai/sdk -> gateway POST /v1/messages -> OpenAI', () => {
  test('messages.create (x-api-key, 0.137.0): text block, end_turn, usage; upstream got an OpenAI request', T, async () => {
    const mark = oaiFake.requests.length;
    const msg = await ant.messages.create({ model: 'oai-basic', max_tokens: 300, system: 'Be brief.', messages: ANT_MSGS });
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.deepEqual(msg.content.map((b) => b.type), ['text']);
    assert.equal(msg.content[0].text, OAI_BASIC.choices[0].message.content);
    assert.equal(msg.stop_reason, 'end_turn');
    const cached = OAI_BASIC.usage.prompt_tokens_details?.cached_tokens ?? 0;
    assert.equal(msg.usage.input_tokens, OAI_BASIC.usage.prompt_tokens - cached, 'input_tokens excludes cache reads');
    assert.equal(msg.usage.cache_read_input_tokens ?? 0, cached);
    assert.equal(msg.usage.output_tokens, OAI_BASIC.usage.completion_tokens);

    const rec = oneRequest(oaiFake, mark, 'oai-basic');
    assert.equal(rec.url, '/v1/chat/completions');
    assert.equal(rec.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    assert.equal(rec.headers['x-api-key'], undefined);
    assert.equal(rec.body.model, 'fx-basic');
    assert.deepEqual(rec.body.messages.map((m) => m.role), ['system', 'user']);
    assert.equal(rec.body.messages[0].content, 'Be brief.');
    assert.ok(rec.body.max_tokens === 300 || rec.body.max_completion_tokens === 300, `max_tokens carried over: ${rec.rawBody}`);
  });

  test('prompt caching: input_tokens = prompt_tokens - cached_tokens, cache_read_input_tokens = cached_tokens', T, async () => {
    // fx-basic-cached: chat-basic with cached_tokens edited to 6 (none was recorded).
    const msg = await ant.messages.create({ model: 'oai-basic-cached', max_tokens: 300, messages: ANT_MSGS });
    assert.equal(msg.usage.input_tokens, OAI_BASIC.usage.prompt_tokens - 6);
    assert.equal(msg.usage.cache_read_input_tokens, 6);
    assert.equal(msg.usage.output_tokens, OAI_BASIC.usage.completion_tokens);
  });

  test('auth: apiKey as Bearer (SDK 1.12.0), authToken, and an unknown anthropic-version are all accepted', T, async () => {
    const a = await antBearer.messages.create({ model: 'oai-basic', max_tokens: 64, messages: ANT_MSGS });
    assert.equal(a.content[0].text, OAI_BASIC.choices[0].message.content);
    const b = await antToken.messages.create({ model: 'oai-basic', max_tokens: 64, messages: ANT_MSGS });
    assert.equal(b.content[0].text, OAI_BASIC.choices[0].message.content);
    const c = await ant.messages.create(
      { model: 'oai-basic', max_tokens: 64, messages: ANT_MSGS },
      { headers: { 'anthropic-version': '2099-01-01-future' } },
    );
    assert.equal(c.content[0].text, OAI_BASIC.choices[0].message.content);
    for (const r of oaiFake.requests.slice(-3)) {
      assert.equal(r.headers.authorization, `Bearer ${UPSTREAM_KEY}`, 'the provider key, never the client key');
    }
  });

  test('messages.stream text: finalMessage text, end_turn, usage from the include_usage chunk', T, async () => {
    const mark = oaiFake.requests.length;
    const msg = await antBearer.messages.stream({ model: 'oai-stream-text', max_tokens: 64, messages: ANT_MSGS }).finalMessage();
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, 'text');
    assert.equal(msg.content[0].text, OAI_STREAM_TEXT.map((c) => c.choices[0]?.delta?.content ?? '').join(''));
    assert.equal(msg.stop_reason, 'end_turn');
    const u = OAI_STREAM_TEXT.at(-1).usage;
    assert.equal(msg.usage.input_tokens, u.prompt_tokens - (u.prompt_tokens_details?.cached_tokens ?? 0));
    assert.equal(msg.usage.output_tokens, u.completion_tokens);
    const rec = oneRequest(oaiFake, mark, 'oai-stream-text');
    assert.equal(rec.body.stream, true);
  });

  test('messages.stream with tools: tool_use block with parsed input, stop_reason tool_use, usage', T, async () => {
    const stream = ant.messages.stream({ model: 'oai-stream-tools', max_tokens: 64, messages: ANT_MSGS, tools: [ANT_WEATHER_TOOL] });
    const msg = await stream.finalMessage();
    const first = OAI_STREAM_TOOLS[0].choices[0].delta.tool_calls[0];
    const args = OAI_STREAM_TOOLS.map((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '').join('');
    const tu = msg.content.filter((b) => b.type === 'tool_use');
    assert.equal(tu.length, 1, JSON.stringify(msg.content));
    assert.equal(tu[0].id, first.id);
    assert.equal(tu[0].name, first.function.name);
    assert.deepEqual(tu[0].input, JSON.parse(args));
    assert.equal(msg.stop_reason, 'tool_use');
    const u = OAI_STREAM_TOOLS.at(-1).usage;
    assert.equal(msg.usage.input_tokens, u.prompt_tokens);
    assert.equal(msg.usage.output_tokens, u.completion_tokens);
    const rec = oaiFake.find('fx-stream-tools').at(-1);
    assert.deepEqual(rec.body.tools, [WEATHER_TOOL], `tools translated to OpenAI functions: ${rec.rawBody}`);
  });

  test('messages.create with tools (non-streaming upstream answer assembled by the fake)', T, async () => {
    const msg = await ant.messages.create({ model: 'oai-stream-tools', max_tokens: 64, messages: ANT_MSGS, tools: [ANT_WEATHER_TOOL] });
    const args = OAI_STREAM_TOOLS.map((c) => c.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ?? '').join('');
    const tu = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(tu, JSON.stringify(msg.content));
    assert.deepEqual(tu.input, JSON.parse(args));
    assert.equal(msg.stop_reason, 'tool_use');
    const u = OAI_STREAM_TOOLS.at(-1).usage;
    assert.equal(msg.usage.input_tokens, u.prompt_tokens);
    assert.equal(msg.usage.output_tokens, u.completion_tokens);
  });
});

// ================================================================================================
describe('@anthropic-ai/sdk -> gateway POST /v1/messages -> Bedrock', () => {
  test('messages.stream with tools: final_result tool_use with the fixture input, stop_reason tool_use, usage', T, async () => {
    const mark = brFake.requests.length;
    const msg = await ant.messages.stream({ model: 'br-tools', max_tokens: 256, messages: ANT_MSGS, tools: [ANT_WEATHER_TOOL] }).finalMessage();
    const startFrame = BR_STREAM_TOOLS.find((p) => p.start?.toolUse?.name === 'final_result');
    const input = BR_STREAM_TOOLS.filter((p) => p.contentBlockIndex === startFrame.contentBlockIndex && p.delta?.toolUse).map((p) => p.delta.toolUse.input).join('');
    const tu = msg.content.find((b) => b.type === 'tool_use' && b.name === 'final_result');
    assert.ok(tu, JSON.stringify(msg.content));
    assert.equal(tu.id, startFrame.start.toolUse.toolUseId);
    assert.deepEqual(tu.input, JSON.parse(input));
    assert.equal(msg.stop_reason, 'tool_use');
    const u = BR_STREAM_TOOLS.at(-1).usage;
    assert.equal(msg.usage.input_tokens, u.inputTokens);
    assert.equal(msg.usage.output_tokens, u.outputTokens);
    const rec = oneRequest(brFake, mark, 'br-tools stream (anthropic)');
    assert.equal(rec.authError, undefined, `SigV4 rejected: ${rec.authError}`);
    assert.equal(rec.url, '/model/fx.tools-v1%3A0/converse-stream');
    assert.equal(rec.body.inferenceConfig?.maxTokens, 256);
  });

  test('messages.stream text: text, end_turn, usage from the metadata frame', T, async () => {
    const msg = await antBearer.messages.stream({ model: 'br-text', max_tokens: 64, messages: ANT_MSGS }).finalMessage();
    assert.equal(msg.content[0].type, 'text');
    assert.equal(msg.content[0].text, BR_STREAM_TEXT.filter((p) => p.delta?.text !== undefined).map((p) => p.delta.text).join(''));
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.input_tokens, BR_STREAM_TEXT.at(-1).usage.inputTokens);
    assert.equal(msg.usage.output_tokens, BR_STREAM_TEXT.at(-1).usage.outputTokens);
  });

  test('messages.create with tools: tool_use with the fixture input, stop_reason tool_use, usage', T, async () => {
    const msg = await antToken.messages.create({ model: 'br-tools', max_tokens: 64, messages: ANT_MSGS, tools: [ANT_WEATHER_TOOL] });
    const want = BR_TOOLS.output.message.content[0].toolUse;
    const tu = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(tu, JSON.stringify(msg.content));
    assert.equal(tu.id, want.toolUseId);
    assert.equal(tu.name, want.name);
    assert.deepEqual(tu.input, want.input);
    assert.equal(msg.stop_reason, 'tool_use');
    assert.equal(msg.usage.input_tokens, BR_TOOLS.usage.inputTokens);
    assert.equal(msg.usage.output_tokens, BR_TOOLS.usage.outputTokens);
  });
});

// ================================================================================================
describe('tool results sent back (second turn)', () => {
  const CALL_ID = 'call_roundtrip_0001';
  const turn2 = (id = CALL_ID, name = 'get_user_country') => [
    ...MSGS,
    { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name, arguments: '{}' } }] },
    { role: 'tool', tool_call_id: id, content: 'Mexico' },
  ];
  const textOf = (c) => (typeof c === 'string' ? c : Array.isArray(c) ? c.map((b) => b.text ?? '').join('') : JSON.stringify(c));

  test('openai SDK -> Anthropic: tool_calls -> tool_use block, tool message -> tool_result in a user turn', T, async () => {
    const mark = antFake.requests.length;
    await oai.chat.completions.create({ model: 'claude-text', messages: turn2(), tools: [WEATHER_TOOL] });
    const rec = oneRequest(antFake, mark, 'claude-text turn 2');
    assert.equal(rec.status, 200, rec.rawBody);
    const [u, a, t] = rec.body.messages;
    assert.deepEqual(rec.body.messages.map((m) => m.role), ['user', 'assistant', 'user'], rec.rawBody);
    assert.ok(u);
    const tu = a.content.find((b) => b.type === 'tool_use');
    assert.deepEqual({ id: tu.id, name: tu.name, input: tu.input }, { id: CALL_ID, name: 'get_user_country', input: {} });
    const tr = t.content.find((b) => b.type === 'tool_result');
    assert.equal(tr.tool_use_id, CALL_ID);
    assert.equal(textOf(tr.content), 'Mexico');
  });

  test('openai SDK -> Bedrock: toolUse in the assistant turn, toolResult in the user turn', T, async () => {
    const mark = brFake.requests.length;
    await oai.chat.completions.create({ model: 'br-text', messages: turn2(), tools: [WEATHER_TOOL] });
    const rec = oneRequest(brFake, mark, 'br-text turn 2');
    assert.equal(rec.status, 200, `${rec.authError ?? ''} ${rec.rawBody}`);
    assert.deepEqual(rec.body.messages.map((m) => m.role), ['user', 'assistant', 'user'], rec.rawBody);
    const tu = rec.body.messages[1].content.find((b) => b.toolUse).toolUse;
    assert.deepEqual(tu, { toolUseId: CALL_ID, name: 'get_user_country', input: {} });
    const tr = rec.body.messages[2].content.find((b) => b.toolResult).toolResult;
    assert.equal(tr.toolUseId, CALL_ID);
    assert.equal(tr.content.map((c) => c.text ?? JSON.stringify(c.json)).join(''), 'Mexico');
  });

  test('openai SDK -> Gemini: the functionCall goes back with its recorded thoughtSignature; functionResponse follows', T, async () => {
    const first = await drainOpenAi(await oai.chat.completions.create({ model: 'gem-tools', messages: MSGS, tools: [WEATHER_TOOL], stream: true }));
    const call = first.toolCalls[0];
    assert.ok(call?.id, JSON.stringify(first.toolCalls));
    const mark = gemFake.requests.length;
    await oai.chat.completions.create({ model: 'gem-text', messages: turn2(call.id, call.name), tools: [WEATHER_TOOL] });
    const rec = oneRequest(gemFake, mark, 'gem-text turn 2');
    assert.equal(rec.status, 200, rec.rawBody);
    assert.deepEqual(rec.body.contents.map((c) => c.role), ['user', 'model', 'user'], rec.rawBody);
    const fcPart = rec.body.contents[1].parts.find((p) => p.functionCall);
    assert.equal(fcPart.functionCall.name, 'get_country');
    assert.deepEqual(fcPart.functionCall.args ?? {}, {});
    const recorded = GEM_STREAM_TOOLS[0].candidates[0].content.parts[0].thoughtSignature;
    const b64 = (x) => Buffer.from(String(x ?? ''), 'base64').toString('hex');
    assert.ok(fcPart.thoughtSignature, `thoughtSignature sent back: ${JSON.stringify(fcPart).slice(0, 200)}`);
    assert.equal(b64(fcPart.thoughtSignature), b64(recorded), 'the same signature bytes');
    const fr = rec.body.contents[2].parts.find((p) => p.functionResponse).functionResponse;
    assert.equal(fr.name, 'get_country');
    assert.equal(typeof fr.response, 'object');
    assert.match(JSON.stringify(fr.response), /Mexico/);
  });

  test('anthropic SDK -> OpenAI: tool_use -> assistant tool_calls, tool_result -> tool message', T, async () => {
    const mark = oaiFake.requests.length;
    await ant.messages.create({
      model: 'oai-basic',
      max_tokens: 64,
      tools: [ANT_WEATHER_TOOL],
      messages: [
        ...ANT_MSGS,
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_rt_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_rt_1', content: '18C' }] },
      ],
    });
    const rec = oneRequest(oaiFake, mark, 'oai-basic turn 2');
    assert.deepEqual(rec.body.messages.map((m) => m.role), ['user', 'assistant', 'tool'], rec.rawBody);
    const tc = rec.body.messages[1].tool_calls[0];
    assert.equal(tc.id, 'toolu_rt_1');
    assert.equal(tc.type, 'function');
    assert.equal(tc.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(tc.function.arguments), { city: 'Paris' });
    assert.equal(rec.body.messages[2].tool_call_id, 'toolu_rt_1');
    assert.equal(textOf(rec.body.messages[2].content), '18C');
  });
});

// ================================================================================================
describe('errors in the caller protocol', () => {
  test('upstream 529 overloaded: openai SDK sees an APIError with a 5xx status and an OpenAI body', T, async () => {
    await assert.rejects(oai.chat.completions.create({ model: 'claude-overloaded', messages: MSGS }), (err) => {
      assert.ok(err instanceof OpenAI.APIError, `${err?.constructor?.name}: ${err?.message}`);
      assert.ok(err.status >= 500 && err.status <= 599, `status ${err.status}`);
      assert.equal(typeof err.error?.message, 'string', JSON.stringify(err.error));
      assert.equal(typeof err.error?.type, 'string', JSON.stringify(err.error));
      return true;
    });
  });

  test('upstream 529 overloaded: anthropic SDK sees overloaded_error in the Anthropic envelope', T, async () => {
    await assert.rejects(ant.messages.create({ model: 'claude-overloaded', max_tokens: 8, messages: ANT_MSGS }), (err) => {
      assert.ok(err instanceof Anthropic0137.APIError, `${err?.constructor?.name}: ${err?.message}`);
      assert.ok(err.status >= 500 && err.status <= 599, `status ${err.status}`);
      assert.equal(err.error?.type, 'error', JSON.stringify(err.error));
      assert.equal(err.error?.error?.type, 'overloaded_error', JSON.stringify(err.error));
      return true;
    });
  });

  test('Gemini 429 RESOURCE_EXHAUSTED: openai SDK RateLimitError with retry-after from RetryInfo (34.4s -> 35)', T, async () => {
    await assert.rejects(oai.chat.completions.create({ model: 'gem-429', messages: MSGS }), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 429);
      assert.equal(err.headers?.get('retry-after'), '35');
      return true;
    });
  });

  test('Bedrock 400 invalid model: openai SDK BadRequestError with the upstream message', T, async () => {
    await assert.rejects(oai.chat.completions.create({ model: 'br-bad', messages: MSGS }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.error?.message ?? '', /The provided model identifier is invalid\./);
      return true;
    });
    await assert.rejects(ant.messages.create({ model: 'br-bad', max_tokens: 8, messages: ANT_MSGS }), (err) => {
      assert.ok(err instanceof Anthropic0137.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.error?.error?.type, 'invalid_request_error', JSON.stringify(err.error));
      return true;
    });
  });

  test('mid-stream upstream error (Anthropic event: error, Bedrock exception frame): the openai SDK stream throws', T, async () => {
    for (const [model, message] of [
      ['claude-midstream', /Overloaded/],
      ['br-throttle', /Too many requests/],
    ]) {
      const stream = await oai.chat.completions.create({ model, messages: MSGS, stream: true });
      let finish = null;
      await assert.rejects(
        (async () => {
          for await (const c of stream) finish = c.choices[0]?.finish_reason ?? finish;
        })(),
        (err) => {
          assert.ok(err instanceof OpenAI.APIError, `${model}: ${err?.constructor?.name}: ${err?.message}`);
          assert.match(err.error?.message ?? err.message, message, model);
          return true;
        },
      );
      assert.equal(finish, null, `${model}: no finish_reason before the error`);
    }
  });

  test('mid-stream upstream error: the anthropic SDK stream throws with the Anthropic error type', T, async () => {
    for (const [model, type] of [
      ['claude-midstream', 'api_error'],
      ['br-throttle', 'rate_limit_error'],
    ]) {
      await assert.rejects(ant.messages.stream({ model, max_tokens: 8, messages: ANT_MSGS }).finalMessage(), (err) => {
        assert.ok(err instanceof Anthropic0137.APIError, `${model}: ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.error?.type, 'error', `${model}: ${JSON.stringify(err.error)}`);
        assert.equal(err.error?.error?.type, type, `${model}: ${JSON.stringify(err.error)}`);
        return true;
      });
    }
  });

  test('unknown model via the anthropic SDK: NotFoundError 404 with an Anthropic-shaped body', T, async () => {
    const mark = upstreamCount();
    await assert.rejects(ant.messages.create({ model: 'no-such-route', max_tokens: 8, messages: ANT_MSGS }), (err) => {
      assert.ok(err instanceof Anthropic0137.NotFoundError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, 404);
      assert.equal(err.error?.type, 'error', JSON.stringify(err.error));
      assert.equal(err.error?.error?.type, 'not_found_error', JSON.stringify(err.error));
      assert.equal(typeof err.error?.error?.message, 'string');
      return true;
    });
    assert.equal(upstreamCount(), mark, 'no upstream request');
  });
});

// ================================================================================================
describe('no silent degradation', () => {
  test('tools to a target whose catalog capabilities are []: 400 naming "tools" and the target; upstream got nothing', T, async () => {
    const mark = upstreamCount();
    await assert.rejects(oai.chat.completions.create({ model: 'claude-notools', messages: MSGS, tools: [WEATHER_TOOL] }), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
      assert.match(err.error?.message ?? '', /\btools\b/);
      assert.match(err.error?.message ?? '', /claude\/fx-text-notools/);
      return true;
    });
    await assert.rejects(ant.messages.create({ model: 'claude-notools', max_tokens: 8, messages: ANT_MSGS, tools: [ANT_WEATHER_TOOL] }), (err) => {
      assert.ok(err instanceof Anthropic0137.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.error?.error?.type, 'invalid_request_error');
      assert.match(err.error?.error?.message ?? '', /\btools\b/);
      assert.match(err.error?.error?.message ?? '', /claude\/fx-text-notools/);
      return true;
    });
    await assert.rejects(
      oai.chat.completions.create({ model: 'br-notools', messages: MSGS, tools: [WEATHER_TOOL], stream: true }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
        assert.match(err.error?.message ?? '', /\btools\b/);
        assert.match(err.error?.message ?? '', /br\/fx\.text-notools-v1:0/);
        return true;
      },
    );
    assert.equal(upstreamCount(), mark, 'no upstream request at all');
  });

  test('the same route without tools is sent upstream', T, async () => {
    const mark = antFake.requests.length;
    // The fake Anthropic does not know fx-text-notools and answers 404: the request went out.
    await assert.rejects(oai.chat.completions.create({ model: 'claude-notools', messages: MSGS }), (err) => err instanceof OpenAI.APIError);
    assert.equal(antFake.since(mark).filter((r) => r.body?.model === 'fx-text-notools').length, 1);
  });
});

// ================================================================================================
test('no upstream credential in any response the clients got, nor in the gateway stdout/stderr', T, async () => {
  await Promise.all(taps.flatMap((t) => t.responses.map((r) => r.text)));
  const seen = taps.flatMap((t) => t.responses.map((r) => `${headersText(r.headers)}\n${r.raw}`)).join('\n');
  assert.ok(seen.length > 0);
  const out = `${gw.stdout()}\n${gw.stderr()}`;
  for (const s of secrets()) {
    assert.ok(!seen.includes(s), `a response carried the upstream credential ${s.slice(0, 6)}...`);
    assert.ok(!out.includes(s), `the gateway output carried the upstream credential ${s.slice(0, 6)}...`);
  }
});
