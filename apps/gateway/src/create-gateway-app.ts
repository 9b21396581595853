import express, { type Express, type RequestHandler } from 'express';
import { createHttpLogger, createHttpMetricsMiddleware } from '@rgw/observability';
import { createMemoryRateLimiter } from '@rgw/rate-limit';
import type { GatewayDependencies } from './gateway-dependencies.ts';
import { authenticate } from './http/authenticate.ts';
import { limitRequestRate } from './http/limit-request-rate.ts';
import { renderErrors, renderNotFound } from './http/render-errors.ts';
import { health, metrics, ready } from './routes/health-routes.ts';
import { listModels, retrieveModel } from './routes/models-routes.ts';
import { securityHeaders } from './http/security-headers.ts';
import { compactResponse } from './routes/compact-response.ts';
import { countInputTokens } from './routes/count-input-tokens.ts';
import { createResponse } from './routes/create-response.ts';
import { STORED_RESPONSE_ROUTES, registerStoredResponseRoutes } from './stored/stored-response-routes.ts';

/** Route templates, for metric labels of requests express has not matched yet. */
const GATEWAY_ROUTES = [
  '/v1/responses',
  '/v1/responses/input_tokens',
  '/v1/responses/compact',
  ...STORED_RESPONSE_ROUTES,
  '/v1/models',
  '/v1/models/:id',
  '/ready',
];

/** The express app: routes and middleware only; all I/O arrives through `deps`. */
export function createGatewayApp(deps: GatewayDependencies, extraRoutes?: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  // First, so probes and scrapes get the same headers as API answers.
  app.use(securityHeaders(deps.config.CORS_ORIGINS));

  app.get('/health', health());
  app.get('/ready', ready(deps.readiness));
  if (deps.config.METRICS_ENABLED) app.get('/metrics', metrics(deps.metrics.registry));

  app.use(createHttpMetricsMiddleware(deps.metrics, { routes: GATEWAY_ROUTES }));
  app.use(createHttpLogger(deps.logger));

  // Full paths on the app (no sub-router): the matched route template is then the whole path,
  // which is what metric labels and access logs show.
  const limiter =
    deps.rateLimiter ??
    (deps.config.RATE_LIMIT_REQUESTS_PER_MINUTE > 0 ? createMemoryRateLimiter({ limit: deps.config.RATE_LIMIT_REQUESTS_PER_MINUTE }) : undefined);
  // The per-key rate limit runs right after authentication, before the body is read.
  const authenticated = authenticate(deps.stored.ownerOf);
  const auth = limiter ? [authenticated, limitRequestRate(limiter)] : [authenticated];
  app.post('/v1/responses', auth, createResponse(deps));
  // Before `/v1/responses/:id` routes: these two paths are not response ids.
  app.post('/v1/responses/input_tokens', auth, countInputTokens(deps));
  app.post('/v1/responses/compact', auth, compactResponse(deps));
  app.get('/v1/models', auth, listModels(deps.catalog));
  app.get('/v1/models/:id', auth, retrieveModel(deps.catalog));
  registerStoredResponseRoutes(app, deps.stored, auth);
  extraRoutes?.(app);

  app.use(renderNotFound() as RequestHandler);
  app.use(renderErrors());
  return app;
}
