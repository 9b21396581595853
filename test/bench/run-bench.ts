/**
 * `npm run bench`: what the gateway adds, measured side by side against the backend direct and a
 * bare Node proxy hop, interleaved (A B C D A B C D…) so machine drift cancels.
 *
 *   npm run bench                       full run (6–9 min), writes docs/benchmarks.md
 *   npm run bench -- --quick            ~1 min smoke run (prints the summary, writes nothing)
 *   npm run bench -- --pin              hop under test on CPU 1, backend + load generator on CPU 0
 *   npm run bench -- --log-level warn   gateway log level (default info, the shipped default)
 *   npm run bench -- --json out.json    also write the JSON summary to a file
 *   npm run bench -- --no-write         do not touch docs/benchmarks.md
 *   npm run bench -- --render-only s.json   rewrite docs/benchmarks.md from a saved summary, measuring nothing
 *   npm run bench -- --render-only s.json --check   exit 1 if docs/benchmarks.md is not what that renders (writes nothing)
 *   npm run bench -- --storage-only     only the stored-response phase (Redis bytes per Codex turn, WAIT latency); prints it
 *   npm run bench -- --storage-baseline <checkout>   that phase also for another checkout (before/after)
 *   npm run bench -- --only tool-loop       only the 20-turn tool loop, WebSocket against HTTP (prints, writes nothing)
 *   npm run bench -- --only streams-at-scale   only the 10,000-stream phase (prints, writes nothing)
 *
 * Speed targets are checked here, never in timed tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
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
import { type BenchRequest, percentile, runFixedRateLatency, runStreams, runThroughput } from './load-clients.ts';
import { type BenchSummary, type TargetName, checkTargets, renderBenchmarksDoc } from './render-benchmarks-doc.ts';
import { measureStorage } from './stored-bytes.ts';
import { runToolLoopComparison } from './tool-loop.ts';
import { runStreamsAtScale } from './streams-at-scale.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'info' },
    json: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'render-only': { type: 'string' },
    check: { type: 'boolean', default: false },
    'storage-only': { type: 'boolean', default: false },
    'storage-baseline': { type: 'string' },
    only: { type: 'string' },
  },
});

const quick = flags.quick;
const settings = {
  rounds: quick ? 1 : 3,
  connections: 32,
  throughputSeconds: quick ? 2 : 5,
  latencyRate: 500,
  latencySeconds: quick ? 2 : 4,
  ttftStreams: quick ? 100 : 300,
  ttftConcurrency: 4,
  shortStreamChunks: 16,
  longStreamChunks: 1000,
  longStreams: quick ? 8 : 24,
  longStreamConcurrency: 8,
  openStreams: quick ? 200 : 1000,
  openStreamChunks: 20,
  leakRequests: quick ? 10_000 : 100_000,
  leakBlocks: 5,
  toolLoopTurns: 20,
  toolLoopRepetitions: quick ? 3 : 25,
};

const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));
const LOAD_CPU = '0';
const HOP_CPU = '1';

interface Target {
  readonly name: TargetName;
  readonly origin: string;
  /** Processes whose CPU is the hop's cost (none for direct). */
  readonly hopPids: readonly number[];
  readonly gatewayPid?: number;
  readonly speaks: 'chat' | 'responses';
  stop(): Promise<void>;
}

function requestFor(target: Target, kind: { stream: boolean; chunks?: number; model?: string }): BenchRequest {
  const model = kind.model ?? FAST_MODEL;
  if (target.speaks === 'chat') {
    return {
      path: '/v1/chat/completions',
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello.' }], ...(kind.stream ? { stream: true, max_tokens: kind.chunks } : {}) }),
    };
  }
  return {
    path: '/v1/responses',
    body: JSON.stringify({ model, input: 'Say hello.', ...(kind.stream ? { stream: true, max_output_tokens: kind.chunks } : {}) }),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function readHeapUsedBytes(origin: string): Promise<number | null> {
  const text = await fetch(`${origin}/metrics`)
    .then((response) => response.text())
    .catch(() => '');
  const match = /^nodejs_heap_size_used_bytes\s+([\d.e+]+)/m.exec(text);
  return match ? Number(match[1]) : null;
}

async function main(): Promise<void> {
  if (flags.pin) spawnSync('taskset', ['-pc', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const loadCpus = flags.pin ? LOAD_CPU : undefined;
  const hopCpus = flags.pin ? HOP_CPU : undefined;
  const logLevel = flags['log-level'] ?? 'info';
  const started: BenchProcess[] = [];
  const startedAt = Date.now();
  try {
    log('warming the compile cache');
    await warmCompileCache();
    log('starting backend, bare proxy, redis and two gateways');
    const backend = await startBenchScript('backend', 'test/bench/fast-backend.ts', { cpus: loadCpus });
    started.push(backend);
    const redis = await startRedisProcess({ cpus: hopCpus });
    started.push(redis);
    const upstreamBaseUrl = `${backend.origin}/v1`;
    /** The three hops, started afresh: the memory phases measure what streams cost, not what earlier phases left in the heap. */
    const startHops = async (): Promise<Target[]> => {
      const proxy = await startBenchScript('proxy', 'test/bench/bare-proxy.ts', { cpus: hopCpus, env: { UPSTREAM_ORIGIN: backend.origin } });
      started.push(proxy);
      const embedded = await startGatewayProcess({ name: 'embedded', upstreamBaseUrl, logLevel, cpus: hopCpus });
      started.push(embedded);
      const cluster = await startGatewayProcess({ name: 'cluster', upstreamBaseUrl, redisUrl: redis.url, logLevel, cpus: hopCpus });
      started.push(cluster);
      return [
        { name: 'proxy', origin: proxy.origin, hopPids: [proxy.pid], speaks: 'chat', stop: () => proxy.stop() },
        { name: 'embedded', origin: embedded.origin, hopPids: [embedded.pid], gatewayPid: embedded.pid, speaks: 'responses', stop: () => embedded.stop() },
        {
          name: 'cluster',
          origin: cluster.origin,
          hopPids: [cluster.pid, redis.pid],
          gatewayPid: cluster.pid,
          speaks: 'responses',
          stop: () => cluster.stop(),
        },
      ];
    };
    const targets: Target[] = [{ name: 'direct', origin: backend.origin, hopPids: [], speaks: 'chat', stop: async () => {} }, ...(await startHops())];

    log('warming up (JIT, connection pools)');
    for (const target of targets) {
      await runThroughput(target.origin, [requestFor(target, { stream: false })], { connections: settings.connections, durationSeconds: 1 });
      await runThroughput(target.origin, [requestFor(target, { stream: true, chunks: settings.shortStreamChunks })], {
        connections: settings.connections,
        durationSeconds: 1,
      });
    }

    const rounds = {
      throughput: new Map<TargetName, unknown[]>(),
      streaming: new Map<TargetName, unknown[]>(),
      latency: new Map<TargetName, unknown[]>(),
      ttft: new Map<TargetName, unknown[]>(),
      chunkCpu: new Map<TargetName, unknown[]>(),
    };
    const record = (table: Map<TargetName, unknown[]>, name: TargetName, value: unknown) => table.set(name, [...(table.get(name) ?? []), value]);

    for (let round = 1; round <= settings.rounds; round += 1) {
      log(`round ${round}/${settings.rounds}: non-streaming throughput`);
      for (const target of targets) {
        const { result, cpuSeconds } = await measureCpu(target.hopPids, () =>
          runThroughput(target.origin, [requestFor(target, { stream: false })], {
            connections: settings.connections,
            durationSeconds: settings.throughputSeconds,
          }),
        );
        record(rounds.throughput, target.name, { ...result, hopCpuMicrosPerRequest: (cpuSeconds * 1e6) / Math.max(1, result.completed) });
      }
      log(`round ${round}/${settings.rounds}: streaming throughput (${settings.shortStreamChunks}-chunk streams)`);
      for (const target of targets) {
        const { result, cpuSeconds } = await measureCpu(target.hopPids, () =>
          runThroughput(target.origin, [requestFor(target, { stream: true, chunks: settings.shortStreamChunks })], {
            connections: settings.connections,
            durationSeconds: settings.throughputSeconds,
          }),
        );
        record(rounds.streaming, target.name, { ...result, hopCpuMicrosPerRequest: (cpuSeconds * 1e6) / Math.max(1, result.completed) });
      }
      log(`round ${round}/${settings.rounds}: latency at ${settings.latencyRate} req/s over ${settings.connections} connections`);
      for (const target of targets) {
        record(
          rounds.latency,
          target.name,
          await runFixedRateLatency(target.origin, requestFor(target, { stream: false }), {
            connections: settings.connections,
            rate: settings.latencyRate,
            durationSeconds: settings.latencySeconds,
          }),
        );
      }
      log(`round ${round}/${settings.rounds}: time to first token`);
      for (const target of targets) {
        const result = await runStreams(target.origin, requestFor(target, { stream: true, chunks: settings.shortStreamChunks }), {
          count: settings.ttftStreams,
          concurrency: settings.ttftConcurrency,
          marker: 't0 ',
        });
        record(rounds.ttft, target.name, { p50Ms: percentile(result.firstTokenMs, 0.5), p99Ms: percentile(result.firstTokenMs, 0.99), failed: result.failed });
      }
      log(`round ${round}/${settings.rounds}: CPU per streamed chunk (${settings.longStreamChunks}-chunk streams)`);
      for (const target of targets) {
        const pids = target.name === 'direct' ? [backend.pid] : target.hopPids;
        const { result, cpuSeconds } = await measureCpu(pids, () =>
          runStreams(target.origin, requestFor(target, { stream: true, chunks: settings.longStreamChunks }), {
            count: settings.longStreams,
            concurrency: settings.longStreamConcurrency,
            marker: 't0 ',
          }),
        );
        record(rounds.chunkCpu, target.name, {
          cpuMicrosPerChunk: (cpuSeconds * 1e6) / (result.completed * settings.longStreamChunks),
          failed: result.failed,
          bytesPerStream: result.bytes / Math.max(1, result.completed),
        });
      }
    }

    // A gateway of its own: both transports start from the same state, rather than HTTP from a process
    // the phases above have run a few hundred thousand HTTP requests through.
    const loopGateway = await startGatewayProcess({ name: 'tool-loop', upstreamBaseUrl, logLevel, cpus: hopCpus });
    started.push(loopGateway);
    log(`tool loop: ${settings.toolLoopTurns} turns over WebSocket against HTTP, ${settings.toolLoopRepetitions} repetitions each, interleaved`);
    const toolLoop = await runToolLoopComparison({
      gatewayOrigin: loopGateway.origin,
      backendOrigin: backend.origin,
      gatewayPid: loopGateway.pid,
      turns: settings.toolLoopTurns,
      repetitions: settings.toolLoopRepetitions,
    });
    await loopGateway.stop();

    log('restarting the hops for the memory phases');
    await Promise.all(targets.map((target) => target.stop()));
    const hops = await startHops();
    log(`${settings.openStreams} concurrent open streams (${settings.openStreamChunks} chunks, one every 200 ms)`);
    const openStreams: BenchSummary['openStreams'] = {};
    for (const target of hops) {
      const pid = target.gatewayPid ?? target.hopPids[0]!;
      const { result, peakRssBytes, startRssBytes } = await measurePeakRss(pid, () =>
        runStreams(target.origin, requestFor(target, { stream: true, chunks: settings.openStreamChunks, model: SLOW_MODEL }), {
          count: settings.openStreams,
          concurrency: settings.openStreams,
          marker: 't0 ',
        }),
      );
      openStreams[target.name] = {
        streams: settings.openStreams,
        completed: result.completed,
        failed: result.failed,
        startRssMb: startRssBytes / 2 ** 20,
        peakRssMb: peakRssBytes / 2 ** 20,
        elapsedSeconds: result.elapsedMs / 1000,
      };
    }

    log(`leak check: ${settings.leakRequests} requests per gateway (one in four streamed)`);
    const leak: BenchSummary['leak'] = {};
    for (const target of hops.filter((hop) => hop.gatewayPid !== undefined)) {
      const pid = target.gatewayPid!;
      const plain = requestFor(target, { stream: false });
      const requests = [plain, plain, plain, requestFor(target, { stream: true, chunks: settings.shortStreamChunks })];
      const checkpoints: { requests: number; rssMb: number; heapUsedMb: number | null }[] = [];
      const snapshot = async (requestCount: number) => {
        const heap = await readHeapUsedBytes(target.origin);
        checkpoints.push({ requests: requestCount, rssMb: readRssBytes(pid) / 2 ** 20, heapUsedMb: heap === null ? null : heap / 2 ** 20 });
      };
      await snapshot(0);
      let done = 0;
      let failed = 0;
      const block = Math.floor(settings.leakRequests / settings.leakBlocks);
      for (let index = 0; index < settings.leakBlocks; index += 1) {
        const result = await runThroughput(target.origin, requests, { connections: settings.connections, amount: block });
        done += block;
        failed += result.failed;
        await snapshot(done);
      }
      leak[target.name] = { requests: done, failed, checkpoints };
    }

    log('streams at scale: up to 10,000 paced streams through one hop');
    await Promise.all(hops.map((target) => target.stop()));
    const streamsAtScale = await runStreamsAtScale({ quick, logLevel, log });

    log('stored responses: Redis memory per Codex turn, and what WAIT adds to a save');
    const storage = await measureStorage({ quick, ...(flags['storage-baseline'] === undefined ? {} : { baselineCwd: flags['storage-baseline'] }) });

    const summary: BenchSummary = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      pinned: flags.pin,
      logLevel,
      quick,
      settings,
      durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      throughput: aggregate(rounds.throughput),
      streaming: aggregate(rounds.streaming),
      latency: aggregate(rounds.latency),
      ttft: aggregate(rounds.ttft),
      chunkCpu: aggregate(rounds.chunkCpu),
      openStreams,
      leak,
      storage,
      toolLoop,
      streamsAtScale,
    };
    const summaryWithChecks = { ...summary, targets: checkTargets(summary) };
    process.stdout.write(`${JSON.stringify(summaryWithChecks, null, 2)}\n`);
    if (flags.json) writeFileSync(flags.json, `${JSON.stringify(summaryWithChecks, null, 2)}\n`);
    if (!quick && !flags['no-write']) writeDoc(summary);
  } finally {
    await Promise.allSettled(started.reverse().map((child) => child.stop()));
  }
}

/** Earlier runs shown next to this one in docs/benchmarks.md: the recorded summaries, oldest first. */
const EARLIER_RUNS = [
  { label: 'before', file: 'test/bench/baseline-before.json' },
  { label: 'after round 1', file: 'test/bench/results-round1.json' },
  { label: 'after round 2', file: 'test/bench/results-round2.json' },
  { label: 'after round 3', file: 'test/bench/results-round3.json' },
  { label: 'with WebSocket mode', file: 'test/bench/results-websocket-mode.json' },
  { label: 'streams at scale', file: 'test/bench/results-streams-at-scale.json' },
] as const;

/** docs/benchmarks.md from this run, the recorded earlier runs and the notes on what was changed. */
function writeDoc(summary: BenchSummary): void {
  const earlier = EARLIER_RUNS.filter((run) => existsSync(`${repositoryRoot}${run.file}`))
    .map((run) => ({ ...run, summary: JSON.parse(readFileSync(`${repositoryRoot}${run.file}`, 'utf8')) as BenchSummary }))
    // A summary is never its own earlier run (re-rendering a recorded run with --render-only).
    .filter((run) => run.summary.date !== summary.date);
  const notesPath = new URL('./optimisations.md', import.meta.url);
  const notes = existsSync(notesPath) ? readFileSync(notesPath, 'utf8') : '';
  const rendered = renderBenchmarksDoc(summary, earlier, notes);
  if (flags.check) {
    // The docs test runs this: the committed page must be what the notes and recorded runs render.
    const current = readFileSync(`${repositoryRoot}docs/benchmarks.md`, 'utf8');
    log(current === rendered ? 'docs/benchmarks.md is up to date' : 'docs/benchmarks.md differs from what the summary and test/bench/optimisations.md render');
    process.exitCode = current === rendered ? 0 : 1;
    return;
  }
  writeFileSync(`${repositoryRoot}docs/benchmarks.md`, rendered);
  log('wrote docs/benchmarks.md');
}

/** Per target, the median of each numeric field across rounds. */
function aggregate(table: Map<TargetName, unknown[]>): Partial<Record<TargetName, Record<string, number>>> {
  const result: Partial<Record<TargetName, Record<string, number>>> = {};
  for (const [name, values] of table) {
    const rows = values as Record<string, number>[];
    const fields = Object.keys(rows[0] ?? {});
    result[name] = Object.fromEntries(fields.map((field) => [field, median(rows.map((row) => row[field] ?? Number.NaN))]));
  }
  return result;
}

/** `--only tool-loop`: the backend and one embedded gateway, the tool-loop phase, its JSON on stdout. */
async function runToolLoopOnly(): Promise<void> {
  const started: BenchProcess[] = [];
  try {
    await warmCompileCache();
    const backend = await startBenchScript('backend', 'test/bench/fast-backend.ts');
    started.push(backend);
    const gateway = await startGatewayProcess({ name: 'embedded', upstreamBaseUrl: `${backend.origin}/v1`, logLevel: flags['log-level'] ?? 'info' });
    started.push(gateway);
    log(`tool loop: ${settings.toolLoopTurns} turns over WebSocket against HTTP, ${settings.toolLoopRepetitions} repetitions each, interleaved`);
    const result = await runToolLoopComparison({
      gatewayOrigin: gateway.origin,
      backendOrigin: backend.origin,
      gatewayPid: gateway.pid,
      turns: settings.toolLoopTurns,
      repetitions: settings.toolLoopRepetitions,
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (flags.json) writeFileSync(flags.json, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.allSettled(started.reverse().map((child) => child.stop()));
  }
}

if (flags['render-only']) writeDoc(JSON.parse(readFileSync(flags['render-only'], 'utf8')) as BenchSummary);
else if (flags['storage-only']) {
  const storage = await measureStorage({ quick, ...(flags['storage-baseline'] === undefined ? {} : { baselineCwd: flags['storage-baseline'] }) });
  process.stdout.write(`${JSON.stringify(storage, null, 2)}\n`);
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify(storage, null, 2)}\n`);
} else if (flags.only === 'tool-loop') await runToolLoopOnly();
else if (flags.only === 'streams-at-scale') {
  await warmCompileCache();
  const result = await runStreamsAtScale({ quick, logLevel: flags['log-level'] ?? 'info', log });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (flags.json) writeFileSync(flags.json, `${JSON.stringify(result, null, 2)}\n`);
} else await main();
