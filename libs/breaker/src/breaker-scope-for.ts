/**
 * The breaker's scope: one breaker per (backend, model).
 *
 * Why per model: Chutes runs every model as its own deployment, so one model can answer 503 for
 * minutes while all the others are fine (chutesai/chutes#20). A backend-wide breaker would let one
 * dead model block every other. `model = null` gives the backend-wide scope, for calls that name
 * no model (listing models) or whose model is not in the catalogue.
 *
 * `model` must be a catalogue id (the backend's exact id), never the raw string a client sent:
 * each scope is state (and Redis keys), so client-chosen strings would be an unbounded key space.
 *
 * The upstream is reduced to host + path (no scheme, query, credentials or trailing slash), so
 * `https://llm.chutes.ai/v1/` and `https://llm.chutes.ai/v1` are the same backend.
 */
export function breakerScopeFor(upstream: string, model: string | null): string {
  const backend = normaliseUpstream(upstream);
  return model === null ? backend : `${backend}#${model}`;
}

function normaliseUpstream(upstream: string): string {
  // Only a full URL is parsed: `new URL('localhost:8000')` would read "localhost:" as a scheme.
  if (!upstream.includes('://')) return upstream.replace(/\/+$/, '').toLowerCase();
  try {
    const url = new URL(upstream);
    return `${url.host}${url.pathname.replace(/\/+$/, '')}`.toLowerCase();
  } catch {
    return upstream.replace(/\/+$/, '').toLowerCase();
  }
}
