/**
 * Scripts for the scripted Chat Completions backend: the wire types real backends send and the
 * builders tests compose answers from (`textChunks`, `reasoningChunks`, `toolCallChunks`,
 * `finishChunk`, `usageChunk`, `done`, `errorChunk`, `httpError`, and whole answers).
 */

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
  | { readonly kind: 'raw'; readonly text: string }
  /** Nothing is sent until `until` settles: the test decides when the model goes on (e.g. once the client saw what came before). */
  | { readonly kind: 'pause'; readonly until: Promise<unknown> };

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
export function reasoningChunks(text: string, options: { readonly field?: 'reasoning_content' | 'reasoning'; readonly split?: number } = {}): ScriptStep[] {
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

/** Holds the answer here until `until` settles (streamed: after the steps before it went out; non-streamed: before the answer). */
export function pauseUntil(until: Promise<unknown>): ScriptStep {
  return { kind: 'pause', until };
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
  options: {
    readonly reasoning?: string;
    readonly reasoningField?: 'reasoning_content' | 'reasoning';
    readonly usage?: { prompt: number; completion: number; reasoning?: number };
  } = {},
): BackendScript {
  const reasoning =
    options.reasoning === undefined ? [] : reasoningChunks(options.reasoning, options.reasoningField === undefined ? {} : { field: options.reasoningField });
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

/** A complete tool-call answer: role chunk, optional reasoning and text, the calls, `tool_calls`, usage, `[DONE]`. */
export function toolCallAnswer(
  calls: readonly ScriptedToolCall[],
  options: { readonly fragment?: number; readonly interleave?: boolean; readonly text?: string; readonly reasoning?: string } = {},
): BackendScript {
  const { text, reasoning, ...toolOptions } = options;
  return {
    steps: [
      roleChunk(),
      ...(reasoning === undefined ? [] : reasoningChunks(reasoning)),
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
