import { closeReasoning } from './handle-reasoning-delta.ts';
import { closeMessage } from './handle-message-delta.ts';
import { closeToolCall } from './handle-tool-call-deltas.ts';
import type { StreamState } from './stream-state.ts';

/** `incomplete` when the backend stopped mid-item (length cap, content filter, cut stream). */
export type ItemStatus = 'completed' | 'incomplete';

/** Closes whichever item is open (its done events and `output_item.done`); no-op when none is. */
export function closeOpenItem(state: StreamState, status: ItemStatus): void {
  const open = state.open;
  if (open === null) return;
  switch (open.kind) {
    case 'reasoning':
      return closeReasoning(state, open, status);
    case 'message':
      return closeMessage(state, open, status);
    case 'tool_call':
      return closeToolCall(state, open, status);
    default:
      return assertNever(open);
  }
}

function assertNever(value: never): never {
  throw new Error(`Unhandled open item: ${JSON.stringify(value)}`);
}
