// A fake Amazon Bedrock Runtime (Converse / ConverseStream) for the end-to-end tests.
//
// POST /model/{modelId}/converse and /model/{modelId}/converse-stream, modelId percent-encoded as
// the AWS SDK sends it (`fx.text-v1%3A0`). Every request must be authenticated like the real
// service wants it:
//   - SigV4: the fake re-signs the request exactly as received (raw path, the signed headers only,
//     the raw body, the same x-amz-date) with @smithy/signature-v4 and the known secret, and
//     answers 403 InvalidSignatureException when the Authorization header differs. It also checks
//     the access key id, the credential scope (region, service `bedrock`), x-amz-content-sha256
//     (when sent) against the body, and the 15-minute clock-skew window.
//   - or `Authorization: Bearer <Bedrock API key>` when the fake was given one.
// The decoded model id selects the replayed fixture (shared/fixtures/bedrock, MODELS below).
// Streams are the recorded *.response.eventstream bodies, decoded and re-encoded frame by frame
// with @smithy/eventstream-codec (byte-identical) and written one frame per write (frames are
// split in two writes to exercise incremental decoding), a few ms apart.

import crypto from 'node:crypto';
import { createRequire } from 'node:module';

import { startRecordingServer, fx } from './fake_common.mjs';

const require = createRequire(import.meta.url);
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');
const { HttpRequest } = require('@smithy/protocol-http');
const { EventStreamCodec } = require('@smithy/eventstream-codec');
const { toUtf8, fromUtf8 } = require('@smithy/util-utf8');

export const BEDROCK_ACCESS_KEY_ID = 'AKIDFAKEBEDROCK0001';
export const BEDROCK_SECRET = 'fakeSECRET/bedrock+wJalrXUtnFEMIK7MDENGbPxRfiCY';
export const BEDROCK_API_KEY = 'ABSKfake-bedrock-api-key-SECRET-5b1e';
export const BEDROCK_REGION = 'us-east-1';

export const MODELS = ['fx.text-v1:0', 'fx.cached-v1:0', 'fx.tools-v1:0', 'fx.empty-v1:0', 'fx.throttle-v1:0', 'fx.badmodel-v1:0'];

/** fx.cached-v1:0 = converse-text with prompt-cache counts EDITED into its usage (none was recorded). */
export const CACHED_USAGE = { inputTokens: 7, cacheReadInputTokens: 100, cacheWriteInputTokens: 20, outputTokens: 30, totalTokens: 157 };

export const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Split an application/vnd.amazon.eventstream body into its frames (4-byte big-endian total length). */
export function splitFrames(buf) {
  const out = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt32BE(off);
    if (len < 16 || off + len > buf.length) throw new Error(`bad frame length ${len} at ${off}`);
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  if (off !== buf.length) throw new Error(`trailing ${buf.length - off} bytes`);
  return out;
}

/** Decode a frame into {headers: {name: value}, payload (parsed JSON)}. */
export function decodeFrame(bytes) {
  const m = codec.decode(bytes);
  const headers = {};
  for (const [k, v] of Object.entries(m.headers)) headers[k] = v.value;
  const text = toUtf8(m.body);
  return { headers, payload: text ? JSON.parse(text) : null };
}

/** The recorded frames of a stream fixture, decoded by the codec (the message objects it encodes back). */
function recordedMessages(name) {
  return splitFrames(fx('bedrock', name)).map((f) => codec.decode(f));
}

function exceptionFrame(type, message) {
  return Buffer.from(
    codec.encode({
      headers: {
        ':message-type': { type: 'string', value: 'exception' },
        ':exception-type': { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
      },
      body: fromUtf8(JSON.stringify({ message })),
    }),
  );
}

const sha256hex = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

function amzDate(x) {
  if (!/^\d{8}T\d{6}Z$/.test(x ?? '')) return null;
  return new Date(
    Date.UTC(+x.slice(0, 4), +x.slice(4, 6) - 1, +x.slice(6, 8), +x.slice(9, 11), +x.slice(11, 13), +x.slice(13, 15)),
  );
}

/**
 * Start the fake. options: {accessKeyId, secretAccessKey, region, apiKey (null = bearer refused),
 * frameDelayMs (default 3), splitFrames (default true)}.
 * Returns {port, origin, endpoint, requests, since(mark), find(modelId), close(), ...credentials}.
 * Each record adds `modelId` (decoded), `operation` ('converse'|'converse-stream'), `auth`
 * ('sigv4'|'bearer'|null) and `authError` (why a request was refused).
 */
export async function startFakeBedrock(options = {}) {
  const accessKeyId = options.accessKeyId ?? BEDROCK_ACCESS_KEY_ID;
  const secret = options.secretAccessKey ?? BEDROCK_SECRET;
  const region = options.region ?? BEDROCK_REGION;
  const apiKey = options.apiKey === undefined ? BEDROCK_API_KEY : options.apiKey;
  const delay = options.frameDelayMs ?? 3;
  const split = options.splitFrames ?? true;

  const streams = {
    text: recordedMessages('converse-stream-text.response.eventstream'),
    tools: recordedMessages('converse-stream-tool-use-server-tool.response.eventstream'),
    empty: recordedMessages('converse-stream-empty-delta.response.eventstream'),
  };
  const bodies = {
    text: fx('bedrock', 'converse-text.response.json'),
    tools: fx('bedrock', 'converse-tool-use.1.response.json'),
    badModel: fx('bedrock', 'converse-400-invalid-model.response.json'),
    cached: Buffer.from(JSON.stringify({ ...JSON.parse(fx('bedrock', 'converse-text.response.json')), usage: CACHED_USAGE })),
    badModelStream: fx('bedrock', 'converse-stream-400-invalid-model.response.json'),
  };
  const THROTTLE_MSG = 'Too many requests, please wait before trying again.';

  function awsError(ctx, res, status, errorType, body) {
    ctx.sendJson(res, status, body, {
      'x-amzn-requestid': crypto.randomUUID(),
      'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    });
  }

  /** null when the request is authentic, else [status, errorType, message]. */
  async function authenticate(rec, req) {
    const h = rec.headers;
    const auth = h.authorization ?? '';
    if (auth.startsWith('Bearer ')) {
      rec.auth = 'bearer';
      if (apiKey && auth.slice(7) === apiKey) return null;
      return [403, 'AccessDeniedException', 'Authentication failed: Please make sure your API Key is valid.'];
    }
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) {
      return [403, 'MissingAuthenticationTokenException', 'Missing Authentication Token'];
    }
    rec.auth = 'sigv4';
    const [, keyId, day, scopeRegion, service, signedList] = m;
    if (keyId !== accessKeyId) {
      return [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'];
    }
    const date = amzDate(h['x-amz-date']);
    if (!date) return [403, 'IncompleteSignatureException', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.'];
    if (h['x-amz-date'].slice(0, 8) !== day) {
      return [403, 'InvalidSignatureException', 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.'];
    }
    if (Math.abs(Date.now() - date.getTime()) > 15 * 60_000) {
      return [403, 'InvalidSignatureException', `Signature expired: ${h['x-amz-date']} is now earlier than allowed.`];
    }
    if (service !== 'bedrock') {
      return [403, 'InvalidSignatureException', `Credential should be scoped to correct service: 'bedrock'.`];
    }
    if (scopeRegion !== region) {
      return [403, 'InvalidSignatureException', `Credential should be scoped to a valid region. `];
    }
    if (h['x-amz-content-sha256'] !== undefined && h['x-amz-content-sha256'] !== sha256hex(rec.rawBodyBytes)) {
      return [400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed."];
    }
    const signed = signedList.split(';');
    if (!signed.includes('host')) {
      return [403, 'InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization."];
    }
    const headers = {};
    for (const name of signed) {
      if (h[name] === undefined) {
        return [403, 'InvalidSignatureException', `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.`];
      }
      headers[name] = h[name];
    }
    const [hostname, port] = h.host.split(':');
    const request = new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname,
      port: port === undefined ? undefined : Number(port),
      path: rec.path,
      query: Object.fromEntries(rec.query),
      headers,
      body: rec.rawBodyBytes,
    });
    const signer = new SignatureV4({
      service,
      region: scopeRegion,
      sha256: Sha256,
      uriEscapePath: true,
      credentials: { accessKeyId: keyId, secretAccessKey: secret, sessionToken: h['x-amz-security-token'] },
    });
    const expected = (await signer.sign(request, { signingDate: date })).headers.authorization;
    rec.expectedAuthorization = expected;
    if (expected !== auth) {
      return [
        403,
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      ];
    }
    return null;
  }

  async function sendFrames(rec, res, ctx, messages, extra = []) {
    const pieces = [];
    for (const msg of messages) {
      const bytes = Buffer.from(codec.encode(msg));
      if (split) {
        const cut = 1 + (pieces.length % 11); // somewhere inside the prelude or the headers
        pieces.push(bytes.subarray(0, cut), bytes.subarray(cut));
      } else {
        pieces.push(bytes);
      }
    }
    pieces.push(...extra);
    await ctx.stream(
      rec,
      res,
      200,
      { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': crypto.randomUUID() },
      pieces,
      delay,
    );
  }

  async function handle(rec, req, res, ctx) {
    rec.auth = null;
    const m = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(rec.path);
    if (req.method !== 'POST' || !m) {
      ctx.sendJson(res, 404, { message: 'Not Found' }, { 'x-amzn-errortype': 'UnknownOperationException' });
      return;
    }
    try {
      rec.modelId = decodeURIComponent(m[1]);
    } catch {
      rec.modelId = m[1];
    }
    rec.operation = m[2];
    const refused = await authenticate(rec, req);
    if (refused) {
      rec.authError = refused[2];
      awsError(ctx, res, refused[0], refused[1], { message: refused[2] });
      return;
    }
    const b = rec.body;
    if (b === null || typeof b !== 'object' || Array.isArray(b)) {
      awsError(ctx, res, 400, 'SerializationException', { message: 'Unexpected token in the request body' });
      return;
    }
    if (!Array.isArray(b.messages) && b.messages !== undefined) {
      awsError(ctx, res, 400, 'ValidationException', { message: 'messages: expected a list' });
      return;
    }
    for (const [i, msg] of (b.messages ?? []).entries()) {
      if (msg?.role !== 'user' && msg?.role !== 'assistant') {
        awsError(ctx, res, 400, 'ValidationException', {
          message: `1 validation error detected: Value '${msg?.role}' at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`,
        });
        return;
      }
      if (!Array.isArray(msg.content)) {
        awsError(ctx, res, 400, 'ValidationException', { message: `messages.${i + 1}.member.content: expected a list` });
        return;
      }
    }
    const streaming = rec.operation === 'converse-stream';
    switch (rec.modelId) {
      case 'fx.text-v1:0':
        return streaming ? sendFrames(rec, res, ctx, streams.text) : ctx.sendJson(res, 200, bodies.text, { 'x-amzn-requestid': crypto.randomUUID() });
      case 'fx.cached-v1:0':
        if (streaming) {
          awsError(ctx, res, 400, 'ValidationException', { message: 'fx.cached-v1:0 is Converse only in this fake' });
          return;
        }
        return ctx.sendJson(res, 200, bodies.cached, { 'x-amzn-requestid': crypto.randomUUID() });
      case 'fx.tools-v1:0':
        return streaming ? sendFrames(rec, res, ctx, streams.tools) : ctx.sendJson(res, 200, bodies.tools, { 'x-amzn-requestid': crypto.randomUUID() });
      case 'fx.empty-v1:0':
        return streaming ? sendFrames(rec, res, ctx, streams.empty) : ctx.sendJson(res, 200, bodies.text, { 'x-amzn-requestid': crypto.randomUUID() });
      case 'fx.throttle-v1:0':
        if (!streaming) {
          awsError(ctx, res, 429, 'ThrottlingException', { message: THROTTLE_MSG });
          return;
        }
        // messageStart of the recorded text stream, then a throttlingException exception frame.
        await sendFrames(rec, res, ctx, streams.text.slice(0, 1), [exceptionFrame('throttlingException', THROTTLE_MSG)]);
        return;
      default:
        // fx.badmodel-v1:0 and any other id: the recorded 400 (the real service's answer to an
        // unknown model id). The x-amzn-ErrorType header was not recorded; the real service sends it.
        awsError(ctx, res, 400, 'ValidationException', streaming ? bodies.badModelStream : bodies.badModel);
    }
  }

  const srv = await startRecordingServer('bedrock', handle);
  return Object.assign(srv, {
    endpoint: srv.origin,
    accessKeyId,
    secretAccessKey: secret,
    region,
    apiKey,
    find(modelId) {
      return srv.requests.filter((r) => r.modelId === modelId);
    },
  });
}

export { exceptionFrame };
