/**
 * The breaker contract the gateway codes against. Two implementations: in-process
 * (`createMemoryBreaker`, single node) and shared through Redis (`createRedisBreaker`, cluster).
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** What `acquire` decided. A denied request must not reach the backend (the gateway answers 503). */
export type BreakerAdmission =
  | { readonly allowed: true; readonly probe: boolean; readonly ticket: BreakerTicket }
  | { readonly allowed: false; readonly state: 'open' | 'half_open'; readonly retryAfterMs: number };

/** Opaque to the gateway: hand it back to `record` once the outcome of the call is known. */
export interface BreakerTicket {
  readonly scope: string;
  /** The scope's generation when admitted: an outcome from before a state change is ignored. */
  readonly generation: number;
  /** Non-empty only for the half-open probe (the lease holder). */
  readonly token: string;
}

/**
 * 'failure' = backend fault only (5xx, timeout, connection error, stream cut by the backend).
 * 'ignored' = says nothing about backend health (client 4xx, client abort); releases a probe lease.
 */
export type BreakerOutcome = 'success' | 'failure' | 'ignored';

export interface BreakerStateChange {
  readonly scope: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
}

export interface CircuitBreaker {
  /** Decide whether a request to `scope` may call the backend. Fast: no Redis round trip on the common path. */
  acquire(scope: string): Promise<BreakerAdmission>;
  /** Report the outcome of an admitted call (see `BreakerOutcome`). Never throws. */
  record(ticket: BreakerTicket, outcome: BreakerOutcome): Promise<void>;
  /** Current state per known scope (for the metrics gauge and /ready). Scopes never seen failing are closed and absent. */
  snapshot(): ReadonlyMap<string, BreakerState>;
  /** Returns the unsubscribe function. */
  onStateChange(listener: (event: BreakerStateChange) => void): () => void;
  close(): Promise<void>;
}

export interface BreakerOptions {
  /** Consecutive backend failures that open the breaker (CIRCUIT_BREAKER_FAILURE_THRESHOLD, default 5). */
  failureThreshold: number;
  /** How long the breaker stays open before one probe is let through, ms (CIRCUIT_BREAKER_OPEN_SECONDS × 1000). */
  openMs: number;
  /**
   * Upper bound of the open time, ms. Each failed probe doubles the open time up to this bound.
   * Default: `openMs` (the open time never grows).
   */
  maxOpenMs?: number;
  /**
   * How long the half-open probe holds its lease, ms (default 30 000). A probe that never reports
   * (crashed replica, hung backend) loses the lease after this and another probe is admitted.
   * Keep it at most the backend first-byte timeout: the gateway records success at the first chunk.
   */
  probeLeaseMs?: number;
  /** Clock in ms, injected for tests (default `Date.now`). Only durations are derived from it. */
  now?: () => number;
}

export const DEFAULT_PROBE_LEASE_MS = 30_000;

/** Open time after the `trips`-th consecutive trip: doubles per failed probe, capped at `maxOpenMs`. */
export function computeOpenMs(options: BreakerOptions, trips: number): number {
  const maxOpenMs = Math.max(options.maxOpenMs ?? options.openMs, options.openMs);
  return Math.min(options.openMs * 2 ** Math.max(trips - 1, 0), maxOpenMs);
}
