import type { Response as ExpressResponse } from 'express';
import type { TurnShutdownSwitch } from '../turns/create-turn-shutdown.ts';

/**
 * A signal that aborts when the client goes away before its answer was sent (the backend call then
 * stops), or with a TurnShutdown reason when the shutdown grace period is over.
 */
export function abortOnClose(res: ExpressResponse, shutdown: TurnShutdownSwitch): AbortSignal {
  const controller = new AbortController();
  const untrack = shutdown.track(controller);
  res.on('close', () => {
    untrack();
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
