/**
 * Turns a script's steps into what a backend puts on the wire: one SSE frame per step for
 * `stream: true`, or one folded `chat.completion` for `stream: false`.
 */
import type { ChatUsage, FinishReason, ScriptStep } from './chat-script.ts';

export interface AnswerContext {
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  readonly model: string;
  readonly includeUsage: boolean;
}

/** The SSE bytes of one step, or undefined when the step is not sent (usage without include_usage). */
export function encodeStep(step: ScriptStep, context: AnswerContext): string | undefined {
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
      return frame({
        error: { message: step.error.message, type: step.error.type ?? 'InternalServerError', param: step.error.param ?? null, code: step.error.code ?? 500 },
      });
    case 'raw':
      return step.text;
    case 'pause':
      return undefined;
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
export function foldSteps(steps: readonly ScriptStep[], context: AnswerContext): unknown {
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
