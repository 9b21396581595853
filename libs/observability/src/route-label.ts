import type { Request } from 'express';

/**
 * The matched express route template (`/v1/models/:id`), never the raw path: raw paths are unbounded
 * (ids, scanners probing `/wp-admin`) and would explode log indexes and metric cardinality.
 * The gateway may set `res.locals.route` explicitly; otherwise `baseUrl + route.path` once express has
 * matched, else `unmatched`.
 */
export function readRouteLabel(req: Request, locals: Record<string, unknown>): string {
  if (typeof locals['route'] === 'string') return locals['route'];
  const routePath: unknown = (req as { route?: { path?: unknown } }).route?.path;
  if (typeof routePath === 'string') return `${req.baseUrl}${routePath}`;
  return 'unmatched';
}
