/**
 * The two hardest targets, measured on their own in about a minute each, for the edit → measure loop
 * (`npm run bench` measures everything in 6–9 minutes):
 *
 *   node scripts/node24.mjs test/bench/focus-targets.ts throughput [rounds] [seconds]   non-streamed requests/s and hop CPU µs per
 *                                                                   request: bare proxy, gateway embedded, gateway + Redis,
 *                                                                   interleaved, median across rounds (default 3 × 4 s)
 *   node scripts/node24.mjs test/bench/focus-targets.ts latency [rounds] [seconds]        p50 latency at a fixed 500 requests/s over 32 connections
 *   node scripts/node24.mjs test/bench/focus-targets.ts open-streams [count]            peak RSS with `count` (default 1000) concurrent
 *                                                                   open streams, freshly started hops
 *   node test/bench/focus-targets.ts chunks [rounds] [streams]       hop CPU µs per streamed chunk: `streams` (default 200)
 *                                                                   streams of 256 chunks, 16 at a time, interleaved, median across rounds (default 5)
 *
 * `--baseline=<dir>` also starts an embedded gateway from another checkout (a `git worktree` of the
 * commit to compare with, after `npm ci` there), measured interleaved with this one: an A/B of two
 * builds that machine drift cannot fake. `--baseline-env=K=V,K2=V2` gives that gateway its own environment
 * (the same checkout as baseline, with one setting changed, is an A/B of the setting).
 * `--log-level=warn` starts the gateways without access logs (what logging costs).
 * `--no-redis` leaves the gateway + Redis target out; `--no-store` sends the gateways `store: false`
 * (what the stored-response path costs); `--gateway-node-options="<flags>"` starts the gateways (only them)
 * with NODE_OPTIONS, to try V8 flags before proposing them for the start command.
 */
import { parseArgs } from 'node:util';
import { FAST_MODEL, SLOW_MODEL } from './fast-backend.ts';
import {
  type BenchProcess,
  measureCpu,
  measurePeakRss,
  readRssBytes,
  startBenchScript,
  startGatewayProcess,
  startRedisProcess,
  warmCompileCache,
} from './bench-processes.ts';
import { type BenchRequest, runFixedRateLatency, runStreams, runThroughput } from './load-clients.ts';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'no-redis': { type: 'boolean', default: false },
    'no-store': { type: 'boolean', default: false },
    'gateway-node-options': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    baseline: { type: 'string' },
    'baseline-env': { type: 'string' },
  },
});
const mode = positionals[0] ?? 'throughput';
const gatewayEnv = flags['gateway-node-options'] ? { env: { NODE_OPTIONS: flags['gateway-node-options'] } } : {};

interface Hop {
  readonly name: string;
  readonly process: BenchProcess;
  /** The hop's processes: CPU is summed over them (the gateway + Redis target includes redis-server). */
  readonly pids: readonly number[];
  readonly speaks: 'chat' | 'responses';
}

function requestFor(hop: Hop, stream: boolean, model: string, chunks = 16): BenchRequest {
  return hop.speaks === 'chat'
    ? {
        path: '/v1/chat/completions',
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello.' }], ...(stream ? { stream: true, max_tokens: chunks } : {}) }),
      }
    : {
        path: '/v1/responses',
        body: JSON.stringify({
          model,
          input: 'Say hello.',
          ...(flags['no-store'] ? { store: false } : {}),
          ...(stream ? { stream: true, max_output_tokens: chunks } : {}),
        }),
      };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const started: BenchProcess[] = [];
try {
  await warmCompileCache();
  const backend = await startBenchScript('backend', 'test/bench/fast-backend.ts');
  started.push(backend);
  const redis = flags['no-redis'] ? null : await startRedisProcess();
  if (redis) started.push(redis);
  const upstreamBaseUrl = `${backend.origin}/v1`;
  const baselineEnv = flags['baseline-env']
    ? { env: Object.fromEntries(flags['baseline-env'].split(',').map((pair) => pair.split('=') as [string, string])) }
    : gatewayEnv;
  const startHops = async (): Promise<Hop[]> => {
    const proxy = await startBenchScript('proxy', 'test/bench/bare-proxy.ts', { env: { UPSTREAM_ORIGIN: backend.origin } });
    const embedded = await startGatewayProcess({ name: 'embedded', upstreamBaseUrl, logLevel: flags['log-level'], ...gatewayEnv });
    started.push(proxy, embedded);
    const hops: Hop[] = [
      { name: 'bare proxy', process: proxy, pids: [proxy.pid], speaks: 'chat' },
      { name: 'gateway, embedded', process: embedded, pids: [embedded.pid], speaks: 'responses' },
    ];
    if (flags.baseline) {
      const baseline = await startGatewayProcess({ name: 'baseline', upstreamBaseUrl, logLevel: flags['log-level'], cwd: flags.baseline, ...baselineEnv });
      started.push(baseline);
      hops.push({ name: 'baseline, embedded', process: baseline, pids: [baseline.pid], speaks: 'responses' });
    }
    if (redis) {
      const cluster = await startGatewayProcess({ name: 'cluster', upstreamBaseUrl, redisUrl: redis.url, logLevel: flags['log-level'], ...gatewayEnv });
      started.push(cluster);
      hops.push({ name: 'gateway + Redis', process: cluster, pids: [cluster.pid, redis.pid], speaks: 'responses' });
      if (flags.baseline) {
        // Its own redis-server, so each figure includes only its own Redis work.
        const baselineRedis = await startRedisProcess();
        const baseline = await startGatewayProcess({
          name: 'baseline cluster',
          upstreamBaseUrl,
          redisUrl: baselineRedis.url,
          logLevel: flags['log-level'],
          cwd: flags.baseline,
          ...baselineEnv,
        });
        started.push(baselineRedis, baseline);
        hops.push({ name: 'baseline + Redis', process: baseline, pids: [baseline.pid, baselineRedis.pid], speaks: 'responses' });
      }
    }
    return hops;
  };
  const hops = await startHops();

  if (mode === 'throughput') {
    const rounds = Number(positionals[1] ?? 3);
    const seconds = Number(positionals[2] ?? 4);
    for (const hop of hops) await runThroughput(hop.process.origin, [requestFor(hop, false, FAST_MODEL)], { connections: 32, durationSeconds: 1 });
    const results = new Map<string, { rps: number[]; cpu: number[] }>(hops.map((hop) => [hop.name, { rps: [], cpu: [] }]));
    for (let round = 0; round < rounds; round += 1) {
      for (const hop of hops) {
        const { result, cpuSeconds } = await measureCpu(hop.pids, () =>
          runThroughput(hop.process.origin, [requestFor(hop, false, FAST_MODEL)], { connections: 32, durationSeconds: seconds }),
        );
        const row = results.get(hop.name)!;
        row.rps.push(result.requestsPerSecond);
        row.cpu.push((cpuSeconds * 1e6) / Math.max(1, result.completed));
        if (result.failed > 0) process.stderr.write(`${hop.name}: ${result.failed} failed\n`);
      }
    }
    const proxyRps = median(results.get('bare proxy')!.rps);
    for (const [name, row] of results) {
      const rps = median(row.rps);
      process.stdout.write(
        `${name.padEnd(20)} ${rps.toFixed(0).padStart(6)} req/s  ${(rps / proxyRps).toFixed(2)} × proxy  ${median(row.cpu).toFixed(0).padStart(4)} µs CPU/request\n`,
      );
    }
  } else if (mode === 'latency') {
    const rounds = Number(positionals[1] ?? 5);
    const seconds = Number(positionals[2] ?? 3);
    const p50s = new Map<string, number[]>(hops.map((hop) => [hop.name, []]));
    for (let round = 0; round < rounds; round += 1) {
      for (const hop of hops) {
        const result = await runFixedRateLatency(hop.process.origin, requestFor(hop, false, FAST_MODEL), {
          connections: 32,
          rate: 500,
          durationSeconds: seconds,
        });
        p50s.get(hop.name)!.push(result.p50Ms);
      }
    }
    for (const [name, values] of p50s)
      process.stdout.write(
        `${name.padEnd(20)} p50 ${median(values).toFixed(3)} ms at 500 req/s  (rounds: ${values.map((value) => value.toFixed(2)).join(' ')})\n`,
      );
  } else if (mode === 'chunks') {
    const rounds = Number(positionals[1] ?? 5);
    const streams = Number(positionals[2] ?? 200);
    const chunks = 256;
    const cpu = new Map<string, number[]>(hops.map((hop) => [hop.name, []]));
    for (const hop of hops) await runStreams(hop.process.origin, requestFor(hop, true, FAST_MODEL, chunks), { count: 20, concurrency: 16, marker: 't0 ' });
    for (let round = 0; round < rounds; round += 1) {
      for (const hop of hops) {
        const { result, cpuSeconds } = await measureCpu(hop.pids, () =>
          runStreams(hop.process.origin, requestFor(hop, true, FAST_MODEL, chunks), { count: streams, concurrency: 16, marker: 't0 ' }),
        );
        if (result.failed > 0) process.stderr.write(`${hop.name}: ${result.failed} failed\n`);
        cpu.get(hop.name)!.push((cpuSeconds * 1e6) / Math.max(1, result.completed * chunks));
      }
    }
    const proxy = median(cpu.get('bare proxy')!);
    for (const [name, values] of cpu)
      process.stdout.write(
        `${name.padEnd(20)} ${median(values).toFixed(2).padStart(6)} µs CPU/chunk  ${(median(values) / proxy).toFixed(2)} × proxy  (rounds: ${values.map((value) => value.toFixed(2)).join(' ')})\n`,
      );
  } else if (mode === 'open-streams') {
    const count = Number(positionals[1] ?? 1000);
    for (const hop of hops) {
      const pid = hop.process.pid;
      const idle = readRssBytes(pid);
      const { result, peakRssBytes } = await measurePeakRss(pid, () =>
        runStreams(hop.process.origin, requestFor(hop, true, SLOW_MODEL, 20), { count, concurrency: count, marker: 't0 ' }),
      );
      process.stdout.write(
        `${hop.name.padEnd(20)} idle ${(idle / 2 ** 20).toFixed(0).padStart(4)} MB  peak ${(peakRssBytes / 2 ** 20).toFixed(0).padStart(4)} MB  ${result.completed} completed, ${result.failed} failed\n`,
      );
    }
  } else {
    throw new Error(`unknown mode ${mode}: throughput | latency | chunks | open-streams`);
  }
} finally {
  await Promise.allSettled(started.reverse().map((child) => child.stop()));
}
