/**
 * Load generation: autocannon for throughput (closed loop, fixed connections), and small undici
 * clients where autocannon cannot measure: sub-millisecond latency at a fixed rate, time to first
 * token, and many long-lived streams.
 */
import { createRequire } from 'node:module';
import { Pool } from 'undici';

export interface BenchRequest {
  readonly path: string;
  readonly body: string;
}

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench-key' };

interface AutocannonResult {
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly latency: { readonly p50: number; readonly p99: number };
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
// autocannon is CommonJS without bundled types.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface ThroughputResult {
  readonly requestsPerSecond: number;
  readonly completed: number;
  readonly failed: number;
  /** autocannon's latency histogram has whole-millisecond resolution. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Closed loop: `connections` keep-alive connections, each sending its next request when the last answer ends. */
export async function runThroughput(
  origin: string,
  requests: readonly BenchRequest[],
  options: { connections: number; durationSeconds?: number; amount?: number },
): Promise<ThroughputResult> {
  const result = await autocannon({
    url: origin,
    connections: options.connections,
    ...(options.amount === undefined ? { duration: options.durationSeconds ?? 5 } : { amount: options.amount }),
    requests: requests.map((request) => ({ method: 'POST', path: request.path, body: request.body, headers: HEADERS })),
    timeout: 30,
  });
  const completed = result['2xx'];
  return {
    requestsPerSecond: completed / result.duration,
    completed,
    failed: result.errors + result.timeouts + result.non2xx,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

export interface LatencyResult {
  readonly sent: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

/** A phase that fails says why once on stderr, so a broken hop is not just a count of failures. */
export function reportFirstFailure(origin: string, error: unknown): void {
  process.stderr.write(`[bench] first failure against ${origin}: ${error instanceof Error ? error.message : String(error)}\n`);
}

/** Full-response latency of one request, ms. */
async function timeOneRequest(pool: Pool, request: BenchRequest): Promise<number> {
  const startedAt = performance.now();
  const response = await pool.request({ path: request.path, method: 'POST', headers: HEADERS, body: request.body });
  await response.body.dump({ limit: Number.POSITIVE_INFINITY });
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
  return performance.now() - startedAt;
}

/**
 * Open loop at a fixed rate over `connections` keep-alive connections, well below saturation, so the
 * latency is the hop's service time and not queueing. Microsecond resolution.
 */
export async function runFixedRateLatency(
  origin: string,
  request: BenchRequest,
  options: { connections: number; rate: number; durationSeconds: number },
): Promise<LatencyResult> {
  const pool = new Pool(origin, { connections: options.connections });
  const latencies: number[] = [];
  let failed = 0;
  let sent = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  // Warm every connection first: connection setup is not what this measures.
  await Promise.all(Array.from({ length: options.connections }, () => timeOneRequest(pool, request).catch(() => 0)));
  const startedAt = performance.now();
  const endAt = startedAt + options.durationSeconds * 1000;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= endAt) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor(((now - startedAt) / 1000) * options.rate);
      while (sent < due && inFlight < options.connections) {
        sent += 1;
        inFlight += 1;
        const done = timeOneRequest(pool, request)
          .then(
            (ms) => void latencies.push(ms),
            (error: unknown) => {
              if (failed === 0) reportFirstFailure(origin, error);
              failed += 1;
            },
          )
          .finally(() => {
            inFlight -= 1;
            pending.delete(done);
          });
        pending.add(done);
      }
    }, 1);
  });
  await Promise.all(pending);
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { sent, failed, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

/** Runs `count` tasks with at most `concurrency` at once. */
async function runPool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        await task(index);
      }
    }),
  );
}

export interface StreamsResult {
  readonly completed: number;
  readonly failed: number;
  readonly bytes: number;
  /** Time to the first byte containing `marker`, ms, per stream (sorted). */
  readonly firstTokenMs: readonly number[];
  readonly elapsedMs: number;
}

/**
 * `count` streaming requests, `concurrency` at a time, each read to the end. Time to first token is
 * when the received text first contains `marker` (the first content token's text, which appears in
 * the backend's chunk and in the gateway's `response.output_text.delta` alike).
 */
export async function runStreams(
  origin: string,
  request: BenchRequest,
  options: { count: number; concurrency: number; marker: string },
): Promise<StreamsResult> {
  const pool = new Pool(origin, { connections: options.concurrency });
  const firstTokenMs: number[] = [];
  let completed = 0;
  let failed = 0;
  let bytes = 0;
  const startedAt = performance.now();
  await runPool(options.count, options.concurrency, async () => {
    const requestStartedAt = performance.now();
    try {
      const response = await pool.request({ path: request.path, method: 'POST', headers: HEADERS, body: request.body });
      let seen = false;
      let tail = '';
      for await (const chunk of response.body) {
        const buffer = chunk as Buffer;
        bytes += buffer.length;
        if (!seen) {
          // Keep a short tail so a marker split across two reads is still found.
          const text = tail + buffer.toString('utf8');
          if (text.includes(options.marker)) {
            seen = true;
            firstTokenMs.push(performance.now() - requestStartedAt);
          }
          tail = text.slice(-options.marker.length);
        }
      }
      if (response.statusCode === 200 && seen) completed += 1;
      else {
        if (failed === 0) reportFirstFailure(origin, new Error(`HTTP ${response.statusCode}${seen ? '' : ', no first token'}`));
        failed += 1;
      }
    } catch (error) {
      if (failed === 0) reportFirstFailure(origin, error);
      failed += 1;
    }
  });
  const elapsedMs = performance.now() - startedAt;
  await pool.close();
  firstTokenMs.sort((a, b) => a - b);
  return { completed, failed, bytes, firstTokenMs, elapsedMs };
}
