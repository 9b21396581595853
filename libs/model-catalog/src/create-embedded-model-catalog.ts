import { createFailureReporter, describeFailure } from '@rgw/observability';
import { diffModelIds } from './diff-model-ids.ts';
import type { EmbeddedModelCatalogOptions, ModelCatalog, ModelEntry } from './model-catalog.ts';
import { indexModels, resolveModel, type ModelIndex } from './resolve-model.ts';

/** First retry after a failed fetch, ms; doubles up to the refresh period. */
const FIRST_RETRY_MS = 2_000;
/** A listing that takes longer than this is abandoned (the next attempt is scheduled). */
const LIST_TIMEOUT_MS = 30_000;

/**
 * Single-node catalogue: fetches the backend's model list at start and every `refreshMs`
 * (timers unref'd: they never keep the process alive). A failed or empty fetch keeps the last
 * good list and retries sooner. `resolve` answers 'unchecked' until a first list arrived.
 */
export function createEmbeddedModelCatalog(options: EmbeddedModelCatalogOptions): ModelCatalog {
  const now = options.now ?? Date.now;
  let index: ModelIndex | null = null;
  let fetchedAt: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<boolean> | undefined;
  let retryMs = FIRST_RETRY_MS;
  let closed = false;
  const abort = new AbortController();
  // A backend down for an hour is one warn line a minute with the reason, not a stack per retry.
  const failures = createFailureReporter({
    logger: options.logger,
    message: 'listing backend models failed; keeping the last list',
    recoveredMessage: 'listing backend models works again',
  });

  async function fetchOnce(): Promise<boolean> {
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]);
    try {
      const models = await options.listModels(signal);
      if (models.length === 0) {
        failures.failed('the backend listed no models');
        return false;
      }
      const previous = index;
      index = indexModels(models);
      fetchedAt = now();
      failures.recovered();
      logModelChange(options.logger, previous?.models ?? null, models);
      return true;
    } catch (error) {
      if (!closed) failures.failed(describeFailure(error));
      return false;
    }
  }

  /** Single flight: concurrent callers share one backend call. */
  function refresh(): Promise<boolean> {
    inFlight ??= fetchOnce().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(delayMs: number): void {
    if (closed) return;
    timer = setTimeout(() => {
      void refresh().then((ok) => {
        retryMs = ok ? FIRST_RETRY_MS : Math.min(retryMs * 2, options.refreshMs);
        schedule(ok ? options.refreshMs : retryMs);
      });
    }, delayMs);
    timer.unref();
  }

  return {
    list: () => index?.models ?? null,
    get: (id: string): ModelEntry | undefined => index?.byId.get(id),
    resolve: (requested: string) => resolveModel(index, requested),
    ageSeconds: () => (fetchedAt === null ? null : Math.max(0, (now() - fetchedAt) / 1000)),
    lastError: () => failures.lastReason(),
    async start(): Promise<void> {
      const ok = await refresh();
      schedule(ok ? options.refreshMs : Math.min(retryMs, options.refreshMs));
    },
    async close(): Promise<void> {
      closed = true;
      clearTimeout(timer);
      abort.abort();
    },
  };
}

/** One info line when the list changes (ids added and removed), nothing when it does not. */
function logModelChange(logger: EmbeddedModelCatalogOptions['logger'], previous: readonly ModelEntry[] | null, next: readonly ModelEntry[]): void {
  const { added, removed } = diffModelIds(previous ?? [], next);
  if (previous !== null && added.length === 0 && removed.length === 0) return;
  logger?.info(
    { models: next.length, added: added.slice(0, 50), removed: removed.slice(0, 50) },
    previous === null ? 'model list loaded' : 'model list changed',
  );
}
