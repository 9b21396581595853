import type { ResponsesRequest } from '@rgw/responses';

/**
 * Compaction items carry the conversation summary sealed with the reasoning sealer. A marker is
 * sealed with the text so a compaction blob is never accepted as reasoning or the other way round.
 */
const MARKER = 'gw-compaction-v1\n';

export function sealCompactionSummary(summary: string, seal: (text: string) => string): string {
  return seal(`${MARKER}${summary}`);
}

/** The summary, or null for a blob that is not one of our compaction blobs (foreign, tampered, other key). */
export function unsealCompactionSummary(blob: string, unseal: (blob: string) => string | null): string | null {
  const text = unseal(blob);
  return text !== null && text.startsWith(MARKER) ? text.slice(MARKER.length) : null;
}

/** How an expanded compaction reaches the backend: a user message in Codex's own hand-off wording. */
export function formatCompactionMessage(summary: string): string {
  return `Another language model started to solve this problem and produced a summary of its thinking process. You also have access to the state of the tools that were used by that language model. Use this to build on the work that has already been done and avoid duplicating work. Here is the summary produced by the other language model, use the information in this summary to assist with your own analysis:\n\n${summary}`;
}

/** Codex's own hand-off instruction for local compaction, reworded; the backend writes the summary. */
export const COMPACTION_PROMPT = [
  'You are performing a CONTEXT CHECKPOINT COMPACTION. Create a handoff summary for another LLM that will resume the task.',
  'Include: current progress and key decisions made; important context, constraints, or user preferences; what remains to be done (clear next steps); any critical data, examples, or references needed to continue.',
  'Be concise, structured, and focused on helping the next LLM seamlessly continue the work. Answer with the summary only.',
].join('\n');

/**
 * The turn that writes a summary of `conversation` (the rebuilt input): the client's model,
 * instructions and tools (so the backend sees the same context, and the prompt prefix caches), the
 * tools not callable, nothing stored. Streamed from the backend: a long summary is then bounded by the
 * idle timeout between chunks, not by the time to a whole completion.
 */
export function buildSummaryRequest(request: ResponsesRequest, conversation: readonly unknown[]): ResponsesRequest {
  return {
    model: request.model,
    instructions: request.instructions ?? null,
    input: [...conversation, { type: 'message', role: 'user', content: COMPACTION_PROMPT }],
    tools: request.tools ?? null,
    tool_choice: request.tools && request.tools.length > 0 ? 'none' : null,
    store: false,
    stream: true,
  } as ResponsesRequest;
}
