import type { Logger } from 'pino';
import { redactSecrets } from './redact-secrets.ts';

export interface FailureReporterOptions {
  readonly logger: Logger | undefined;
  /** The warn line's `msg`, e.g. "listing backend models failed; keeping the last list". */
  readonly message: string;
  /** The info line's `msg` once it works again. */
  readonly recoveredMessage: string;
  /** While the same reason repeats, at most one warn line per this many ms (default 60 000). */
  readonly intervalMs?: number;
  /** Wall clock, ms (default Date.now). */
  readonly now?: () => number;
}

export interface FailureReporter {
  /**
   * One failure. Logged at warn, one line with the reason (no stack), the first time, when the reason
   * changes, and then at most once per interval with how many failures it stands for; the others at debug.
   */
  failed(reason: string, fields?: Readonly<Record<string, unknown>>): void;
  /** It works again: one info line with how many failures there were, if any were reported. */
  recovered(fields?: Readonly<Record<string, unknown>>): void;
  /** The last reason while failing, null once recovered (or never failed). */
  lastReason(): string | null;
}

/** The readable reason of a failure: the message (redacted), never a stack. */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return redactSecrets(message.replace(/\s+/g, ' ').trim()) || 'unknown error';
}

/** Throttled reporting of a repeated failure (a backend down for an hour is one line a minute, not a stack per retry). */
export function createFailureReporter(options: FailureReporterOptions): FailureReporter {
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  let reason: string | null = null;
  let loggedAt = 0;
  let unlogged = 0;
  let failures = 0;
  return {
    failed(nextReason, fields = {}) {
      failures += 1;
      const due = nextReason !== reason || now() - loggedAt >= intervalMs;
      reason = nextReason;
      if (!due) {
        unlogged += 1;
        options.logger?.debug({ ...fields, reason }, options.message);
        return;
      }
      options.logger?.warn({ ...fields, reason, ...(unlogged > 0 ? { repeated: unlogged } : {}) }, options.message);
      loggedAt = now();
      unlogged = 0;
    },
    recovered(fields = {}) {
      if (reason === null) return;
      options.logger?.info({ ...fields, failures }, options.recoveredMessage);
      reason = null;
      unlogged = 0;
      failures = 0;
      loggedAt = 0;
    },
    lastReason: () => reason,
  };
}
