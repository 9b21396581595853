import { TurnShutdown } from './turn.ts';

/**
 * Ends every turn still running when the shutdown grace period is over: each turn's controller is
 * tracked while it runs and aborted with a TurnShutdown, so the turn ends in-band. A Set rather than
 * `AbortSignal.any([request, shutdown])` per request: that hangs a weak reference off the one
 * long-lived shutdown signal for every request, which the collector then has to clear.
 */
export interface TurnShutdownSwitch {
  /** Registers a running turn's controller; returns the function that forgets it (the turn ended). */
  track(controller: AbortController): () => void;
  /** Aborts every tracked turn (and any tracked later) with a TurnShutdown. */
  shutDown(): void;
}

export function createTurnShutdown(): TurnShutdownSwitch {
  const running = new Set<AbortController>();
  let down = false;
  return {
    track(controller) {
      if (down) controller.abort(new TurnShutdown());
      else running.add(controller);
      return () => running.delete(controller);
    },
    shutDown() {
      down = true;
      for (const controller of running) controller.abort(new TurnShutdown());
      running.clear();
    },
  };
}
