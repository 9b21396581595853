import express, { type Express, type RequestHandler } from 'express';
import { createHttpLogger, createHttpMetricsMiddleware } from '@rgw/observability';
import type { GatewayDependencies } from './gateway-dependencies.ts';
import { authenticate } from './http/authenticate.ts';
import { renderErrors, renderNotFound } from './http/render-errors.ts';
import { health, metrics, ready } from './routes/health-routes.ts';
import { listModels, retrieveModel } from './routes/models-routes.ts';
import { serveResponses } from './responses/serve-responses.ts';
import { securityHeaders } from './http/security-headers.ts';

/** Route templates, for metric labels of requests express has not matched yet. */
const GATEWAY_ROUTES = ['/v1/responses', '/v1/models', '/v1/models/:id', '/ready'];

/** The express app: routes and middleware only; all I/O arrives through `deps`. */
export function createGatewayApp(deps: GatewayDependencies, extraRoutes?: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.get('/health', health());
  app.get('/ready', ready(deps.readiness));
  if (deps.config.METRICS_ENABLED) app.get('/metrics', metrics(deps.metrics.registry));

  app.use(createHttpMetricsMiddleware(deps.metrics, { routes: GATEWAY_ROUTES }));
  app.use(createHttpLogger(deps.logger));
  app.use(securityHeaders(deps.config.CORS_ORIGINS));

  const v1 = express.Router();
  v1.use(authenticate());
  v1.post('/responses', serveResponses(deps));
  v1.get('/models', listModels(deps.catalog));
  v1.get('/models/:id', retrieveModel(deps.catalog));
  extraRoutes?.(app);
  app.use('/v1', v1);

  app.use(renderNotFound() as RequestHandler);
  app.use(renderErrors());
  return app;
}
