import type { BreakerOutcome } from '@rgw/breaker';
import { isBackendFault } from '@rgw/errors';
import type { Response } from '@rgw/responses';
import { SHUTTING_DOWN_CODE } from './map-response-failure.ts';

/** How a turn ended, as far as the backend's health is concerned. */
export type TurnEnding =
  /** The client left, the run was cancelled, or the gateway shut down: says nothing about the backend. */
  | { readonly kind: 'aborted' }
  /** Thrown before or by the backend call: a backend HTTP error, a timeout, a refused connection… */
  | { readonly kind: 'thrown'; readonly error: unknown }
  /** The terminal event went out with this Response. */
  | { readonly kind: 'finished'; readonly response: Response }
  /** The consumer stopped before the terminal event; `errorCode` is that of the `error` event it stopped at, if any (an early failure it answers as an HTTP error). */
  | { readonly kind: 'stopped'; readonly errorCode: string | null };

/**
 * In-band failure codes that are the client's doing (or ours), not the backend's: a prompt too long
 * for the model, the caller's own rate limit or quota, a prompt the backend refused, our store or
 * our shutdown. None of them says the backend is unhealthy, so none may trip the breaker.
 */
const NOT_THE_BACKENDS_FAULT: ReadonlySet<string> = new Set([
  'context_length_exceeded',
  'rate_limit_exceeded',
  'insufficient_quota',
  'invalid_prompt',
  'store_unavailable',
  SHUTTING_DOWN_CODE,
]);

/**
 * What a finished turn tells the circuit breaker (house style §9): only backend faults count
 * (5xx, timeouts, connection errors, streams the backend cut or failed in-band); a client's bad
 * key, unknown model, malformed body, oversized prompt or early exit never moves it.
 */
export function decideBreakerOutcome(ending: TurnEnding): BreakerOutcome {
  switch (ending.kind) {
    case 'aborted':
      return 'ignored';
    case 'thrown':
      // Only a 502/504 GatewayError is the backend's: an abort or a client error never is.
      return isBackendFault(ending.error) ? 'failure' : 'ignored';
    case 'finished':
      if (ending.response.status !== 'failed') return 'success';
      return isBackendFailureCode(ending.response.error?.code) ? 'failure' : 'ignored';
    case 'stopped':
      return ending.errorCode !== null && isBackendFailureCode(ending.errorCode) ? 'failure' : 'ignored';
    default:
      return assertNever(ending);
  }
}

function isBackendFailureCode(code: string | null | undefined): boolean {
  return !NOT_THE_BACKENDS_FAULT.has(code ?? 'server_error');
}

function assertNever(value: never): never {
  throw new Error(`Unhandled turn ending: ${JSON.stringify(value)}`);
}
