/**
 * The npm scripts as an operator runs them, on the machine's own Node (the chain is npm → sh →
 * node scripts/node24.mjs → Node 24): a SIGTERM or SIGINT to the npm process stops what it started,
 * and npm exits only once that has exited. `npm run cluster` cleans up Redis, the replicas, the
 * worker, nginx and its temp dir, starts at LOG_LEVEL=warn, prints each child's output with a
 * prefix, reports a child that dies, and refuses bad arguments in one line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findFreePort, startRedis, type TestRedis } from '../support/redis-server.ts';
import { startScriptedBackend, type ScriptedBackend } from '../support/scripted-backend.ts';

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The machine's PATH: without the Node 24 that `npm test` put first, so node24.mjs runs on the old Node. */
const machinePath = (process.env['PATH'] ?? '')
  .split(delimiter)
  .filter((entry) => !entry.includes('.tools/node') && !entry.includes('node_modules/.bin'))
  .join(delimiter);

interface NpmRun {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];

function runNpm(args: readonly string[], env: Readonly<Record<string, string>>): NpmRun {
  const child = spawn('npm', [...args], {
    cwd: repositoryRoot,
    env: { PATH: machinePath, HOME: process.env['HOME'] ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Every process below `pid`, from /proc (Linux). */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

async function answers(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(1_000) }).catch(() => null))?.ok === true;
}

let backend: ScriptedBackend;
let redis: TestRedis;
beforeAll(async () => {
  [backend, redis] = await Promise.all([startScriptedBackend({ models: ['org/model-a'] }), startRedis({ mode: 'process' })]);
});
afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all([backend?.close(), redis?.stop()]);
});

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s to the npm process stops the gateway, and npm exits after it', async (signal) => {
    const port = await findFreePort();
    const run = runNpm(['start'], { PORT: String(port), HOST: '127.0.0.1', UPSTREAM_BASE_URL: backend.url });
    await vi.waitFor(async () => expect(await answers(`http://127.0.0.1:${port}/ready`)).toBe(true), { timeout: 30_000, interval: 100 });
    const started = descendantsOf(run.child.pid!);
    expect(started.some((pid) => commandLineOf(pid).includes('apps/gateway/src/main.ts'))).toBe(true);

    run.child.kill(signal);
    const exit = await run.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    // npm exited only after the gateway said it stopped, and nothing it started is left.
    expect(run.stdout()).toContain('"msg":"stopped"');
    expect(started.filter(isAlive)).toEqual([]);
    expect(await answers(`http://127.0.0.1:${port}/health`)).toBe(false);
  });
});

describe('npm run start:worker', () => {
  it('SIGTERM to the npm process stops the worker, and npm exits after it', async () => {
    const port = await findFreePort();
    const run = runNpm(['run', 'start:worker'], { WORKER_PORT: String(port), WORKER_HOST: '127.0.0.1', REDIS_URL: redis.url, UPSTREAM_BASE_URL: backend.url });
    await vi.waitFor(async () => expect(await answers(`http://127.0.0.1:${port}/health`)).toBe(true), { timeout: 30_000, interval: 100 });
    const started = descendantsOf(run.child.pid!);
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toContain('"msg":"worker stopped"');
    expect(started.filter(isAlive)).toEqual([]);
  });
});

describe('npm run cluster', () => {
  it('starts at LOG_LEVEL=warn (readiness is polled), prefixes each child’s output, reports a dead replica, and SIGTERM cleans up everything', async () => {
    const port = await findFreePort();
    const run = runNpm(['run', 'cluster', '--', '--replicas', '2', '--port', String(port), '--upstream', backend.url], { LOG_LEVEL: 'warn' });
    await vi.waitFor(() => expect(run.stdout()).toContain('[cluster] up: 2 gateway replicas'), { timeout: 60_000, interval: 100 });
    expect(await answers(`http://127.0.0.1:${port}/v1/models`)).toBe(false); // no key: 401, through nginx
    const status = (await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: 'Bearer sk-cluster' } })).status;
    expect(status).toBe(200);

    const workDir = /nginx logs\s+: (\S+)\/access\.log/.exec(run.stdout())?.[1];
    expect(workDir).toBeDefined();
    expect(existsSync(workDir!)).toBe(true);
    const started = descendantsOf(run.child.pid!);
    const names = started.map(commandLineOf);
    expect(names.filter((line) => line.includes('apps/gateway/src/main.ts'))).toHaveLength(2);
    expect(names.some((line) => line.includes('apps/worker/src/main.ts'))).toBe(true);
    expect(names.some((line) => line.startsWith('redis-server'))).toBe(true);
    expect(names.some((line) => line.includes('nginx: master'))).toBe(true);
    // LOG_LEVEL=warn reached the replicas: none wrote its info-level "gateway listening" line.
    expect(run.stdout()).not.toContain('"msg":"gateway listening"');

    // A replica that dies is reported, and the rest keeps serving.
    const replica = started.find((pid) => commandLineOf(pid).includes('apps/gateway/src/main.ts'))!;
    process.kill(replica, 'SIGKILL');
    await vi.waitFor(() => expect(run.stderr()).toMatch(new RegExp(`\\[cluster\\] replica-\\d \\(pid ${replica}\\) exited by SIGKILL`)), {
      timeout: 10_000,
      interval: 50,
    });
    // Each child's lines carry its name: provoke one from the other replica (an unknown model is a warn line).
    await fetch(`http://127.0.0.1:${port}/v1/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-cluster', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'org/unknown', input: 'hi' }),
    });
    await vi.waitFor(() => expect(run.stdout()).toMatch(/^\[replica-\d\] \{"level":"warn".*"status":404/m), { timeout: 10_000, interval: 50 });

    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toContain('[cluster] stopped');
    expect(started.filter(isAlive)).toEqual([]);
    expect(existsSync(workDir!)).toBe(false);
  });

  it('refuses a bad argument in one line, and explains its options with --help', async () => {
    const bad = runNpm(['run', 'cluster', '--', '--replicas', 'abc'], {});
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toContain('cluster: --replicas must be a whole number from 1 to 32 (got "abc")\nRun with --help for the options.\n');
    expect(bad.stderr()).not.toMatch(/\n\s+at /); // no stack trace

    const help = runNpm(['run', 'cluster', '--', '--help'], {});
    expect((await help.exited).code).toBe(0);
    expect(help.stdout()).toMatch(/Usage: npm run cluster -- \[options\][\s\S]*--replicas <n>[\s\S]*--no-worker/);
  });
});
