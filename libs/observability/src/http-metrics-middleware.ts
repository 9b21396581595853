import type { RequestHandler } from 'express';
import type { GatewayMetrics } from './gateway-metrics.ts';
import { readRouteLabel } from './route-label.ts';

export interface HttpMetricsOptions {
  /**
   * The app's route templates (`/v1/models/:id`), used to label the in-flight gauge when a request
   * arrives, before express has matched it. Paths matching none are labelled `unmatched`.
   */
  readonly routes: readonly string[];
  /** Paths left out of both metrics; default `/metrics` and `/health` (scrapes and probes). */
  readonly ignore?: readonly string[];
}

function compileRoute(template: string): RegExp {
  const pattern = template
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}/?$`);
}

/**
 * Records gateway_http_request_duration_seconds and gateway_http_requests_in_flight for every request.
 * Mount it first. The duration is observed when the response ends or the client goes away, labelled
 * with the route express matched (or the template matched on arrival).
 */
export function createHttpMetricsMiddleware(metrics: GatewayMetrics, options: HttpMetricsOptions): RequestHandler {
  const routes = options.routes.map((template) => ({ template, pattern: compileRoute(template) }));
  const ignored = new Set(options.ignore ?? ['/metrics', '/health']);
  return (req, res, next) => {
    if (ignored.has(req.path)) {
      next();
      return;
    }
    const arrivalRoute = routes.find((route) => route.pattern.test(req.path))?.template ?? 'unmatched';
    const stopTimer = metrics.httpRequestDuration.startTimer();
    metrics.httpRequestsInFlight.inc({ route: arrivalRoute });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      metrics.httpRequestsInFlight.dec({ route: arrivalRoute });
      const matched = readRouteLabel(req, res.locals);
      stopTimer({
        route: matched === 'unmatched' ? arrivalRoute : matched,
        method: req.method,
        status: String(res.statusCode),
      });
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}
