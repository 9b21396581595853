/**
 * Where the gateway's CPU goes: starts the fast backend and one gateway under `node --cpu-prof`,
 * drives one kind of load at it, stops it and prints the heaviest functions and packages by self time.
 * The .cpuprofile file it leaves opens in Chrome DevTools or speedscope as a flame graph.
 *
 *   node scripts/node24.mjs test/bench/profile-gateway.ts [json|stream|long-stream] [seconds] [--redis] [--no-store]
 *
 * `--no-store` sends `store: false` (leaves the stored-response path out of the profile).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FAST_MODEL } from './fast-backend.ts';
import { GATEWAY_NODE_FLAGS } from '../../apps/gateway/src/gateway-node-flags.ts';
import { findFreePort, startBenchScript, startRedisProcess } from './bench-processes.ts';
import { runStreams, runThroughput } from './load-clients.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

function ownerOf(url: string): string {
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return packageMatch[1]!;
  if (url === '') return '(native, gc, idle)';
  if (!url.startsWith('file:')) return 'node core';
  return path.relative(repositoryRoot, fileURLToPath(url)).split('/').slice(0, 3).join('/');
}

/** Self-time shares by function and by package, from a V8 .cpuprofile. */
export function summarizeProfile(file: string, top = 40): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const total = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(`file://${repositoryRoot}`, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
    const owner = ownerOf(url);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + hits);
  }
  const format = (entries: Map<string, number>, limit: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, hits]) => `${((100 * hits) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  return `by package/module:\n${format(byOwner, 20)}\n\nby function:\n${format(byFunction, top)}\n`;
}

if (import.meta.main) {
  const kind = process.argv[2] ?? 'json';
  const seconds = Number(process.argv[3] ?? 10);
  const withRedis = process.argv.includes('--redis');
  const noStore = process.argv.includes('--no-store');
  const backend = await startBenchScript('backend', 'test/bench/fast-backend.ts');
  const redis = withRedis ? await startRedisProcess() : null;
  const profileDir = mkdtempSync(path.join(tmpdir(), 'gateway-profile-'));
  const port = await findFreePort();
  const gateway = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${profileDir}`, 'apps/gateway/src/main.ts'], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
      UPSTREAM_BASE_URL: `${backend.origin}/v1`,
      ...(redis ? { REDIS_URL: redis.url } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const origin = `http://127.0.0.1:${port}`;
  while (
    !(await fetch(`${origin}/ready`).then(
      (response) => response.ok,
      () => false,
    ))
  )
    await sleep(100);
  await sleep(500); // the model list loads right after listening
  const body = (stream: boolean, chunks: number) =>
    JSON.stringify({
      model: FAST_MODEL,
      input: 'Say hello.',
      ...(noStore ? { store: false } : {}),
      ...(stream ? { stream: true, max_output_tokens: chunks } : {}),
    });
  if (kind === 'long-stream') {
    const result = await runStreams(origin, { path: '/v1/responses', body: body(true, 1000) }, { count: seconds * 10, concurrency: 8, marker: 't0 ' });
    process.stderr.write(`${result.completed} long streams in ${(result.elapsedMs / 1000).toFixed(1)} s\n`);
  } else {
    const result = await runThroughput(origin, [{ path: '/v1/responses', body: body(kind === 'stream', 16) }], { connections: 32, durationSeconds: seconds });
    process.stderr.write(`${result.requestsPerSecond.toFixed(0)} requests/s, ${result.failed} failed\n`);
  }
  gateway.kill('SIGTERM');
  await once(gateway, 'exit');
  await backend.stop();
  await redis?.stop();
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${profileDir}`);
  process.stdout.write(`${path.join(profileDir, file)}\n\n${summarizeProfile(path.join(profileDir, file))}`);
}
