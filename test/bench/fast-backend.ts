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
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

export const FAST_MODEL = 'bench-model';
export const SLOW_MODEL = 'bench-slow';
export const TOOLS_MODEL = 'bench-tools';
const SLOW_CHUNK_MS = Number(process.env['SLOW_CHUNK_MS'] ?? 200);
const CREATED = 1_767_225_600;

const MODELS = JSON.stringify({
  object: 'list',
  data: [FAST_MODEL, SLOW_MODEL, TOOLS_MODEL].map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'bench' })),
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    if (body.stream === true && body.model === TOOLS_MODEL) {
      await streamToolCall(res, (body.messages ?? []).filter((message) => message.role === 'tool').length + 1);
      return;
    }
    if (body.stream === true) {
      await stream(res, body.max_tokens ?? body.max_completion_tokens ?? 16, body.model === SLOW_MODEL);
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
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}
