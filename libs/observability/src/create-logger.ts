import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { REDACTED, redactSecrets } from './redact-secrets.ts';
import { serializeError } from './serialize-error.ts';

export interface CreateLoggerOptions {
  /** pino level name: fatal | error | warn | info | debug | trace | silent (from `LOG_LEVEL`). */
  readonly level: string;
  /** Logged as `name` on every line: "gateway" or "worker". */
  readonly name?: string;
  /** Where lines go; default stdout. Tests pass a memory stream. */
  readonly destination?: DestinationStream;
}

// Structured places a credential can sit, at the top of a log call's object or under `req`/`res`/`headers`.
// Header names are lower-case in Node. No `*.` wildcard paths: a wildcard makes pino walk every field
// of every line (they took the access log from about 5 to 19 µs a line, docs/benchmarks.md), and the
// `redactSecrets` line hook already scrubs these names, with cookies, at any depth.
const REDACT_PATHS = [
  'authorization',
  'apiKey',
  'api_key',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'headers["set-cookie"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/**
 * The process logger: one JSON object per line, ISO timestamps, level names (not numbers) so log
 * pipelines can filter without a lookup table.
 *
 * Two layers of redaction: pino `redact` censors known fields, and a `streamWrite` hook runs
 * `redactSecrets` over every serialised line, so a key that ended up in a message, a URL or an error
 * (undici errors can carry request options) is scrubbed too.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      ...(options.name === undefined ? {} : { name: options.name }),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers: { err: serializeError, error: serializeError },
      hooks: { streamWrite: redactSecrets },
    },
    // Default: pino's synchronous stdout, so the last lines before an exit are not lost.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
