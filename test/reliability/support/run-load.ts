/**
 * A closed-loop load generator: `concurrency` clients each send Responses requests back to back
 * (streaming and not, alternating) until stopped, and record how each one ended. A stream counts
 * as complete only when its last event is `response.completed`; anything else is truncated.
 */
import { parseSseData } from '../../support/read-sse-events.ts';

export interface LoadResult {
  readonly stream: boolean;
  /** performance.now() at send and at the end of the body. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** 0 when the connection failed before a status arrived. */
  readonly status: number;
  readonly completed: boolean;
  readonly error?: string;
}

export interface RunningLoad {
  readonly results: LoadResult[];
  stop(): Promise<LoadResult[]>;
}

export interface LoadOptions {
  /** `http://host:port/v1`. */
  readonly baseURL: string;
  readonly model: string;
  readonly concurrency: number;
  readonly apiKey?: string;
  /** Per-request body overrides (e.g. `{ input: … }`). */
  readonly body?: Readonly<Record<string, unknown>>;
}

export function startLoad(options: LoadOptions): RunningLoad {
  const results: LoadResult[] = [];
  let running = true;
  const clients = Array.from({ length: options.concurrency }, async (_, client) => {
    for (let round = 0; running; round += 1) results.push(await sendOne(options, (client + round) % 2 === 0));
  });
  return {
    results,
    async stop() {
      running = false;
      await Promise.all(clients);
      return results;
    },
  };
}

async function sendOne(options: LoadOptions, stream: boolean): Promise<LoadResult> {
  const startedAt = performance.now();
  try {
    const response = await fetch(`${options.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.apiKey ?? 'sk-load-test'}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: options.model, input: 'load', ...options.body, stream }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let completed = false;
    if (response.status === 200) {
      if (stream) {
        completed = parseSseData(text).at(-1)?.type === 'response.completed';
      } else {
        completed = (JSON.parse(text) as { status?: string }).status === 'completed';
      }
    }
    return { stream, startedAt, endedAt: performance.now(), status: response.status, completed };
  } catch (error) {
    return { stream, startedAt, endedAt: performance.now(), status: 0, completed: false, error: (error as Error).message };
  }
}

/** Latency percentile (0-100) in ms over `results`. */
export function percentile(results: readonly LoadResult[], p: number): number {
  const sorted = results.map((result) => result.endedAt - result.startedAt).sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
