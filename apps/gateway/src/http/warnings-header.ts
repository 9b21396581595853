import type { ServerResponse } from 'node:http';

/**
 * The conversion's warnings (what was dropped or emulated: a hosted tool, an effort the backend lacks,
 * an ignored field) as a response header, so the client sees them and not only the server log. The
 * Responses API has no body field for them, and a header leaves the answer untouched for strict clients.
 */
export const WARNINGS_HEADER = 'x-gateway-warnings';

/** Whole value, bytes: proxies cap response headers (nginx's default buffer is 4–8 KiB for all of them). */
export const MAX_WARNINGS_HEADER_BYTES = 2048;
/** One warning, characters; longer ones (a long tool name quoted back) are cut with an ellipsis. */
const MAX_WARNING_CHARS = 300;

/**
 * A JSON array of the warnings, ASCII only: JSON.stringify escapes quotes and control characters (no
 * CR/LF can end the header), and everything past U+007E is escaped as \uXXXX, so text a client put in
 * its request (tool names, field values) can neither forge a header nor break the header encoding. When
 * they do not all fit, the last entry says how many were left out. Null when there is nothing to say.
 */
export function formatWarningsHeader(warnings: readonly string[]): string | null {
  if (warnings.length === 0) return null;
  const kept: string[] = [];
  for (const [index, warning] of warnings.entries()) {
    const entry = warning.length > MAX_WARNING_CHARS ? `${warning.slice(0, MAX_WARNING_CHARS - 1)}…` : warning;
    const left = warnings.length - index - 1;
    const candidate = [...kept, entry];
    const withNote = left > 0 ? [...candidate, describeLeftOut(left)] : candidate;
    if (encode(withNote).length > MAX_WARNINGS_HEADER_BYTES) {
      return encode([...kept, describeLeftOut(warnings.length - index)]);
    }
    kept.push(entry);
  }
  return encode(kept);
}

/** Sets the header when there are warnings and the headers have not left yet. */
export function setWarningsHeader(res: ServerResponse, warnings: readonly string[]): void {
  const value = formatWarningsHeader(warnings);
  if (value !== null && !res.headersSent) res.setHeader(WARNINGS_HEADER, value);
}

function describeLeftOut(count: number): string {
  return `${count} more warning${count === 1 ? '' : 's'} in the gateway log`;
}

function encode(entries: readonly string[]): string {
  return JSON.stringify(entries).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
