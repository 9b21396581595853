/**
 * Soak test (not part of CI): the real gateway process under mixed traffic with injected faults for
 * a configurable time, sampling its errors, memory and open handles over time.
 *
 *   node test/soak/run-soak.ts                    # 60 s
 *   SOAK_SECONDS=1800 SOAK_CONCURRENCY=16 node test/soak/run-soak.ts
 *
 * Env: SOAK_SECONDS (60), SOAK_CONCURRENCY (8 closed-loop clients), SOAK_SAMPLE_SECONDS (5),
 * SOAK_FAULT_PERCENT (25: share of backend answers that are faults).
 * Traffic: streamed and non-streamed requests; backend answers are normal, slow, tool calls, or
 * faults (500, 503 then retried, 429, cut mid-stream, malformed chunk, slow headers past the
 * timeout); one client in eight disconnects mid-stream, and one slowloris connection is opened per
 * sample. Exits 1 when an unexpected outcome occurred (a 500, a transport error we did not cause, a
 * stream without a terminal event) or when the gateway died.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_MODEL_ID,
  type BackendScript,
  errorChunk,
  httpError,
  roleChunk,
  startScriptedBackend,
  textAnswer,
  textChunks,
  toolCallAnswer,
} from '../support/scripted-backend.ts';
import { startGateway } from '../support/start-gateway.ts';
import { parseSseData } from '../support/read-sse-events.ts';

const seconds = Number(process.env['SOAK_SECONDS'] ?? 60);
const concurrency = Number(process.env['SOAK_CONCURRENCY'] ?? 8);
const sampleSeconds = Number(process.env['SOAK_SAMPLE_SECONDS'] ?? 5);
const faultPercent = Number(process.env['SOAK_FAULT_PERCENT'] ?? 25);

type Outcome = 'completed' | 'failed_in_band' | 'http_4xx' | 'http_502' | 'http_503' | 'http_504' | 'client_abort' | 'unexpected';

const faults: (() => BackendScript)[] = [
  () => httpError(500, { message: 'boom', type: 'InternalServerError' }),
  () => httpError(503, { message: 'overloaded' }),
  () => httpError(429, { message: 'slow down', type: 'RateLimitError' }, { headers: { 'retry-after': '1' } }),
  () => ({ ...textAnswer('this stream is cut half way through'), cutAfterSteps: 4 }),
  () => ({ steps: [roleChunk(), ...textChunks('then garbage'), { kind: 'raw', text: 'data: {broken\n\n' }] }),
  () => ({ steps: [roleChunk(), ...textChunks('then an error'), errorChunk({ message: 'engine died' })] }),
  () => ({ ...textAnswer('too late'), headersDelayMs: 3_000 }),
];
const normal: (() => BackendScript)[] = [
  () => textAnswer('A short answer. '.repeat(5)),
  () => ({ ...textAnswer('A slower answer with more chunks. '.repeat(4), { reasoning: 'thinking it over' }), stepDelayMs: 15 }),
  () => toolCallAnswer([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }], { fragment: 4 }),
];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}

async function main(): Promise<void> {
  const backend = await startScriptedBackend();
  backend.setHandler(() => (Math.random() * 100 < faultPercent ? pick(faults)() : pick(normal)()));
  const gateway = await startGateway({
    env: {
      UPSTREAM_BASE_URL: backend.url,
      LOG_LEVEL: 'info',
      UPSTREAM_HEADERS_TIMEOUT_MS: '2000',
      UPSTREAM_IDLE_TIMEOUT_MS: '2000',
      SERVER_HEADERS_TIMEOUT_MS: '2000',
      SERVER_REQUEST_TIMEOUT_MS: '4000',
      // The breaker would turn the injected 500s into 503s; keep it from dominating the mix.
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '50',
      CIRCUIT_BREAKER_OPEN_SECONDS: '2',
    },
  });
  const counts = new Map<Outcome, number>();
  const unexpected: string[] = [];
  const count = (outcome: Outcome, detail?: string) => {
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    if (outcome === 'unexpected' && unexpected.length < 20) unexpected.push(detail ?? '');
  };

  let running = true;
  const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
  async function client(index: number): Promise<void> {
    for (let round = 0; running; round += 1) {
      const stream = round % 2 === 0;
      const abandon = stream && index === 0 && round % 4 === 0;
      const controller = new AbortController();
      try {
        const response = await fetch(`${gateway.baseURL}/responses`, {
          method: 'POST',
          headers: { authorization: `Bearer sk-soak-${index}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: DEFAULT_MODEL_ID, input: 'soak', stream, tools }),
          signal: controller.signal,
        });
        if (abandon && response.status === 200) {
          await response.body?.getReader().read();
          controller.abort();
          count('client_abort');
          continue;
        }
        const text = await response.text();
        if (response.status === 200) {
          const type = stream ? parseSseData(text).at(-1)?.type : `response.${(JSON.parse(text) as { status: string }).status}`;
          if (type === 'response.completed') count('completed');
          else if (type === 'response.failed' || type === 'response.incomplete') count('failed_in_band');
          else count('unexpected', `stream ended with ${type}`);
        } else if (response.status >= 400 && response.status < 500) count('http_4xx');
        else if (response.status === 502) count('http_502');
        else if (response.status === 503) count('http_503');
        else if (response.status === 504) count('http_504');
        else count('unexpected', `HTTP ${response.status}: ${text.slice(0, 200)}`);
      } catch (error) {
        if (controller.signal.aborted) count('client_abort');
        else count('unexpected', `transport: ${(error as Error).message}`);
      }
    }
  }

  function slowloris(): void {
    const socket = connect({ host: '127.0.0.1', port: gateway.port });
    socket.on('error', () => undefined);
    socket.write('POST /v1/responses HTTP/1.1\r\nhost: x\r\n');
    const drip = setInterval(() => socket.write('x'), 200);
    socket.on('close', () => clearInterval(drip));
  }

  async function sample(): Promise<Record<string, number>> {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
    return {
      rss_mb: Math.round(read('process_resident_memory_bytes') / 1e5) / 10,
      heap_mb: Math.round(read('nodejs_heap_size_used_bytes') / 1e5) / 10,
      // What V8 holds (used or not) and memory outside the heap (Buffers): RSS growth shows in one of them.
      heap_total_mb: Math.round(read('nodejs_heap_size_total_bytes') / 1e5) / 10,
      external_mb: Math.round(read('nodejs_external_memory_bytes') / 1e5) / 10,
      handles: read('nodejs_active_handles_total'),
      open_fds: read('process_open_fds'),
    };
  }

  const startedAt = Date.now();
  const clients = Array.from({ length: concurrency }, (_, index) => client(index));
  const rows: string[] = [];
  const header = 't_s   requests  completed  in_band_fail  4xx  502  503  504  aborts  unexpected  rss_mb  heap_mb  heap_total  external  handles  fds';
  console.log(header);
  while (Date.now() - startedAt < seconds * 1000) {
    await sleep(sampleSeconds * 1000);
    slowloris();
    if (gateway.process.exitCode !== null) {
      console.error('the gateway exited during the soak');
      break;
    }
    const metrics = await sample();
    const total = [...counts.values()].reduce((sum, value) => sum + value, 0);
    const row = [
      String(Math.round((Date.now() - startedAt) / 1000)).padEnd(5),
      String(total).padStart(8),
      String(counts.get('completed') ?? 0).padStart(10),
      String(counts.get('failed_in_band') ?? 0).padStart(13),
      String(counts.get('http_4xx') ?? 0).padStart(4),
      String(counts.get('http_502') ?? 0).padStart(4),
      String(counts.get('http_503') ?? 0).padStart(4),
      String(counts.get('http_504') ?? 0).padStart(4),
      String(counts.get('client_abort') ?? 0).padStart(7),
      String(counts.get('unexpected') ?? 0).padStart(11),
      String(metrics['rss_mb']).padStart(7),
      String(metrics['heap_mb']).padStart(8),
      String(metrics['heap_total_mb']).padStart(11),
      String(metrics['external_mb']).padStart(9),
      String(metrics['handles']).padStart(8),
      String(metrics['open_fds']).padStart(4),
    ].join(' ');
    rows.push(row);
    console.log(row);
  }
  running = false;
  await Promise.all(clients);
  const crashed = gateway.process.exitCode !== null;
  await gateway.stop();
  await backend.close();
  if (unexpected.length > 0) console.log(`unexpected outcomes (first ${unexpected.length}):\n  ${unexpected.join('\n  ')}`);
  const bad = crashed || (counts.get('unexpected') ?? 0) > 0;
  console.log(bad ? 'SOAK FAILED' : 'soak passed: no unexpected outcome');
  process.exit(bad ? 1 : 0);
}

await main();
