import { ServiceUnavailableError } from '@rgw/errors';
import type { GatewayMetrics } from '@rgw/observability';

/** The code of a turn refused because the replica already runs MAX_CONCURRENT_STREAMS turns. */
export const SERVER_OVERLOADED_CODE = 'server_overloaded';
/** Seconds a refused client is told to wait: streams end all the time, so a slot is soon free (here or on another replica). */
const RETRY_AFTER_SECONDS = 1;

/** The replica's turns in flight (the turns that call the backend), and its cap on them. */
export interface TurnSlots {
  /** A slot for a new turn, or the 503 `server_overloaded` error (thrown) when the replica is full. Returns its release (idempotent). */
  take(): () => void;
  /** A slot whatever the count: for a turn already accepted (a background run answered before it runs). */
  hold(): () => void;
  /** Throws what `take` would throw, taking nothing: a route that answers before its turn runs checks here. */
  assertRoom(): void;
}

/**
 * Counts turns in one place (the turn runner) for every transport, so SSE, JSON, WebSocket,
 * compaction and background turns share one cap, and the gauge an autoscaler reads is the same count
 * the cap is applied to. `max` 0 = no cap (counted all the same).
 */
export function createTurnSlots(max: number, metrics: GatewayMetrics): TurnSlots {
  let inFlight = 0;
  metrics.turnsInFlightLimit.set(max);
  metrics.turnsInFlight.set(0);

  function hold(): () => void {
    inFlight += 1;
    metrics.turnsInFlight.set(inFlight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight -= 1;
      metrics.turnsInFlight.set(inFlight);
    };
  }

  function assertRoom(): void {
    if (max === 0 || inFlight < max) return;
    metrics.admissionRejections.inc({ reason: 'concurrency' });
    throw new ServiceUnavailableError(`This gateway replica is at capacity (${max} responses in progress); retry in ${RETRY_AFTER_SECONDS}s.`, {
      code: SERVER_OVERLOADED_CODE,
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    });
  }

  return {
    take() {
      assertRoom();
      return hold();
    },
    hold,
    assertRoom,
  };
}
