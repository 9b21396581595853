/**
 * The bench's tool-loop phase: a 20-turn Codex-like agent loop (one `exec_command` call per turn, its
 * output sent back) run three ways against the same backend, interleaved:
 *
 * - **direct**: the Chat Completions requests the gateway sends, straight to the backend (the floor);
 * - **HTTP**: `POST /v1/responses` with `stream: true`, the whole conversation every turn (Codex with
 *   `store: false` over HTTP);
 * - **WebSocket**: one socket, `response.create` frames; turn 1 carries the conversation, later turns
 *   `previous_response_id` and only the new tool output (Codex with `supports_websockets = true`,
 *   permessage-deflate offered as Codex offers it; tools and other fields sent every turn, as Codex does).
 *
 * It runs on a freshly started embedded gateway of its own. Per turn: latency (request written → terminal event; for the socket, from when the compressed frame
 * was written), bytes the client wrote on its TCP socket (headers, framing and compression included),
 * and the gateway's CPU over each loop.
 */
import { request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { createParser } from 'eventsource-parser';
import WebSocket from 'ws';
import { readCpuSeconds } from './bench-processes.ts';
import { TOOLS_MODEL } from './fast-backend.ts';

export interface ToolLoopOptions {
  readonly gatewayOrigin: string;
  readonly backendOrigin: string;
  readonly gatewayPid: number;
  readonly turns: number;
  readonly repetitions: number;
}

export interface ToolLoopTurn {
  readonly turn: number;
  readonly directMs: number;
  readonly httpMs: number;
  readonly websocketMs: number;
  readonly httpClientBytes: number;
  readonly websocketClientBytes: number;
  /** The WebSocket frame's JSON before compression, for comparison. */
  readonly websocketFrameBytes: number;
}

export interface ToolLoopResult {
  readonly turns: number;
  readonly repetitions: number;
  /** Median across repetitions, per turn. */
  readonly perTurn: readonly ToolLoopTurn[];
  /** Median over turns of (transport latency − direct latency), ms. */
  readonly httpAddedMsPerTurn: number;
  readonly websocketAddedMsPerTurn: number;
  /** Mean client bytes per turn from turn 5 on. */
  readonly httpClientBytesFrom5: number;
  readonly websocketClientBytesFrom5: number;
  /** The largest WebSocket ÷ HTTP client-bytes ratio of any turn from 5 on. */
  readonly worstBytesRatioFrom5: number;
  /** Gateway CPU per turn over all repetitions' loops, µs. */
  readonly httpGatewayCpuMicrosPerTurn: number;
  readonly websocketGatewayCpuMicrosPerTurn: number;
}

const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer bench-key' };

/** Deterministic text that reads like source code (compresses like it, not like random bytes). */
function sourceText(seed: number, bytes: number): string {
  const words = ['const', 'export', 'function', 'return', 'await', 'import', 'from', 'interface', 'readonly', 'string', 'number', 'if', 'else'];
  let state = seed * 2_654_435_761;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    return state;
  };
  let text = '';
  while (text.length < bytes) {
    const name = `${words[next() % words.length]}_${(next() % 997).toString(36)}`;
    text += `${words[next() % words.length]} ${name} = ${words[next() % words.length]}(${next() % 10_000}, '${name}');\n`;
  }
  return text.slice(0, bytes);
}

/** Codex's prompt is about 11 KB of developer text; its tools about 4 KB of JSON schemas. */
const DEVELOPER_TEXT = sourceText(1, 11_000);
const USER_TEXT = `<environment_context>\n  <cwd>/work/project</cwd>\n  <shell>bash</shell>\n</environment_context>\n\nFind where the retry limit is set and raise it to 5.`;
const TOOLS = Array.from({ length: 8 }, (_, index) => ({
  type: 'function',
  name: index === 0 ? 'exec_command' : `tool_${index}`,
  description: sourceText(100 + index, 240),
  strict: false,
  parameters: {
    type: 'object',
    properties: Object.fromEntries(
      Array.from({ length: 4 }, (__, field) => [`field_${field}`, { type: 'string', description: sourceText(200 + index * 10 + field, 60) }]),
    ),
    required: ['field_0'],
    additionalProperties: false,
  },
}));
/** A tool's answer: 2 KB of file content. */
const toolOutput = (turn: number) => `Chunk ID: ${turn}\nProcess exited with code 0\nOutput:\n${sourceText(1_000 + turn, 2_048)}`;

function createBody(input: readonly unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: TOOLS_MODEL,
    input,
    tools: TOOLS,
    tool_choice: 'auto',
    parallel_tool_calls: false,
    store: false,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: 'bench-tool-loop',
    ...extra,
  };
}

const OPENING = [
  { type: 'message', role: 'developer', content: [{ type: 'input_text', text: DEVELOPER_TEXT }] },
  { type: 'message', role: 'user', content: [{ type: 'input_text', text: USER_TEXT }] },
];

/** A keep-alive HTTP/1.1 client on one socket whose written bytes can be read. */
function createCountingAgent(): { agent: Agent; written: () => number } {
  let socket: Socket | undefined;
  let closedBytes = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const create = agent.createConnection.bind(agent);
  agent.createConnection = ((options: object, callback: never) => {
    const created = create(options, callback) as Socket;
    const previous = socket;
    if (previous) closedBytes += previous.bytesWritten;
    socket = created;
    return created;
  }) as typeof agent.createConnection;
  return { agent, written: () => closedBytes + (socket?.bytesWritten ?? 0) };
}

/** POSTs `body` and reads the SSE answer; resolves with the text of every `data:` once the body ended. */
function postStream(agent: Agent, origin: string, path: string, body: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, origin);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      agent,
      headers: { ...HEADERS, 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) reject(new Error(`${path}: HTTP ${res.statusCode}`));
      const data: string[] = [];
      const parser = createParser({ onEvent: (event) => data.push(event.data) });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.on('end', () => resolve(data));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface LoopMeasure {
  readonly ms: number[];
  readonly clientBytes: number[];
  readonly frameBytes: number[];
  readonly gatewayCpuSeconds: number;
}

/** The function_call item of a turn's answer (from `response.output_item.done`), and the response id. */
function readTurn(events: readonly { type: string; item?: Record<string, unknown>; response?: { id: string; status: string } }[]): {
  call: Record<string, unknown>;
  responseId: string;
} {
  const call = events.find((event) => event.type === 'response.output_item.done' && event.item?.['type'] === 'function_call')?.item;
  const completed = events.find((event) => event.type === 'response.completed')?.response;
  if (call === undefined || completed === undefined)
    throw new Error(`tool loop turn did not complete with a call: ${events.map((event) => event.type).join(', ')}`);
  return { call, responseId: completed.id };
}

async function runDirectLoop(options: ToolLoopOptions): Promise<LoopMeasure> {
  const { agent, written } = createCountingAgent();
  const messages: unknown[] = [
    { role: 'system', content: DEVELOPER_TEXT },
    { role: 'user', content: USER_TEXT },
  ];
  const tools = TOOLS.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters, strict: false },
  }));
  const ms: number[] = [];
  const clientBytes: number[] = [];
  try {
    for (let turn = 1; turn <= options.turns; turn += 1) {
      const before = written();
      const startedAt = performance.now();
      const data = await postStream(
        agent,
        options.backendOrigin,
        '/v1/chat/completions',
        JSON.stringify({ model: TOOLS_MODEL, messages, tools, stream: true, stream_options: { include_usage: true } }),
      );
      ms.push(performance.now() - startedAt);
      clientBytes.push(written() - before);
      if (data.at(-1) !== '[DONE]') throw new Error('direct turn did not end with [DONE]');
      const callId = `call_bench_${turn}`;
      messages.push(
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: callId, type: 'function', function: { name: 'exec_command', arguments: `{"cmd":"sed -n 1,80p src/module-${turn}.ts"}` } }],
        },
        { role: 'tool', tool_call_id: callId, content: toolOutput(turn) },
      );
    }
  } finally {
    agent.destroy();
  }
  return { ms, clientBytes, frameBytes: [], gatewayCpuSeconds: 0 };
}

async function runHttpLoop(options: ToolLoopOptions): Promise<LoopMeasure> {
  const { agent, written } = createCountingAgent();
  const input: unknown[] = [...OPENING];
  const ms: number[] = [];
  const clientBytes: number[] = [];
  const cpuBefore = readCpuSeconds(options.gatewayPid);
  try {
    for (let turn = 1; turn <= options.turns; turn += 1) {
      const before = written();
      const startedAt = performance.now();
      const data = await postStream(agent, options.gatewayOrigin, '/v1/responses', JSON.stringify(createBody(input, { stream: true })));
      ms.push(performance.now() - startedAt);
      clientBytes.push(written() - before);
      const { call } = readTurn(data.map((text) => JSON.parse(text) as never));
      input.push(call, { type: 'function_call_output', call_id: call['call_id'], output: toolOutput(turn) });
    }
  } finally {
    agent.destroy();
  }
  return { ms, clientBytes, frameBytes: [], gatewayCpuSeconds: readCpuSeconds(options.gatewayPid) - cpuBefore };
}

async function runWebSocketLoop(options: ToolLoopOptions): Promise<LoopMeasure> {
  let socket: Socket | undefined;
  const url = new URL('/v1/responses', options.gatewayOrigin);
  url.protocol = 'ws:';
  const ws = new WebSocket(url, {
    headers: HEADERS,
    perMessageDeflate: true,
    createConnection: (connectOptions: object) => {
      socket = netConnect(connectOptions as never);
      return socket;
    },
  });
  const queue: { type: string; item?: Record<string, unknown>; response?: { id: string; status: string } }[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    queue.push(JSON.parse(data.toString('utf8')) as never);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const nextTurn = async () => {
    for (;;) {
      const end = queue.findIndex((event) => event.type === 'response.completed' || event.type === 'response.failed' || event.type === 'error');
      if (end !== -1) return queue.splice(0, end + 1);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const ms: number[] = [];
  const clientBytes: number[] = [];
  const frameBytes: number[] = [];
  const cpuBefore = readCpuSeconds(options.gatewayPid);
  try {
    let previous: string | null = null;
    let pending: unknown[] = [...OPENING];
    for (let turn = 1; turn <= options.turns; turn += 1) {
      const frame = JSON.stringify({ type: 'response.create', ...createBody(pending, previous === null ? {} : { previous_response_id: previous }) });
      const before = socket?.bytesWritten ?? 0;
      // From the moment the frame is on the wire: the client's own compression is its cost, not the gateway's.
      let startedAt = performance.now();
      ws.send(frame, () => {
        startedAt = performance.now();
      });
      const events = await nextTurn();
      ms.push(performance.now() - startedAt);
      clientBytes.push((socket?.bytesWritten ?? 0) - before);
      frameBytes.push(Buffer.byteLength(frame));
      const { call, responseId } = readTurn(events);
      previous = responseId;
      pending = [{ type: 'function_call_output', call_id: call['call_id'], output: toolOutput(turn) }];
    }
  } finally {
    ws.close();
  }
  return { ms, clientBytes, frameBytes, gatewayCpuSeconds: readCpuSeconds(options.gatewayPid) - cpuBefore };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

const mean = (values: readonly number[]) => values.reduce((total, value) => total + value, 0) / Math.max(1, values.length);

export async function runToolLoopComparison(options: ToolLoopOptions): Promise<ToolLoopResult> {
  const loops = { direct: runDirectLoop, http: runHttpLoop, websocket: runWebSocketLoop } as const;
  const order = ['direct', 'http', 'websocket'] as const;
  const measured: Record<(typeof order)[number], LoopMeasure[]> = { direct: [], http: [], websocket: [] };
  // Three loops of each to warm up, not counted: the socket path must be as warm (JIT, pools) as the
  // HTTP path, which earlier bench phases have already run a hundred thousand times.
  for (let warmUp = 0; warmUp < 3; warmUp += 1) for (const name of order) await loops[name](options);
  for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
    // Rotated each repetition, so no transport always runs right after another.
    for (let step = 0; step < order.length; step += 1) {
      const name = order[(repetition + step) % order.length] as (typeof order)[number];
      measured[name].push(await loops[name](options));
    }
  }
  const at = (name: (typeof order)[number], key: 'ms' | 'clientBytes' | 'frameBytes', index: number) =>
    median(measured[name].map((loop) => loop[key][index] ?? Number.NaN));
  const perTurn: ToolLoopTurn[] = Array.from({ length: options.turns }, (_, index) => ({
    turn: index + 1,
    directMs: at('direct', 'ms', index),
    httpMs: at('http', 'ms', index),
    websocketMs: at('websocket', 'ms', index),
    httpClientBytes: at('http', 'clientBytes', index),
    websocketClientBytes: at('websocket', 'clientBytes', index),
    websocketFrameBytes: at('websocket', 'frameBytes', index),
  }));
  const from5 = perTurn.filter((turn) => turn.turn >= 5);
  // Summed over every repetition: /proc counts CPU in 10 ms ticks, too coarse for one loop of 20 turns.
  const cpuPerTurn = (name: 'http' | 'websocket') =>
    (measured[name].reduce((total, loop) => total + loop.gatewayCpuSeconds, 0) * 1e6) / (options.turns * measured[name].length);
  return {
    turns: options.turns,
    repetitions: options.repetitions,
    perTurn,
    httpAddedMsPerTurn: median(perTurn.map((turn) => turn.httpMs - turn.directMs)),
    websocketAddedMsPerTurn: median(perTurn.map((turn) => turn.websocketMs - turn.directMs)),
    httpClientBytesFrom5: mean(from5.map((turn) => turn.httpClientBytes)),
    websocketClientBytesFrom5: mean(from5.map((turn) => turn.websocketClientBytes)),
    worstBytesRatioFrom5: Math.max(...from5.map((turn) => turn.websocketClientBytes / turn.httpClientBytes)),
    httpGatewayCpuMicrosPerTurn: cpuPerTurn('http'),
    websocketGatewayCpuMicrosPerTurn: cpuPerTurn('websocket'),
  };
}
