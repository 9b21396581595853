import { randomUUID } from 'node:crypto';
import {
  computeOpenMs,
  DEFAULT_PROBE_LEASE_MS,
  type BreakerAdmission,
  type BreakerOptions,
  type BreakerOutcome,
  type BreakerState,
  type BreakerStateChange,
  type BreakerTicket,
  type CircuitBreaker,
} from './circuit-breaker.ts';

/** Mutable per-scope state. Created on the first failure: a scope that never failed costs nothing. */
interface ScopeRecord {
  state: BreakerState;
  /** Bumped on every trip and every close; outcomes carrying an older generation are stale. */
  generation: number;
  consecutiveFailures: number;
  /** Consecutive trips without a successful probe (drives the open-time backoff). */
  trips: number;
  /** Clock ms at which open becomes half-open. */
  openUntil: number;
  probeToken: string | null;
  probeLeaseUntil: number;
}

/** The in-memory breaker plus the hook the Redis breaker uses to feed it outcomes of Redis tickets. */
export interface MemoryBreaker extends CircuitBreaker {
  /**
   * Count an outcome that was not admitted by this breaker (a Redis-admitted call whose record
   * could not reach Redis). Counted only while the scope is closed here; never a probe.
   */
  recordUnticketed(scope: string, outcome: BreakerOutcome): void;
}

/**
 * Single-node breaker: consecutive backend failures open it for `openMs`; after that exactly one
 * probe is admitted (a lease of `probeLeaseMs`); its success closes the breaker, its failure
 * reopens it (open time doubling up to `maxOpenMs`). No timers: time is evaluated on each call.
 */
export function createMemoryBreaker(options: BreakerOptions): MemoryBreaker {
  const now = options.now ?? Date.now;
  const probeLeaseMs = options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS;
  const records = new Map<string, ScopeRecord>();
  const listeners = new Set<(event: BreakerStateChange) => void>();

  function transition(scope: string, record: ScopeRecord, to: BreakerState): void {
    const from = record.state;
    record.state = to;
    for (const listener of listeners) {
      try {
        listener({ scope, from, to });
      } catch {
        // A faulty listener (metrics, logs) must not break the request path.
      }
    }
  }

  /** open → half_open once the open time has passed. */
  function advance(scope: string, record: ScopeRecord): void {
    if (record.state === 'open' && now() >= record.openUntil) {
      record.probeToken = null;
      transition(scope, record, 'half_open');
    }
  }

  function trip(scope: string, record: ScopeRecord, trips: number): void {
    record.trips = trips;
    record.generation += 1;
    record.consecutiveFailures = 0;
    record.probeToken = null;
    record.openUntil = now() + computeOpenMs(options, trips);
    transition(scope, record, 'open');
  }

  function countOutcome(scope: string, record: ScopeRecord | undefined, outcome: BreakerOutcome): void {
    if (outcome === 'ignored') return;
    if (record === undefined) {
      if (outcome === 'success') return;
      record = newRecord();
      records.set(scope, record);
    }
    if (record.state !== 'closed') return; // admitted before the trip: says nothing new
    if (outcome === 'success') {
      record.consecutiveFailures = 0;
      return;
    }
    record.consecutiveFailures += 1;
    if (record.consecutiveFailures >= options.failureThreshold) trip(scope, record, 1);
  }

  return {
    async acquire(scope: string): Promise<BreakerAdmission> {
      const record = records.get(scope);
      if (record === undefined) return { allowed: true, probe: false, ticket: { scope, generation: 0, token: '' } };
      advance(scope, record);
      const at = now();
      switch (record.state) {
        case 'closed':
          return { allowed: true, probe: false, ticket: { scope, generation: record.generation, token: '' } };
        case 'open':
          return { allowed: false, state: 'open', retryAfterMs: Math.max(record.openUntil - at, 0) };
        case 'half_open': {
          if (record.probeToken !== null && at < record.probeLeaseUntil) {
            return { allowed: false, state: 'half_open', retryAfterMs: record.probeLeaseUntil - at };
          }
          const token = randomUUID();
          record.probeToken = token;
          record.probeLeaseUntil = at + probeLeaseMs;
          return { allowed: true, probe: true, ticket: { scope, generation: record.generation, token } };
        }
      }
    },

    async record(ticket: BreakerTicket, outcome: BreakerOutcome): Promise<void> {
      const record = records.get(ticket.scope);
      if (record !== undefined && ticket.token !== '' && record.probeToken === ticket.token) {
        record.probeToken = null;
        if (outcome === 'success') {
          record.generation += 1;
          record.trips = 0;
          record.consecutiveFailures = 0;
          transition(ticket.scope, record, 'closed');
        } else if (outcome === 'failure') {
          trip(ticket.scope, record, record.trips + 1);
        } // 'ignored': the lease is released, the next request probes.
        return;
      }
      if (record !== undefined && ticket.generation !== record.generation) return; // stale
      countOutcome(ticket.scope, record, outcome);
    },

    recordUnticketed(scope: string, outcome: BreakerOutcome): void {
      countOutcome(scope, records.get(scope), outcome);
    },

    snapshot(): ReadonlyMap<string, BreakerState> {
      const states = new Map<string, BreakerState>();
      for (const [scope, record] of records) {
        advance(scope, record);
        states.set(scope, record.state);
      }
      return states;
    },

    onStateChange(listener: (event: BreakerStateChange) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close(): Promise<void> {
      listeners.clear();
    },
  };
}

function newRecord(): ScopeRecord {
  return {
    state: 'closed',
    generation: 0,
    consecutiveFailures: 0,
    trips: 0,
    openUntil: 0,
    probeToken: null,
    probeLeaseUntil: 0,
  };
}
