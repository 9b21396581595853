/**
 * The benchmark's backend: a minimal OpenAI-compatible Chat Completions server with zero artificial
 * latency, cheap enough (pre-serialised answers) that the hop in front of it is what gets measured.
 * test/support/scripted-backend.ts speaks the same protocol with faults and scripts; this one only
 * answers fast. Run as its own process: `node scripts/node24.mjs test/bench/fast-backend.ts` prints `{"port":N}`.
 *
 * - `GET /v1/models`: two models.
 * - `POST /v1/chat/completions`, `stream: false`: one fixed `chat.completion`.
 * - `stream: true`: a role chunk, `max_tokens` content chunks (default 16; the text of chunk i is
 *   `t<i> `), a finish chunk, a usage chunk and `[DONE]`. Each chunk is its own write on its own
 *   event-loop turn, as a backend generating tokens sends them (a burst would reach the hop as one
 *   TCP read and hide the per-chunk cost). Model `bench-slow` waits `SLOW_CHUNK_MS` between chunks:
 *   it holds streams open for the concurrent-streams memory test. Model `bench-tools` answers every
 *   streamed request with one `exec_command` call (id, name, arguments in two chunks), numbered by the
 *   tool results the request already carries: the 20-turn tool loop of test/bench/tool-loop.ts.
 *   Model `bench-paced` paces like a generating model: the first content chunk at once (so time to
 *   first token is the hops' own), then one every 100–500 ms (uniform, per chunk): the streams-at-scale
 *   phase (test/bench/streams-at-scale.ts). Model `bench-held` likewise, a chunk every 1–5 s (a model
 *   that mostly waits: many streams held, few chunks a second).
 * - `GET /_stats`: connections open now and at most since `POST /_stats/reset` (HTTP/1.1 sockets and
 *   HTTP/2 sessions alike), streams served, paced content chunks written (a running total), the TLS port.
 * - With `BENCH_BACKEND_TLS_DIR` (a folder holding key.pem and cert.pem) it also listens with TLS,
 *   speaking HTTP/2 and HTTP/1.1 (ALPN), as a backend behind a CDN does.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type Http2ServerRequest, type Http2ServerResponse, createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

export const FAST_MODEL = 'bench-model';
export const SLOW_MODEL = 'bench-slow';
export const TOOLS_MODEL = 'bench-tools';
export const PACED_MODEL = 'bench-paced';
export const HELD_MODEL = 'bench-held';
const SLOW_CHUNK_MS = Number(process.env['SLOW_CHUNK_MS'] ?? 200);
const CREATED = 1_767_225_600;

const MODELS = JSON.stringify({
  object: 'list',
  data: [FAST_MODEL, SLOW_MODEL, TOOLS_MODEL, PACED_MODEL, HELD_MODEL].map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'bench' })),
});

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: CREATED,
  model: FAST_MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the benchmark backend.' }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});

function frame(delta: Record<string, unknown>, finishReason: string | null = null): string {
  const chunk = {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: FAST_MODEL,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

const ROLE_FRAME = frame({ role: 'assistant', content: '' });
const FINISH_FRAME = frame({}, 'stop');
const DONE_FRAME = 'data: [DONE]\n\n';
const contentFrames: string[] = [];
function contentFrame(index: number): string {
  // The first 5,000 are cached: streams are the same every time.
  return (contentFrames[index] ??= frame({ content: `t${index} ` }));
}
function usageFrame(completionTokens: number): string {
  const chunk = {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: CREATED,
    model: FAST_MODEL,
    choices: [],
    usage: { prompt_tokens: 12, completion_tokens: completionTokens, total_tokens: 12 + completionTokens },
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

async function readBody(req: IncomingMessage | Http2ServerRequest): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** An HTTP/1.1 or an HTTP/2 (compatibility API) response: the handlers use what both have. */
interface AnyResponse {
  writeHead(status: number, headers: Record<string, string>): { end(chunk: string): unknown };
  write(chunk: string): boolean;
  end(chunk: string): unknown;
}
const gone = (res: AnyResponse) => ('stream' in res ? (res as Http2ServerResponse).stream.destroyed : (res as ServerResponse).destroyed);

async function streamPaced(res: AnyResponse, chunks: number, pauseMs: readonly [number, number]): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(ROLE_FRAME);
  for (let index = 0; index < chunks; index += 1) {
    if (index > 0) await sleep(pauseMs[0] + Math.random() * (pauseMs[1] - pauseMs[0]));
    if (gone(res)) return;
    res.write(contentFrame(index));
    stats.chunks += 1;
  }
  res.write(FINISH_FRAME);
  res.write(usageFrame(chunks));
  res.end(DONE_FRAME);
}

async function stream(res: ServerResponse, chunks: number, slow: boolean): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const pause = () => (slow ? sleep(SLOW_CHUNK_MS) : nextTurn());
  res.write(ROLE_FRAME);
  for (let index = 0; index < chunks; index += 1) {
    await pause();
    if (res.destroyed) return;
    res.write(index < 5000 ? contentFrame(index) : frame({ content: `t${index} ` }));
  }
  await pause();
  res.write(FINISH_FRAME);
  res.write(usageFrame(chunks));
  res.end(DONE_FRAME);
}

/** One `exec_command` call, streamed as a backend generates it; `turn` numbers the call. */
async function streamToolCall(res: ServerResponse, turn: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const call = (fields: Record<string, unknown>) => frame({ tool_calls: [{ index: 0, ...fields }] });
  const chunks = [
    ROLE_FRAME,
    call({ id: `call_bench_${turn}`, type: 'function', function: { name: 'exec_command', arguments: '' } }),
    call({ function: { arguments: '{"cmd":"sed -n 1,80p ' } }),
    call({ function: { arguments: `src/module-${turn}.ts"}` } }),
    frame({}, 'tool_calls'),
  ];
  for (const chunk of chunks) {
    await nextTurn();
    if (res.destroyed) return;
    res.write(chunk);
  }
  res.write(usageFrame(24));
  res.end(DONE_FRAME);
}

const stats = { open: 0, peak: 0, streams: 0, chunks: 0, tlsPort: null as number | null };
function countConnection(socket: { once(event: 'close', listener: () => void): unknown }): void {
  stats.open += 1;
  stats.peak = Math.max(stats.peak, stats.open);
  socket.once('close', () => {
    stats.open -= 1;
  });
}

async function handle(req: IncomingMessage | Http2ServerRequest, res: AnyResponse): Promise<void> {
  if (req.url === '/_stats') {
    if (req.method === 'POST') Object.assign(stats, { peak: stats.open, streams: 0 });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  if (req.method === 'GET' && req.url === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(MODELS);
    return;
  }
  if (req.method === 'POST' && req.url === '/v1/chat/completions') {
    const body = JSON.parse(await readBody(req)) as {
      stream?: boolean;
      model?: string;
      max_tokens?: number;
      max_completion_tokens?: number;
      messages?: { role?: string }[];
    };
    stats.streams += body.stream === true ? 1 : 0;
    if (body.stream === true && (body.model === PACED_MODEL || body.model === HELD_MODEL)) {
      await streamPaced(res, body.max_tokens ?? body.max_completion_tokens ?? 16, body.model === PACED_MODEL ? [100, 500] : [1_000, 5_000]);
      return;
    }
    if (body.stream === true && body.model === FAST_MODEL && 'stream' in res) {
      // The streams-at-scale probes: unpaced, over HTTP/2 as over HTTP/1.1.
      await streamPaced(res, body.max_tokens ?? body.max_completion_tokens ?? 16, [0, 0]);
      return;
    }
    if (body.stream === true && 'stream' in res) throw new Error('over HTTP/2 only bench-paced and bench-model streams');
    if (body.stream === true && body.model === TOOLS_MODEL) {
      await streamToolCall(res as ServerResponse, (body.messages ?? []).filter((message) => message.role === 'tool').length + 1);
      return;
    }
    if (body.stream === true) {
      await stream(res as ServerResponse, body.max_tokens ?? body.max_completion_tokens ?? 16, body.model === SLOW_MODEL);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(COMPLETION);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
}

if (import.meta.main) {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on('connection', countConnection);
  const tlsDir = process.env['BENCH_BACKEND_TLS_DIR'];
  const secure =
    tlsDir === undefined
      ? undefined
      : createSecureServer(
          {
            key: readFileSync(path.join(tlsDir, 'key.pem')),
            cert: readFileSync(path.join(tlsDir, 'cert.pem')),
            allowHTTP1: true,
            // As h2 servers in front of model backends allow (nginx 128, Cloudflare 256 and more): the client decides.
            settings: { maxConcurrentStreams: 10_000 },
          },
          (req, res) => {
            // allowHTTP1: a request that fell back to HTTP/1.1 has node:http's objects, without `stream`.
            handle(req, res).catch(() => {
              const either = res as unknown as { stream?: { destroy(): void }; destroy(): void };
              if (either.stream === undefined) either.destroy();
              else either.stream.destroy();
            });
          },
        );
  // Sessions (h2) and sockets that fell back to HTTP/1.1 are both one connection.
  secure?.on('secureConnection', countConnection);
  const listening = (target: { listen(port: number, host: string, done: () => void): unknown }) =>
    new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  void Promise.all([listening(server), ...(secure === undefined ? [] : [listening(secure)])]).then(() => {
    if (secure !== undefined) stats.tlsPort = (secure.address() as AddressInfo).port;
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}
