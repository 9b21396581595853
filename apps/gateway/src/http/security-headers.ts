import type { RequestHandler } from 'express';

/**
 * A JSON/SSE API needs few browser headers: nosniff, no framing, no referrer. CORS is off unless
 * CORS_ORIGINS lists origins (SDKs and CLIs need none; a browser holding a key is a leak risk).
 */
export function securityHeaders(corsOrigins: string | undefined): RequestHandler {
  const allowed = new Set(
    (corsOrigins ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  );
  return (req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    const origin = req.headers.origin;
    if (origin && allowed.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      res.setHeader(
        'access-control-expose-headers',
        'x-request-id, retry-after, retry-after-ms, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-gateway-warnings',
      );
      if (req.method === 'OPTIONS') {
        res.setHeader('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
        res.setHeader('access-control-allow-headers', String(req.headers['access-control-request-headers'] ?? 'authorization, content-type'));
        res.setHeader('access-control-max-age', '600');
        res.status(204).end();
        return;
      }
    }
    next();
  };
}
