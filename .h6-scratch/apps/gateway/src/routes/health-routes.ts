import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';

/** Liveness: the process runs. Never reflects the breaker or Redis: restarting would not fix them. */
export function health(): RequestHandler {
  return (_req, res) => {
    res.json({ status: 'ok' });
  };
}

/** Readiness: whether a load balancer should send this replica traffic. */
export function ready(readiness: () => { ready: boolean; detail: Record<string, unknown> }): RequestHandler {
  return (_req, res) => {
    const { ready: isReady, detail } = readiness();
    res.status(isReady ? 200 : 503).json({ status: isReady ? 'ready' : 'not_ready', ...detail });
  };
}

export function metrics(registry: Registry): RequestHandler {
  return async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.send(await registry.metrics());
  };
}
