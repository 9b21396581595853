import { randomUUID } from 'node:crypto';
import {
  DEFAULT_PROBE_LEASE_MS,
  type BreakerAdmission,
  type BreakerOptions,
  type BreakerOutcome,
  type BreakerState,
  type BreakerStateChange,
  type BreakerTicket,
  type CircuitBreaker,
} from './circuit-breaker.ts';
import { CLOSED_SCOPE, type ScopeState, admitToScope, advanceScope, countOnScope, recordOnScope } from './scope-state.ts';

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
 * reopens it (open time doubling up to `maxOpenMs`). The rules are the pure transitions of
 * scope-state.ts; this keeps one state per scope and tells listeners when a state changes. No
 * timers: time is evaluated on each call. A scope that never failed costs nothing.
 */
export function createMemoryBreaker(options: BreakerOptions): MemoryBreaker {
  const now = options.now ?? Date.now;
  const probeLeaseMs = options.probeLeaseMs ?? DEFAULT_PROBE_LEASE_MS;
  const scopes = new Map<string, ScopeState>();
  const listeners = new Set<(event: BreakerStateChange) => void>();

  function update(scope: string, from: ScopeState, to: ScopeState): void {
    if (to === from) return;
    // Closed with no failures is where every unknown scope is: forget it.
    if (to.state === 'closed' && to.consecutiveFailures === 0 && to.generation === 0) scopes.delete(scope);
    else scopes.set(scope, to);
    if (to.state !== from.state) emit({ scope, from: from.state, to: to.state });
  }

  function emit(event: BreakerStateChange): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A faulty listener (metrics, logs) must not break the request path.
      }
    }
  }

  return {
    async acquire(scope: string): Promise<BreakerAdmission> {
      const current = scopes.get(scope);
      if (current === undefined) return { allowed: true, probe: false, ticket: { scope, generation: 0, token: '' } };
      const next = admitToScope(scope, current, now(), { token: randomUUID(), leaseMs: probeLeaseMs });
      update(scope, current, next.scope);
      return next.admission;
    },

    async record(ticket: BreakerTicket, outcome: BreakerOutcome): Promise<void> {
      const current = scopes.get(ticket.scope) ?? CLOSED_SCOPE;
      update(ticket.scope, current, recordOnScope(current, ticket, outcome, now(), options));
    },

    recordUnticketed(scope: string, outcome: BreakerOutcome): void {
      const current = scopes.get(scope) ?? CLOSED_SCOPE;
      update(scope, current, countOnScope(advanceScope(current, now()), outcome, now(), options));
    },

    snapshot(): ReadonlyMap<string, BreakerState> {
      const states = new Map<string, BreakerState>();
      for (const [scope, current] of scopes) {
        const advanced = advanceScope(current, now());
        update(scope, current, advanced);
        states.set(scope, advanced.state);
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
