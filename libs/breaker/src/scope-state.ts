/**
 * One breaker scope's state as a discriminated union, and its transitions as pure functions of
 * (state, event, clock): cockatiel's model (src/breaker/, CircuitBreakerPolicy.ts), so every state
 * carries exactly the fields that mean something in it and each rule is testable without timers.
 */
import { type BreakerAdmission, type BreakerOptions, type BreakerOutcome, type BreakerState, type BreakerTicket, computeOpenMs } from './circuit-breaker.ts';

export type ScopeState =
  /** Calls go through; `consecutiveFailures` backend failures in a row so far. */
  | { readonly state: 'closed'; readonly generation: number; readonly consecutiveFailures: number }
  /** Calls are refused until `openUntil` (clock ms); `trips` in a row without a successful probe (backoff). */
  | { readonly state: 'open'; readonly generation: number; readonly trips: number; readonly openUntil: number }
  /** One probe may call; `probe` is its lease while one is out. */
  | { readonly state: 'half_open'; readonly generation: number; readonly trips: number; readonly probe: ProbeLease | null };

export interface ProbeLease {
  readonly token: string;
  /** Clock ms after which a probe that never reported loses its lease. */
  readonly leaseUntil: number;
}

/** A scope that never failed: closed, generation 0. */
export const CLOSED_SCOPE: ScopeState = { state: 'closed', generation: 0, consecutiveFailures: 0 };

/** open → half_open once the open time has passed; every other state stays. */
export function advanceScope(scope: ScopeState, now: number): ScopeState {
  return scope.state === 'open' && now >= scope.openUntil ? { state: 'half_open', generation: scope.generation, trips: scope.trips, probe: null } : scope;
}

/** Whether a call may go to the backend now; a half-open scope hands its single probe lease to `token`. */
export function admitToScope(
  scopeName: string,
  current: ScopeState,
  now: number,
  probe: { readonly token: string; readonly leaseMs: number },
): { readonly scope: ScopeState; readonly admission: BreakerAdmission } {
  const scope = advanceScope(current, now);
  switch (scope.state) {
    case 'closed':
      return { scope, admission: { allowed: true, probe: false, ticket: { scope: scopeName, generation: scope.generation, token: '' } } };
    case 'open':
      return { scope, admission: { allowed: false, state: 'open', retryAfterMs: Math.max(scope.openUntil - now, 0) } };
    case 'half_open':
      if (scope.probe !== null && now < scope.probe.leaseUntil) {
        return { scope, admission: { allowed: false, state: 'half_open', retryAfterMs: scope.probe.leaseUntil - now } };
      }
      return {
        scope: { ...scope, probe: { token: probe.token, leaseUntil: now + probe.leaseMs } },
        admission: { allowed: true, probe: true, ticket: { scope: scopeName, generation: scope.generation, token: probe.token } },
      };
    default:
      return assertNever(scope);
  }
}

/**
 * The outcome of an admitted call. The probe's success closes the scope and its failure reopens it
 * for longer; an ordinary call's failures count while closed; outcomes from an older generation (the
 * scope tripped or closed since the call was admitted) change nothing.
 */
export function recordOnScope(scope: ScopeState, ticket: BreakerTicket, outcome: BreakerOutcome, now: number, options: BreakerOptions): ScopeState {
  if (scope.state === 'half_open' && ticket.token !== '' && scope.probe?.token === ticket.token) {
    if (outcome === 'success') return { state: 'closed', generation: scope.generation + 1, consecutiveFailures: 0 };
    if (outcome === 'failure') return trip(scope, scope.trips + 1, now, options);
    return { ...scope, probe: null }; // 'ignored': the lease is released, the next request probes.
  }
  if (ticket.generation !== scope.generation) return scope;
  return countOnScope(scope, outcome, now, options);
}

/** An outcome not admitted by this state (a shared call whose record could not reach Redis): counted only while closed. */
export function countOnScope(scope: ScopeState, outcome: BreakerOutcome, now: number, options: BreakerOptions): ScopeState {
  if (outcome === 'ignored' || scope.state !== 'closed') return scope; // admitted before the trip: says nothing new
  if (outcome === 'success') return scope.consecutiveFailures === 0 ? scope : { ...scope, consecutiveFailures: 0 };
  const consecutiveFailures = scope.consecutiveFailures + 1;
  return consecutiveFailures >= options.failureThreshold ? trip(scope, 1, now, options) : { ...scope, consecutiveFailures };
}

export function stateOf(scope: ScopeState): BreakerState {
  return scope.state;
}

function trip(scope: ScopeState, trips: number, now: number, options: BreakerOptions): ScopeState {
  return { state: 'open', generation: scope.generation + 1, trips, openUntil: now + computeOpenMs(options, trips) };
}

function assertNever(value: never): never {
  throw new Error(`Unhandled breaker state: ${JSON.stringify(value)}`);
}
