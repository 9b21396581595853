/**
 * What Chat Completions backends send back, parsed leniently: every field `.nullish()`, unknown fields
 * dropped, so a vLLM/SGLang/Ollama/DeepSeek quirk never crashes the converter. Shapes follow openai-node
 * `ChatCompletionChunk` / `ChatCompletion` plus the reasoning fields of responses-api.md §8.2.
 */
import { z } from 'zod';
import type { UpstreamStreamError } from './upstream-stream-error.ts';
import { mapChatBackendError } from './map-chat-backend-error.ts';

/** `reasoning` is a string on vLLM/OpenRouter, an object `{text}` or `{content}` on some other hosts. */
const reasoningFieldSchema = z.union([z.string(), z.object({ text: z.string().nullish(), content: z.string().nullish() })]);

const toolCallDeltaSchema = z.object({
  index: z.number().int().nullish(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const topLogprobSchema = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number()).nullish(),
});

const logprobsSchema = z.object({
  content: z.array(topLogprobSchema.extend({ top_logprobs: z.array(topLogprobSchema).nullish() })).nullish(),
});

export const chatUsageSchema = z.object({
  prompt_tokens: z.number().nullish(),
  completion_tokens: z.number().nullish(),
  total_tokens: z.number().nullish(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().nullish() }).nullish(),
  /** DeepSeek reports prompt-cache hits here instead of `prompt_tokens_details.cached_tokens`. */
  prompt_cache_hit_tokens: z.number().nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: z.number().nullish() }).nullish(),
  /** SGLang reports reasoning tokens here, at the top level, in streamed and whole answers alike. */
  reasoning_tokens: z.number().nullish(),
});

const chunkDeltaSchema = z.object({
  role: z.string().nullish(),
  content: z.string().nullish(),
  refusal: z.string().nullish(),
  /** DeepSeek, SGLang, older vLLM. */
  reasoning_content: z.string().nullish(),
  /** vLLM since late 2025, OpenRouter. */
  reasoning: reasoningFieldSchema.nullish(),
  tool_calls: z.array(toolCallDeltaSchema).nullish(),
});

export const chatCompletionChunkSchema = z.object({
  id: z.string().nullish(),
  object: z.string().nullish(),
  created: z.number().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        index: z.number().int().nullish(),
        delta: chunkDeltaSchema.nullish(),
        finish_reason: z.string().nullish(),
        logprobs: logprobsSchema.nullish(),
      }),
    )
    .nullish(),
  /** `null` on every chunk but the last when `stream_options.include_usage` is set. */
  usage: chatUsageSchema.nullish(),
});

export const chatCompletionSchema = z.object({
  id: z.string().nullish(),
  object: z.string().nullish(),
  created: z.number().nullish(),
  model: z.string().nullish(),
  choices: z
    .array(
      z.object({
        index: z.number().int().nullish(),
        message: z
          .object({
            role: z.string().nullish(),
            content: z.string().nullish(),
            refusal: z.string().nullish(),
            reasoning_content: z.string().nullish(),
            reasoning: reasoningFieldSchema.nullish(),
            tool_calls: z.array(toolCallDeltaSchema).nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
        logprobs: logprobsSchema.nullish(),
      }),
    )
    .nullish(),
  usage: chatUsageSchema.nullish(),
});

/** The inner object of OpenAI's envelope (also vLLM's `ErrorInfo`, Ollama's `openai.Error`). */
const errorObjectSchema = z.object({
  message: z.string().nullish(),
  type: z.string().nullish(),
  code: z.union([z.string(), z.number()]).nullish(),
  param: z.string().nullish(),
});

/** One item of FastAPI's 422 `detail` list (pydantic's `ValidationError.errors()`). */
const validationIssueSchema = z.object({
  loc: z.array(z.union([z.string(), z.number()])).nullish(),
  msg: z.string(),
  type: z.string().nullish(),
});

type ValidationIssue = z.infer<typeof validationIssueSchema>;

/**
 * A backend error body, in every shape the backends we front use:
 * - OpenAI, SGLang, current vLLM, Ollama's /v1: `{"error":{message,type,code,param}}`;
 * - vLLM's and SGLang's flat `{"object":"error","message","type","code":400}`;
 * - thin proxies and Ollama's native API: `{"error":"text"}`;
 * - FastAPI's `HTTPException` (Chutes' own API, any FastAPI server's unknown route): `{"detail":"text"}`,
 *   and its 422 for a request it could not validate: `{"detail":[{loc,msg,type}]}`;
 * - API gateways (Kong, AWS) and others: a top-level `{"message":"text"}`.
 */
export const chatBackendErrorSchema = z.union([
  z.object({ error: z.union([z.string(), errorObjectSchema]) }),
  errorObjectSchema.extend({ object: z.literal('error') }),
  // Chutes re-raises a backend's error object as FastAPI's detail: {"detail":{"object":"error","message":…}}.
  z.object({ detail: z.union([z.string(), z.array(validationIssueSchema).min(1), errorObjectSchema.extend({ message: z.string() })]) }),
  errorObjectSchema.extend({ message: z.string() }),
]);

export type ChatCompletionChunk = z.infer<typeof chatCompletionChunkSchema>;
export type ChatCompletion = z.infer<typeof chatCompletionSchema>;
export type ChatUsage = z.infer<typeof chatUsageSchema>;
export type ChatChunkDelta = z.infer<typeof chunkDeltaSchema>;
export type ChatToolCallDelta = z.infer<typeof toolCallDeltaSchema>;
export type ChatLogprobs = z.infer<typeof logprobsSchema>;
export type ChatReasoningField = z.infer<typeof reasoningFieldSchema>;

/** A backend error, normalised: the backend's own wording plus its type/code when it sent them. */
export interface ChatBackendError {
  readonly message: string;
  readonly type: string | null;
  readonly code: string | null;
  readonly param: string | null;
}

export type ChatChunkParseResult =
  | { readonly success: true; readonly chunk: ChatCompletionChunk }
  | { readonly success: false; readonly error: UpstreamStreamError };

/** Reads an error body, or null when `json` is not one (a chunk, a completion, garbage). */
export function parseChatBackendError(json: unknown): ChatBackendError | null {
  return readChatBackendError(json, 0);
}

function readChatBackendError(json: unknown, depth: number): ChatBackendError | null {
  const parsed = chatBackendErrorSchema.safeParse(json);
  if (!parsed.success) return null;
  const data = parsed.data;
  let body: z.infer<typeof errorObjectSchema> | string;
  if ('detail' in data) {
    const detail = data.detail;
    if (typeof detail === 'string' || Array.isArray(detail)) return { message: readDetail(detail), type: null, code: null, param: null };
    body = detail;
  } else {
    body = 'error' in data ? data.error : data;
  }
  if (typeof body === 'string') return unwrapNested({ message: body, type: null, code: null, param: null }, depth);
  return unwrapNested(
    {
      message: body.message ?? 'The backend reported an error.',
      type: body.type ?? null,
      // vLLM puts the HTTP status in `code` (a number); keep it as text.
      code: body.code === null || body.code === undefined ? null : String(body.code),
      param: body.param ?? null,
    },
    depth,
  );
}

/** FastAPI's `detail`: a sentence, or its validation list as "body.messages: Field required; …". */
function readDetail(detail: string | ValidationIssue[]): string {
  if (typeof detail === 'string') return detail;
  const issues = detail.slice(0, 5).map((issue) => {
    const where = (issue.loc ?? []).join('.');
    return where === '' ? issue.msg : `${where}: ${issue.msg}`;
  });
  const more = detail.length > 5 ? `; and ${detail.length - 5} more` : '';
  return `The backend refused the request: ${issues.join('; ')}${more}`;
}

/**
 * A proxy in front of the backend (LiteLLM, an older gateway) may carry the backend's whole error
 * body as its message: `{"error":{"message":"{\"detail\":\"Invalid token.\"}"}}`. Read the inner one.
 */
function unwrapNested(error: ChatBackendError, depth: number): ChatBackendError {
  const text = error.message.trim();
  if (depth > 2 || !text.startsWith('{')) return error;
  let inner: unknown;
  try {
    inner = JSON.parse(text);
  } catch {
    return error;
  }
  const nested = readChatBackendError(inner, depth + 1);
  return nested === null ? error : { ...nested, type: nested.type ?? error.type, code: nested.code ?? error.code, param: nested.param ?? error.param };
}

/**
 * Parses one `data:` payload of a Chat stream. Never throws: an error payload mid-stream
 * (`data: {"error":…}`) or a payload that is not a chunk comes back as an `UpstreamStreamError`.
 */
export function parseChatChunk(json: unknown): ChatChunkParseResult {
  // Every chunk passes here: try the error schema only on payloads that can be one. A failing zod
  // union builds its issue objects, which was a fifth of the per-chunk CPU (docs/benchmarks.md).
  const backendError = mightBeBackendError(json) ? parseChatBackendError(json) : null;
  if (backendError !== null) return { success: false, error: mapChatBackendError(backendError) };
  const parsed = chatCompletionChunkSchema.safeParse(json);
  if (parsed.success) return { success: true, chunk: parsed.data };
  return {
    success: false,
    error: { code: 'server_error', message: `The backend sent a malformed stream chunk: ${z.prettifyError(parsed.error)}` },
  };
}

/**
 * In a stream, an error payload has an `error` key or `object: "error"` (a chunk has neither); the
 * `detail` and bare `message` shapes only come as HTTP error bodies.
 */
function mightBeBackendError(json: unknown): boolean {
  return typeof json === 'object' && json !== null && ('error' in json || (json as { object?: unknown }).object === 'error');
}

/** Parses a non-streaming Chat answer; `null` when the body is not one. */
export function parseChatCompletion(json: unknown): ChatCompletion | null {
  const parsed = chatCompletionSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}
