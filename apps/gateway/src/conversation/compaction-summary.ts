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
