// Spawns the real switchyard binary for an end-to-end test file.
//
//   const gw = await startGateway({ yaml });
//   ... new OpenAI({ baseURL: gw.baseURL }) ...
//   await gw.stop();           // SIGTERM, resolves with the exit code
//
// Every gateway started here is also remembered so that `killAllGateways()` (call it from an
// after() hook) can make sure no process outlives its test file, even when a test failed.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The main listener (not "admin API listening on ..." of a separate admin.listen).
const LISTENING = /(?<!admin API )listening on ([0-9.]+):(\d+)/;
const running = new Set();

export function gatewayBinary() {
  const bin = process.env.SWITCHYARD_BIN;
  if (!bin) {
    throw new Error(
      'SWITCHYARD_BIN is not set: point it at the switchyard binary, e.g. ' +
        'SWITCHYARD_BIN=build/asan/bin/switchyard node --test tests/e2e/',
    );
  }
  if (!fs.existsSync(bin)) throw new Error(`SWITCHYARD_BIN=${bin} does not exist`);
  return path.resolve(bin);
}

/**
 * @param {{yaml: string, env?: Record<string,string>, args?: string[], startTimeoutMs?: number}} opts
 */
export async function startGateway({ yaml, env = {}, args = [], startTimeoutMs = 10_000 }) {
  const bin = gatewayBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-e2e-'));
  const configPath = path.join(dir, 'switchyard.yaml');
  fs.writeFileSync(configPath, yaml);

  const child = spawn(bin, ['serve', '--config', configPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  let stdout = '';
  let stderr = '';
  let exitCode;
  let exitSignal;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      running.delete(child);
      resolve(code ?? signal);
    });
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    stdout += d;
  });

  const port = await new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn, v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(v);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(reject, new Error(`gateway did not print "listening on" within ${startTimeoutMs} ms; stderr:\n${stderr}\nstdout:\n${stdout}`));
    }, startTimeoutMs);
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = LISTENING.exec(stderr);
      if (m) finish(resolve, Number(m[2]));
    });
    child.once('error', (err) => finish(reject, new Error(`cannot spawn ${bin}: ${err.message}`)));
    exited.then((code) => finish(reject, new Error(`gateway exited (${code}) before listening; stderr:\n${stderr}\nstdout:\n${stdout}`)));
  });

  return {
    pid: child.pid,
    port,
    configPath,
    baseURL: `http://127.0.0.1:${port}/v1`,
    origin: `http://127.0.0.1:${port}`,
    /** Parsed JSON access-log lines written to stdout so far (non-JSON lines are skipped). */
    accessLog() {
      const out = [];
      for (const line of stdout.split('\n')) {
        const t = line.trim();
        if (!t.startsWith('{')) continue;
        try {
          out.push(JSON.parse(t));
        } catch {
          /* partial line still being written */
        }
      }
      return out;
    },
    stdout: () => stdout,
    stderr: () => stderr,
    get exitCode() {
      return exitCode;
    },
    get exitSignal() {
      return exitSignal;
    },
    get running() {
      return exitCode === undefined && exitSignal === undefined;
    },
    /** Resolves with the exit code (or the signal name when killed by a signal). */
    exited,
    /** Send `signal`, wait for the process to exit (SIGKILL after timeoutMs), resolve with its exit code. */
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (exitCode !== undefined || exitSignal !== undefined) return exitCode ?? exitSignal;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
    kill() {
      if (exitCode === undefined && exitSignal === undefined) child.kill('SIGKILL');
      return exited;
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Kill every gateway this process started that is still running (for after() hooks). */
export async function killAllGateways() {
  const waits = [];
  for (const child of running) {
    waits.push(new Promise((r) => child.once('exit', r)));
    child.kill('SIGKILL');
  }
  await Promise.all(waits);
}

// Last resort: never leave a gateway behind if the test runner exits abruptly.
process.once('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
