/**
 * A scripted OpenAI-compatible Chat Completions server for tests (node:http, loopback only).
 *
 * It speaks the wire protocol of the backends the gateway fronts (Chutes' vLLM/SGLang deployments,
 * DeepSeek, OpenAI): `POST /v1/chat/completions` streamed as `data: <chunk>\n\n` SSE frames ending in
 * `data: [DONE]`, or one `chat.completion` JSON for `stream: false`, and `GET /v1/models` in Chutes'
 * shape. What the "model" says is a script: a list of steps built with the helpers of
 * `chat-script.ts` (re-exported here), queued with `enqueue()` or produced per request by
 * `setHandler()`. Scripts also inject the faults the gateway must survive: HTTP errors, slow
 * headers, slow chunks, cut connections, in-band error payloads, a missing `[DONE]`, hangs and
 * events split across TCP writes.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { type BackendScript, httpError } from './chat-script.ts';
import { type AnswerContext, encodeStep, foldSteps } from './encode-chat-script.ts';

export * from './chat-script.ts';

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
      for (const step of steps) if (step.kind === 'pause') await step.until;
      if (response.destroyed || closed) return;
      if (script.cutAfterSteps !== undefined) {
        response.socket?.destroy();
        return;
      }
      const failure = steps.find((step) => step.kind === 'error');
      if (failure !== undefined && failure.kind === 'error') {
        sendJson(response, 500, {
          error: { message: failure.error.message, type: failure.error.type ?? 'InternalServerError', param: null, code: failure.error.code ?? 500 },
        });
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
      if (step.kind === 'pause') {
        await step.until;
        continue;
      }
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
      // What the FastAPI servers we stand for (vLLM, SGLang, Chutes) answer for a route they do not have.
      sendJson(response, 404, { detail: 'Not Found' });
    })().catch((error: unknown) => {
      // A bug in a handler must show up in the test, not as a hung request.
      if (!response.headersSent)
        sendJson(response, 500, { error: { message: `scripted backend crashed: ${String(error)}`, type: 'InternalServerError', param: null, code: 500 } });
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
