/**
 * Scrubs credentials out of free text: error messages, URLs, upstream error bodies, whole log lines.
 *
 * Structured fields are handled by pino's `redact` paths (see create-logger.ts); this catches what those
 * paths cannot see: a key inside a string. It runs on every serialised log line, so the patterns only
 * match characters that need no JSON escaping and never consume a backslash or quote — the line stays
 * valid JSON after replacement.
 */
export const REDACTED = '[REDACTED]';

// Characters a bearer token / API key is made of. Deliberately excludes `"`, `'`, `\`, whitespace and
// URL/JSON delimiters so a match never crosses a JSON string boundary.
const TOKEN = String.raw`[A-Za-z0-9._~+/=:-]+`;

const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // `Authorization: Bearer <key>` / `Basic <credentials>` anywhere in text.
  [new RegExp(String.raw`\b(Bearer|Basic|Token)(\s+)${TOKEN}`, 'gi'), `$1$2${REDACTED}`],
  // OpenAI-style keys (sk-…, sk-proj-…, sk-ant-…) and Chutes keys (cpk_…), even without context.
  [/\bsk-[A-Za-z0-9_-]{6,}[A-Za-z0-9._-]*/g, REDACTED],
  [/\bcpk_[A-Za-z0-9._-]{6,}/g, REDACTED],
  // Query parameters that carry credentials: ?api_key=…, &key=…, &access_token=…
  [/([?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|password|secret|client[_-]?secret)=)[^&#\s"'\\]+/gi, `$1${REDACTED}`],
  // `x-api-key: <key>`, `api_key=<key>`, `"apiKey":"<key>"`, `password: …` in messages and JSON-ish text.
  // The separator may contain an escaped quote (`\"`) when this runs over a serialised JSON line.
  [
    /\b(authorization|x-api-key|api[_-]?key|apikey|access[_-]?token|client[_-]?secret|password)((?:\\?["'])?\s*[:=]\s*(?:\\?["'])?)(?!(?:Bearer|Basic|Token)\b|\[REDACTED\])[^\s"'\\,;&}]+/gi,
    `$1$2${REDACTED}`,
  ],
  // Cookies: a `set-cookie` array in a serialised line becomes one string, so the line stays valid JSON.
  [/("(?:set-)?cookie"\s*:\s*)\[(?:[^\]"\\]|"(?:[^"\\]|\\.)*")*\]/gi, `$1"${REDACTED}"`],
  // `cookie: a=1; b=2` and `"cookie":"a=1; b=2"`: the whole value, up to the end of its string.
  [/\b((?:set-)?cookie)((?:\\?["'])?\s*[:=]\s*(?:\\?["'])?)[^"'\\\n]+/gi, `$1$2${REDACTED}`],
  // Credentials in URL userinfo: redis://:password@host, https://user:pass@host.
  [/(\/\/[^/\s:@"'\\]*:)[^@\s/"'\\]+@/g, `$1${REDACTED}@`],
];

export function redactSecrets(text: string): string {
  let result = text;
  for (const [pattern, replacement] of PATTERNS) {
    result = result.replace(pattern, replacement);
  }
  return result;
}
