import type { Response, ResponseUsage, Tool } from 'openai/resources/responses/responses';
import type { ResponseContext } from './converter-contract.ts';

/** A tool definition as the client sent it; only `type` is read, the rest is echoed. */
interface EchoedTool {
  readonly type: string;
  readonly strict?: boolean | null | undefined;
  readonly description?: string | null | undefined;
  readonly parameters?: unknown;
  readonly tools?: readonly EchoedTool[] | null | undefined;
}

/**
 * The request fields the Response echoes. Declared here (not imported) so the answer side depends
 * only on the fields it reads; `context.request` must stay assignable to it.
 */
export interface EchoedRequestFields {
  readonly instructions?: string | null | undefined;
  readonly tools?: readonly EchoedTool[] | null | undefined;
  readonly tool_choice?: unknown;
  readonly parallel_tool_calls?: boolean | null | undefined;
  readonly text?: { readonly format?: object | null | undefined } | null | undefined;
  readonly reasoning?: { readonly summary?: string | null | undefined; readonly generate_summary?: string | null | undefined } | null | undefined;
  readonly max_output_tokens?: number | null | undefined;
  readonly max_tool_calls?: number | null | undefined;
  readonly temperature?: number | null | undefined;
  readonly top_p?: number | null | undefined;
  readonly top_logprobs?: number | null | undefined;
  readonly presence_penalty?: number | null | undefined;
  readonly frequency_penalty?: number | null | undefined;
  readonly truncation?: string | null | undefined;
  readonly store?: boolean | null | undefined;
  readonly background?: boolean | null | undefined;
  readonly service_tier?: string | null | undefined;
  readonly metadata?: Readonly<Record<string, string>> | null | undefined;
  readonly safety_identifier?: string | null | undefined;
  readonly prompt_cache_key?: string | null | undefined;
  readonly user?: string | null | undefined;
  readonly previous_response_id?: string | null | undefined;
  readonly conversation?: string | { readonly id: string } | null | undefined;
}

/** A Response field's type without the `undefined` the SDK's optional fields add. */
type Defined<Key extends keyof Response> = Exclude<Response[Key], undefined>;

/** Wire fields the SDK's `Response` type does not declare but real servers send (responses-api.md §3, §9.8). */
interface WireOnlyFields {
  readonly store: boolean;
  readonly presence_penalty: number;
  readonly frequency_penalty: number;
  /** `null` until the terminal event; the SDK type only allows it absent. */
  readonly usage: ResponseUsage | null;
  /** Deprecated but echoed; `null` when unset, which the SDK type does not allow. */
  readonly user: string | null;
}

/**
 * The Response as `response.created` announces it: every request field echoed, `null` where the client
 * left it unset (the Open Responses suite validates that, §11.1) except the sampling numbers, which carry
 * OpenAI's defaults; `status: in_progress`, no output, no usage.
 * `output_text` is deliberately absent: it is an SDK-computed convenience, never on the wire.
 */
export function buildResponseSkeleton(context: ResponseContext): Response {
  const request: EchoedRequestFields = context.request;
  const skeleton: Omit<Response, 'output_text' | 'access_programs' | 'usage' | 'user'> & WireOnlyFields = {
    id: context.responseId,
    object: 'response',
    created_at: context.createdAt,
    status: 'in_progress',
    background: request.background ?? false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: request.max_tool_calls ?? null,
    model: context.model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    conversation: normaliseConversation(request.conversation),
    prompt_cache_key: request.prompt_cache_key ?? null,
    reasoning: (request.reasoning ?? null) as Defined<'reasoning'>,
    safety_identifier: request.safety_identifier ?? null,
    // We serve every request at the backend's one tier.
    service_tier: (request.service_tier ?? 'default') as Defined<'service_tier'>,
    store: request.store ?? true,
    // Unset sampling fields echo OpenAI's defaults as numbers, as its live API does (responses-api.md §3
    // example): the Open Responses suite rejects null here (§11.1) although the SDK type allows it.
    temperature: request.temperature ?? 1,
    top_p: request.top_p ?? 1,
    top_logprobs: request.top_logprobs ?? 0,
    presence_penalty: request.presence_penalty ?? 0,
    frequency_penalty: request.frequency_penalty ?? 0,
    text: { ...request.text, format: request.text?.format ?? { type: 'text' } } as Defined<'text'>,
    tool_choice: (request.tool_choice ?? 'auto') as Defined<'tool_choice'>,
    tools: (request.tools ?? []).map(fillToolDefaults) as Tool[],
    // The gateway never drops input to fit a window: an overflow is a 400, which is `disabled`.
    truncation: (request.truncation ?? 'disabled') as Defined<'truncation'>,
    user: request.user ?? null,
    metadata: request.metadata ?? {},
    usage: null,
  };
  return skeleton as unknown as Response;
}

/**
 * True when the client asked for reasoning summaries (`reasoning.summary`, or the deprecated
 * `generate_summary`). Codex always sends `summary: "auto"`; the AI SDK shows only summary events.
 */
export function isReasoningSummaryRequested(context: ResponseContext): boolean {
  const request: EchoedRequestFields = context.request;
  return Boolean(request.reasoning?.summary ?? request.reasoning?.generate_summary);
}

/**
 * Echoed tools carry `strict` filled in, as OpenAI echoes them (defaults to true for functions), and
 * `description`/`parameters` as `null` when the client left them out (the SDK's `FunctionTool` requires
 * `parameters`; the Open Responses suite requires both, nullable).
 */
function fillToolDefaults(tool: EchoedTool): EchoedTool {
  if (tool.type === 'function') {
    return { ...tool, description: tool.description ?? null, parameters: tool.parameters ?? null, strict: tool.strict ?? true };
  }
  if (tool.type === 'namespace' && tool.tools) return { ...tool, tools: tool.tools.map(fillToolDefaults) };
  return tool;
}

function normaliseConversation(conversation: EchoedRequestFields['conversation']): { id: string } | null {
  if (conversation === null || conversation === undefined) return null;
  return typeof conversation === 'string' ? { id: conversation } : { id: conversation.id };
}
