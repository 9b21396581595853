/**
 * A scripted OpenAI-compatible Chat Completions server for tests (node:http, loopback only).
 *
 * It speaks the wire protocol of the backends the gateway fronts (Chutes' vLLM/SGLang deployments,
 * DeepSeek, OpenAI): `POST /v1/chat/completions` streamed as `data: <chunk>\n\n` SSE frames ending in
 * `data: [DONE]`, or one `chat.completion` JSON for `stream: false`, and `GET /v1/models` in Chutes'
 * shape. What the "model" says is a script: a list of steps built with the helpers below, queued
 * with `enqueue()` or produced per request by `setHandler()`. Scripts also inject the faults the
 * gateway must survive: HTTP errors, slow headers, slow chunks, cut connections, in-band error
 * payloads, a missing `[DONE]`, hangs and events split across TCP writes.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';

// ---------------------------------------------------------------------------------------------
// Wire types (what real backends send; reasoning fields are non-standard and backend-specific)
// ---------------------------------------------------------------------------------------------

/** One tool-call fragment inside `delta.tool_calls[]`; only the first fragment of a call has `id`/`type`/`name`. */
export interface ToolCallDelta {
  readonly index: number;
  readonly id?: string;
  readonly type?: 'function';
  readonly function?: { readonly name?: string; readonly arguments?: string };
}

/** `choices[0].delta` of a `chat.completion.chunk`. */
export interface ChunkDelta {
  readonly role?: 'assistant';
  readonly content?: string | null;
  /** DeepSeek, SGLang, older vLLM and most Chutes deployments. */
  readonly reasoning_content?: string;
  /** vLLM since late 2025 (renamed from `reasoning_content`), OpenRouter. */
  readonly reasoning?: string;
  readonly refusal?: string | null;
  readonly tool_calls?: readonly ToolCallDelta[];
}

/** Chat `usage`; the details objects are present only when the backend reports them. */
export interface ChatUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details?: { readonly cached_tokens: number };
  readonly completion_tokens_details?: { readonly reasoning_tokens: number };
}

/** The inner object of an OpenAI-style error body; vLLM uses its exception name as `type` and the status as `code`. */
export interface BackendErrorDetail {
  readonly message: string;
  readonly type?: string;
  readonly param?: string | null;
  readonly code?: string | number | null;
}

/** `stop | length | tool_calls | content_filter | function_call`, or a backend-specific string (`abort`, `eos`…). */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | (string & {});

/** One step of a scripted answer; streamed as one SSE event each (usage only with `include_usage`). */
export type ScriptStep =
  | { readonly kind: 'delta'; readonly delta: ChunkDelta }
  | { readonly kind: 'finish'; readonly reason: FinishReason }
  | { readonly kind: 'usage'; readonly usage: ChatUsage }
  | { readonly kind: 'done' }
  /** An in-band failure: `data: {"error":{…}}`, as vLLM and OpenRouter send after the 200. */
  | { readonly kind: 'error'; readonly error: BackendErrorDetail }
  /** Bytes written verbatim, e.g. an SSE comment `: keep-alive\n\n`. */
  | { readonly kind: 'raw'; readonly text: string };

/** A non-2xx answer. `body` is sent as JSON unless it is a string. */
export interface ScriptedHttpError {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** How to answer one `POST /v1/chat/completions`. */
export interface BackendScript {
  /** What the model says, in order; streamed for `stream: true`, folded into one `chat.completion` otherwise. */
  readonly steps?: readonly ScriptStep[];
  /** Answer this HTTP error instead of a completion. */
  readonly httpError?: ScriptedHttpError;
  /** Milliseconds to wait before sending the response headers. */
  readonly headersDelayMs?: number;
  /** Milliseconds to wait before each streamed step after the first. */
  readonly stepDelayMs?: number;
  /**
   * Destroy the socket after this many steps were written (stream) or instead of the body
   * (non-stream): the client sees a connection reset, no `[DONE]`, no terminating chunk.
   */
  readonly cutAfterSteps?: number;
  /** Never finish: `before-headers` sends nothing; `after-steps` writes the steps and keeps the connection open. */
  readonly hang?: 'before-headers' | 'after-steps';
  /**
   * Write every SSE event in pieces of this many bytes, one flushed write each, so the client
   * receives one event across several TCP segments (1 or 2 also splits inside multi-byte characters).
   */
  readonly writeBytesPerPiece?: number;
  /** `model` of the chunks; the request's `model` when absent. */
  readonly model?: string;
}

/** Every request the backend received, in arrival order. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when there was no body or it was not JSON. */
  readonly body: ChatCompletionCreateParams | undefined;
  readonly rawBody: string;
}

export type ScriptHandler = (request: ReceivedRequest) => BackendScript | Promise<BackendScript>;

/** One entry of Chutes' `GET /v1/models` list (fields beyond these are passed through). */
export interface ChutesModel {
  readonly id: string;
  readonly object: 'model';
  /** Unix seconds. */
  readonly created: number;
  readonly owned_by: string;
  readonly root: string;
  readonly parent: string | null;
  readonly chute_id: string;
  readonly quantization: string;
  /** Tokens. */
  readonly max_model_len: number;
  readonly context_length: number;
  readonly max_output_length: number;
  /** USD per million tokens. */
  readonly pricing: { readonly prompt: number; readonly completion: number };
  readonly supported_features: readonly string[];
  readonly supported_sampling_parameters: readonly string[];
  readonly input_modalities: readonly string[];
  readonly output_modalities: readonly string[];
  readonly [extra: string]: unknown;
}

export interface ScriptedBackendOptions {
  /** Served at `GET /v1/models`; defaults to one model, `DEFAULT_MODEL_ID`. */
  readonly models?: readonly (string | ChutesModel)[];
  /** When set, requests without `Authorization: Bearer <apiKey>` get a 401 in OpenAI's shape. */
  readonly apiKey?: string;
}

export interface ScriptedBackend {
  /** Base URL ending in `/v1`, e.g. `http://127.0.0.1:40123/v1`. */
  readonly url: string;
  /** Every request received (all paths), in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Only the `POST /v1/chat/completions` requests. */
  readonly chatRequests: () => ReceivedRequest[];
  /** Answers the next chat request with `script` (FIFO; takes precedence over the handler). */
  readonly enqueue: (...scripts: BackendScript[]) => void;
  /** Answers chat requests the queue does not cover. */
  readonly setHandler: (handler: ScriptHandler | undefined) => void;
  readonly setModels: (models: readonly (string | ChutesModel)[]) => void;
  /** Clears the queue, the handler and the recorded requests (models are kept). */
  readonly reset: () => void;
  /** Destroys open connections (hanging ones included) and stops listening. */
  readonly close: () => Promise<void>;
}

export const DEFAULT_MODEL_ID = 'scripted/test-model';

// ---------------------------------------------------------------------------------------------
// Step builders
// ---------------------------------------------------------------------------------------------

/** Chunk 0 of every real stream: the role with empty content (it is not output). */
export function roleChunk(): ScriptStep {
  return { kind: 'delta', delta: { role: 'assistant', content: '' } };
}

/** Splits text into pieces of `split` code points (never inside a surrogate pair); default 4. */
function splitText(text: string, split: number): string[] {
  const codePoints = Array.from(text);
  const pieces: string[] = [];
  for (let start = 0; start < codePoints.length; start += split) {
    pieces.push(codePoints.slice(start, start + split).join(''));
  }
  return pieces;
}

/** Text deltas (`delta.content`), `split` code points per chunk (default 4). */
export function textChunks(text: string, options: { readonly split?: number } = {}): ScriptStep[] {
  return splitText(text, options.split ?? 4).map((piece) => ({ kind: 'delta', delta: { content: piece } }));
}

/** Reasoning deltas in `reasoning_content` (default; DeepSeek/SGLang/Chutes) or `reasoning` (newer vLLM). */
export function reasoningChunks(
  text: string,
  options: { readonly field?: 'reasoning_content' | 'reasoning'; readonly split?: number } = {},
): ScriptStep[] {
  const field = options.field ?? 'reasoning_content';
  return splitText(text, options.split ?? 4).map((piece) => ({ kind: 'delta', delta: { [field]: piece } }));
}

export interface ScriptedToolCall {
  /** The call id (`call_…` on OpenAI, `chatcmpl-tool-…` on vLLM). */
  readonly id: string;
  readonly name: string;
  /** The JSON arguments string. */
  readonly arguments: string;
}

/**
 * Tool-call deltas the way vLLM/OpenAI stream them: a first fragment with `id`, `type` and the
 * name (empty arguments), then the arguments in pieces of `fragment` characters (default: one piece).
 * `interleave` alternates the fragments of parallel calls (index 0, 1, 0, 1…), which some backends do.
 */
export function toolCallChunks(
  calls: readonly ScriptedToolCall[],
  options: { readonly fragment?: number; readonly interleave?: boolean; readonly firstIndex?: number } = {},
): ScriptStep[] {
  const perCall = calls.map((call, position): ScriptStep[] => {
    const index = (options.firstIndex ?? 0) + position;
    const head: ScriptStep = {
      kind: 'delta',
      delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
    };
    const size = options.fragment ?? Math.max(call.arguments.length, 1);
    const tail: ScriptStep[] = [];
    for (let start = 0; start < call.arguments.length; start += size) {
      tail.push({
        kind: 'delta',
        delta: { tool_calls: [{ index, function: { arguments: call.arguments.slice(start, start + size) } }] },
      });
    }
    return [head, ...tail];
  });
  if (options.interleave !== true) return perCall.flat();
  const steps: ScriptStep[] = [];
  const longest = Math.max(0, ...perCall.map((fragments) => fragments.length));
  for (let round = 0; round < longest; round += 1) {
    for (const fragments of perCall) {
      const step = fragments[round];
      if (step !== undefined) steps.push(step);
    }
  }
  return steps;
}

/** The chunk carrying `finish_reason` (empty delta). */
export function finishChunk(reason: FinishReason): ScriptStep {
  return { kind: 'finish', reason };
}

/** The final usage chunk (`choices: []`); sent only when the request asked `stream_options.include_usage`. */
export function usageChunk(tokens: {
  readonly prompt: number;
  readonly completion: number;
  readonly reasoning?: number;
  readonly cached?: number;
}): ScriptStep {
  return {
    kind: 'usage',
    usage: {
      prompt_tokens: tokens.prompt,
      completion_tokens: tokens.completion,
      total_tokens: tokens.prompt + tokens.completion,
      ...(tokens.cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: tokens.cached } }),
      ...(tokens.reasoning === undefined ? {} : { completion_tokens_details: { reasoning_tokens: tokens.reasoning } }),
    },
  };
}

/** `data: [DONE]`. Leave it out of a script to end the stream without it. */
export function done(): ScriptStep {
  return { kind: 'done' };
}

/** An in-band error payload after the 200, e.g. vLLM's `{"error":{"message":…,"type":"InternalServerError","code":500}}`. */
export function errorChunk(error: BackendErrorDetail): ScriptStep {
  return { kind: 'error', error };
}

/** A complete, well-formed text answer: role chunk, text, `stop`, usage, `[DONE]`. */
export function textAnswer(
  text: string,
  options: { readonly reasoning?: string; readonly reasoningField?: 'reasoning_content' | 'reasoning'; readonly usage?: { prompt: number; completion: number; reasoning?: number } } = {},
): BackendScript {
  const reasoning =
    options.reasoning === undefined
      ? []
      : reasoningChunks(options.reasoning, options.reasoningField === undefined ? {} : { field: options.reasoningField });
  return {
    steps: [
      roleChunk(),
      ...reasoning,
      ...textChunks(text),
      finishChunk('stop'),
      usageChunk(options.usage ?? { prompt: 12, completion: Array.from(text).length }),
      done(),
    ],
  };
}

/** A complete tool-call answer: role chunk, the calls, `tool_calls`, usage, `[DONE]`. */
export function toolCallAnswer(
  calls: readonly ScriptedToolCall[],
  options: { readonly fragment?: number; readonly interleave?: boolean; readonly text?: string } = {},
): BackendScript {
  const { text, ...toolOptions } = options;
  return {
    steps: [
      roleChunk(),
      ...(text === undefined ? [] : textChunks(text)),
      ...toolCallChunks(calls, toolOptions),
      finishChunk('tool_calls'),
      usageChunk({ prompt: 40, completion: 20 }),
      done(),
    ],
  };
}

/**
 * An HTTP error in the OpenAI envelope `{"error":{message,type,param,code}}` (also what current vLLM
 * sends, with `type` = exception name and `code` = status), or vLLM's legacy flat
 * `{"object":"error",message,type,param,code}` with `shape: 'vllm-legacy'`.
 */
export function httpError(
  status: number,
  error: BackendErrorDetail,
  options: { readonly shape?: 'openai' | 'vllm-legacy'; readonly headers?: Readonly<Record<string, string>> } = {},
): BackendScript {
  const detail = { message: error.message, type: error.type ?? 'BadRequestError', param: error.param ?? null, code: error.code ?? status };
  const body = options.shape === 'vllm-legacy' ? { object: 'error', ...detail } : { error: detail };
  return { httpError: { status, body, ...(options.headers === undefined ? {} : { headers: options.headers }) } };
}

/** A Chutes model-list entry with plausible defaults. */
export function chutesModel(id: string, overrides: Partial<ChutesModel> = {}): ChutesModel {
  return {
    id,
    object: 'model',
    created: 1_750_000_000,
    owned_by: 'sglang',
    root: id,
    parent: null,
    chute_id: '00000000-0000-5000-8000-000000000000',
    quantization: 'fp8',
    max_model_len: 131_072,
    context_length: 131_072,
    max_output_length: 32_768,
    pricing: { prompt: 0.25, completion: 1 },
    supported_features: ['json_mode', 'tools', 'structured_outputs', 'reasoning'],
    supported_sampling_parameters: ['temperature', 'top_p', 'top_k', 'frequency_penalty', 'presence_penalty', 'stop', 'seed'],
    input_modalities: ['text'],
    output_modalities: ['text'],
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------------

interface AnswerContext {
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
  readonly includeUsage: boolean;
}

/** The SSE bytes of one step, or undefined when the step is not sent (usage without include_usage). */
function encodeStep(step: ScriptStep, context: AnswerContext): string | undefined {
  const base = { id: context.id, object: 'chat.completion.chunk', created: context.created, model: context.model };
  // With include_usage, every chunk but the final usage chunk carries `usage: null` (OpenAI and vLLM).
  const usageNull = context.includeUsage ? { usage: null } : {};
  switch (step.kind) {
    case 'delta':
      return frame({ ...base, choices: [{ index: 0, delta: step.delta, logprobs: null, finish_reason: null }], ...usageNull });
    case 'finish':
      return frame({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: step.reason }], ...usageNull });
    case 'usage':
      return context.includeUsage ? frame({ ...base, choices: [], usage: step.usage }) : undefined;
    case 'done':
      return 'data: [DONE]\n\n';
    case 'error':
      return frame({ error: { message: step.error.message, type: step.error.type ?? 'InternalServerError', param: step.error.param ?? null, code: step.error.code ?? 500 } });
    case 'raw':
      return step.text;
  }
}

function frame(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

interface FoldedToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** Folds the steps into the `chat.completion` a backend returns for `stream: false`. */
function foldSteps(steps: readonly ScriptStep[], context: AnswerContext): unknown {
  let content: string | null = null;
  let refusal: string | null = null;
  const reasoning: Record<string, string> = {};
  const toolCalls = new Map<number, FoldedToolCall>();
  let finishReason: FinishReason | null = null;
  let usage: ChatUsage | undefined;
  for (const step of steps) {
    if (step.kind === 'finish') finishReason = step.reason;
    if (step.kind === 'usage') usage = step.usage;
    if (step.kind !== 'delta') continue;
    const { delta } = step;
    if (typeof delta.content === 'string' && delta.content !== '') content = (content ?? '') + delta.content;
    if (typeof delta.refusal === 'string') refusal = (refusal ?? '') + delta.refusal;
    for (const field of ['reasoning_content', 'reasoning'] as const) {
      const piece = delta[field];
      if (typeof piece === 'string') reasoning[field] = (reasoning[field] ?? '') + piece;
    }
    for (const fragment of delta.tool_calls ?? []) {
      const call = toolCalls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
      if (fragment.id !== undefined) call.id = fragment.id;
      call.name += fragment.function?.name ?? '';
      call.arguments += fragment.function?.arguments ?? '';
      toolCalls.set(fragment.index, call);
    }
  }
  const calls = [...toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return {
    id: context.id,
    object: 'chat.completion',
    created: context.created,
    model: context.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content,
          refusal,
          ...reasoning,
          tool_calls: calls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
        },
        logprobs: null,
        finish_reason: finishReason ?? 'stop',
      },
    ],
    ...(usage === undefined ? {} : { usage }),
  };
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

function wait(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', reject);
  });
}

function parseJson(text: string): ChatCompletionCreateParams | undefined {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as ChatCompletionCreateParams;
  } catch {
    return undefined;
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Writes `text`, optionally in pieces of `bytesPerPiece` bytes, each flushed before the next. */
async function writeText(response: ServerResponse, text: string, bytesPerPiece: number | undefined): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  const size = bytesPerPiece ?? bytes.length;
  for (let start = 0; start < bytes.length; start += size) {
    if (response.destroyed) return;
    await new Promise<void>((resolve) => response.write(bytes.subarray(start, start + size), () => resolve()));
    // A pause between pieces keeps them in separate TCP segments on loopback.
    if (bytesPerPiece !== undefined) await wait(1);
  }
}

export async function startScriptedBackend(options: ScriptedBackendOptions = {}): Promise<ScriptedBackend> {
  const requests: ReceivedRequest[] = [];
  const queue: BackendScript[] = [];
  const sockets = new Set<Socket>();
  let handler: ScriptHandler | undefined;
  let models: readonly ChutesModel[] = toModels(options.models ?? [DEFAULT_MODEL_ID]);
  let closed = false;

  function toModels(list: readonly (string | ChutesModel)[]): ChutesModel[] {
    return list.map((entry) => (typeof entry === 'string' ? chutesModel(entry) : entry));
  }

  async function nextScript(request: ReceivedRequest): Promise<BackendScript> {
    const queued = queue.shift();
    if (queued !== undefined) return queued;
    if (handler !== undefined) return handler(request);
    // Loud on purpose: a test that forgot to script an answer should fail with this message.
    return httpError(500, { message: 'scripted backend: no script queued for this request', type: 'InternalServerError' });
  }

  async function answerChat(request: ReceivedRequest, response: ServerResponse): Promise<void> {
    const script = await nextScript(request);
    if (script.hang === 'before-headers') return;
    if (script.headersDelayMs !== undefined) await wait(script.headersDelayMs);
    if (response.destroyed || closed) return;
    if (script.httpError !== undefined) {
      sendJson(response, script.httpError.status, script.httpError.body ?? '', script.httpError.headers);
      return;
    }
    const body = request.body;
    const context: AnswerContext = {
      id: `chatcmpl-${randomBytes(12).toString('hex')}`,
      created: Math.floor(Date.now() / 1000),
      model: script.model ?? (typeof body?.model === 'string' ? body.model : DEFAULT_MODEL_ID),
      includeUsage: body?.stream === true && body.stream_options?.include_usage === true,
    };
    const steps = script.steps ?? [];
    if (body?.stream !== true) {
      if (script.cutAfterSteps !== undefined) {
        response.socket?.destroy();
        return;
      }
      const failure = steps.find((step) => step.kind === 'error');
      if (failure !== undefined && failure.kind === 'error') {
        sendJson(response, 500, { error: { message: failure.error.message, type: failure.error.type ?? 'InternalServerError', param: null, code: failure.error.code ?? 500 } });
        return;
      }
      const text = JSON.stringify(foldSteps(steps, context));
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      await writeText(response, text, script.writeBytesPerPiece);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    response.flushHeaders();
    let written = 0;
    for (const step of steps) {
      if (script.cutAfterSteps !== undefined && written >= script.cutAfterSteps) break;
      if (written > 0 && script.stepDelayMs !== undefined) await wait(script.stepDelayMs);
      if (response.destroyed || closed) return;
      const text = encodeStep(step, context);
      if (text === undefined) continue;
      await writeText(response, text, script.writeBytesPerPiece);
      written += 1;
    }
    if (script.cutAfterSteps !== undefined) {
      response.socket?.destroy();
      return;
    }
    if (script.hang === 'after-steps') return;
    response.end();
  }

  const server = createServer({ noDelay: true }, (incoming, response) => {
    void (async () => {
      const rawBody = await readBody(incoming);
      const path = (incoming.url ?? '/').split('?')[0] ?? '/';
      const received: ReceivedRequest = {
        method: incoming.method ?? 'GET',
        path,
        headers: incoming.headers,
        body: parseJson(rawBody),
        rawBody,
      };
      requests.push(received);
      if (options.apiKey !== undefined && incoming.headers.authorization !== `Bearer ${options.apiKey}`) {
        sendJson(response, 401, { error: { message: 'Invalid API key.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
        return;
      }
      if (received.method === 'GET' && path === '/v1/models') {
        sendJson(response, 200, { object: 'list', data: models });
        return;
      }
      if (received.method === 'POST' && path === '/v1/chat/completions') {
        if (received.body === undefined) {
          sendJson(response, 400, { error: { message: 'Request body is not valid JSON.', type: 'BadRequestError', param: null, code: 400 } });
          return;
        }
        await answerChat(received, response);
        return;
      }
      sendJson(response, 404, { error: { message: `Not found: ${received.method} ${path}`, type: 'NotFoundError', param: null, code: 404 } });
    })().catch((error: unknown) => {
      // A bug in a handler must show up in the test, not as a hung request.
      if (!response.headersSent) sendJson(response, 500, { error: { message: `scripted backend crashed: ${String(error)}`, type: 'InternalServerError', param: null, code: 500 } });
      else response.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests: () => requests.filter((request) => request.method === 'POST' && request.path === '/v1/chat/completions'),
    enqueue: (...scripts) => {
      queue.push(...scripts);
    },
    setHandler: (next) => {
      handler = next;
    },
    setModels: (list) => {
      models = toModels(list);
    },
    reset: () => {
      queue.length = 0;
      handler = undefined;
      requests.length = 0;
    },
    close: async () => {
      closed = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
