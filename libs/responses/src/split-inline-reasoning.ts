/**
 * Reasoning written inline in `content` — `<think>…</think>` then the answer, as Qwen3, DeepSeek-R1 and
 * GLM models print it when the server runs no reasoning parser (some Chutes and SGLang deployments) —
 * split back into reasoning and text, one content delta at a time. The tags may be cut anywhere across
 * deltas, so text that could still be the start of a tag is held back, and only that: ordinary text
 * goes out in the same step it arrived.
 *
 * Only a block that opens the answer counts (leading whitespace allowed): `<think>` later in the text
 * is the model talking about the tag, not thinking.
 */

export interface ContentSegment {
  readonly kind: 'reasoning' | 'text';
  readonly text: string;
}

export interface InlineReasoningSplitter {
  /** True once the answer is known to be plain text from here on: deltas can bypass the splitter. */
  readonly settled: boolean;
  /** One content delta → what it contributes, in order (often one segment, sometimes none). */
  push(delta: string): ContentSegment[];
  /** The content ended: whatever was held back, as what it turned out to be. */
  end(): ContentSegment[];
}

const OPEN_TAG = '<think>';
const CLOSE_TAG = '</think>';

export function createInlineReasoningSplitter(): InlineReasoningSplitter {
  /** `opening`: nothing visible yet; `thinking`: inside the block; `closing`: right after `</think>`. */
  let phase: 'opening' | 'thinking' | 'closing' | 'text' = 'opening';
  let held = '';
  /** Whitespace opening the block is layout: `<think>\n\n</think>` (Qwen3 with thinking off) is no reasoning. */
  let reasoningStarted = false;

  function push(delta: string): ContentSegment[] {
    const segments: ContentSegment[] = [];
    let rest = delta;
    if (phase === 'opening') {
      held += rest;
      const start = held.trimStart();
      if (start.startsWith(OPEN_TAG)) {
        phase = 'thinking';
        rest = start.slice(OPEN_TAG.length);
        held = '';
      } else if (OPEN_TAG.startsWith(start)) {
        // Whitespace, or a prefix of the tag: not decidable yet.
        return segments;
      } else {
        phase = 'text';
        rest = held;
        held = '';
      }
    }
    if (phase === 'thinking') {
      const text = reasoningStarted ? held + rest : (held + rest).trimStart();
      const close = text.indexOf(CLOSE_TAG);
      if (close === -1) {
        const keep = longestTagPrefixAtEnd(text, CLOSE_TAG);
        held = text.slice(text.length - keep);
        addReasoning(segments, text.slice(0, text.length - keep));
        return segments;
      }
      addReasoning(segments, text.slice(0, close));
      held = '';
      phase = 'closing';
      rest = text.slice(close + CLOSE_TAG.length);
    }
    if (phase === 'closing') {
      // The blank line models put between the block and the answer is layout, not answer.
      rest = rest.trimStart();
      if (rest === '') return segments;
      phase = 'text';
    }
    push1(segments, 'text', rest);
    return segments;
  }

  function addReasoning(segments: ContentSegment[], text: string): void {
    if (text === '') return;
    reasoningStarted = true;
    segments.push({ kind: 'reasoning', text });
  }

  function end(): ContentSegment[] {
    const segments: ContentSegment[] = [];
    if (phase === 'opening') push1(segments, 'text', held);
    if (phase === 'thinking') push1(segments, 'reasoning', held);
    held = '';
    phase = 'text';
    return segments;
  }

  return {
    get settled() {
      return phase === 'text';
    },
    push,
    end,
  };
}

function push1(segments: ContentSegment[], kind: ContentSegment['kind'], text: string): void {
  if (text !== '') segments.push({ kind, text });
}

/** Length of the longest end of `text` that is a proper start of `tag` (what may still become the tag). */
function longestTagPrefixAtEnd(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length -= 1) {
    if (text.endsWith(tag.slice(0, length))) return length;
  }
  return 0;
}
