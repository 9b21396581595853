/**
 * The streams-at-scale phase of `npm run bench` (issue 17): many concurrent streams held open through
 * one hop, each paced like a generating model (first token at once, then a chunk every 100–500 ms:
 * the backend's `bench-paced` model), ramped up at a fixed rate so every stream is open at once for a
 * while. Per hop: streams held at once, failures, peak RSS and RSS per stream above the hop's idle
 * RSS, CPU per chunk, time to first token (the backend sends it at once, so it is the hops' own),
 * event-loop delay p99 inside the hop, and the backend connections the hop held at most.
 *
 * File descriptors: this sandbox's hard limit is 20,000 per process and cannot be raised (prlimit:
 * "Operation not permitted"). Over HTTP/1.1 a hop holds two sockets per stream (client and backend),
 * so 10,000 streams need HTTP/2 to the backend (UPSTREAM_HTTP2); the HTTP/1.1 run stops short of the
 * limit. The load generator (this process) holds one socket per stream.
 *
 *   node scripts/node24.mjs test/bench/run-bench.ts --only streams-at-scale   this phase alone (prints JSON)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import {
  type BenchProcess,
  measureCpu,
  measurePeakRss,
  readCpuSeconds,
  readRssBytes,
  startBenchScript,
  startGatewayProcess,
  startRedisProcess,
} from './bench-processes.ts';
import { FAST_MODEL, HELD_MODEL, PACED_MODEL } from './fast-backend.ts';
import { percentile } from './load-clients.ts';
import { type PerStreamKind, perStreamDifference } from './heap-snapshot-diff.ts';
import { makeSelfSignedCert } from '../support/self-signed-cert.ts';

/** monitorEventLoopDelay's histogram holds whole sampling intervals: this much of each is the resolution, not delay. */
const EVENT_LOOP_RESOLUTION_MS = 10;
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench-key' };

export type Pacing = '100–500 ms' | '1–5 s';

export interface ScaleRun {
  readonly hop: string;
  /** Time between two chunks of one stream (uniform): a generating model, or one that mostly waits. */
  readonly pacing: Pacing;
  readonly upstream: 'http/1.1' | 'h2' | 'none';
  readonly streams: number;
  readonly rampPerSecond: number;
  readonly chunksPerStream: number;
  /** Streams open at the same moment, at most (counted by the load generator). */
  readonly heldAtOnce: number;
  readonly completed: number;
  readonly failed: number;
  readonly idleRssMb: number | null;
  readonly peakRssMb: number | null;
  readonly rssKbPerStream: number | null;
  /** The hop's CPU over the whole run (requests included) per chunk relayed. */
  readonly cpuMicrosPerChunk: number | null;
  /** The hop's CPU per chunk while every stream was open and none had ended: chunks only, at full load. */
  readonly steadyCpuMicrosPerChunk: number | null;
  /** Time to first token of the ramp's streams (includes queueing behind the ramp's own connections). */
  readonly firstTokenP50Ms: number;
  readonly firstTokenP99Ms: number;
  /** Time to first token of probe streams sent one at a time (one kept-alive connection) while every stream was open. */
  readonly probeFirstTokenP50Ms: number | null;
  readonly probeFirstTokenP99Ms: number | null;
  readonly eventLoopDelayP99Ms: number | null;
  readonly backendConnectionsPeak: number;
  readonly elapsedSeconds: number;
}

export interface MemoryBreakdown {
  readonly streams: number;
  /** Per open stream, from the gateway's /metrics (idle against all streams open): RSS, V8 heap used, memory outside the heap (Buffers, ArrayBuffers). */
  readonly rssKb: number;
  readonly heapUsedKb: number;
  readonly externalKb: number;
  /** Live heap objects per stream by kind, from two heap snapshots. */
  readonly liveHeapKb: number;
  readonly kinds: readonly PerStreamKind[];
}

export interface StreamsAtScaleSummary {
  readonly fileDescriptorLimit: string;
  readonly memory?: MemoryBreakdown;
  readonly runs: readonly ScaleRun[];
}

export interface StreamsAtScaleOptions {
  readonly quick: boolean;
  readonly logLevel: string;
  readonly log: (message: string) => void;
}

export interface Hop {
  readonly name: string;
  readonly upstream: ScaleRun['upstream'];
  readonly origin: string;
  readonly speaks: 'chat' | 'responses';
  readonly pids: readonly number[];
  /** The process whose RSS is the hop's (the gateway, not Redis). */
  readonly rssPid?: number;
  readonly eventLoopDelayP99Ms: () => Promise<number | null>;
  stop(): Promise<void>;
}

export async function runStreamsAtScale(options: StreamsAtScaleOptions): Promise<StreamsAtScaleSummary> {
  const big = options.quick ? 1_000 : 10_000;
  const small = options.quick ? 200 : 1_000;
  const middle = options.quick ? 400 : 2_000;
  const probes = options.quick ? 20 : 100;
  const started: BenchProcess[] = [];
  const tlsDir = mkdtempSync(path.join(tmpdir(), 'rgw-bench-tls-'));
  try {
    // A self-signed certificate for 127.0.0.1, which the hops trust as their CA (UPSTREAM_TLS_CA_FILE).
    await makeSelfSignedCert(tlsDir);
    const backend = await startBenchScript('paced-backend', 'test/bench/fast-backend.ts', { env: { BENCH_BACKEND_TLS_DIR: tlsDir } });
    started.push(backend);
    const backendStats = async (reset = false) =>
      (await (await fetch(`${backend.origin}/_stats`, { method: reset ? 'POST' : 'GET' })).json()) as { peak: number; chunks: number; tlsPort: number };
    const { tlsPort } = await backendStats();
    const h2Env = { UPSTREAM_HTTP2: 'true', UPSTREAM_TLS_CA_FILE: path.join(tlsDir, 'cert.pem') };
    const tlsOrigin = `https://127.0.0.1:${tlsPort}`;

    const proxyHop = async (upstream: 'http/1.1' | 'h2'): Promise<Hop> => {
      const proxy = await startBenchScript('proxy', 'test/bench/bare-proxy.ts', {
        env: upstream === 'h2' ? { ...h2Env, UPSTREAM_ORIGIN: tlsOrigin } : { UPSTREAM_ORIGIN: backend.origin },
      });
      started.push(proxy);
      return {
        name: 'proxy',
        upstream,
        origin: proxy.origin,
        speaks: 'chat',
        pids: [proxy.pid],
        rssPid: proxy.pid,
        eventLoopDelayP99Ms: async () => ((await (await fetch(`${proxy.origin}/_stats`)).json()) as { eventLoopDelayP99Ms: number }).eventLoopDelayP99Ms,
        stop: () => proxy.stop(),
      };
    };
    const gatewayHop = async (name: string, upstream: 'http/1.1' | 'h2', redis?: BenchProcess & { url: string }): Promise<Hop> => {
      const gateway = await startGatewayProcess({
        name,
        upstreamBaseUrl: upstream === 'h2' ? `${tlsOrigin}/v1` : `${backend.origin}/v1`,
        redisUrl: redis?.url,
        logLevel: options.logLevel,
        env: upstream === 'h2' ? h2Env : {},
      });
      started.push(gateway);
      return {
        name,
        upstream,
        origin: gateway.origin,
        speaks: 'responses',
        pids: redis === undefined ? [gateway.pid] : [gateway.pid, redis.pid],
        rssPid: gateway.pid,
        eventLoopDelayP99Ms: async () => {
          const text = await (await fetch(`${gateway.origin}/metrics`)).text();
          const match = /^nodejs_eventloop_lag_p99_seconds\s+([\d.e+-]+)/m.exec(text);
          return match ? Number(match[1]) * 1000 : null;
        },
        stop: () => gateway.stop(),
      };
    };
    const direct: Hop = {
      name: 'direct',
      upstream: 'none',
      origin: backend.origin,
      speaks: 'chat',
      pids: [],
      eventLoopDelayP99Ms: async () => null,
      stop: async () => {},
    };

    const runs: ScaleRun[] = [];
    /** Paced streams last about 18 s, held ones about 45 s (16 chunks: the least max_output_tokens the gateway takes): longer than their ramp, so all are open for a while. */
    const shapes = {
      '100–500 ms': { chunks: options.quick ? 20 : 60, model: PACED_MODEL },
      '1–5 s': { chunks: 16, model: HELD_MODEL },
    } as const;
    const measure = async (hop: Hop, streams: number, pacing: Pacing, rampPerSecond: number) => {
      const { chunks, model } = shapes[pacing];
      options.log(`streams at scale: ${streams} streams, a chunk every ${pacing}, through ${hop.name} (${hop.upstream} to the backend)`);
      // The hop's first stream compiles its code paths: not part of what an open stream costs.
      await holdStreams(hop, { streams: 20, chunks: 16, rampPerSecond: 1_000, model: PACED_MODEL });
      await sleep(500);
      await backendStats(true);
      let probed: number[] = [];
      await hop.eventLoopDelayP99Ms(); // resets the histogram
      const idleRss = hop.rssPid === undefined ? null : readRssBytes(hop.rssPid);
      const rssPid = hop.rssPid ?? backend.pid;
      // The steady window: from the moment every stream is open to the first one's end.
      const sample = async () => ({ cpu: hop.pids.reduce((sum, pid) => sum + readCpuSeconds(pid), 0), chunks: (await backendStats()).chunks });
      let steadyStart: Promise<{ cpu: number; chunks: number }> | undefined;
      let steadyEnd: Promise<{ cpu: number; chunks: number }> | undefined;
      const { result: cpu, peakRssBytes } = await measurePeakRss(rssPid, () =>
        measureCpu(hop.pids, () =>
          holdStreams(hop, {
            streams,
            chunks,
            rampPerSecond,
            model,
            onAllOpen: async () => {
              steadyStart = sample();
              await steadyStart;
              probed = await probeFirstToken(hop, probes);
            },
            onFirstEnd: () => {
              if (steadyStart !== undefined) steadyEnd ??= sample();
            },
          }),
        ),
      );
      const [from, to] = await Promise.all([steadyStart, steadyEnd]);
      const steadyCpuMicrosPerChunk =
        from === undefined || to === undefined || hop.pids.length === 0 || to.chunks <= from.chunks
          ? null
          : ((to.cpu - from.cpu) * 1e6) / (to.chunks - from.chunks);
      const held = cpu.result;
      const delay = await hop.eventLoopDelayP99Ms();
      const { peak } = await backendStats();
      // Chunks the hop relayed: the role chunk, the content, finish, usage and [DONE] of each stream.
      const relayed = held.completed * (chunks + 4);
      runs.push({
        hop: hop.name,
        pacing,
        upstream: hop.upstream,
        streams,
        rampPerSecond,
        chunksPerStream: chunks,
        heldAtOnce: held.heldAtOnce,
        completed: held.completed,
        failed: held.failed,
        idleRssMb: idleRss === null ? null : idleRss / 2 ** 20,
        peakRssMb: hop.rssPid === undefined ? null : peakRssBytes / 2 ** 20,
        rssKbPerStream: idleRss === null ? null : (peakRssBytes - idleRss) / 1024 / held.heldAtOnce,
        cpuMicrosPerChunk: hop.pids.length === 0 ? null : (cpu.cpuSeconds * 1e6) / Math.max(1, relayed),
        steadyCpuMicrosPerChunk,
        firstTokenP50Ms: percentile(held.firstTokenMs, 0.5),
        firstTokenP99Ms: percentile(held.firstTokenMs, 0.99),
        probeFirstTokenP50Ms: probed.length === 0 ? null : percentile(probed, 0.5),
        probeFirstTokenP99Ms: probed.length === 0 ? null : percentile(probed, 0.99),
        eventLoopDelayP99Ms: delay === null ? null : Math.max(0, delay - EVENT_LOOP_RESOLUTION_MS),
        backendConnectionsPeak: peak,
        elapsedSeconds: held.elapsedMs / 1000,
      });
      await hop.stop();
    };

    const redis = await startRedisProcess();
    started.push(redis);
    // 1,000 generating streams: what a hop adds to the time to first token (probes against the backend direct) and per chunk.
    await measure(direct, small, '100–500 ms', 250);
    await measure(await proxyHop('http/1.1'), small, '100–500 ms', 250);
    await measure(await gatewayHop('embedded', 'http/1.1'), small, '100–500 ms', 250);
    // 2,000 generating streams over HTTP/2 to the backend: CPU per chunk at the same load, embedded and with Redis.
    await measure(await proxyHop('h2'), middle, '100–500 ms', 250);
    await measure(await gatewayHop('embedded', 'h2'), middle, '100–500 ms', 250);
    await measure(await gatewayHop('cluster', 'h2', redis), middle, '100–500 ms', 250);
    // 10,000 held streams (HTTP/2 to the backend: see the file descriptors above): memory, descriptors, connections.
    await measure(await proxyHop('h2'), big, '1–5 s', 500);
    await measure(await gatewayHop('embedded', 'h2'), big, '1–5 s', 500);
    await measure(await gatewayHop('cluster', 'h2', redis), big, '1–5 s', 500);
    // HTTP/1.1 as far as the descriptors go: one backend connection per stream.
    await measure(await gatewayHop('embedded', 'http/1.1'), options.quick ? 1_000 : 9_000, '1–5 s', 500);
    // 10,000 generating streams: ~33,000 chunks/s, past what this machine relays (the table shows where it stops).
    if (!options.quick) await measure(await gatewayHop('embedded', 'h2'), big, '100–500 ms', 500);

    options.log(`streams at scale: where ${small} open streams' memory goes (two heap snapshots of an embedded gateway)`);
    const snapshots = path.join(tlsDir, 'snapshots');
    const gateway = await startGatewayProcess({
      name: 'heap',
      upstreamBaseUrl: `${tlsOrigin}/v1`,
      logLevel: options.logLevel,
      env: h2Env,
      nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`],
    });
    started.push(gateway);
    const heapHop: Hop = {
      name: 'heap',
      upstream: 'h2',
      origin: gateway.origin,
      speaks: 'responses',
      pids: [gateway.pid],
      eventLoopDelayP99Ms: async () => null,
      stop: () => gateway.stop(),
    };
    const snapshot = async (): Promise<string> => {
      const before = readdirSync(snapshots, { withFileTypes: true }).length;
      process.kill(gateway.pid, 'SIGUSR2');
      // Written synchronously on the gateway's thread: done once the gateway answers again.
      while (readdirSync(snapshots).length === before) await sleep(50);
      await fetch(`${gateway.origin}/health`);
      return path.join(snapshots, readdirSync(snapshots).sort().at(-1)!);
    };
    const gauges = async () => {
      const text = await (await fetch(`${gateway.origin}/metrics`)).text();
      const read = (name: string) => Number(new RegExp(`^${name}\\s+([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
      return { rss: read('process_resident_memory_bytes'), heap: read('nodejs_heap_size_used_bytes'), external: read('nodejs_external_memory_bytes') };
    };
    await holdStreams(heapHop, { streams: 20, chunks: 16, rampPerSecond: 1_000, model: PACED_MODEL });
    await sleep(500);
    rmSync(snapshots, { recursive: true, force: true });
    mkdirSync(snapshots, { recursive: true });
    const idleFile = await snapshot();
    const idle = await gauges();
    let loaded: { file: string; rss: number; heap: number; external: number } | undefined;
    await holdStreams(heapHop, {
      streams: small,
      chunks: shapes['100–500 ms'].chunks,
      model: PACED_MODEL,
      rampPerSecond: 250,
      onAllOpen: async () => {
        const measured = await gauges();
        loaded = { ...measured, file: await snapshot() };
      },
    });
    await heapHop.stop();
    let memory: MemoryBreakdown | undefined;
    if (loaded !== undefined) {
      const difference = perStreamDifference(idleFile, loaded.file, small);
      memory = {
        streams: small,
        rssKb: (loaded.rss - idle.rss) / 1024 / small,
        heapUsedKb: (loaded.heap - idle.heap) / 1024 / small,
        externalKb: (loaded.external - idle.external) / 1024 / small,
        liveHeapKb: difference.total / 1024,
        kinds: difference.kinds,
      };
    }
    const fileDescriptorLimit = `${execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().replace('\n', ' soft / ')} hard`;
    return { fileDescriptorLimit, ...(memory === undefined ? {} : { memory }), runs };
  } finally {
    await Promise.allSettled(started.reverse().map((child) => child.stop()));
    rmSync(tlsDir, { recursive: true, force: true });
  }
}

interface HeldStreams {
  readonly completed: number;
  readonly failed: number;
  readonly heldAtOnce: number;
  readonly firstTokenMs: number[];
  readonly elapsedMs: number;
}

/**
 * Opens `streams` streams at `rampPerSecond` and reads each to its end. A stream counts as open from
 * its first byte to its last; completed when it answered 200 and ended with the protocol's last event.
 */
export async function holdStreams(
  hop: Hop,
  options: { streams: number; chunks: number; rampPerSecond: number; model: string; onAllOpen?: () => Promise<void>; onFirstEnd?: () => void },
): Promise<HeldStreams> {
  const request = streamRequest(hop, options.model, options.chunks);
  const pool = new Pool(hop.origin, { connections: options.streams, headersTimeout: 60_000, bodyTimeout: 60_000 });
  const firstTokenMs: number[] = [];
  let open = 0;
  let heldAtOnce = 0;
  let completed = 0;
  let failed = 0;
  let firstFailure: unknown;
  let whileOpen: Promise<void> | undefined;
  let anyEnded = false;
  const startedAt = performance.now();
  const one = async () => {
    const requestStartedAt = performance.now();
    let counted = false;
    try {
      const response = await pool.request({ path: request.path, method: 'POST', headers: HEADERS, body: request.body });
      open += 1;
      counted = true;
      heldAtOnce = Math.max(heldAtOnce, open);
      if (open === options.streams && options.onAllOpen !== undefined) whileOpen ??= options.onAllOpen();
      let seen = false;
      let ended = false;
      let tail = '';
      for await (const chunk of response.body) {
        // A short tail of the previous read: a marker split across two reads is still found.
        const text = tail + (chunk as Buffer).toString('latin1');
        if (!seen && text.includes(request.firstMarker)) {
          seen = true;
          firstTokenMs.push(performance.now() - requestStartedAt);
        }
        ended ||= text.includes(request.lastMarker);
        tail = text.slice(-32);
      }
      if (response.statusCode === 200 && seen && ended) completed += 1;
      else throw new Error(`HTTP ${response.statusCode}: ${tail}`);
    } catch (error) {
      firstFailure ??= error;
      failed += 1;
    } finally {
      if (counted) open -= 1;
      if (!anyEnded) {
        anyEnded = true;
        options.onFirstEnd?.();
      }
    }
  };
  const all: Promise<void>[] = [];
  const interval = 1000 / options.rampPerSecond;
  for (let index = 0; index < options.streams; index += 1) {
    all.push(one());
    // Paced by the clock, not by the timer's own drift: the ramp rate holds under load.
    const due = startedAt + (index + 1) * interval;
    const wait = due - performance.now();
    if (wait >= 1) await sleep(wait);
  }
  await Promise.all(all);
  await whileOpen;
  await pool.close();
  if (firstFailure !== undefined)
    process.stderr.write(`[bench] ${hop.name}: first failure: ${firstFailure instanceof Error ? firstFailure.message : JSON.stringify(firstFailure)}\n`);
  firstTokenMs.sort((a, b) => a - b);
  return { completed, failed, heldAtOnce, firstTokenMs, elapsedMs: performance.now() - startedAt };
}

function streamRequest(hop: Hop, model: string, chunks: number) {
  return hop.speaks === 'chat'
    ? {
        path: '/v1/chat/completions',
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello.' }], stream: true, max_tokens: chunks }),
        firstMarker: 't0 ',
        lastMarker: '[DONE]',
      }
    : {
        path: '/v1/responses',
        body: JSON.stringify({ model, input: 'Say hello.', stream: true, max_output_tokens: chunks }),
        firstMarker: 't0 ',
        lastMarker: 'event: response.completed',
      };
}

/** Time to first token of `count` streams sent one after another on one kept-alive connection, each read to its end. */
async function probeFirstToken(hop: Hop, count: number): Promise<number[]> {
  // The backend's unpaced model: 16 chunks at once, so a probe takes milliseconds, read to its end.
  const request = streamRequest(hop, FAST_MODEL, 16);
  const pool = new Pool(hop.origin, { connections: 1 });
  const times: number[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const startedAt = performance.now();
      const response = await pool.request({ path: request.path, method: 'POST', headers: HEADERS, body: request.body });
      let seen = false;
      for await (const chunk of response.body) {
        if (!seen && (chunk as Buffer).toString('latin1').includes(request.firstMarker)) {
          seen = true;
          times.push(performance.now() - startedAt);
        }
      }
    }
  } finally {
    await pool.close();
  }
  return times.sort((a, b) => a - b);
}
