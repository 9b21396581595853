/**
 * Chat `content` deltas, through the inline-reasoning splitter when the backend profile asks for it
 * (`<think>…</think>` in `content`, see split-inline-reasoning): the reasoning part becomes the
 * reasoning item, the rest the message. Once the answer is known to be plain text, deltas go straight
 * to the message (no allocation per chunk on the common path).
 */
import type { ChatLogprobs } from './chat-chunk-schema.ts';
import { handleTextDelta } from './handle-message-delta.ts';
import { handleReasoningDelta } from './handle-reasoning-delta.ts';
import type { ContentSegment } from './split-inline-reasoning.ts';
import type { StreamState } from './stream-state.ts';

export function handleContentDelta(state: StreamState, delta: string, logprobs: ChatLogprobs | null | undefined): void {
  const splitter = state.inlineReasoning;
  if (splitter === null || splitter.settled) return handleTextDelta(state, delta, logprobs);
  handleSegments(state, splitter.push(delta), logprobs);
}

/** The content is over (finish, failure, cut): what the splitter held back goes out as what it was. */
export function flushHeldContent(state: StreamState): void {
  const splitter = state.inlineReasoning;
  if (splitter !== null && !splitter.settled) handleSegments(state, splitter.end(), null);
}

function handleSegments(state: StreamState, segments: readonly ContentSegment[], logprobs: ChatLogprobs | null | undefined): void {
  // Logprobs cover the whole delta; they go with its text (tokens of the tags and the block are dropped).
  let pendingLogprobs = logprobs;
  for (const segment of segments) {
    if (segment.kind === 'reasoning') {
      handleReasoningDelta(state, segment.text);
    } else {
      handleTextDelta(state, segment.text, pendingLogprobs);
      pendingLogprobs = null;
    }
  }
}
