import type { ChatReasoningField } from './chat-chunk-schema.ts';

/** The reasoning-bearing fields of a Chat delta or message (responses-api.md §8.2). */
export interface ReasoningFields {
  readonly reasoning_content?: string | null | undefined;
  readonly reasoning?: ChatReasoningField | null | undefined;
}

/**
 * The reasoning text a delta carries, or '' when none. Read in order `reasoning_content`, then
 * `reasoning` as a string, then `reasoning.text|content`, taking the first non-empty one: backends
 * that fill both fields (vLLM during the rename, some Chutes hosts) send the same text twice, and
 * emitting both would double it. Empty strings and nulls are keep-alive markers, not text.
 */
export function readReasoningDelta(fields: ReasoningFields): string {
  if (fields.reasoning_content) return fields.reasoning_content;
  const reasoning = fields.reasoning;
  if (reasoning === null || reasoning === undefined) return '';
  if (typeof reasoning === 'string') return reasoning;
  return reasoning.text || reasoning.content || '';
}
